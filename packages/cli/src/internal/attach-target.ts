// Where a process-based remote is, as `amp attach` and `amp rpmsg` take it on the command line:
// a preset (OpenAMP's Linux machine), or the memory file, doorbell and table address given
// one by one (each also overrides the preset's value).
import { createHash } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  OPENAMP_LINUX_MACHINE,
  type SharedFileDoorbell,
  type SharedFileDriverOptions,
  type SharedFileRegionSpec,
} from "@amp/node";
import { flag, numberOption, stringOption, type OptionSpec, type ParsedArgs } from "./command.js";
import { CliError, usageError } from "./cli-error.js";
import { resolvePath } from "./files.js";
import type { CliIo } from "./io.js";

/** Presets by name: the layouts of known process-based remotes. */
const PRESETS: Readonly<Record<string, SharedFileDriverOptions>> = {
  "openamp-linux": OPENAMP_LINUX_MACHINE,
};

/** The options every attaching command takes (spread into a command's `options`). */
export const ATTACH_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  preset: {
    type: "string",
    value: "NAME",
    description: `A known remote's layout: ${Object.keys(PRESETS).join(", ")} (OpenAMP's Linux-machine sample apps: /dev/shm/openamp.shm, unix:/tmp/openamp.event.0).`,
  },
  memory: {
    type: "string",
    value: "FILE",
    description: "The memory file the remote maps (it must exist: the remote creates it).",
  },
  doorbell: {
    type: "string",
    value: "SPEC",
    description:
      "unix:PATH (connect to the remote's socket), unix-listen:PATH (the remote connects), or poll[:MS] (no doorbell).",
  },
  table: {
    type: "string",
    value: "DA",
    description: "Device address of the resource table the remote wrote (default: the preset's, else 0).",
  },
  "memory-da": {
    type: "string",
    value: "DA",
    description: "Device address of the file's first byte (default 0: addresses are file offsets).",
  },
  session: {
    type: "string",
    value: "SOCKET",
    description: "The control socket of `amp attach` (default: one per memory file, under the temp directory).",
  },
  timeout: {
    type: "string",
    value: "S",
    description: "Seconds to wait for the remote, its table and announcements (default 10).",
  },
  json: { type: "boolean", description: 'JSON lines on standard output (addresses as "0x..." strings).' },
};

/** A resolved target: everything needed to attach, plus where its `amp attach` session lives. */
export interface AttachTarget {
  /** Absolute path of the memory file. */
  readonly memoryPath: string;
  readonly memoryDa: number;
  readonly tableDa: number;
  readonly doorbell: SharedFileDoorbell;
  /** The preset's regions (undefined: computed from the table the remote wrote). */
  readonly regions: readonly SharedFileRegionSpec[] | undefined;
  /** The preset's name, if one was used. */
  readonly preset: string | undefined;
  /** The control socket of an `amp attach` for this memory file. */
  readonly sessionPath: string;
  /** True when the user gave `--session` (then a session must exist for `amp rpmsg`). */
  readonly sessionGiven: boolean;
}

/** Largest 32-bit device address. */
const U32_MAX = 0xffffffff;

/** A doorbell as the user wrote it: unix:PATH, unix-listen:PATH, poll, poll:MS. */
export function parseDoorbell(cmd: string, io: CliIo, spec: string): SharedFileDoorbell {
  const m = /^(unix|unix-listen|poll)(?::(.*))?$/.exec(spec);
  if (m === null) throw usageError(cmd, `--doorbell "${spec}": expected unix:PATH, unix-listen:PATH or poll[:MS]`);
  const kind = m[1];
  const rest = m[2];
  if (kind === "poll") {
    if (rest === undefined || rest === "") return { kind: "poll" };
    const ms = Number(rest);
    if (!/^\d+$/.test(rest) || ms < 1 || ms > 10_000)
      throw usageError(cmd, `--doorbell poll:${rest}: the interval must be 1..10000 ms`);
    return { kind: "poll", intervalMs: ms };
  }
  if (rest === undefined || rest === "")
    throw usageError(cmd, `--doorbell ${kind}: needs a socket path, e.g. ${kind}:/tmp/openamp.event.0`);
  return {
    kind: "unix-socket",
    path: resolvePath(io, rest),
    role: kind === "unix" ? "client" : "server",
    queueIds: "any",
  };
}

