// Conformance against the C compiler: the structs of include/linux/remoteproc.h, written here
// from the reference facts (no kernel header exports them to userspace), compiled by the system
// gcc. We check sizeof/offsetof of every struct against our constants and field offsets, then
// let gcc lay out the usual firmware table struct and check that our parser reads exactly the
// values the C initializer wrote, field by field. Virtio constants come from the kernel uapi
// headers (<linux/virtio_ids.h>, <linux/virtio_config.h>), a reference we did not write.
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { compileC, requireTools, toHex } from "@amp/test-utils";
import {
  FW_RSC_CARVEOUT_SIZE,
  FW_RSC_DEVMEM_SIZE,
  FW_RSC_HDR_SIZE,
  FW_RSC_TRACE_SIZE,
  FW_RSC_VDEV_SIZE,
  FW_RSC_VDEV_VRING_SIZE,
  RESOURCE_TABLE_SIZE,
  RSC_CARVEOUT,
  RSC_DEVMEM,
  RSC_LAST,
  RSC_TRACE,
  RSC_VDEV,
  RSC_VENDOR_END,
  RSC_VENDOR_START,
  parseResourceTable,
  serializeResourceTable,
  validateResourceTable,
} from "@amp/resource-table";
import { ENTRY_FIELDS as F } from "../../src/internal/fields.ts";

const STRUCTS = String.raw`
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_config.h>

#define FW_RSC_ADDR_ANY (-1)
enum fw_resource_type { RSC_CARVEOUT = 0, RSC_DEVMEM = 1, RSC_TRACE = 2, RSC_VDEV = 3, RSC_LAST = 4,
                        RSC_VENDOR_START = 128, RSC_VENDOR_END = 512 };
struct resource_table { uint32_t ver; uint32_t num; uint32_t reserved[2]; uint32_t offset[0]; } __attribute__((packed));
struct fw_rsc_hdr { uint32_t type; uint8_t data[0]; } __attribute__((packed));
struct fw_rsc_carveout { uint32_t da; uint32_t pa; uint32_t len; uint32_t flags; uint32_t reserved; uint8_t name[32]; } __attribute__((packed));
struct fw_rsc_devmem { uint32_t da; uint32_t pa; uint32_t len; uint32_t flags; uint32_t reserved; uint8_t name[32]; } __attribute__((packed));
struct fw_rsc_trace { uint32_t da; uint32_t len; uint32_t reserved; uint8_t name[32]; } __attribute__((packed));
struct fw_rsc_vdev_vring { uint32_t da; uint32_t align; uint32_t num; uint32_t notifyid; uint32_t pa; } __attribute__((packed));
struct fw_rsc_vdev { uint32_t id; uint32_t notifyid; uint32_t dfeatures; uint32_t gfeatures; uint32_t config_len;
                     uint8_t status; uint8_t num_of_vrings; uint8_t reserved[2]; struct fw_rsc_vdev_vring vring[0]; } __attribute__((packed));
`;

const LAYOUT = String.raw`
#define O(s, f) printf("\"%s.%s\": %zu,\n", #s, #f, offsetof(struct s, f))
#define S(s) printf("\"sizeof %s\": %zu,\n", #s, sizeof(struct s))
int main(void) {
  printf("{\n");
  S(resource_table); S(fw_rsc_hdr); S(fw_rsc_carveout); S(fw_rsc_devmem); S(fw_rsc_trace); S(fw_rsc_vdev); S(fw_rsc_vdev_vring);
  O(resource_table, ver); O(resource_table, num); O(resource_table, reserved); O(resource_table, offset);
  O(fw_rsc_carveout, da); O(fw_rsc_carveout, pa); O(fw_rsc_carveout, len); O(fw_rsc_carveout, flags); O(fw_rsc_carveout, reserved); O(fw_rsc_carveout, name);
  O(fw_rsc_devmem, da); O(fw_rsc_devmem, pa); O(fw_rsc_devmem, len); O(fw_rsc_devmem, flags); O(fw_rsc_devmem, reserved); O(fw_rsc_devmem, name);
  O(fw_rsc_trace, da); O(fw_rsc_trace, len); O(fw_rsc_trace, reserved); O(fw_rsc_trace, name);
  O(fw_rsc_vdev, id); O(fw_rsc_vdev, notifyid); O(fw_rsc_vdev, dfeatures); O(fw_rsc_vdev, gfeatures); O(fw_rsc_vdev, config_len);
  O(fw_rsc_vdev, status); O(fw_rsc_vdev, num_of_vrings); O(fw_rsc_vdev, reserved); O(fw_rsc_vdev, vring);
  O(fw_rsc_vdev_vring, da); O(fw_rsc_vdev_vring, align); O(fw_rsc_vdev_vring, num); O(fw_rsc_vdev_vring, notifyid); O(fw_rsc_vdev_vring, pa);
  printf("\"types\": [%d, %d, %d, %d, %d, %d, %d],\n", RSC_CARVEOUT, RSC_DEVMEM, RSC_TRACE, RSC_VDEV, RSC_LAST, RSC_VENDOR_START, RSC_VENDOR_END);
  printf("\"ADDR_ANY\": %u\n}\n", (uint32_t)FW_RSC_ADDR_ANY);
  return 0;
}
`;

