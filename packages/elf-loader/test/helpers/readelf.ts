// Parses `readelf -hlSW` text (GNU binutils) and compares it with what @amp/elf-loader parsed,
// field by field. Returns a list of human-readable mismatches (empty = equal).
import { programTypeName, sectionTypeName } from "@amp/elf-loader";
import type { ElfFile } from "@amp/elf-loader";

const TYPE_WORDS: Record<string, number> = { NONE: 0, REL: 1, EXEC: 2, DYN: 3, CORE: 4 };
/** readelf's e_machine strings for the machines we meet in tests. */
const MACHINE_WORDS: Record<string, number> = {
  "Advanced Micro Devices X86-64": 62,
  ARM: 40,
  AArch64: 183,
  "Intel 80386": 3,
  "RISC-V": 243,
  None: 0,
};

/** Section flag letters as readelf -W prints them (binutils' get_elf_section_flags). */
const FLAG_LETTERS: [bigint, string][] = [
  [0x1n, "W"],
  [0x2n, "A"],
  [0x4n, "X"],
  [0x10n, "M"],
  [0x20n, "S"],
  [0x40n, "I"],
  [0x80n, "L"],
  [0x100n, "O"],
  [0x200n, "G"],
  [0x400n, "T"],
  [0x800n, "C"],
  [0x200000n, "R"],
  [0x80000000n, "E"],
];

export function flagLetters(flags: bigint): string {
  let s = "";
  let rest = flags;
  for (const [bit, l] of FLAG_LETTERS) {
    if ((flags & bit) !== 0n) {
      s += l;
      rest &= ~bit;
    }
  }
  if (rest !== 0n) s += "?";
  return s.split("").sort().join(""); // ASCII letters only
}

function field(text: string, key: string): string | undefined {
  const m = new RegExp(`^\\s+${key.replace(/[()/]/g, "\\$&")}:\\s+(.*)$`, "m").exec(text);
  return m?.[1]?.trim();
}

export interface Comparison {
  mismatches: string[];
  /** Counts of what was compared. */
  programHeaders: number;
  sections: number;
  /** Types our name tables do not know (compared by number elsewhere, not by name). */
  unknownTypes: string[];
}

