import { expect, it } from "vitest";
import * as api from "@amp/resource-table";

it("the public API is exactly this list", () => {
  expect(Object.keys(api).sort()).toMatchInlineSnapshot(`
    [
      "AmpError",
      "FW_RSC_ADDR_ANY",
      "FW_RSC_CARVEOUT_SIZE",
      "FW_RSC_DEVMEM_SIZE",
      "FW_RSC_HDR_SIZE",
      "FW_RSC_TRACE_SIZE",
      "FW_RSC_VDEV_SIZE",
      "FW_RSC_VDEV_VRING_SIZE",
      "RESOURCE_TABLE_SIZE",
      "RSC_CARVEOUT",
      "RSC_DEVMEM",
      "RSC_ENTRY_FIELDS",
      "RSC_LAST",
      "RSC_NAME_SIZE",
      "RSC_NOTIFY_ID_ANY",
      "RSC_TABLE_VERSION",
      "RSC_TRACE",
      "RSC_VDEV",
      "RSC_VDEV_MAX_VRINGS",
      "RSC_VENDOR_END",
      "RSC_VENDOR_START",
      "ResourceTableView",
      "buildResourceTable",
      "checkResourceTable",
      "createByteAccessor",
      "generateResourceTableC",
      "isAmpError",
      "parseResourceTable",
      "resourceTableFromJson",
      "resourceTableSize",
      "resourceTableToJson",
      "serializeResourceTable",
      "validateResourceTable",
    ]
  `);
});

it("constants carry the Linux values", () => {
  expect([
    api.RSC_CARVEOUT,
    api.RSC_DEVMEM,
    api.RSC_TRACE,
    api.RSC_VDEV,
    api.RSC_LAST,
    api.RSC_VENDOR_START,
    api.RSC_VENDOR_END,
  ]).toEqual([0, 1, 2, 3, 4, 128, 512]);
  expect(api.FW_RSC_ADDR_ANY).toBe(0xffffffff);
  expect(api.RSC_NOTIFY_ID_ANY).toBe(0xffffffff);
});