// The usual firmware table: a packed struct with the header, the offset array and every
// entry in order (the TI/ST/OpenAMP example layout), offsets computed by offsetof. The vdev has
// 3 bytes of config space, so the entries after it are not 4-byte aligned: the compiler must
// not pad, and our parser must follow the offsets exactly.
const FIRMWARE = String.raw`
struct firmware_table {
  struct resource_table base;
  uint32_t offset[6];
  struct fw_rsc_hdr carveout_hdr; struct fw_rsc_carveout carveout;
  struct fw_rsc_hdr devmem_hdr;   struct fw_rsc_devmem devmem;
  struct fw_rsc_hdr trace_hdr;    struct fw_rsc_trace trace;
  struct fw_rsc_hdr vdev_hdr;     struct fw_rsc_vdev vdev; struct fw_rsc_vdev_vring vring[2]; uint8_t config[3];
  struct fw_rsc_hdr vendor_hdr;   uint8_t vendor_data[6];
  struct fw_rsc_hdr chksum_hdr;   uint8_t algo[16]; uint8_t chksum[64]; /* legacy OpenAMP RSC_FW_CHKSUM = 5 */
} __attribute__((packed));

#define OFF(m) offsetof(struct firmware_table, m)
struct firmware_table table __attribute__((section(".resource_table"), used)) = {
  .base = { .ver = 1, .num = 6 },
  .offset = { OFF(carveout_hdr), OFF(devmem_hdr), OFF(trace_hdr), OFF(vdev_hdr), OFF(vendor_hdr), OFF(chksum_hdr) },
  .carveout_hdr = { RSC_CARVEOUT },
  .carveout = { .da = 0x10000000, .pa = FW_RSC_ADDR_ANY, .len = 0x100000, .flags = 0x3, .reserved = 0, .name = "vdev0buffer" },
  .devmem_hdr = { RSC_DEVMEM },
  .devmem = { .da = 0x40000000, .pa = 0x50000000, .len = 0x1000, .flags = 0x1, .name = "uart" },
  .trace_hdr = { RSC_TRACE },
  .trace = { .da = 0x20001000, .len = 2048, .name = "trace0" },
  .vdev_hdr = { RSC_VDEV },
  .vdev = { .id = VIRTIO_ID_RPMSG, .notifyid = 0, .dfeatures = 1, .gfeatures = 0, .config_len = 3,
            .status = 0, .num_of_vrings = 2 },
  .vring = { { .da = FW_RSC_ADDR_ANY, .align = 4096, .num = 256, .notifyid = 0, .pa = 0 },
             { .da = 0x30000000, .align = 16, .num = 8, .notifyid = 1, .pa = 0 } },
  .config = { 0xaa, 0xbb, 0xcc },
  .vendor_hdr = { RSC_VENDOR_START + 7 },
  .vendor_data = { 1, 2, 3, 4, 5, 6 },
  .chksum_hdr = { 5 },
  .algo = "sha256",
};

int main(void) {
  /* Also exercise the Linux style of reading: header, then entry bodies after fw_rsc_hdr. */
  const struct resource_table *t = &table.base;
  const struct fw_rsc_hdr *h = (const void *)((const uint8_t *)t + table.offset[3]);
  const struct fw_rsc_vdev *v = (const void *)h->data;
  if (v->vring[1].da != 0x30000000 || v->num_of_vrings != 2) return 2;
  if (VIRTIO_CONFIG_S_ACKNOWLEDGE != 1 || VIRTIO_CONFIG_S_DRIVER_OK != 4) return 3;
  fwrite(&table, sizeof table, 1, stdout);
  return 0;
}
`;

const missing = requireTools("gcc");