export function compareWithReadelf(elf: ElfFile, text: string): Comparison {
  const mm: string[] = [];
  const unknownTypes: string[] = [];
  const eq = (what: string, ours: unknown, theirs: unknown): void => {
    if (String(ours) !== String(theirs)) mm.push(`${what}: ours ${String(ours)} readelf ${String(theirs)}`);
  };
  const h = elf.header;
  eq("Class", `ELF${h.elfClass}`, field(text, "Class"));
  eq("Data", h.littleEndian ? "little" : "big", /little/.test(field(text, "Data") ?? "") ? "little" : "big");
  eq("ABI Version", h.abiVersion, field(text, "ABI Version"));
  const typeWord = field(text, "Type")?.split(" ")[0] ?? "";
  if (typeWord in TYPE_WORDS) eq("Type", h.type, TYPE_WORDS[typeWord]);
  else unknownTypes.push(`e_type ${typeWord}`);
  const machine = field(text, "Machine") ?? "";
  if (machine in MACHINE_WORDS) eq("Machine", h.machine, MACHINE_WORDS[machine]);
  const versions = [...text.matchAll(/^\s+Version:\s+(\S+)/gm)].map((m) => m[1]);
  eq("EI_VERSION", h.identVersion, versions[0]);
  eq("e_version", `0x${h.version.toString(16)}`, versions[1]);
  eq("Entry", `0x${h.entry.toString(16)}`, field(text, "Entry point address"));
  eq("phoff", h.phoff, field(text, "Start of program headers")?.split(" ")[0]);
  eq("shoff", h.shoff, field(text, "Start of section headers")?.split(" ")[0]);
  eq("flags", `0x${h.flags.toString(16)}`, field(text, "Flags")?.split(/[ ,]/)[0]);
  eq("ehsize", h.ehsize, field(text, "Size of this header")?.split(" ")[0]);
  eq("phentsize", h.phentsize, field(text, "Size of program headers")?.split(" ")[0]);
  eq("phnum", h.phnum, field(text, "Number of program headers")?.split(" ")[0]);
  eq("shentsize", h.shentsize, field(text, "Size of section headers")?.split(" ")[0]);
  eq("shnum", h.shnum, field(text, "Number of section headers")?.split(" ")[0]);
  eq("shstrndx", h.shstrndx, field(text, "Section header string table index")?.split(" ")[0]);

  // Program headers.
  const ph = [
    ...text.matchAll(
      /^ {2}(\S+)\s+0x([0-9a-f]+) 0x([0-9a-f]+) 0x([0-9a-f]+) 0x([0-9a-f]+) 0x([0-9a-f]+) (.{3}) (?:0x)?([0-9a-f]+)$/gm,
    ),
  ];
  eq("program header count", elf.programHeaders.length, ph.length);
  ph.forEach((m, i) => {
    const p = elf.programHeaders[i];
    if (p === undefined) return;
    const name = programTypeName(p.type, h.machine);
    if (name.startsWith("0x")) unknownTypes.push(`p_type ${m[1] ?? ""}`);
    else eq(`ph${i}.type`, name, m[1]);
    eq(`ph${i}.offset`, p.offset, BigInt(`0x${m[2] ?? ""}`));
    eq(`ph${i}.vaddr`, p.vaddr, BigInt(`0x${m[3] ?? ""}`));
    eq(`ph${i}.paddr`, p.paddr, BigInt(`0x${m[4] ?? ""}`));
    eq(`ph${i}.filesz`, p.filesz, BigInt(`0x${m[5] ?? ""}`));
    eq(`ph${i}.memsz`, p.memsz, BigInt(`0x${m[6] ?? ""}`));
    const flg = `${p.flags & 4 ? "R" : " "}${p.flags & 2 ? "W" : " "}${p.flags & 1 ? "E" : " "}`;
    eq(`ph${i}.flags`, flg, m[7]);
    eq(`ph${i}.align`, p.align, BigInt(`0x${m[8] ?? ""}`));
  });

  // Section headers.
  const sh = [
    ...text.matchAll(
      /^ {2}\[\s*(\d+)\] (.*) ([0-9a-f]{8,16}) ([0-9a-f]{6,}) ([0-9a-f]{6,}) ([0-9a-f]{2,}) (.{3}) +(\d+) +(\d+) +(\d+)$/gm,
    ),
  ];
  eq("section count", elf.sections.length, sh.length);
  sh.forEach((m, i) => {
    const s = elf.sections[i];
    if (s === undefined) return;
    eq(`sh${i}.index`, s.index, m[1]);
    const nameType = (m[2] ?? "").replace(/\s+/g, " ").trim();
    const typeName = sectionTypeName(s.type, h.machine);
    if (typeName.startsWith("0x")) {
      unknownTypes.push(`sh_type ${nameType}`);
      if (!nameType.startsWith(s.name)) mm.push(`sh${i}.name: ours ${s.name} readelf ${nameType}`);
    } else {
      eq(`sh${i}.name+type`, `${s.name} ${typeName}`.replace(/\s+/g, " ").trim(), nameType);
    }
    eq(`sh${i}.addr`, s.addr, BigInt(`0x${m[3] ?? ""}`));
    eq(`sh${i}.offset`, s.offset, BigInt(`0x${m[4] ?? ""}`));
    eq(`sh${i}.size`, s.size, BigInt(`0x${m[5] ?? ""}`));
    eq(`sh${i}.entsize`, s.entsize, BigInt(`0x${m[6] ?? ""}`));
    const theirFlags = (m[7] ?? "").trim().split("").sort().join(""); // ASCII letters only
    if (!/[xopDl]/.test(theirFlags)) eq(`sh${i}.flags`, flagLetters(s.flags), theirFlags);
    eq(`sh${i}.link`, s.link, m[8]);
    eq(`sh${i}.info`, s.info, m[9]);
    eq(`sh${i}.addralign`, s.addralign, m[10]);
  });
  return { mismatches: mm, programHeaders: ph.length, sections: sh.length, unknownTypes };
}