/** How a doorbell is shown to people (the same syntax `--doorbell` takes). */
export function formatDoorbell(d: SharedFileDoorbell): string {
  if (d.kind === "poll") return d.intervalMs === undefined ? "poll" : `poll:${d.intervalMs}`;
  return `${d.role === "client" ? "unix" : "unix-listen"}:${d.path}`;
}

/** The default control socket of `amp attach` for a memory file: one per file, in the temp directory. */
export function defaultSessionPath(memoryPath: string): string {
  const key = createHash("sha256").update(memoryPath).digest("hex").slice(0, 12);
  return join(tmpdir(), `amp-attach-${key}.sock`);
}

/** True when the command line says where a remote is (a preset or a memory file). */
export function hasAttachTarget(args: ParsedArgs): boolean {
  return stringOption(args, "preset") !== undefined || stringOption(args, "memory") !== undefined;
}

/** Resolves the attach options of a command line into a target. */
export function resolveAttachTarget(cmd: string, io: CliIo, args: ParsedArgs): AttachTarget {
  const presetName = stringOption(args, "preset");
  let preset: SharedFileDriverOptions | undefined;
  if (presetName !== undefined) {
    preset = PRESETS[presetName];
    if (preset === undefined)
      throw usageError(cmd, `unknown preset "${presetName}" (known: ${Object.keys(PRESETS).join(", ")})`);
  }
  const memory = stringOption(args, "memory");
  if (memory === undefined && preset === undefined) {
    throw new CliError(
      "no remote given",
      "Pass --preset openamp-linux, or --memory FILE --doorbell unix:PATH (see `amp attach --help`).",
      2,
    );
  }
  const memoryPath = memory !== undefined ? resolvePath(io, memory) : (preset?.memoryPath ?? "");
  const doorbellSpec = stringOption(args, "doorbell");
  const doorbell = doorbellSpec !== undefined ? parseDoorbell(cmd, io, doorbellSpec) : preset?.doorbell;
  if (doorbell === undefined)
    throw usageError(cmd, "--doorbell is needed without a preset (unix:PATH, unix-listen:PATH or poll)");
  const memoryDa = numberOption(cmd, args, "memory-da", 0, U32_MAX) ?? preset?.memoryDa ?? 0;
  const tableDa = numberOption(cmd, args, "table", 0, U32_MAX) ?? preset?.resourceTable?.da ?? memoryDa;
  if (!Number.isInteger(memoryDa) || !Number.isInteger(tableDa))
    throw usageError(cmd, "--memory-da and --table must be whole numbers");
  // A preset's regions describe its own file layout; they still hold when only the path moved.
  const regions = preset !== undefined && memoryDa === (preset.memoryDa ?? 0) ? preset.regions : undefined;
  const session = stringOption(args, "session");
  return {
    memoryPath,
    memoryDa,
    tableDa,
    doorbell,
    regions,
    preset: presetName,
    sessionPath: session !== undefined ? resolvePath(io, session) : defaultSessionPath(memoryPath),
    sessionGiven: session !== undefined,
  };
}

/** `--timeout` in milliseconds (default `defaultS` seconds; undefined when the default is undefined). */
export function timeoutMs(cmd: string, args: ParsedArgs, defaultS: number | undefined): number | undefined {
  const s = numberOption(cmd, args, "timeout", 0.001, 86_400);
  if (s === undefined) return defaultS === undefined ? undefined : defaultS * 1000;
  return Math.round(s * 1000);
}

/** True for --json. */
export function jsonOutput(args: ParsedArgs): boolean {
  return flag(args, "json");
}
