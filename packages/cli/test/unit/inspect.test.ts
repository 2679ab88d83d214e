import { beforeAll, describe, expect, it } from "vitest";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildJsFirmware } from "@amp/node";
import { makeTempDir, requireTools } from "@amp/test-utils";
import { gccFirmware, TEST_TABLE, writeBadInputs } from "../fixtures.ts";
import { isOneLine, runAmp } from "../helpers.ts";

const dir = makeTempDir("amp-inspect-");
const jsfw = join(dir, "js.elf");
let bad: ReturnType<typeof writeBadInputs>;

beforeAll(() => {
  writeFileSync(jsfw, buildJsFirmware({ program: "export default async () => {};\n", resourceTable: TEST_TABLE }));
  bad = writeBadInputs(dir);
});

describe("amp inspect", () => {
  it("prints the JSON document the issue specifies for a JS firmware", async () => {
    const r = await runAmp(["inspect", jsfw, "--json"]);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.elf.class).toBe("ELF32");
    expect(doc.elf.endian).toBe("little");
    expect(doc.elf.machine).toBe(0);
    expect(doc.elf.entry).toBe("0x1000");
    expect(doc.elf.segments).toHaveLength(3);
    expect(Object.keys(doc.elf.segments[0]).sort()).toEqual([
      "align",
      "filesz",
      "flags",
      "memsz",
      "offset",
      "paddr",
      "type",
      "vaddr",
    ]);
    expect(doc.elf.segments[0].paddr).toBe("0x1000");
    expect(doc.elf.sections.map((s: { name: string }) => s.name)).toContain(".resource_table");
    expect(Object.keys(doc.elf.sections[1]).sort()).toEqual(["addr", "name", "offset", "size", "type"]);
    expect(doc.resourceTable.entries.map((e: { kind: string }) => e.kind)).toEqual(["vdev", "trace"]);
    expect(doc.resourceTable.entries[0].vrings[0].num).toBe(16);
    expect(doc.diagnostics).toEqual([]);
    expect(doc.jsFirmware).toEqual({ programBytes: 31, resourceTableAddress: doc.resourceTable.address });
  });

  it("prints a readable summary", async () => {
    const r = await runAmp(["inspect", jsfw]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("ELF32 little-endian");
    expect(r.stdout).toMatch(
      /JS firmware for the worker-thread processor: 31-byte program at 0x1000, resource table at 0x2000/,
    );
    expect(r.stdout).toMatch(/vdev id 7 \(rpmsg\)/);
    expect(r.stdout).toMatch(/trace "trace": da 0x3000, len 0x400/);
    expect(r.stdout).toContain("Diagnostics: none");
  });

  it("gives resourceTable null for an ELF without one", async () => {
    const f = join(dir, "notable.elf");
    writeFileSync(f, buildJsFirmware({ program: "export default async () => {};\n" }));
    const doc = JSON.parse((await runAmp(["inspect", f, "--json"])).stdout);
    expect(doc.resourceTable).toBeNull();
  });

  describe.skipIf(requireTools("gcc") !== undefined)("on a gcc-built ELF", () => {
    it("decodes the C resource table field by field", async () => {
      const r = await runAmp(["inspect", gccFirmware(), "--json"]);
      const doc = JSON.parse(r.stdout);
      expect(doc.elf.class).toBe("ELF64");
      const [vdev, trace] = doc.resourceTable.entries;
      expect(vdev).toMatchObject({ kind: "vdev", id: 7, dfeatures: "0x1", offset: "0x18" });
      expect(vdev.vrings).toEqual([
        { da: "0xffffffff", align: "0x1000", num: 256, notifyId: "0xffffffff", pa: "0x0" },
        { da: "0xffffffff", align: "0x1000", num: 256, notifyId: "0xffffffff", pa: "0x0" },
      ]);
      expect(trace).toMatchObject({ kind: "trace", da: "0x20000", len: "0x400", name: "trace", offset: "0x5c" });
    });
  });

  it("fails in one line for a missing file", async () => {
    const r = await runAmp(["inspect", join(dir, "nope.elf")]);
    expect(r.code).toBe(1);
    expect(isOneLine(r.stderr)).toBe(true);
    expect(r.stderr).toMatch(/no such firmware file/);
  });

  it("fails in one line for a garbage file", async () => {
    const r = await runAmp(["inspect", bad.garbage]);
    expect(r.code).toBe(1);
    expect(isOneLine(r.stderr)).toBe(true);
    expect(r.stderr).toMatch(/not an ELF file/);
  });

  it("fails in one line for a truncated ELF", async () => {
    const r = await runAmp(["inspect", bad.truncated]);
    expect(r.code).toBe(1);
    expect(isOneLine(r.stderr)).toBe(true);
    expect(r.stderr).toMatch(/truncated\.elf/);
  });

  it("fails in one line for an empty file", async () => {
    const r = await runAmp(["inspect", bad.empty]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/empty/);
  });

  it("reports a bad table offset as a diagnostic and exits 1", async () => {
    const r = await runAmp(["inspect", bad.badOffsetElf, "--json"]);
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout);
    expect(
      doc.diagnostics.some(
        (d: { code: string; severity: string }) => d.code === "RSC_OFFSET_OUT_OF_RANGE" && d.severity === "error",
      ),
    ).toBe(true);
    const t = await runAmp(["inspect", bad.badOffsetElf]);
    expect(t.code).toBe(1);
    expect(isOneLine(t.stderr)).toBe(true);
  });
});
