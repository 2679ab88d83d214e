#!/usr/bin/env node
// Writes examples/firmware/rpmsg-echo.rsc.bin: the resource table of a typical rpmsg firmware
// (a carveout for the rpmsg buffers, a trace buffer, an rpmsg vdev with two vrings), encoded
// through the public API. Run after a build: `npx tsc -p tsconfig.build.json && node scripts/make-example.mjs`.
// test/unit/example.test.ts checks that the checked-in file equals what this script produces.
import process from "node:process";
import { URL } from "node:url";
import { FW_RSC_ADDR_ANY, serializeResourceTable } from "@amp/resource-table";

const VIRTIO_ID_RPMSG = 7;
const VIRTIO_RPMSG_F_NS = 1 << 0; // the remote announces its channels via the name service

/** The example table description (exported for the test). */
export const exampleTable = {
  entries: [
    // Linux uses a carveout named "vdev0buffer" as the rpmsg buffer pool: 2 x 16 buffers x 512 bytes.
    { kind: "carveout", da: FW_RSC_ADDR_ANY, pa: FW_RSC_ADDR_ANY, len: 0x4000, flags: 0, name: "vdev0buffer" },
    // The remote's log ring, read by the host through debugfs trace0.
    { kind: "trace", da: 0x2000_f000, len: 0x1000, name: "trace" },
    {
      kind: "vdev",
      id: VIRTIO_ID_RPMSG,
      notifyId: 0,
      dfeatures: VIRTIO_RPMSG_F_NS,
      vrings: [
        { da: FW_RSC_ADDR_ANY, align: 4096, num: 16, notifyId: 0 }, // vring0: host rx / remote tx
        { da: FW_RSC_ADDR_ANY, align: 4096, num: 16, notifyId: 1 }, // vring1: host tx / remote rx
      ],
    },
  ],
};

/** Where the example is checked in, relative to this script. */
export const examplePath = new URL("../../../examples/firmware/rpmsg-echo.rsc.bin", import.meta.url);

if (import.meta.url === `file://${process.argv[1]}`) {
  const { writeFileSync } = await import("node:fs");
  const bytes = serializeResourceTable(exampleTable);
  writeFileSync(examplePath, bytes);
  process.stdout.write(`wrote ${bytes.length} bytes to ${examplePath.pathname}\n`);
}
