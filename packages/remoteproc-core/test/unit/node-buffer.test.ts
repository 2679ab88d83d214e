// A Node Buffer is a Uint8Array whose `.slice()` is a view, often into a shared 8 KiB pool at a
// non-zero byteOffset. Firmware read with readFileSync arrives as such a Buffer; every copy the
// core keeps (cached table, firmware source) must be a real copy of exactly those bytes.
import { describe, expect, it } from "vitest";
import { parseResourceTable } from "@amp/resource-table";
import { createMemoryFirmwareSource } from "@amp/remoteproc-core";
import { RSC_DA, firmware, makePlatform } from "../helpers/fixture.ts";

/** The same bytes as a Buffer that sits at a non-zero offset of a larger pool, after junk. */
function asPooledBuffer(bytes: Uint8Array): Buffer {
  const pool = Buffer.alloc(bytes.length + 4096, 0x7f);
  pool.set(bytes, 1234);
  return pool.subarray(1234, 1234 + bytes.length);
}

describe("firmware given as a Node Buffer", () => {
  it("boots with the table the firmware holds, not bytes from elsewhere in the pool", async () => {
    const fw = firmware();
    const p = makePlatform({ fw: asPooledBuffer(fw) });
    await p.rproc.boot();
    expect(p.rproc.state).toBe("running");
    const table = parseResourceTable(p.read(RSC_DA, 256), { regionSize: 256 });
    expect(table.ver).toBe(1);
    expect(table.entries.map((e) => e.kind)).toEqual(["carveout", "vdev", "trace"]);
  });

  it("the memory firmware source keeps its own copy", () => {
    const src = createMemoryFirmwareSource();
    const buf = asPooledBuffer(Uint8Array.of(1, 2, 3));
    src.set("a.elf", buf);
    buf.fill(9);
    const got = src.get("a.elf");
    expect(got instanceof Uint8Array ? [...got] : got).toEqual([1, 2, 3]);
  });
});
