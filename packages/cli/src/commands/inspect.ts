// amp inspect <firmware> [--json]: ELF summary, segments, sections, the decoded resource table
// and every validation diagnostic, for a person or (with --json) for a program.
import {
  assembleMdt,
  findResourceTable,
  isAmpError,
  machineName,
  mdtSegmentFileName,
  parseElf,
  parseMdt,
  programTypeName,
  sectionTypeName,
  validateElf,
  type ElfFile,
} from "@amp/elf-loader";
import { decodeProgramHeader, JS_FIRMWARE_FLAGS, JS_FIRMWARE_MACHINE } from "@amp/node";
import { stat } from "node:fs/promises";
import { parseResourceTable, validateResourceTable, type ResourceTable } from "@amp/resource-table";
import { flag, type Command } from "../internal/command.js";
import { CliError } from "../internal/cli-error.js";
import { readInput, resolvePath } from "../internal/files.js";
import type { CliIo } from "../internal/io.js";
import { columns, hex, toJson } from "../internal/format.js";
import { describeResource } from "../internal/rsc-text.js";
import { tableToJson } from "../internal/rsc-json.js";

/** One diagnostic from either validator, tagged with where it came from. */
interface Finding {
  readonly source: "elf" | "resource-table";
  readonly code: string;
  readonly severity: "error" | "warning";
  /** File offset for ELF findings, table offset for resource-table findings. */
  readonly offset: number;
  readonly message: string;
}

function segmentFlags(f: number): string {
  return `${f & 4 ? "R" : "-"}${f & 2 ? "W" : "-"}${f & 1 ? "X" : "-"}`;
}

/** What the program header of a JS firmware says (the worker-thread processor's format). */
interface JsFirmwareInfo {
  readonly programBytes: number;
  readonly resourceTableAddress: number | undefined;
}

/** Where the segments of split firmware came from. */
interface SplitInfo {
  readonly companions: readonly { readonly segment: number; readonly file: string; readonly size: bigint }[];
}

interface Inspection {
  readonly elf: ElfFile;
  readonly split?: SplitInfo;
  readonly js: JsFirmwareInfo | undefined;
  readonly table: ResourceTable | undefined;
  readonly tableAddress: bigint | undefined;
  readonly findings: readonly Finding[];
}

/** The program header at the entry point of a JS firmware, when this is one and it decodes. */
function jsFirmwareInfo(elf: ElfFile, bytes: Uint8Array): JsFirmwareInfo | undefined {
  const h = elf.header;
  if (h.machine !== JS_FIRMWARE_MACHINE || h.flags !== JS_FIRMWARE_FLAGS) return undefined;
  const seg = elf.programHeaders.find((p) => p.type === 1 && p.paddr <= h.entry && h.entry < p.paddr + p.filesz);
  if (seg === undefined || seg.offset + seg.filesz > BigInt(bytes.length)) return undefined;
  try {
    const image = bytes.subarray(Number(seg.offset), Number(seg.offset + seg.filesz));
    const p = decodeProgramHeader(image, Number(h.entry - seg.paddr));
    return { programBytes: p.codeLength, resourceTableAddress: p.resourceTableAddress };
  } catch {
    return undefined;
  }
}

function inspectBytes(bytes: Uint8Array): Inspection {
  const elf = parseElf(bytes);
  const js = jsFirmwareInfo(elf, bytes);
  const findings: Finding[] = validateElf(bytes).map((d) => ({ source: "elf" as const, ...d }));
  const section = findResourceTable(elf);
  if (section === undefined) return { elf, js, table: undefined, tableAddress: undefined, findings };
  // The remote reads its table in its own byte order: a big-endian image's table is big-endian.
  const rscOptions = { endianness: elf.header.littleEndian ? ("little" as const) : ("big" as const) };
  for (const d of validateResourceTable(section.bytes, rscOptions)) findings.push({ source: "resource-table", ...d });
  let table: ResourceTable | undefined;
  try {
    table = parseResourceTable(section.bytes, rscOptions);
  } catch {
    // The validator has already said why; the table is shown as absent.
    table = undefined;
  }
  return { elf, js, table, tableAddress: section.address, findings };
}