describe.skipIf(missing !== undefined)("C layout (gcc, kernel uapi headers)", () => {
  it("sizeof and offsetof of every struct match our constants and field offsets", () => {
    const exe = compileC(STRUCTS + LAYOUT, { flags: ["-O0", "-Wall", "-Werror", "-std=gnu11"], name: "layout" });
    const c = JSON.parse(execFileSync(exe, { encoding: "utf8" })) as Record<string, unknown>;
    const body = (entryField: number) => entryField - FW_RSC_HDR_SIZE; // Linux bodies start after the type word
    expect(c).toEqual({
      "sizeof resource_table": RESOURCE_TABLE_SIZE,
      "sizeof fw_rsc_hdr": FW_RSC_HDR_SIZE,
      "sizeof fw_rsc_carveout": FW_RSC_CARVEOUT_SIZE,
      "sizeof fw_rsc_devmem": FW_RSC_DEVMEM_SIZE,
      "sizeof fw_rsc_trace": FW_RSC_TRACE_SIZE,
      "sizeof fw_rsc_vdev": FW_RSC_VDEV_SIZE,
      "sizeof fw_rsc_vdev_vring": FW_RSC_VDEV_VRING_SIZE,
      "resource_table.ver": 0,
      "resource_table.num": 4,
      "resource_table.reserved": 8,
      "resource_table.offset": RESOURCE_TABLE_SIZE,
      ...Object.fromEntries(
        ["fw_rsc_carveout", "fw_rsc_devmem"].flatMap((s) => [
          [`${s}.da`, body(F.CARVEOUT_DA)],
          [`${s}.pa`, body(F.CARVEOUT_PA)],
          [`${s}.len`, body(F.CARVEOUT_LEN)],
          [`${s}.flags`, body(F.CARVEOUT_FLAGS)],
          [`${s}.reserved`, body(F.CARVEOUT_RESERVED)],
          [`${s}.name`, body(F.CARVEOUT_NAME)],
        ]),
      ),
      "fw_rsc_trace.da": body(F.TRACE_DA),
      "fw_rsc_trace.len": body(F.TRACE_LEN),
      "fw_rsc_trace.reserved": body(F.TRACE_RESERVED),
      "fw_rsc_trace.name": body(F.TRACE_NAME),
      "fw_rsc_vdev.id": body(F.VDEV_ID),
      "fw_rsc_vdev.notifyid": body(F.VDEV_NOTIFYID),
      "fw_rsc_vdev.dfeatures": body(F.VDEV_DFEATURES),
      "fw_rsc_vdev.gfeatures": body(F.VDEV_GFEATURES),
      "fw_rsc_vdev.config_len": body(F.VDEV_CONFIG_LEN),
      "fw_rsc_vdev.status": body(F.VDEV_STATUS),
      "fw_rsc_vdev.num_of_vrings": body(F.VDEV_NUM_OF_VRINGS),
      "fw_rsc_vdev.reserved": body(F.VDEV_RESERVED),
      "fw_rsc_vdev.vring": body(F.VDEV_VRINGS),
      "fw_rsc_vdev_vring.da": F.VRING_DA,
      "fw_rsc_vdev_vring.align": F.VRING_ALIGN,
      "fw_rsc_vdev_vring.num": F.VRING_NUM,
      "fw_rsc_vdev_vring.notifyid": F.VRING_NOTIFYID,
      "fw_rsc_vdev_vring.pa": F.VRING_PA,
      types: [RSC_CARVEOUT, RSC_DEVMEM, RSC_TRACE, RSC_VDEV, RSC_LAST, RSC_VENDOR_START, RSC_VENDOR_END],
      ADDR_ANY: 0xffffffff,
    });
  });

  it("reads, field by field, the firmware table gcc laid out, and re-serializes it byte for byte", () => {
    const exe = compileC(STRUCTS + FIRMWARE, { flags: ["-O0", "-Wall", "-Werror", "-std=gnu11"], name: "firmware" });
    const bytes = new Uint8Array(execFileSync(exe));
    const t = parseResourceTable(bytes);
    expect(t.size).toBe(16 + 24 + 56 + 56 + 48 + 28 + 40 + 3 + 4 + 6 + 4 + 80);
    expect(t.entries.map((e) => e.offset)).toEqual([40, 96, 152, 200, 271, 281]);
    expect(t.entries).toEqual([
      {
        kind: "carveout",
        type: 0,
        offset: 40,
        da: 0x1000_0000,
        pa: 0xffff_ffff,
        len: 0x10_0000,
        flags: 3,
        reserved: 0,
        name: "vdev0buffer",
      },
      {
        kind: "devmem",
        type: 1,
        offset: 96,
        da: 0x4000_0000,
        pa: 0x5000_0000,
        len: 0x1000,
        flags: 1,
        reserved: 0,
        name: "uart",
      },
      { kind: "trace", type: 2, offset: 152, da: 0x2000_1000, len: 2048, reserved: 0, name: "trace0" },
      {
        kind: "vdev",
        type: 3,
        offset: 200,
        id: 7,
        notifyId: 0,
        dfeatures: 1,
        gfeatures: 0,
        configLen: 3,
        status: 0,
        numOfVrings: 2,
        reserved: [0, 0],
        vrings: [
          { da: 0xffff_ffff, align: 4096, num: 256, notifyId: 0, pa: 0 },
          { da: 0x3000_0000, align: 16, num: 8, notifyId: 1, pa: 0 },
        ],
        config: new Uint8Array([0xaa, 0xbb, 0xcc]),
      },
      { kind: "vendor", type: 135, offset: 271, data: new Uint8Array([1, 2, 3, 4, 5, 6]) },
      { kind: "unsupported", type: 5, offset: 281, data: expect.any(Uint8Array) as Uint8Array },
    ]);
    const chk = t.entries[5];
    expect(chk?.kind === "unsupported" && chk.data.length).toBe(80);
    expect(toHex(serializeResourceTable(t))).toBe(toHex(bytes));
    expect(
      validateResourceTable(bytes)
        .map((d) => d.code)
        .sort(),
    ).toEqual(["RSC_DEVMEM_NEEDS_IOMMU", "RSC_OFFSET_MISALIGNED", "RSC_OFFSET_MISALIGNED", "RSC_TYPE_UNSUPPORTED"]);
  });
});
