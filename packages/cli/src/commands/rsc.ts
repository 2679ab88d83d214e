// amp rsc decode|encode|c: a resource table from and to JSON, and C source for firmware.
import { findResourceTable, parseElf } from "@amp/elf-loader";
import {
  serializeResourceTable,
  generateResourceTableC,
  parseResourceTable,
  validateResourceTable,
  type Diagnostic,
  type ResourceTable,
  type ResourceTableInit,
} from "@amp/resource-table";
import { flag, stringOption, type Command, type ParsedArgs } from "../internal/command.js";
import { CliError } from "../internal/cli-error.js";
import { readInput, writeOutput } from "../internal/files.js";
import { hex, toJson } from "../internal/format.js";
import { jsonToTableInit, tableToJson } from "../internal/rsc-json.js";
import { describeResource } from "../internal/rsc-text.js";
import type { CliIo } from "../internal/io.js";

const FORMAT_HELP = [
  "Table JSON (what `amp rsc decode` prints and `amp rsc encode` reads):",
  '  { "ver": 1, "entries": [',
  '      { "kind": "vdev", "id": 7, "dfeatures": "0x1",',
  '        "vrings": [ { "align": "0x1000", "num": 256 }, { "align": "0x1000", "num": 256 } ] },',
  '      { "kind": "trace", "da": "0x20000", "len": "0x400", "name": "trace" } ] }',
  'Numbers may be decimal or "0x..." strings. Omitted addresses default to ANY (0xffffffff),',
  "omitted offsets are computed (packed, as a C compiler lays out the usual firmware struct).",
].join("\n");

function isElf(b: Uint8Array): boolean {
  return b.length >= 4 && b[0] === 0x7f && b[1] === 0x45 && b[2] === 0x4c && b[3] === 0x46;
}

function isJsonText(b: Uint8Array): boolean {
  for (const c of b) {
    if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) continue;
    return c === 0x7b; // "{"
  }
  return false;
}

/** Byte order of a raw table file (`--endian`); an ELF's table always has the ELF's. */
type Endianness = "little" | "big";

/**
 * The table bytes of an input and their byte order: an ELF's .resource_table in the ELF's byte
 * order (EI_DATA: the remote reads its table in its own), or the raw bytes of a table file in
 * the order given by --endian.
 */
function tableBytesOf(
  file: string,
  bytes: Uint8Array,
  endianness: Endianness,
): { tableBytes: Uint8Array; byteOrder: Endianness } {
  if (!isElf(bytes)) return { tableBytes: bytes, byteOrder: endianness };
  let section;
  let elf;
  try {
    elf = parseElf(bytes);
    section = findResourceTable(elf);
  } catch (e) {
    throw new CliError(
      `${file}: unreadable ELF (${e instanceof Error ? e.message : String(e)})`,
      "Rebuild or copy the firmware again.",
    );
  }
  if (section === undefined)
    throw new CliError(
      `${file}: has no .resource_table section`,
      "This firmware declares no resources; nothing to decode.",
    );
  return { tableBytes: section.bytes, byteOrder: elf.header.littleEndian ? "little" : "big" };
}

/** True when the version word reads 1 in the other byte order only: the wrong --endian. */
function looksSwapped(b: Uint8Array, byteOrder: Endianness): boolean {
  if (b.length < 4) return false;
  const v = new DataView(b.buffer, b.byteOffset, 4);
  return v.getUint32(0, byteOrder === "little") !== 1 && v.getUint32(0, byteOrder !== "little") === 1;
}

function endiannessOption(args: ParsedArgs): Endianness {
  const e = stringOption(args, "endian") ?? "little";
  if (e !== "little" && e !== "big")
    throw new CliError(`--endian ${e}: must be little or big`, "Run `amp rsc --help` for usage.", 2);
  return e;
}

const ENDIAN_OPTION = {
  type: "string",
  value: "little|big",
  description: "Byte order of a raw table file (default little); an ELF's table is read in the ELF's byte order.",
} as const;

function firstError(diags: readonly Diagnostic[]): Diagnostic | undefined {
  return diags.find((d) => d.severity === "error");
}

function failOnErrors(file: string, diags: readonly Diagnostic[], hint: string): void {
  const e = firstError(diags);
  if (e === undefined) return;
  const more = diags.filter((d) => d.severity === "error").length - 1;
  throw new CliError(
    `${file}: invalid resource table: ${e.code} at table offset ${hex(e.offset)}: ${e.message.replace(/\.$/, "")}${more > 0 ? ` (and ${more} more)` : ""}`,
    hint,
  );
}

/**
 * Decodes a binary or ELF input into a validated table. `hint` is what to tell the user when
 * validation fails: only `rsc decode` has --force, so only it may suggest it.
 */
function decodeTable(
  file: string,
  bytes: Uint8Array,
  force: boolean,
  endianness: Endianness,
  hint: string,
): { table: ResourceTable; diagnostics: readonly Diagnostic[] } {
  const { tableBytes, byteOrder } = tableBytesOf(file, bytes, endianness);
  const options = { endianness: byteOrder };
  const diagnostics = validateResourceTable(tableBytes, options);
  if (!force)
    failOnErrors(
      file,
      diagnostics,
      looksSwapped(tableBytes, byteOrder)
        ? `The table looks ${byteOrder === "little" ? "big" : "little"}-endian: pass --endian ${byteOrder === "little" ? "big" : "little"}.`
        : hint,
    );
  let table: ResourceTable;
  try {
    table = parseResourceTable(tableBytes, options);
  } catch (e) {
    throw new CliError(
      `${file}: cannot decode the resource table (${e instanceof Error ? e.message.replace(/\.$/, "") : String(e)})`,
      "The table is damaged: rebuild it.",
    );
  }
  return { table, diagnostics };
}

