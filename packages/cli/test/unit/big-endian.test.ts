// Big-endian firmware (issue 15 item 7): the remote reads its resource table in its own byte
// order, so `amp inspect` and `amp rsc decode` must decode a big-endian image's table
// big-endian. Built with arm-none-eabi-gcc -mbig-endian (Cortex-R5), as elf-loader's
// cross-toolchain tests do.
import { describe, expect, it } from "vitest";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { findResourceTable, parseElf } from "@amp/elf-loader";
import { compileC, makeTempDir, requireTools } from "@amp/test-utils";
import { C_FIRMWARE } from "../fixtures.ts";
import { isOneLine, runAmp } from "../helpers.ts";

const missing = requireTools("arm-none-eabi-gcc");

describe.skipIf(missing)("big-endian firmware", () => {
  const flags = [
    "-O1",
    "-mcpu=cortex-r5",
    "-marm",
    "-mbig-endian",
    "-nostdlib",
    "-nostartfiles",
    "-ffreestanding",
    "-Wl,-e,main",
    "-Wl,--build-id=none",
  ];
  const be = compileC(C_FIRMWARE, { cc: "arm-none-eabi-gcc", flags, name: "fw-be" });
  const le = compileC(C_FIRMWARE, {
    cc: "arm-none-eabi-gcc",
    flags: flags.map((f) => (f === "-mbig-endian" ? "-mlittle-endian" : f)),
    name: "fw-le",
  });

  it("the fixture really is big-endian with a big-endian table", () => {
    const elf = parseElf(new Uint8Array(readFileSync(be)));
    expect(elf.header.littleEndian).toBe(false);
    const t = findResourceTable(elf)!;
    expect([...t.bytes.subarray(0, 4)]).toEqual([0, 0, 0, 1]); // ver = 1, big-endian
  });

  it("amp inspect decodes the table as the little-endian build's, with no diagnostics", async () => {
    const b = await runAmp(["inspect", be, "--json"]);
    const l = await runAmp(["inspect", le, "--json"]);
    expect(l.code, l.stdout).toBe(0);
    expect(b.code, b.stdout).toBe(0);
    const bd = JSON.parse(b.stdout);
    const ld = JSON.parse(l.stdout);
    expect(bd.elf.endian).toBe("big");
    expect(bd.diagnostics).toEqual([]);
    expect(bd.resourceTable.ver).toBe(1);
    expect(bd.resourceTable.entries).toEqual(ld.resourceTable.entries);
    expect(bd.resourceTable.entries.map((e: { kind: string }) => e.kind)).toEqual(["vdev", "trace"]);
    expect(bd.resourceTable.entries[1]).toMatchObject({ da: "0x20000", len: "0x400", name: "trace" });
    const text = await runAmp(["inspect", be]);
    expect(text.stdout).toMatch(/Resource table at 0x[0-9a-f]+: version 1, 2 entries/);
    expect(text.stdout).not.toMatch(/16777216/);
  });

  it("amp rsc decode reads an ELF's table in the ELF's byte order, and a raw table with --endian big", async () => {
    const fromElf = await runAmp(["rsc", "decode", be]);
    expect(fromElf.code, fromElf.stderr).toBe(0);
    const want = JSON.parse((await runAmp(["rsc", "decode", le])).stdout);
    expect(JSON.parse(fromElf.stdout)).toEqual(want);

    const dir = makeTempDir("amp-be-");
    const raw = join(dir, "table-be.bin");
    writeFileSync(raw, findResourceTable(parseElf(new Uint8Array(readFileSync(be))))!.bytes);
    const plain = await runAmp(["rsc", "decode", raw]);
    expect(plain.code).toBe(1);
    expect(isOneLine(plain.stderr)).toBe(true);
    expect(plain.stderr).toMatch(/big-endian/);
    expect(plain.stderr).toMatch(/--endian big/);
    const r = await runAmp(["rsc", "decode", raw, "--endian", "big"]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(want);
  });
});
