// Coredumps we write, read by tools we did not write: readelf -lW lists our program headers,
// and gdb (host gdb for x86-64, gdb-multiarch for ARM little- and big-endian) shows the dumped
// memory at the right addresses. For x86-64 a NT_PRSTATUS note built with the layout of
// glibc's <sys/procfs.h> (offsets measured by compiling a C program) gives gdb the registers.
import { openSync, writeSync, closeSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ElfMachine, NoteType, coredumpChunks, readCoredump, writeCoredump } from "@amp/elf-loader";
import type { CoredumpLayout, CoredumpMemoryReader } from "@amp/elf-loader";
import { compileC, makeTempDir, requireTools, run } from "@amp/test-utils";

/** The byte our fake remote memory holds at address `a`: varies with every address bit range. */
const byteAt = (a: bigint): number => Number((a ^ (a >> 8n) ^ (a >> 16n) ^ (a >> 24n) ^ (a >> 40n)) & 0xffn);
const reader: CoredumpMemoryReader = (r, _i, off, out) => {
  for (let i = 0; i < out.length; i++) out[i] = byteAt(r.da + off + BigInt(i));
  return true;
};

function writeCore(layout: CoredumpLayout, read: CoredumpMemoryReader = reader): string {
  const path = join(makeTempDir("amp-core-"), "remote.core");
  const fd = openSync(path, "w");
  try {
    writeCoredump(
      layout,
      read,
      (c) => {
        writeSync(fd, c);
      },
      { chunkSize: 4096 },
    );
  } finally {
    closeSync(fd);
  }
  return path;
}

/** The words gdb's `x/Nxw` should print for our pattern, in the core's byte order. */
function expectedWords(da: bigint, n: number, le: boolean): string[] {
  const words: string[] = [];
  for (let w = 0; w < n; w++) {
    const b = [0, 1, 2, 3].map((k) => byteAt(da + BigInt(w * 4 + k)));
    const ordered = le ? b.reverse() : b;
    words.push(`0x${ordered.map((x) => x.toString(16).padStart(2, "0")).join("")}`);
  }
  return words;
}

function gdbWords(gdb: string, core: string, addr: bigint, n: number): string[] {
  const out = run(gdb, ["-batch", "-nx", "-c", core, "-ex", `x/${n}xw 0x${addr.toString(16)}`]);
  const line = out.split("\n").find((l) => l.startsWith(`0x${addr.toString(16)}:`));
  return line === undefined ? [`no memory line in: ${out}`] : line.split(/\s+/).slice(1);
}

describe.skipIf(requireTools("readelf"))("readelf -lW reads our cores", () => {
  it.each([
    [32, true],
    [64, false],
  ] as const)("ELF%i (LE %s)", (elfClass, le) => {
    const layout: CoredumpLayout = {
      elfClass,
      machine: ElfMachine.EM_ARM,
      littleEndian: le,
      entry: 0x8000n,
      regions: [
        { da: 0x2000_0000n, size: 0x1800n },
        { da: 0x1000n, size: 3n },
      ],
      notes: [{ name: "CORE", type: 1, desc: new Uint8Array(8) }],
    };
    const text = run("readelf", ["-hlW", writeCore(layout)]);
    expect(text).toMatch(/Type:\s+CORE/);
    const rows = [
      ...text.matchAll(
        /^ {2}(LOAD|NOTE)\s+0x([0-9a-f]+) 0x([0-9a-f]+) 0x([0-9a-f]+) 0x([0-9a-f]+) 0x([0-9a-f]+) (.{3}) (?:0x)?([0-9a-f]+)$/gm,
      ),
    ];
    expect(rows.map((m) => [m[1], BigInt(`0x${m[3]!}`), BigInt(`0x${m[5]!}`), m[7]])).toEqual([
      ["NOTE", 0n, 28n, "   "],
      ["LOAD", 0x2000_0000n, 0x1800n, "RWE"],
      ["LOAD", 0x1000n, 3n, "RWE"],
    ]);
    // Offsets are back to back after the headers and the notes, as in Linux's layout.
    const ehsize = elfClass === 64 ? 64 : 52;
    const phsize = elfClass === 64 ? 56 : 32;
    expect(BigInt(`0x${rows[1]![2]!}`)).toBe(BigInt(ehsize + 3 * phsize + 28));
    expect(BigInt(`0x${rows[2]![2]!}`)).toBe(BigInt(ehsize + 3 * phsize + 28 + 0x1800));
  });

  it("section headers name the regions (readelf -SW)", () => {
    const core = writeCore({
      elfClass: 64,
      machine: ElfMachine.EM_AARCH64,
      regions: [
        { da: 0x1_0000_0000n, size: 0x100n, name: "ddr" },
        { da: 0x10n, size: 0x10n, name: "tcm" },
      ],
      sectionHeaders: true,
    });
    const text = run("readelf", ["-SW", core]);
    expect(text).toMatch(/\]\s+ddr\s+PROGBITS\s+0000000100000000 [0-9a-f]+ 000100/);
    expect(text).toMatch(/\]\s+tcm\s+PROGBITS\s+0000000000000010 [0-9a-f]+ 000010/);
    expect(text).toMatch(/\]\s+\.shstrtab\s+STRTAB/);
  });
});