function toJsonDoc(file: string, r: Inspection): unknown {
  const h = r.elf.header;
  return {
    file,
    elf: {
      class: `ELF${h.elfClass}`,
      endian: h.littleEndian ? "little" : "big",
      type: h.type,
      machine: h.machine,
      machineName: machineName(h.machine),
      flags: hex(h.flags),
      entry: hex(h.entry),
      segments: r.elf.programHeaders.map((p) => ({
        type: programTypeName(p.type),
        offset: hex(p.offset),
        vaddr: hex(p.vaddr),
        paddr: hex(p.paddr),
        filesz: hex(p.filesz),
        memsz: hex(p.memsz),
        flags: segmentFlags(p.flags),
        align: hex(p.align),
      })),
      sections: r.elf.sections.map((s) => ({
        name: s.name,
        type: sectionTypeName(s.type),
        addr: hex(s.addr),
        offset: hex(s.offset),
        size: hex(s.size),
      })),
    },
    split:
      r.split === undefined
        ? null
        : { companions: r.split.companions.map((c) => ({ segment: c.segment, file: c.file, size: hex(c.size) })) },
    jsFirmware:
      r.js === undefined
        ? null
        : {
            programBytes: r.js.programBytes,
            resourceTableAddress: r.js.resourceTableAddress === undefined ? null : hex(r.js.resourceTableAddress),
          },
    resourceTable: r.table === undefined ? null : { address: hex(r.tableAddress ?? 0n), ...tableToJson(r.table) },
    diagnostics: r.findings.map((d) => ({ ...d, offset: hex(d.offset) })),
  };
}

function toText(file: string, r: Inspection): string {
  const h = r.elf.header;
  const out: string[] = [];
  out.push(
    `${file}: ELF${h.elfClass} ${h.littleEndian ? "little" : "big"}-endian, ${machineName(h.machine)} (e_machine ${h.machine}), flags ${hex(h.flags)}, entry ${hex(h.entry)}`,
  );
  if (r.split !== undefined) {
    out.push(
      `split firmware: segments from ${r.split.companions.map((c) => `${c.file} (segment ${c.segment}, ${c.size} bytes)`).join(", ")}`,
    );
  }
  if (r.js !== undefined) {
    out.push(
      `JS firmware for the worker-thread processor: ${r.js.programBytes}-byte program at ${hex(h.entry)}, resource table ${r.js.resourceTableAddress === undefined ? "none" : `at ${hex(r.js.resourceTableAddress)}`}`,
    );
  }
  out.push("", `Segments (${r.elf.programHeaders.length}):`);
  if (r.elf.programHeaders.length > 0) {
    out.push(
      columns([
        ["type", "offset", "vaddr", "paddr", "filesz", "memsz", "flags", "align"],
        ...r.elf.programHeaders.map((p) => [
          programTypeName(p.type),
          hex(p.offset),
          hex(p.vaddr),
          hex(p.paddr),
          hex(p.filesz),
          hex(p.memsz),
          segmentFlags(p.flags),
          hex(p.align),
        ]),
      ]),
    );
  }
  const named = r.elf.sections.filter((s) => s.index !== 0);
  out.push("", `Sections (${named.length}):`);
  if (named.length > 0) {
    out.push(
      columns([
        ["name", "type", "addr", "offset", "size"],
        ...named.map((s) => [s.name, sectionTypeName(s.type), hex(s.addr), hex(s.offset), hex(s.size)]),
      ]),
    );
  }
  out.push("");
  if (r.table === undefined) {
    out.push(
      r.tableAddress === undefined
        ? "Resource table: none (no .resource_table section)"
        : `Resource table at ${hex(r.tableAddress)}: unreadable (see diagnostics)`,
    );
  } else {
    out.push(
      `Resource table at ${hex(r.tableAddress ?? 0n)}: version ${r.table.ver}, ${r.table.entries.length} entries, ${r.table.size} bytes`,
    );
    for (const e of r.table.entries) out.push(...describeResource(e).map((l) => `  ${l}`));
  }
  out.push("");
  if (r.findings.length === 0) out.push("Diagnostics: none");
  else {
    out.push(`Diagnostics (${r.findings.length}):`);
    for (const d of r.findings)
      out.push(
        `  ${d.severity} ${d.code} at ${d.source === "elf" ? "file" : "table"} offset ${hex(d.offset)}: ${d.message}`,
      );
  }
  return `${out.join("\n")}\n`;
}

