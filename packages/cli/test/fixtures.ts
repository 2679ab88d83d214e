// Test inputs built at test time: a gcc-compiled firmware with a C resource table, JS firmware,
// and the broken files a user may pass by mistake.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildJsFirmware } from "@amp/node";
import { FW_RSC_ADDR_ANY, serializeResourceTable } from "@amp/resource-table";
import { compileC } from "@amp/test-utils";

/** C source with the struct layout firmware developers write (the shape of docs/wire-formats.md, "A typical table"). */
export const C_FIRMWARE = `
#include <stdint.h>
#include <stddef.h>
struct fw_rsc_trace { uint32_t type, da, len, reserved; char name[32]; } __attribute__((packed));
struct fw_rsc_vdev_vring { uint32_t da, align, num, notifyid, pa; } __attribute__((packed));
struct fw_rsc_vdev { uint32_t type, id, notifyid, dfeatures, gfeatures, config_len; uint8_t status, num_of_vrings, reserved[2]; struct fw_rsc_vdev_vring vring[2]; } __attribute__((packed));
struct table { uint32_t ver, num, reserved[2]; uint32_t offset[2]; struct fw_rsc_vdev vdev; struct fw_rsc_trace trace; } __attribute__((packed));
__attribute__((section(".resource_table"), used)) struct table resource_table = {
  1, 2, {0, 0}, { offsetof(struct table, vdev), offsetof(struct table, trace) },
  { 3, 7, 0, 1, 0, 0, 0, 2, {0, 0}, { { 0xffffffff, 4096, 256, 0xffffffff, 0 }, { 0xffffffff, 4096, 256, 0xffffffff, 0 } } },
  { 2, 0x20000, 0x400, 0, "trace" },
};
int main(void) { return 0; }
`;

/** A gcc-built ELF (host machine) with a .resource_table section; returns its path. */
export function gccFirmware(): string {
  return compileC(C_FIRMWARE, { name: "fw" });
}

/** The default test table: an rpmsg vdev and a trace buffer placed by the builder. */
export const TEST_TABLE = {
  entries: [
    {
      kind: "vdev" as const,
      id: 7,
      dfeatures: 1,
      vrings: [
        { align: 4096, num: 16 },
        { align: 4096, num: 16 },
      ],
    },
    { kind: "trace" as const, da: FW_RSC_ADDR_ANY, len: 1024, name: "trace" },
  ],
};

/** Writes the broken and edge-case inputs into `dir`. */
export function writeBadInputs(dir: string): {
  truncated: string;
  garbage: string;
  badOffsetTable: string;
  badOffsetElf: string;
  empty: string;
} {
  const good = buildJsFirmware({ program: "export default async () => {};\n", resourceTable: TEST_TABLE });
  const truncated = join(dir, "truncated.elf");
  writeFileSync(truncated, good.subarray(0, 40));
  const garbage = join(dir, "garbage.bin");
  const g = new Uint8Array(4096);
  let x = 12345;
  for (let i = 0; i < g.length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    g[i] = x >>> 24;
  }
  g[0] = 0x42; // never "\x7fELF" nor "{"
  writeFileSync(garbage, g);
  // A table whose offset[0] points far past its end.
  const table = serializeResourceTable({ entries: [{ kind: "trace", da: 0x20000, len: 0x400, name: "trace" }] });
  new DataView(table.buffer, table.byteOffset).setUint32(16, 0x1000, true);
  const badOffsetTable = join(dir, "bad-offset.bin");
  writeFileSync(badOffsetTable, table);
  // The same damage inside a firmware ELF.
  const elf = buildJsFirmware({
    program: "export default async () => {};\n",
    resourceTable: { entries: [{ kind: "trace", da: 0x20000, len: 0x400, name: "trace" }] },
  });
  const off = findTableOffset(elf);
  new DataView(elf.buffer, elf.byteOffset).setUint32(off + 16, 0x1000, true);
  const badOffsetElf = join(dir, "bad-offset.elf");
  writeFileSync(badOffsetElf, elf);
  const empty = join(dir, "empty.elf");
  writeFileSync(empty, new Uint8Array(0));
  return { truncated, garbage, badOffsetTable, badOffsetElf, empty };
}

/** File offset of the .resource_table section (the second PT_LOAD of a JS firmware). */
function findTableOffset(elf: Uint8Array): number {
  const v = new DataView(elf.buffer, elf.byteOffset);
  const phoff = v.getUint32(28, true);
  return v.getUint32(phoff + 32 + 4, true);
}
