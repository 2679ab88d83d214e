// amp firmware build: a TypeScript/JavaScript entry + a resource table -> a JS-firmware ELF
// for the worker-thread processor.
import { buildJsFirmware } from "@amp/node";
import { FW_RSC_ADDR_ANY, type ResourceTableInit } from "@amp/resource-table";
import { flag, stringOption, type Command } from "../internal/command.js";
import { CliError } from "../internal/cli-error.js";
import { bundleFirmware } from "../internal/bundle.js";
import { readInput, readTextInput, resolvePath, writeOutput } from "../internal/files.js";
import { toJson } from "../internal/format.js";
import { progress } from "../internal/io.js";
import { jsonToTableInit } from "../internal/rsc-json.js";

/** The usual rpmsg firmware table: one rpmsg vdev (2 vrings of 256) and a 4 KiB trace buffer. */
export const DEFAULT_RPMSG_TABLE: ResourceTableInit = {
  entries: [
    {
      kind: "vdev",
      id: 7,
      dfeatures: 1,
      vrings: [
        { align: 4096, num: 256 },
        { align: 4096, num: 256 },
      ],
    },
    { kind: "trace", da: FW_RSC_ADDR_ANY, len: 4096, name: "trace" },
  ],
};

/** `amp firmware build` */
export const firmwareBuildCommand: Command = {
  name: "firmware build",
  summary: "build a JS-firmware ELF for the simulated processor from a TS/JS entry point",
  usage: "firmware build <entry.ts|entry.js> -o <firmware.elf> [--table table.json] [--bundled] [--json]",
  details: [
    "The entry's default export is the firmware: `export default defineFirmware(async (fw) => ...)`",
    "(from @amp/node/firmware). It is bundled with esbuild (when installed) into one ES module,",
    "stored in the ELF's .text segment at the boot address 0x1000, next to a .resource_table.",
    "Without --table the usual rpmsg table is used: one rpmsg vdev (vrings of 256) and a 4 KiB",
    "trace buffer. A trace entry with da 0xffffffff gets its buffer placed by the builder.",
    "",
    "With --json, one JSON document on stdout: {entry, output, bytes, programBytes, tableEntries}.",
    "",
    "Example:",
    "  amp firmware build src/echo.ts -o echo.elf && amp run echo.elf",
  ].join("\n"),
  options: {
    output: { type: "string", short: "o", value: "FILE", description: "Where to write the firmware ELF (required)." },
    table: {
      type: "string",
      value: "FILE",
      description: "Resource table: JSON (as `amp rsc decode` prints) or binary.",
    },
    bundled: { type: "boolean", description: "The entry is already one bundled ES module: do not run esbuild." },
    minify: { type: "boolean", description: "Minify the bundle." },
    json: { type: "boolean", description: "Print what was built as one JSON document." },
  },
  positionals: [1, 1],
  async run(args, io) {
    const entry = args.positionals[0] ?? "";
    const output = stringOption(args, "output");
    if (output === undefined) throw new CliError("missing --output", "Pass -o <firmware.elf>.", 2);
    const tableFile = stringOption(args, "table");
    let table = DEFAULT_RPMSG_TABLE;
    if (tableFile !== undefined) {
      const raw = await readInput(io, tableFile, "resource table file");
      if (raw[0] !== 0x7b && !new TextDecoder().decode(raw.subarray(0, 64)).trimStart().startsWith("{")) {
        throw new CliError(
          `${tableFile}: expected a JSON table`,
          "Run `amp rsc decode <table.bin>` to turn a binary table into JSON.",
        );
      }
      table = jsonToTableInit(await readTextInput(io, tableFile), tableFile);
    }
    let program: string;
    if (flag(args, "bundled")) program = await readTextInput(io, entry, "bundled program");
    else {
      await readInput(io, entry, "firmware entry file"); // a clear error when it is missing
      progress(io, `bundling ${entry}`);
      program = await bundleFirmware(resolvePath(io, entry), { minify: flag(args, "minify") });
    }
    let elf: Uint8Array;
    try {
      elf = buildJsFirmware({ program, resourceTable: table });
    } catch (e) {
      throw new CliError(
        `cannot build the firmware: ${e instanceof Error ? e.message.replace(/\.$/, "") : String(e)}`,
        "Check the resource table and the program size.",
      );
    }
    await writeOutput(io, output, elf);
    if (flag(args, "json"))
      io.stdout(
        toJson({ entry, output, bytes: elf.length, programBytes: program.length, tableEntries: table.entries.length }),
      );
    else io.stderr(`wrote ${output}: ${elf.length} bytes (program ${program.length} bytes)\n`);
    return 0;
  },
};