/** Reads any input (JSON, ELF or binary) as builder input (for encode and c, which have no --force). */
async function readTableInit(io: CliIo, file: string, endianness: Endianness): Promise<ResourceTableInit> {
  const bytes = await readInput(io, file, "resource table file");
  if (isJsonText(bytes)) return jsonToTableInit(new TextDecoder().decode(bytes), file);
  return decodeTable(
    file,
    bytes,
    false,
    endianness,
    "Fix the table; `amp rsc decode --force` shows what can be read of it.",
  ).table;
}

function buildChecked(file: string, init: ResourceTableInit): Uint8Array {
  let out: Uint8Array;
  try {
    out = serializeResourceTable(init);
  } catch (e) {
    throw new CliError(
      `${file}: cannot encode the table (${e instanceof Error ? e.message.replace(/\.$/, "") : String(e)})`,
      "Fix the JSON (see `amp rsc --help`).",
    );
  }
  failOnErrors(file, validateResourceTable(out), "Fix the JSON so that Linux would accept the table.");
  return out;
}

const decodeCommand: Command = {
  name: "rsc decode",
  summary: "print a resource table (from a firmware ELF or a raw table file) as JSON",
  usage: "rsc decode <firmware.elf|table.bin> [--json|--text] [--force] [--endian little|big]",
  details: `${FORMAT_HELP}\n\nThe output is JSON by default; --json says so explicitly (and makes a failure a JSON\n{"error":{code, message, hint}} document too).`,
  options: {
    json: { type: "boolean", description: "One JSON document (the default output; failures as JSON too)." },
    text: { type: "boolean", description: "Readable text instead of JSON." },
    force: { type: "boolean", description: "Decode even when validation finds errors (diagnostics go to stderr)." },
    endian: ENDIAN_OPTION,
  },
  positionals: [1, 1],
  async run(args, io) {
    const file = args.positionals[0] ?? "";
    if (flag(args, "json") && flag(args, "text"))
      throw new CliError("--json and --text exclude each other", "Pass one of them (JSON is the default).", 2);
    const endianness = endiannessOption(args);
    const bytes = await readInput(io, file, "resource table file");
    const { table, diagnostics } = decodeTable(
      file,
      bytes,
      flag(args, "force"),
      endianness,
      "Fix the table, or pass --force to decode what can be read.",
    );
    for (const d of diagnostics) io.stderr(`${d.severity}: ${d.code} at table offset ${hex(d.offset)}: ${d.message}\n`);
    if (flag(args, "text")) {
      const lines = [`resource table: version ${table.ver}, ${table.entries.length} entries, ${table.size} bytes`];
      for (const e of table.entries) lines.push(...describeResource(e).map((l) => `  ${l}`));
      io.stdout(`${lines.join("\n")}\n`);
    } else io.stdout(toJson(tableToJson(table)));
    return 0;
  },
};

const encodeCommand: Command = {
  name: "rsc encode",
  summary: "build the binary resource table from JSON",
  usage: "rsc encode <table.json> -o <table.bin> [--endian little|big] [--json]",
  details: `${FORMAT_HELP}\n\nWith --json, one JSON document on stdout: {file, output, bytes, entries}.`,
  options: {
    output: { type: "string", short: "o", value: "FILE", description: "Where to write the binary table (required)." },
    json: { type: "boolean", description: "Print what was written as one JSON document." },
    endian: {
      ...ENDIAN_OPTION,
      description: "Byte order of a raw table file given as input (default little); the output is little-endian.",
    },
  },
  positionals: [1, 1],
  async run(args, io) {
    const file = args.positionals[0] ?? "";
    const output = stringOption(args, "output");
    if (output === undefined)
      throw new CliError("missing --output", "Pass -o <table.bin>: binary output is never written to the terminal.", 2);
    const init = await readTableInit(io, file, endiannessOption(args));
    const out = buildChecked(file, init);
    await writeOutput(io, output, out);
    if (flag(args, "json")) io.stdout(toJson({ file, output, bytes: out.length, entries: init.entries.length }));
    else io.stderr(`wrote ${output}: ${out.length} bytes\n`);
    return 0;
  },
};

const cCommand: Command = {
  name: "rsc c",
  summary: "generate C source (struct and initializer, offsets computed) for a resource table",
  usage: "rsc c <table.json|firmware.elf|table.bin> [--name NAME] [-o file.c]",
  details: `${FORMAT_HELP}\n\nPaste the output into your firmware: the offsets are computed, nobody hand-counts them.`,
  options: {
    name: {
      type: "string",
      value: "NAME",
      description: "C identifier of the table variable (default resource_table).",
    },
    output: { type: "string", short: "o", value: "FILE", description: "Write to a file instead of standard output." },
    endian: { ...ENDIAN_OPTION, description: "Byte order of a raw table file given as input (default little)." },
  },
  positionals: [1, 1],
  async run(args, io) {
    const file = args.positionals[0] ?? "";
    const name = stringOption(args, "name") ?? "resource_table";
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
      throw new CliError(`--name "${name}" is not a C identifier`, "Use letters, digits and underscores.", 2);
    const init = await readTableInit(io, file, endiannessOption(args));
    buildChecked(file, init); // validate first: never generate C for a table Linux rejects
    const generated = generateResourceTableC(init, { symbol: name });
    const source = generated.endsWith("\n") ? generated : `${generated}\n`;
    const output = stringOption(args, "output");
    if (output === undefined) io.stdout(source);
    else {
      await writeOutput(io, output, source);
      io.stderr(`wrote ${output}\n`);
    }
    return 0;
  },
};

/** The `amp rsc` subcommands. */
export const rscCommands: readonly Command[] = [decodeCommand, encodeCommand, cCommand];