describe.skipIf(requireTools("gdb", "gcc"))("gdb reads an x86-64 core we wrote", () => {
  // struct elf_prstatus size and offsets, from the C library's own headers.
  const probe = compileC(`#include <stdio.h>
#include <stddef.h>
#include <sys/procfs.h>
#include <sys/user.h>
int main(void) { printf("%zu %zu %zu %zu\\n", sizeof(struct elf_prstatus), offsetof(struct elf_prstatus, pr_reg), offsetof(struct user_regs_struct, rip), offsetof(struct user_regs_struct, rsp)); return 0; }`);
  const [size, prReg, rip, rsp] = run(probe, []).trim().split(" ").map(Number) as [number, number, number, number];

  it("shows the memory at the dumped addresses and the registers from NT_PRSTATUS", () => {
    const status = new Uint8Array(size);
    const v = new DataView(status.buffer);
    v.setBigUint64(prReg + rip, 0x2000_0010n, true);
    v.setBigUint64(prReg + rsp, 0x3000_0f00n, true);
    const core = writeCore({
      elfClass: 64,
      machine: ElfMachine.EM_X86_64,
      regions: [
        { da: 0x2000_0000n, size: 0x3000n },
        { da: 0x3000_0000n, size: 0x1000n },
        { da: 0x7fff_0000_0000n, size: 0x40n },
      ],
      notes: [{ name: "CORE", type: NoteType.NT_PRSTATUS, desc: status }],
    });
    for (const addr of [0x2000_0000n, 0x2000_1ff8n, 0x3000_0100n, 0x7fff_0000_0020n]) {
      expect(gdbWords("gdb", core, addr, 4), `0x${addr.toString(16)}`).toEqual(expectedWords(addr, 4, true));
    }
    const regs = run("gdb", ["-batch", "-nx", "-c", core, "-ex", "p/x $pc", "-ex", "p/x $sp"]);
    expect(regs).toMatch(/\$1 = 0x20000010/);
    expect(regs).toMatch(/\$2 = 0x30000f00/);
  });

  it("shows 0xff for memory the reader could not read (Linux's untranslatable segment)", () => {
    const core = writeCore(
      { elfClass: 64, machine: ElfMachine.EM_X86_64, regions: [{ da: 0x5000_0000n, size: 0x100n }] },
      () => false,
    );
    expect(gdbWords("gdb", core, 0x5000_0000n, 2)).toEqual(["0xffffffff", "0xffffffff"]);
  });
});

describe.skipIf(requireTools("gdb-multiarch"))("gdb-multiarch reads ARM cores we wrote", () => {
  it.each([true, false])("little-endian %s", (le) => {
    const layout: CoredumpLayout = {
      elfClass: 32,
      machine: ElfMachine.EM_ARM,
      littleEndian: le,
      regions: [
        { da: 0x1000_0000n, size: 0x20000n },
        { da: 0x2000_0000n, size: 0x800n },
      ],
    };
    const core = writeCore(layout);
    for (const addr of [0x1000_0000n, 0x1001_fff0n, 0x2000_0400n]) {
      expect(gdbWords("gdb-multiarch", core, addr, 4), `0x${addr.toString(16)}`).toEqual(expectedWords(addr, 4, le));
    }
    // Our reader agrees with the tools about what the core holds.
    const parts = [...coredumpChunks(layout, reader)];
    const bytes = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
    parts.reduce((o, p) => {
      bytes.set(p, o);
      return o + p.length;
    }, 0);
    expect(readCoredump(bytes).regions.map((r) => [r.da, r.size])).toEqual([
      [0x1000_0000n, 0x20000n],
      [0x2000_0000n, 0x800n],
    ]);
  });
});
