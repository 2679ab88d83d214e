// End-to-end (inspect, rsc, bad input): the built `amp` (node dist/bin.js) spawned as a user runs it.
import { beforeAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { findResourceTable, parseElf } from "@amp/elf-loader";
import { compileC, makeTempDir, requireTools, run, toHex } from "@amp/test-utils";
import { C_FIRMWARE, writeBadInputs } from "../fixtures.ts";
import { AMP_BIN, isOneLine, spawnAmp } from "../helpers.ts";

const ECHO_ELF = fileURLToPath(new URL("../../dist/firmware/echo.elf", import.meta.url));
const dir = makeTempDir("amp-e2e-");

beforeAll(() => {
  if (!existsSync(AMP_BIN) || !existsSync(ECHO_ELF))
    throw new Error("build the package first (pnpm build): dist/bin.js and dist/firmware/echo.elf are needed");
});
const noGcc = requireTools("gcc");

function noStack(text: string): void {
  expect(text).not.toMatch(/\n\s+at .*\(/);
  expect(text).not.toMatch(/node:internal/);
}

describe("amp --help", () => {
  it("lists every command, and every command has --help", () => {
    const top = spawnAmp(["--help"]);
    expect(top.code).toBe(0);
    const names = [
      "demo",
      "inspect",
      "rsc decode",
      "rsc encode",
      "rsc c",
      "firmware build",
      "run",
      "coredump",
      "keygen",
      "sign",
      "verify",
    ];
    for (const n of names) expect(top.stdout).toContain(`  ${n} `);
    // Every command's --help is checked in-process (test/unit/main.test.ts); one spawn here.
    const r = spawnAmp(["run", "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Usage: amp run");
  });
});

describe("amp inspect", () => {
  it("describes the example firmware as JSON", () => {
    const r = spawnAmp(["inspect", ECHO_ELF, "--json"]);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.elf).toMatchObject({ class: "ELF32", endian: "little", machine: 0, entry: "0x1000" });
    expect(doc.elf.segments.every((s: { type: string }) => s.type === "LOAD")).toBe(true);
    expect(doc.resourceTable.entries.map((e: { kind: string }) => e.kind)).toEqual(["vdev", "trace"]);
    expect(doc.diagnostics).toEqual([]);
  });

  it.skipIf(noGcc !== undefined)("agrees with readelf on a gcc-built ELF", () => {
    const elf = compileC(C_FIRMWARE, { name: "fw" });
    const doc = JSON.parse(spawnAmp(["inspect", elf, "--json"]).stdout);
    expect(doc.elf.class).toBe("ELF64");
    const re = run("readelf", ["-SW", elf]);
    const m = /\.resource_table\s+PROGBITS\s+([0-9a-f]+) ([0-9a-f]+) ([0-9a-f]+)/.exec(re)!;
    const sec = doc.elf.sections.find((s: { name: string }) => s.name === ".resource_table");
    expect(BigInt(sec.addr)).toBe(BigInt(`0x${m[1]}`));
    expect(BigInt(sec.offset)).toBe(BigInt(`0x${m[2]}`));
    expect(BigInt(sec.size)).toBe(BigInt(`0x${m[3]}`));
    expect(doc.resourceTable.address).toBe(sec.addr);
    expect(doc.resourceTable.entries[1]).toMatchObject({ kind: "trace", da: "0x20000", len: "0x400", name: "trace" });
  });

  it.skipIf(requireTools("arm-none-eabi-gcc") !== undefined)(
    "reads an ARM Cortex-M firmware built with arm-none-eabi-gcc",
    () => {
      const src = `${C_FIRMWARE.replace("int main(void) { return 0; }", "")}\nvoid _start(void) { for (;;) {} }\n`;
      const elf = compileC(src, {
        cc: "arm-none-eabi-gcc",
        flags: ["-mcpu=cortex-m4", "-mthumb", "-nostdlib", "-O1"],
        name: "m4",
      });
      const doc = JSON.parse(spawnAmp(["inspect", elf, "--json"]).stdout);
      expect(doc.elf).toMatchObject({ class: "ELF32", endian: "little", machine: 40 });
      expect(doc.resourceTable.entries[0]).toMatchObject({ kind: "vdev", id: 7 });
    },
  );
});

describe("amp rsc", () => {
  it("round-trips the example firmware's table byte for byte (decode -> JSON -> encode)", () => {
    const json = join(dir, "table.json");
    const bin = join(dir, "table.bin");
    const d = spawnAmp(["rsc", "decode", ECHO_ELF]);
    expect(d.code).toBe(0);
    writeFileSync(json, d.stdout);
    const e = spawnAmp(["rsc", "encode", json, "-o", bin]);
    expect(e.code).toBe(0);
    const original = findResourceTable(parseElf(new Uint8Array(readFileSync(ECHO_ELF))))!.bytes;
    expect(toHex(new Uint8Array(readFileSync(bin)))).toBe(toHex(original));
    // and the binary decodes to the same JSON
    expect(spawnAmp(["rsc", "decode", bin]).stdout).toBe(d.stdout);
  });

  it.skipIf(noGcc !== undefined)("generates C that gcc compiles into exactly the encoded bytes", () => {
    const json = join(dir, "c-table.json");
    writeFileSync(json, spawnAmp(["rsc", "decode", ECHO_ELF]).stdout);
    const bin = join(dir, "c-table.bin");
    expect(spawnAmp(["rsc", "encode", json, "-o", bin]).code).toBe(0);
    const c = spawnAmp(["rsc", "c", json, "--name", "my_table"]);
    expect(c.code).toBe(0);
    const prog = compileC(
      `${c.stdout}\n#include <stdio.h>\nint main(void) { fwrite(&my_table, sizeof my_table, 1, stdout); return 0; }\n`,
      { name: "rsc-c", flags: ["-O0", "-Wall"] },
    );
    const out = spawnSync(prog, [], { encoding: "buffer" }).stdout;
    expect(toHex(new Uint8Array(out))).toBe(toHex(new Uint8Array(readFileSync(bin))));
  });
});

describe("bad input: one line, non-zero exit, no stack trace", () => {
  const bad = writeBadInputs(dir);
  const cases: [string, string[], RegExp][] = [
    ["missing file", ["inspect", join(dir, "missing.elf")], /no such firmware file/],
    ["garbage file", ["inspect", bad.garbage], /not an ELF file/],
    ["truncated ELF", ["inspect", bad.truncated], /truncated\.elf/],
    ["empty file", ["inspect", bad.empty], /empty/],
    ["table with a bad offset", ["rsc", "decode", bad.badOffsetTable], /RSC_OFFSET_OUT_OF_RANGE/],
    ["ELF with a bad table offset", ["rsc", "decode", bad.badOffsetElf], /RSC_OFFSET_OUT_OF_RANGE/],
    ["run a garbage file", ["run", bad.garbage, "--duration", "1"], /boot failed/],
    ["run a missing file", ["run", join(dir, "missing.elf")], /no such firmware file/],
    ["coredump of a garbage file", ["coredump", bad.garbage], /not an ELF core/],
    ["rsc encode of bad JSON", ["rsc", "encode", bad.garbage, "-o", join(dir, "x.bin")], /resource table/],
    ["unknown option", ["inspect", ECHO_ELF, "--frob"], /unknown option/i],
  ];
  for (const [what, argv, msg] of cases) {
    it(what, () => {
      const r = spawnAmp(argv);
      expect(r.code, r.stderr).not.toBe(0);
      expect(isOneLine(r.stderr), r.stderr).toBe(true);
      expect(r.stderr).toMatch(msg);
      noStack(r.stderr);
    });
  }

  it("inspect of an ELF with a bad table offset shows the diagnostic and exits 1", () => {
    const r = spawnAmp(["inspect", bad.badOffsetElf]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/error RSC_OFFSET_OUT_OF_RANGE/);
    expect(isOneLine(r.stderr)).toBe(true);
  });
});
