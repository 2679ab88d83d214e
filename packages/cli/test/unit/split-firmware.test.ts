// amp inspect on split firmware (issue 15 item 6): `fw.mdt` is read together with the `fw.bNN`
// files beside it, and shows what the whole image holds, instead of failing with
// SEGMENT_PAST_EOF.
import { describe, expect, it } from "vitest";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildJsFirmware } from "@amp/node";
import { makeTempDir, splitElf } from "@amp/test-utils";
import { TEST_TABLE } from "../fixtures.ts";
import { isOneLine, runAmp } from "../helpers.ts";

const whole = buildJsFirmware({ program: "export default async () => {};\n", resourceTable: TEST_TABLE });

function writeSplit(keepSections: boolean): { dir: string; names: string[] } {
  const dir = makeTempDir("amp-split-");
  const files = splitElf(whole, "fw", { keepSections });
  for (const [n, b] of files) writeFileSync(join(dir, n), b);
  writeFileSync(join(dir, "whole.elf"), whole);
  return { dir, names: [...files.keys()] };
}

describe("amp inspect on split firmware", () => {
  it("reads the .bNN files beside the .mdt and shows the whole image, its table included", async () => {
    const { dir, names } = writeSplit(true);
    const r = await runAmp(["inspect", "fw.mdt", "--json"], dir);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    const ref = JSON.parse((await runAmp(["inspect", "whole.elf", "--json"], dir)).stdout);
    expect(doc.diagnostics).toEqual([]);
    expect(doc.resourceTable.entries).toEqual(ref.resourceTable.entries);
    expect(doc.elf.segments.map((s: { paddr: string; filesz: string }) => [s.paddr, s.filesz])).toEqual(
      ref.elf.segments.map((s: { paddr: string; filesz: string }) => [s.paddr, s.filesz]),
    );
    expect(doc.split.companions.map((c: { file: string }) => c.file)).toEqual(names.filter((n) => n !== "fw.mdt"));
    const text = await runAmp(["inspect", "fw.mdt"], dir);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/split firmware: segments from fw\.b0\d/);
    expect(text.stdout).toMatch(/Resource table at 0x[0-9a-f]+: version 1, 2 entries/);
  });

  it("inspects a split whose section headers no file kept: segments yes, no resource table", async () => {
    const { dir } = writeSplit(false);
    const r = await runAmp(["inspect", "fw.mdt", "--json"], dir);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.resourceTable).toBeNull();
    expect(doc.diagnostics.map((d: { code: string }) => d.code)).not.toContain("SEGMENT_PAST_EOF");
  });

  it("names a missing companion in one line", async () => {
    const { dir, names } = writeSplit(true);
    const gone = names[names.length - 1] ?? "";
    rmSync(join(dir, gone));
    const r = await runAmp(["inspect", "fw.mdt"], dir);
    expect(r.code).toBe(1);
    expect(isOneLine(r.stderr)).toBe(true);
    expect(r.stderr).toMatch(new RegExp(gone.replace(".", "\\.")));
    expect(r.stderr).toMatch(/next to fw\.mdt/);
  });
});
