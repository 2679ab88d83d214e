// amp coredump <core>: what a remoteproc core file holds (Linux layout: ET_CORE, one PT_LOAD
// per dumped region, or the section-style variant).
import { ElfType, machineName, readCoredump, readCoredumpMemory, type CoredumpSummary } from "@amp/elf-loader";
import { decodeProgramHeader, JS_FIRMWARE_MACHINE, PROGRAM_HEADER_SIZE } from "@amp/node";
import { parseResourceTable } from "@amp/resource-table";
import { flag, type Command } from "../internal/command.js";
import { CliError } from "../internal/cli-error.js";
import { readInput } from "../internal/files.js";
import { columns, hex, toJson } from "../internal/format.js";

const PREVIEW_BYTES = 16;
const ELF_TYPE_NAMES = ["ET_NONE", "ET_REL", "ET_EXEC", "ET_DYN", "ET_CORE"];

function typeName(type: number): string {
  const n = ELF_TYPE_NAMES[type];
  return n === undefined ? String(type) : `${n} (${type})`;
}

function preview(core: Uint8Array, offset: bigint, size: bigint): string {
  if (offset >= BigInt(core.length)) return "";
  const start = Number(offset);
  const n = Math.min(
    PREVIEW_BYTES,
    Number(size < BigInt(PREVIEW_BYTES) ? size : BigInt(PREVIEW_BYTES)),
    core.length - start,
  );
  const bytes = core.subarray(start, start + n);
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join(" ");
}

/**
 * For a JS-firmware core: the remote's trace log at the time of the dump, found the way the
 * firmware finds it (program header at the boot address -> resource table -> trace entry).
 * Undefined when the core does not hold those pieces.
 */
function jsFirmwareTrace(core: Uint8Array, s: CoredumpSummary): string | undefined {
  if (s.machine !== JS_FIRMWARE_MACHINE) return undefined;
  try {
    // The region holding the boot address holds the whole program image (header + code).
    const r = s.regions.find((x) => x.da <= s.entry && s.entry - x.da + BigInt(PROGRAM_HEADER_SIZE) <= x.fileSize);
    if (r === undefined) return undefined;
    const region = core.subarray(Number(r.fileOffset), Number(r.fileOffset + r.fileSize));
    const h = decodeProgramHeader(region, Number(s.entry - r.da));
    if (h.resourceTableAddress === undefined) return undefined;
    const tableBytes = readCoredumpMemory(core, s, BigInt(h.resourceTableAddress), h.resourceTableSize);
    if (tableBytes === undefined) return undefined;
    const trace = parseResourceTable(tableBytes).entries.find((e) => e.kind === "trace");
    if (trace?.kind !== "trace") return undefined;
    const buf = readCoredumpMemory(core, s, BigInt(trace.da), trace.len);
    if (buf === undefined) return undefined;
    const nul = buf.indexOf(0);
    return new TextDecoder().decode(nul < 0 ? buf : buf.subarray(0, nul));
  } catch {
    return undefined; // not a JS-firmware core after all (or a damaged one): no trace to show
  }
}

function text(file: string, core: Uint8Array, s: CoredumpSummary, showBytes: boolean): string {
  const out = [
    `${file}: ELF${s.elfClass} ${s.littleEndian ? "little" : "big"}-endian core of ${machineName(s.machine)} (e_machine ${s.machine}), boot address ${hex(s.entry)}`,
    `${s.regions.length} region${s.regions.length === 1 ? "" : "s"} (${s.format === "segments" ? "program headers" : "section headers"}):`,
  ];
  const total = s.regions.reduce((a, r) => a + r.fileSize, 0n);
  const rows = [
    ["#", "da", "size", "in file", "name"],
    ...s.regions.map((r) => [String(r.index), hex(r.da), hex(r.size), hex(r.fileSize), r.name ?? ""]),
  ];
  out.push(columns(rows));
  if (showBytes)
    for (const r of s.regions)
      out.push(`  region ${r.index} @ ${hex(r.da)}: ${preview(core, r.fileOffset, r.fileSize)}`);
  out.push(`${total} bytes of memory in the file`);
  if (s.notes.length > 0)
    out.push(`notes: ${s.notes.map((n) => `${n.name}/${n.type} (${n.desc.length} bytes)`).join(", ")}`);
  for (const d of s.diagnostics) out.push(`${d.severity}: ${d.code} at ${hex(d.offset)}: ${d.message}`);
  const trace = jsFirmwareTrace(core, s);
  if (trace !== undefined) {
    const lines = trace.split("\n").filter((l) => l !== "");
    out.push(`trace buffer at the time of the dump (last ${Math.min(lines.length, 10)} of ${lines.length} lines):`);
    for (const l of lines.slice(-10)) out.push(`  ${l}`);
  }
  return `${out.join("\n")}\n`;
}

/** `amp coredump` */
export const coredumpCommand: Command = {
  name: "coredump",
  summary: "show what a remoteproc core file holds: machine, boot address, dumped regions",
  usage: "coredump <core> [--json] [--bytes]",
  details: "Example:\n  amp coredump remoteproc0.core --bytes",
  options: {
    json: { type: "boolean", description: 'Print one JSON document (addresses as "0x..." strings).' },
    bytes: { type: "boolean", description: `Show the first ${PREVIEW_BYTES} bytes of every region.` },
  },
  positionals: [1, 1],
  async run(args, io) {
    const file = args.positionals[0] ?? "";
    const core = await readInput(io, file, "core file");
    if (core.length < 4 || core[0] !== 0x7f || core[1] !== 0x45 || core[2] !== 0x4c || core[3] !== 0x46) {
      throw new CliError(
        `${file}: not an ELF core file (no \\x7fELF magic)`,
        "Pass a core file written by amp or Linux remoteproc.",
        1,
        { code: "ERR_MALFORMED" },
      );
    }
    let s: CoredumpSummary;
    try {
      s = readCoredump(core);
    } catch (e) {
      throw new CliError(
        `${file}: unreadable core (${e instanceof Error ? e.message.replace(/\.$/, "") : String(e)})`,
        "The core file is damaged or not a coredump.",
        1,
        { cause: e },
      );
    }
    if (s.type !== ElfType.ET_CORE) {
      // readCoredump reads any ELF's program headers as regions; for a firmware image that
      // would print a meaningless "core" (machine None, status 0).
      throw new CliError(
        `${file}: not a core file (e_type is ${typeName(s.type)}, a coredump has ET_CORE)`,
        "Pass a core file written by amp or Linux remoteproc; use `amp inspect` for a firmware ELF.",
        1,
        { code: "ERR_NOT_CORE" },
      );
    }
    if (flag(args, "json")) {
      io.stdout(
        toJson({
          file,
          class: `ELF${s.elfClass}`,
          endian: s.littleEndian ? "little" : "big",
          machine: s.machine,
          machineName: machineName(s.machine),
          entry: hex(s.entry),
          format: s.format,
          regions: s.regions.map((r) => ({
            index: r.index,
            da: hex(r.da),
            size: hex(r.size),
            fileOffset: hex(r.fileOffset),
            fileSize: hex(r.fileSize),
            flags: r.flags,
            name: r.name ?? null,
          })),
          notes: s.notes.map((n) => ({ name: n.name, type: n.type, size: n.desc.length })),
          diagnostics: s.diagnostics.map((d) => ({ ...d, offset: hex(d.offset) })),
          trace: jsFirmwareTrace(core, s) ?? null,
        }),
      );
    } else io.stdout(text(file, core, s, flag(args, "bytes")));
    return 0;
  },
};