/** `amp inspect` */
export const inspectCommand: Command = {
  name: "inspect",
  summary: "show what a firmware ELF holds: segments, sections, resource table, diagnostics",
  usage: "inspect <firmware> [--json]",
  details: [
    "Exit status: 0 when the firmware has no error diagnostics, 1 when it has some.",
    "With --json, one JSON document: elf.{class,endian,machine,entry,segments[],sections[]},",
    "resourceTable (null when absent), split (null unless split firmware) and diagnostics[];",
    'addresses and sizes are "0x..." strings.',
    "Split firmware (x.mdt with its segments in x.b00, x.b01, ... beside it) is read whole.",
    "",
    "Example:",
    "  amp inspect build/firmware.elf",
    "  amp inspect build/firmware.elf --json | jq .resourceTable",
  ].join("\n"),
  options: { json: { type: "boolean", description: "Print one JSON document instead of text." } },
  positionals: [1, 1],
  async run(args, io) {
    const file = args.positionals[0] ?? "";
    const bytes = await readInput(io, file, "firmware file");
    if (bytes.length === 0)
      throw new CliError(`${file}: the file is empty`, "Pass a firmware ELF file.", 1, { code: "ERR_TRUNCATED" });
    if (bytes.length < 4 || bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) {
      throw new CliError(
        `${file}: not an ELF file (no \\x7fELF magic)`,
        "Pass a firmware ELF (use `amp rsc decode` for a raw resource table).",
        1,
        { code: "ERR_MALFORMED" },
      );
    }
    const split = await readSplit(io, file, bytes);
    let r: Inspection;
    try {
      r = inspectBytes(split?.image ?? bytes);
    } catch (e) {
      throw new CliError(
        `${file}: ${errorText(e)}`,
        "The ELF file is damaged or truncated: rebuild or copy it again.",
        1,
        { cause: e },
      );
    }
    if (split !== undefined) r = { ...r, split: split.info };
    io.stdout(flag(args, "json") ? toJson(toJsonDoc(file, r)) : toText(file, r));
    const errors = r.findings.filter((d) => d.severity === "error");
    if (errors.length > 0 && !flag(args, "json")) {
      const first = errors[0];
      io.stderr(
        `amp inspect: ${file}: ${errors.length} error${errors.length === 1 ? "" : "s"} (first: ${first?.code ?? ""}). Fix the firmware; the diagnostics above say where.\n`,
      );
    }
    return errors.length > 0 ? 1 : 0;
  },
};

/**
 * Split firmware (Qualcomm `.mdt` + `.bNN`, as remoteproc loads it): a `*.mdt` some of whose
 * segments lie past its end. The companions are read from beside it and the whole image is
 * assembled, so what is inspected is what a host loads. Undefined for anything else.
 */
async function readSplit(
  io: CliIo,
  file: string,
  mdt: Uint8Array,
): Promise<{ image: Uint8Array; info: SplitInfo } | undefined> {
  if (!file.toLowerCase().endsWith(".mdt")) return undefined;
  let phdrs;
  try {
    const m = parseMdt(mdt);
    if (!m.split) return undefined;
    phdrs = m.elf.programHeaders;
  } catch {
    return undefined; // the headers do not parse: inspecting the file itself says why
  }
  const companions: { segment: number; file: string; size: bigint }[] = [];
  for (const p of phdrs) {
    if (p.filesz > 0n && p.offset + p.filesz > BigInt(mdt.length))
      companions.push({ segment: p.index, file: mdtSegmentFileName(file, p.index), size: p.filesz });
  }
  const read = async (name: string): Promise<Uint8Array | undefined> => {
    try {
      await stat(resolvePath(io, name));
    } catch {
      return undefined;
    }
    return readInput(io, name, "split firmware file");
  };
  try {
    return { image: await assembleMdt(mdt, file, read), info: { companions } };
  } catch (e) {
    if (e instanceof CliError) throw e;
    const missing = companions.find((c) => isAmpError(e) && e.code === "ERR_SINK" && e.message.includes(c.file));
    if (missing !== undefined) {
      throw new CliError(
        `${file}: split firmware: ${missing.file} (segment ${missing.segment}) not found`,
        `Put every .bNN file next to ${file}, as the loader expects them.`,
        1,
        { cause: e },
      );
    }
    throw new CliError(
      `${file}: split firmware: ${errorText(e)}`,
      `Check the .bNN files next to ${file}: each must hold exactly its segment's bytes.`,
      1,
      { cause: e },
    );
  }
}

function errorText(e: unknown): string {
  if (e instanceof Error) {
    const off = (e as { offset?: unknown }).offset;
    const at = typeof off === "number" ? ` (at byte ${hex(off)})` : "";
    return `${e.message.replace(/\.$/, "")}${at}`;
  }
  return String(e);
}
