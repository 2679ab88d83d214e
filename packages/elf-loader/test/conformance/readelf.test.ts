// Our parser against GNU readelf on real system binaries: for a deterministic sample of the ELF
// files under /usr/bin and /usr/lib, the header, program headers and section headers must equal
// what `readelf -hlSW` prints, field by field.
import { closeSync, openSync, readFileSync, readSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseElf } from "@amp/elf-loader";
import { requireTools, run } from "@amp/test-utils";
import { compareWithReadelf } from "../helpers/readelf.ts";

const SAMPLE = Number(process.env["AMP_READELF_SAMPLE"] ?? 300);
const MAX_FILE = 16 << 20;
const missing = requireTools("readelf");

/** All regular files under `dir`, sorted, not following symlinks. */
function walk(dir: string, out: string[], depth = 0): void {
  if (depth > 8) return;
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p, out, depth + 1);
    else if (e.isFile()) out.push(p);
  }
}

/** FNV-1a of the path: a deterministic, well-spread order independent of directory sizes. */
function fnv(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

function isElf(path: string): boolean {
  const b = Buffer.alloc(4);
  const fd = openSync(path, "r");
  try {
    return readSync(fd, b, 0, 4, 0) === 4 && b.readUInt32BE(0) === 0x7f454c46;
  } catch {
    return false;
  } finally {
    closeSync(fd);
  }
}

function sample(): string[] {
  const files: string[] = [];
  walk("/usr/bin", files);
  walk("/usr/lib", files);
  const ordered = files.map((f) => [fnv(f), f] as const).sort((a, b) => a[0] - b[0] || (a[1] < b[1] ? -1 : 1));
  const picked: string[] = [];
  for (const [, f] of ordered) {
    if (picked.length >= SAMPLE) break;
    try {
      const st = statSync(f);
      if (st.size < 64 || st.size > MAX_FILE) continue;
      if (isElf(f)) picked.push(f);
    } catch {
      // unreadable: skip
    }
  }
  return picked;
}

describe.skipIf(missing)("readelf -hlSW on system ELF files", () => {
  it(`matches field by field on a sample of ${SAMPLE} files`, () => {
    const files = sample();
    expect(files.length).toBeGreaterThan(Math.min(SAMPLE, 50));
    const failures: string[] = [];
    let phdrs = 0;
    let sections = 0;
    const classes = new Set<string>();
    for (const f of files) {
      let text: string;
      try {
        text = run("readelf", ["-hlSW", f]);
      } catch {
        continue; // readelf itself refuses the file: nothing to compare with
      }
      try {
        const elf = parseElf(new Uint8Array(readFileSync(f)));
        classes.add(`ELF${elf.header.elfClass}/${elf.header.littleEndian ? "LE" : "BE"}/${elf.header.machine}`);
        const c = compareWithReadelf(elf, text);
        phdrs += c.programHeaders;
        sections += c.sections;
        if (c.mismatches.length > 0) failures.push(`${f}: ${c.mismatches.slice(0, 5).join("; ")}`);
      } catch (e) {
        failures.push(`${f}: parse failed: ${String(e)}`);
      }
    }
    expect(failures).toEqual([]);
    expect(phdrs).toBeGreaterThan(files.length);
    expect(sections).toBeGreaterThan(files.length * 5);
    console.log(
      `readelf: ${files.length} files, ${phdrs} program headers, ${sections} sections, kinds ${[...classes].sort().join(" ")}`,
    );
  });
});

describe.skipIf(missing)("the readelf comparison itself", () => {
  it("notices a wrong field (so a pass means something)", () => {
    const text = run("readelf", ["-hlSW", "/usr/bin/ls"]);
    const elf = parseElf(new Uint8Array(readFileSync("/usr/bin/ls")));
    const c = compareWithReadelf(elf, text);
    expect(c.mismatches).toEqual([]);
    expect(c.programHeaders).toBeGreaterThan(0);
    expect(c.sections).toBeGreaterThan(10);
    const wrongPh = {
      ...elf,
      programHeaders: elf.programHeaders.map((p, i) => (i === 1 ? { ...p, memsz: p.memsz + 1n } : p)),
    };
    expect(compareWithReadelf(wrongPh, text).mismatches).toEqual([expect.stringContaining("ph1.memsz")]);
    const wrongSh = {
      ...elf,
      sections: elf.sections.map((s, i) => (i === 2 ? { ...s, name: `${s.name}x`, flags: s.flags ^ 1n } : s)),
    };
    expect(compareWithReadelf(wrongSh, text).mismatches.map((m) => m.split(":")[0])).toEqual([
      "sh2.name+type",
      "sh2.flags",
    ]);
  });
});
