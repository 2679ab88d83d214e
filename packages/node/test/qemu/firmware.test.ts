// The firmware image itself, checked with tools we did not write (arm-none-eabi-readelf) and
// with the stack's parsers: sections, segments, the resource table a Linux host would see, the
// vector table the CPU boots from; and checkImage's refusals for images that cannot boot there.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { compileC, makeTempDir, requireTools, run } from "@amp/test-utils";
import { findResourceTable, parseElf } from "@amp/elf-loader";
import { parseResourceTable, validateResourceTable } from "@amp/resource-table";
import type { CarveoutResource, TraceResource, VdevResource } from "@amp/resource-table";
import { AMPQ_CTRL_DA, MPS2_RAM_BASE, checkImage } from "@amp/node";
import { buildFirmware } from "./helpers.ts";

const missing = requireTools("arm-none-eabi-gcc", "arm-none-eabi-readelf", "gcc");

describe.skipIf(missing)("firmware/qemu amp-echo.elf", () => {
  it("readelf: ARM EXEC, entry in the RAM, .resource_table and .vectors at 0x21000000, two PT_LOADs in the first MiB", () => {
    const fw = buildFirmware();
    const h = run("arm-none-eabi-readelf", ["-hlSW", fw.path]);
    expect(h).toMatch(/Machine:\s+ARM/);
    expect(h).toMatch(/Type:\s+EXEC/);
    expect(h).toMatch(/\.vectors\s+PROGBITS\s+21000000 /);
    expect(h).toMatch(/\.resource_table\s+PROGBITS\s+210[0-9a-f]{5} /);
    const loads = [...h.matchAll(/^\s+LOAD\s+0x[0-9a-f]+ 0x([0-9a-f]+) 0x([0-9a-f]+) 0x[0-9a-f]+ 0x([0-9a-f]+)/gm)];
    expect(loads).toHaveLength(2);
    for (const [, vaddr, paddr, memsz] of loads) {
      expect(vaddr).toBe(paddr);
      expect(parseInt(paddr!, 16) + parseInt(memsz!, 16)).toBeLessThanOrEqual(0x21100000);
    }
  });

  it("resource table: vdev rpmsg (id 7, NS feature, two vrings of 64 at fixed addresses), trace buffer, carveout amp-ctrl; no diagnostics", () => {
    const fw = buildFirmware();
    const t = findResourceTable(parseElf(fw.bytes))!;
    expect(validateResourceTable(t.bytes)).toEqual([]);
    const table = parseResourceTable(t.bytes);
    expect(table.entries.map((e) => e.kind)).toEqual(["vdev", "trace", "carveout"]);
    const [vdev, trace, carveout] = table.entries as unknown as [VdevResource, TraceResource, CarveoutResource];
    expect(vdev).toMatchObject({ id: 7, dfeatures: 1, gfeatures: 0, status: 0, configLen: 0 });
    expect(vdev.vrings.map((v) => [v.da, v.align, v.num])).toEqual([
      [0x21100000, 4096, 64],
      [0x21104000, 4096, 64],
    ]);
    expect(trace).toMatchObject({ name: "trace0", len: 4096 });
    expect(trace.da).toBeGreaterThan(MPS2_RAM_BASE);
    expect(carveout).toMatchObject({ name: "amp-ctrl", da: AMPQ_CTRL_DA, len: 0x1000 });
    const image = checkImage(fw.bytes);
    expect(image.resourceTable).toEqual({ da: Number(t.address), size: t.bytes.length });
    // the trace buffer symbol is where the table says
    const nm = run("arm-none-eabi-nm", [fw.path]);
    expect(nm).toContain(`${trace.da.toString(16).padStart(8, "0")} b trace_buf`);
  });

  it("vector table: initial SP at the top of the stack, reset vector = e_entry (Thumb)", () => {
    const img = checkImage(buildFirmware().bytes);
    const nm = run("arm-none-eabi-nm", [buildFirmware().path]);
    const stackTop = /^([0-9a-f]{8}) B __stack_top$/m.exec(nm)![1]!;
    expect(img.initialSp).toBe(parseInt(stackTop, 16));
    expect(img.resetVector).toBe(img.entry);
    expect(img.resetVector & 1).toBe(1);
  });
});

describe.skipIf(missing)("checkImage refuses what cannot boot from 0x21000000", () => {
  const dir = makeTempDir("amp-qemu-img-");
  function armElf(name: string, source: string, ldflags: string[]): Uint8Array {
    const src = join(dir, `${name}.c`);
    const out = join(dir, `${name}.elf`);
    writeFileSync(src, source + "\n");
    run("arm-none-eabi-gcc", [
      "-mcpu=cortex-m4",
      "-mthumb",
      "-nostdlib",
      "-nostartfiles",
      "-Wl,--no-warn-rwx-segments",
      ...ldflags,
      "-o",
      out,
      src,
    ]);
    return new Uint8Array(readFileSync(out));
  }
  function codeOf(f: () => unknown): string {
    try {
      f();
    } catch (e) {
      return (e as { code?: string }).code ?? String(e);
    }
    return "no error";
  }

  it("not ARM (a host x86-64 program) -> ERR_MALFORMED", () => {
    const exe = compileC("int main(void) { return 0; }\n");
    expect(codeOf(() => checkImage(new Uint8Array(readFileSync(exe))))).toBe("ERR_MALFORMED");
  });
  it("a segment outside the 16 MiB RAM -> ERR_RANGE", () => {
    const elf = armElf("low", "void reset_handler(void) { for (;;) {} }", [
      "-Wl,-Ttext=0x20000000",
      "-Wl,-ereset_handler",
    ]);
    expect(codeOf(() => checkImage(elf))).toBe("ERR_RANGE");
  });
  it("an even reset vector (not Thumb) -> ERR_MALFORMED", () => {
    const elf = armElf(
      "even",
      '__attribute__((section(".text"), used)) const unsigned int v[2] = {0x21001000u, 0x21000100u};',
      ["-Wl,-Ttext=0x21000000", "-Wl,-e0x21000000"],
    );
    expect(codeOf(() => checkImage(elf))).toBe("ERR_MALFORMED");
  });
  it("garbage -> an AmpError from the ELF parser", () => {
    expect(codeOf(() => checkImage(new Uint8Array(100).fill(7)))).toMatch(/^ERR_/);
  });
});
