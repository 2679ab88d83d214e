// Firmware images built at test time with Debian's cross toolchains from the C source and
// linker script in test/fixtures/: ELF32 little- and big-endian (arm-none-eabi-gcc), and ELF64
// (aarch64-linux-gnu-gcc, RAM above 4 GiB). Each has a .resource_table section and a .data
// segment whose vaddr (RAM) differs from its paddr (flash). binutils is the reference: readelf
// for the headers, nm for symbols, objcopy for section bytes and for the loaded flash image.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  ElfMachine,
  findResourceTable,
  findSection,
  loadElf,
  loadElfFromChunks,
  parseElf,
  symbolAddress,
  validateElf,
} from "@amp/elf-loader";
import type { LoadSink } from "@amp/elf-loader";
import { makeTempDir, requireTools, run, toHex } from "@amp/test-utils";
import { compareWithReadelf } from "../helpers/readelf.ts";

const FIXTURES = join(import.meta.dirname, "..", "fixtures");

interface Target {
  name: string;
  cc: string;
  prefix: string;
  flags: string[];
  flash: bigint;
  ram: bigint;
  elfClass: 32 | 64;
  le: boolean;
  machine: number;
}

const TARGETS: Target[] = [
  {
    name: "ELF32 LE (Cortex-M4)",
    cc: "arm-none-eabi-gcc",
    prefix: "arm-none-eabi-",
    flags: ["-mcpu=cortex-m4", "-mthumb", "-mlittle-endian"],
    flash: 0x0800_0000n,
    ram: 0x2000_0000n,
    elfClass: 32,
    le: true,
    machine: ElfMachine.EM_ARM,
  },
  {
    name: "ELF32 BE (Cortex-R5)",
    cc: "arm-none-eabi-gcc",
    prefix: "arm-none-eabi-",
    flags: ["-mcpu=cortex-r5", "-marm", "-mbig-endian"],
    flash: 0x0800_0000n,
    ram: 0x2000_0000n,
    elfClass: 32,
    le: false,
    machine: ElfMachine.EM_ARM,
  },
  {
    name: "ELF64 LE (AArch64)",
    cc: "aarch64-linux-gnu-gcc",
    prefix: "aarch64-linux-gnu-",
    flags: ["-static"],
    flash: 0x8000_0000n,
    ram: 0x1_0000_0000n,
    elfClass: 64,
    le: true,
    machine: ElfMachine.EM_AARCH64,
  },
];

function build(t: Target): { path: string; bytes: Uint8Array; dir: string } {
  const dir = makeTempDir("amp-elf-fixture-");
  const path = join(dir, "firmware.elf");
  run(t.cc, [
    "-O1",
    ...t.flags,
    "-nostdlib",
    "-nostartfiles",
    "-ffreestanding",
    "-fno-asynchronous-unwind-tables",
    `-Wl,--defsym=FLASH_BASE=0x${t.flash.toString(16)}`,
    `-Wl,--defsym=RAM_BASE=0x${t.ram.toString(16)}`,
    "-Wl,--build-id=none",
    "-T",
    join(FIXTURES, "firmware.ld"),
    "-o",
    path,
    join(FIXTURES, "firmware.c"),
  ]);
  return { path, bytes: new Uint8Array(readFileSync(path)), dir };
}

/** A sparse memory: a map of 4 KiB pages, so flash and RAM far apart cost nothing. */
function sparseSink(): { sink: LoadSink; read(pa: bigint, n: number): Uint8Array } {
  const pages = new Map<bigint, Uint8Array>();
  const page = (pa: bigint): Uint8Array => {
    const k = pa >> 12n;
    let p = pages.get(k);
    if (p === undefined) pages.set(k, (p = new Uint8Array(4096).fill(0x5a)));
    return p;
  };
  const put = (pa: bigint, v: number): void => {
    page(pa)[Number(pa & 0xfffn)] = v;
  };
  return {
    sink: {
      write: (pa, b) => {
        b.forEach((v, i) => {
          put(pa + BigInt(i), v);
        });
      },
      fill: (pa, n, v) => {
        for (let i = 0n; i < n; i++) put(pa + i, v);
      },
    },
    read: (pa, n) => Uint8Array.from({ length: n }, (_, i) => page(pa + BigInt(i))[Number((pa + BigInt(i)) & 0xfffn)]!),
  };
}

for (const t of TARGETS) {
  const missing = requireTools(t.cc, "readelf", `${t.prefix}objcopy`, `${t.prefix}nm`);
  describe.skipIf(missing)(t.name, () => {
    const { path, bytes, dir } = build(t);
    const elf = parseElf(bytes);

    it("parses as readelf -hlSW does, field by field", () => {
      expect(elf.header).toMatchObject({ elfClass: t.elfClass, littleEndian: t.le, machine: t.machine, type: 2 });
      const c = compareWithReadelf(elf, run("readelf", ["-hlSW", path]));
      expect(c.mismatches).toEqual([]);
      expect(c.programHeaders).toBeGreaterThanOrEqual(3);
      expect(validateElf(elf).filter((d) => d.severity === "error")).toEqual([]);
    });

    it("finds .resource_table with the bytes objcopy extracts and the address nm gives", () => {
      const rt = findResourceTable(elf)!;
      const out = join(dir, "rt.bin");
      run(`${t.prefix}objcopy`, ["-O", "binary", "--only-section=.resource_table", path, out]);
      expect(toHex(rt.bytes)).toBe(toHex(readFileSync(out)));
      expect(rt.address).toBe(t.ram + 0x118n);
      expect(rt.address).toBe(symbolAddress(elf, "resource_table"));
      expect(rt.segment).toBeDefined();
      // struct resource_table: ver = 1, num = 1, in the image's byte order.
      const v = new DataView(rt.bytes.buffer, rt.bytes.byteOffset);
      expect([v.getUint32(0, t.le), v.getUint32(4, t.le)]).toEqual([1, 1]);
    });

    it("has a .data segment with vaddr in RAM and paddr in flash", () => {
      const data = findSection(elf, ".data")!;
      const seg = data.segment!;
      expect(seg.vaddr).toBe(t.ram);
      expect(seg.paddr).not.toBe(seg.vaddr);
      expect(seg.paddr >= t.flash && seg.paddr < t.flash + 0x10000n).toBe(true);
      expect(seg.memsz).toBeGreaterThan(seg.filesz); // .bss shares the segment
    });

    it("resolves every symbol nm lists to the same address", () => {
      const lines = run(`${t.prefix}nm`, ["--defined-only", path]).trim().split("\n");
      let checked = 0;
      for (const line of lines) {
        const [addr, kind, name] = line.trim().split(/\s+/);
        if (name === undefined || !/^[TtDdBbRr]$/.test(kind ?? "") || name.startsWith("$")) continue;
        // binutils prints ARM Thumb function addresses without the Thumb bit (bit 0).
        const ours = symbolAddress(elf, name)!;
        expect(t.machine === ElfMachine.EM_ARM ? ours & ~1n : ours, name).toBe(BigInt(`0x${addr ?? ""}`));
        checked++;
      }
      expect(checked).toBeGreaterThanOrEqual(6);
    });

    it("loads by p_paddr: flash holds exactly what objcopy -O binary puts there, bss is zeroed", async () => {
      const mem = sparseSink();
      const r = loadElf(elf, mem.sink);
      expect(r.entry).toBe(symbolAddress(elf, "_start"));
      const bin = join(dir, "flash.bin");
      run(`${t.prefix}objcopy`, ["-O", "binary", path, bin]);
      const flash = new Uint8Array(readFileSync(bin));
      expect(toHex(mem.read(t.flash, flash.length))).toBe(toHex(flash));
      // .data's initial values sit at their load address in flash: data_marker first.
      const seg = findSection(elf, ".data")!.segment!;
      const marker = mem.read(seg.paddr + (symbolAddress(elf, "data_marker")! - seg.vaddr), 4);
      expect(toHex(marker)).toBe(t.le ? "44332211" : "11223344");
      // The .bss tail of the segment is zero-filled at paddr + filesz; the part of it that the
      // next load image (the resource table) covers holds that image, as Linux's header-order
      // loading leaves it (and as objcopy shows above). Past the flash image it is all zeros.
      expect(validateElf(elf).map((d) => d.code)).toContain("SEGMENT_FILL_OVERLAP");
      const tailEnd = seg.paddr + seg.memsz;
      const flashEnd = t.flash + BigInt(flash.length);
      expect(tailEnd).toBeGreaterThan(flashEnd);
      expect(toHex(mem.read(flashEnd, Number(tailEnd - flashEnd)))).toBe("00".repeat(Number(tailEnd - flashEnd)));

      const streamed = sparseSink();
      const chunks = Array.from({ length: Math.ceil(bytes.length / 97) }, (_, i) =>
        bytes.subarray(i * 97, i * 97 + 97),
      );
      await loadElfFromChunks(chunks, streamed.sink);
      expect(toHex(streamed.read(t.flash, flash.length + 0x200))).toBe(toHex(mem.read(t.flash, flash.length + 0x200)));
    });
  });
}
