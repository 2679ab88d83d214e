// amp trace <firmware | core | log.jsonl>: a remote's timestamped trace records.
// - a firmware: boot it (worker thread or QEMU, as `amp run`) and follow its trace buffers live,
//   with the host's events (state, crash, recovery, rpmsg link) between the records;
// - a core file: the last records before the crash (the core's trace note, else the trace
//   buffer found through a resource table in the dumped memory or in --firmware);
// - a JSON-lines log written by `--log-json` (or @amp/node attachTraceLog): replayed, or followed.
import { readFileSync, statSync } from "node:fs";
import { basename, dirname } from "node:path";
import {
  ElfType,
  findResourceTable,
  parseElf,
  readCoredump,
  readCoredumpMemory,
  sectionBytes,
  type CoredumpSummary,
} from "@amp/elf-loader";
import {
  attachTraceLog,
  createQemuRemoteproc,
  createTimeline,
  createTraceLog,
  hostNowMs,
  traceEntryJson,
  traceEntryText,
  type QemuRemoteproc,
  type TraceLog,
  type TraceLogEvent,
  type WorkerRemote,
} from "@amp/node";
import {
  decodeTraceNote,
  formatRemoteTime,
  isTraceNote,
  parseTraceBuffer,
  type TraceEntry,
  type TraceLevel,
  type TraceRecord,
} from "@amp/remoteproc-core";
import { parseResourceTable, type TraceResource } from "@amp/resource-table";
import { flag, numberOption, stringOption, type Command, type ParsedArgs } from "../internal/command.js";
import { CliError } from "../internal/cli-error.js";
import { readInput, resolvePath } from "../internal/files.js";
import type { CliIo } from "../internal/io.js";
import { createWorkerSessionRemote } from "../internal/session.js";
import { bootError } from "./run.js";

const UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `--since`: a duration back from now (`30s`, `5m`, `1.5h`, `250ms`) or a time (`2026-12-01T12:00:00Z`). */
export type Since = { readonly kind: "duration"; readonly ms: number } | { readonly kind: "time"; readonly ms: number };

/** Parses the value of `--since`. */
export function parseSince(v: string): Since {
  const d = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(v.trim());
  if (d !== null) return { kind: "duration", ms: Number(d[1]) * (UNITS[d[2] ?? "s"] ?? 1000) };
  const t = Date.parse(v);
  if (Number.isNaN(t))
    throw new CliError(
      `--since "${v}" is neither a duration nor a time`,
      'Use a duration such as 30s, 5m, 2h, or a time such as "2026-12-01T12:00:00Z".',
      2,
    );
  return { kind: "time", ms: t };
}

/** Trace records of a core file, and where they were found. */
export interface CoreTrace {
  readonly source: "note" | "segment";
  /** Per trace buffer (a note is buffer 0). */
  readonly buffers: readonly (readonly TraceRecord[])[];
}

function traceEntriesOf(table: Uint8Array): TraceResource[] {
  try {
    return parseResourceTable(table).entries.filter((e): e is TraceResource => e.kind === "trace" && e.len > 0);
  } catch {
    return [];
  }
}

/** Resource tables in the dumped memory: version 1, a plausible count, zero reserved words, ascending in-bounds offsets. */
function scanForTables(core: Uint8Array, s: CoredumpSummary): TraceResource[] {
  for (const r of s.regions) {
    const start = Number(r.fileOffset);
    const len = Number(r.fileSize);
    if (start + len > core.length || len < 16) continue;
    const dv = new DataView(core.buffer, core.byteOffset + start, len);
    for (let off = 0; off + 16 <= len; off += 4) {
      if (dv.getUint32(off, true) !== 1) continue;
      const num = dv.getUint32(off + 4, true);
      if (num < 1 || num > 64 || dv.getUint32(off + 8, true) !== 0 || dv.getUint32(off + 12, true) !== 0) continue;
      const head = 16 + 4 * num;
      if (off + head > len || dv.getUint32(off + 16, true) !== head) continue;
      const found = traceEntriesOf(core.subarray(start + off, start + Math.min(len, off + 65536)));
      if (found.length > 0) return found;
    }
  }
  return [];
}

/**
 * The trace records in a core: the trace note when the core has one, else each trace buffer of
 * the resource table (from `firmware` when given, else found in the dumped memory).
 */
export function coreTrace(
  core: Uint8Array,
  s: CoredumpSummary,
  firmware: Uint8Array | undefined,
): CoreTrace | undefined {
  const note = s.notes.find(isTraceNote);
  if (note !== undefined) return { source: "note", buffers: [decodeTraceNote(note.desc)] };
  let entries: TraceResource[] = [];
  if (firmware !== undefined) {
    const elf = parseElf(firmware);
    const t = findResourceTable(elf);
    if (t !== undefined) entries = traceEntriesOf(sectionBytes(elf, t.section));
  }
  if (entries.length === 0) entries = scanForTables(core, s);
  const buffers: TraceRecord[][] = [];
  for (const e of entries) {
    const raw = readCoredumpMemory(core, s, BigInt(e.da), e.len);
    if (raw !== undefined) buffers.push(parseTraceBuffer(raw));
  }
  return buffers.length === 0 ? undefined : { source: "segment", buffers };
}

/** Records of one buffer as entries, with lost records counted from the seq gaps (seq starts at 0). */
function asEntries(records: readonly TraceRecord[]): TraceEntry[] {
  let expected = 0;
  return records.map((r) => {
    let lostBefore = 0;
    if (r.seq !== undefined) {
      lostBefore = Math.max(0, r.seq - expected);
      expected = r.seq + 1;
    }
    return { ...r, lostBefore };
  });
}

function coreLine(e: TraceEntry, trace: number): string {
  const lost =
    e.lostBefore > 0
      ? `trace${String(trace)} !! ${String(e.lostBefore)} record${e.lostBefore === 1 ? "" : "s"} lost (overwritten, or written before the buffer's oldest record)\n`
      : "";
  const remote = e.remoteUs === undefined ? "" : ` [remote ${formatRemoteTime(e.remoteUs)}s]`;
  return `${lost}trace${String(trace)}${remote} ${e.level ?? "-"} ${e.text}`;
}

async function fromCore(
  io: CliIo,
  file: string,
  core: Uint8Array,
  args: ParsedArgs,
  since: Since | undefined,
): Promise<number> {
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
  const fwFile = stringOption(args, "firmware");
  const fw = fwFile === undefined ? undefined : await readInput(io, fwFile, "firmware file");
  let found: CoreTrace | undefined;
  try {
    found = coreTrace(core, s, fw);
  } catch (e) {
    throw new CliError(
      `${fwFile ?? file}: cannot read its resource table (${e instanceof Error ? e.message.replace(/\.$/, "") : String(e)})`,
      "Pass the firmware ELF the core was dumped from with --firmware.",
      1,
      { cause: e },
    );
  }
  if (found === undefined)
    throw new CliError(
      `${file}: no trace records (no trace note, and no trace buffer found in the dumped memory)`,
      "Pass the firmware ELF with --firmware so its resource table locates the trace buffer.",
      1,
      { code: "ERR_NO_TRACE" },
    );
  if (since?.kind === "time")
    throw new CliError(
      "--since with a time needs host timestamps; a core has the remote's clock only",
      "Use a duration (e.g. --since 5s: the last 5 s of remote time before the newest record).",
      2,
    );
  const json = flag(args, "json");
  let out = "";
  found.buffers.forEach((records, i) => {
    let entries = asEntries(records);
    if (since !== undefined) {
      const newest = Math.max(...entries.map((e) => e.remoteUs ?? -Infinity));
      entries = entries.filter((e) => e.remoteUs === undefined || e.remoteUs >= newest - since.ms * 1000);
    }
    for (const e of entries) {
      out += json
        ? `${JSON.stringify({ kind: "trace", trace: i, source: found.source, seq: e.seq ?? null, remoteUs: e.remoteUs ?? null, level: e.level ?? null, text: e.text, lostBefore: e.lostBefore })}\n`
        : `${coreLine(e, i)}\n`;
    }
  });
  if (!json)
    out = `${file}: ${found.source === "note" ? "the trace note (the last records before the dump)" : "trace buffer(s) in the dumped memory"}; remote clock only\n${out}`;
  io.stdout(out);
  return 0;
}

/** Which records pass `--since` (host time: the mapped time when known, else when the host read them). */
function sinceFilter(since: Since | undefined, now: () => number): (t: number) => boolean {
  if (since === undefined) return () => true;
  if (since.kind === "time") return (t) => t >= since.ms;
  const cutoff = now() - since.ms;
  return (t) => t >= cutoff;
}

/** A TraceLog printing to standard output (text or JSON lines), optionally also to durable files. */
function stdoutLog(
  io: CliIo,
  json: boolean,
  pass: (t: number) => boolean,
  tee: TraceLog | undefined,
  now: () => number,
): TraceLog {
  return {
    record(e, trace = 0) {
      tee?.record(e, trace);
      const t = e.readAtMs ?? now();
      if (!pass(e.hostMs ?? t)) return;
      io.stdout(json ? `${JSON.stringify(traceEntryJson(e, trace, t))}\n` : `${traceEntryText(e, trace, t)}\n`);
    },
    event(ev: TraceLogEvent) {
      tee?.event(ev);
      const t = now();
      if (!pass(t)) return;
      io.stdout(
        json
          ? `${JSON.stringify({ t: Math.round(t * 1000) / 1000, kind: "event", ...ev })}\n`
          : `${new Date(t).toISOString()} event ${Object.entries(ev)
              .map(([k, v]) => (k === "event" ? String(v) : `${k}=${JSON.stringify(v)}`))
              .join(" ")}\n`,
      );
    },
    close() {
      tee?.close();
    },
  };
}

function waitFor(signal: AbortSignal | undefined, ms: number | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted === true) {
      resolve();
      return;
    }
    const timer = ms === undefined ? undefined : setTimeout(resolve, ms);
    signal?.addEventListener(
      "abort",
      () => {
        if (timer !== undefined) clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}

function teeLog(io: CliIo, args: ParsedArgs): TraceLog | undefined {
  const text = stringOption(args, "log");
  const json = stringOption(args, "log-json");
  if (text === undefined && json === undefined) return undefined;
  const maxBytes = numberOption("trace", args, "log-max-bytes", 1024, 2 ** 40);
  const maxFiles = numberOption("trace", args, "log-files", 0, 1000);
  return createTraceLog({
    ...(text === undefined ? {} : { text: resolvePath(io, text) }),
    ...(json === undefined ? {} : { json: resolvePath(io, json) }),
    ...(maxBytes === undefined ? {} : { maxBytes }),
    ...(maxFiles === undefined ? {} : { maxFiles }),
  });
}

async function live(io: CliIo, file: string, args: ParsedArgs, since: Since | undefined): Promise<number> {
  const path = resolvePath(io, file);
  const machine = stringOption(args, "machine") ?? "worker";
  if (machine !== "worker" && machine !== "qemu")
    throw new CliError(
      `unknown machine "${machine}"`,
      "Use --machine worker (a worker thread, default) or --machine qemu (a Cortex-M4 under qemu-system-arm).",
      2,
    );
  const durationS = numberOption("trace", args, "duration", 0, 86_400);
  const coredump = stringOption(args, "coredump");
  const coredumpPath = coredump === undefined ? undefined : resolvePath(io, coredump);
  const recovery = flag(args, "recovery");
  let remote: WorkerRemote | QemuRemoteproc;
  if (machine === "qemu") {
    const bytes = await readInput(io, file, "firmware file");
    try {
      remote = createQemuRemoteproc({
        firmware: bytes,
        recovery: recovery ? "enabled" : "disabled",
        ...(coredumpPath === undefined ? {} : { crashCoredumpPath: coredumpPath }),
      });
    } catch (e) {
      throw new CliError(
        `${file}: cannot run on QEMU mps2-an386: ${e instanceof Error ? e.message.replace(/\.$/, "") : String(e)}`,
        "Build the firmware for the mps2-an386 memory map (see @amp/node firmware/qemu).",
      );
    }
  } else {
    await readInput(io, file, "firmware file"); // one clear error when it is missing
    remote = createWorkerSessionRemote({
      firmwarePath: path,
      recovery,
      ...(coredumpPath === undefined ? {} : { coredumpPath }),
    }).remote;
  }
  const tee = teeLog(io, args);
  const log = stdoutLog(io, flag(args, "json"), sinceFilter(since, hostNowMs), tee, hostNowMs);
  if (tee !== undefined)
    log.event({ event: "note", message: `amp trace ${basename(file)} on ${machine} (${dirname(path)})` });
  // --clock-sync: the remote's "amp-clock" service maps its clock to ours (a Timeline per boot).
  const timeline = flag(args, "clock-sync") ? createTimeline(remote) : undefined;
  const stop = attachTraceLog(remote, log, {
    intervalMs: 20,
    ...(timeline === undefined ? {} : { toHostTime: timeline.toHostTime }),
  });
  try {
    try {
      await remote.rproc.boot();
    } catch (e) {
      throw bootError(file, e);
    }
    await waitFor(io.signal, durationS === undefined ? undefined : durationS * 1000);
    if (remote.rproc.state === "running") await remote.rproc.shutdown();
    return 0;
  } finally {
    stop();
    timeline?.close();
    await remote.close();
    log.close();
  }
}

/** Lines of a JSON-lines log (kind "trace" or "event") that pass `since`, as text or JSON. */
function replayLines(text: string, json: boolean, pass: (t: number) => boolean): string {
  let out = "";
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    let o: Record<string, unknown>;
    try {
      o = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue; // a line cut by a crash of the writer
    }
    const t = typeof o["hostMs"] === "number" ? o["hostMs"] : typeof o["t"] === "number" ? o["t"] : undefined;
    if (t === undefined || !pass(t)) continue;
    if (json) {
      out += `${line}\n`;
      continue;
    }
    if (o["kind"] === "trace") {
      const e: TraceEntry = {
        text: typeof o["text"] === "string" ? o["text"] : "",
        lostBefore: typeof o["lostBefore"] === "number" ? o["lostBefore"] : 0,
        ...(typeof o["seq"] === "number" ? { seq: o["seq"] } : {}),
        ...(typeof o["remoteUs"] === "number" ? { remoteUs: o["remoteUs"] } : {}),
        ...(typeof o["level"] === "string" && /^[EWID]$/.test(o["level"]) ? { level: o["level"] as TraceLevel } : {}),
        ...(typeof o["hostMs"] === "number"
          ? { hostMs: o["hostMs"], hostErrorMs: typeof o["hostErrorMs"] === "number" ? o["hostErrorMs"] : 0 }
          : {}),
      };
      out += `${traceEntryText(e, typeof o["trace"] === "number" ? o["trace"] : 0, typeof o["t"] === "number" ? o["t"] : t)}\n`;
    } else {
      const rest = Object.entries(o).filter(([k]) => k !== "t" && k !== "kind" && k !== "event");
      out += `${new Date(t).toISOString()} event ${String(o["event"])}${rest.map(([k, v]) => ` ${k}=${JSON.stringify(v)}`).join("")}\n`;
    }
  }
  return out;
}

async function fromLog(io: CliIo, file: string, args: ParsedArgs, since: Since | undefined): Promise<number> {
  const path = resolvePath(io, file);
  const json = flag(args, "json");
  const pass = sinceFilter(since, hostNowMs);
  let at = 0;
  const readNew = (): void => {
    let size: number;
    try {
      size = statSync(path).size;
    } catch {
      return;
    }
    if (size < at) at = 0; // rotated: the file started again
    if (size === at) return;
    const bytes = readFileSync(path).subarray(at);
    const end = bytes.lastIndexOf(0x0a);
    if (end < 0) return;
    at += end + 1;
    io.stdout(replayLines(new TextDecoder().decode(bytes.subarray(0, end + 1)), json, pass));
  };
  readNew();
  if (!flag(args, "follow")) return 0;
  const durationS = numberOption("trace", args, "duration", 0, 86_400);
  const timer = setInterval(readNew, 100);
  try {
    await waitFor(io.signal, durationS === undefined ? undefined : durationS * 1000);
  } finally {
    clearInterval(timer);
  }
  readNew();
  return 0;
}

/** `amp trace` */
export const traceCommand: Command = {
  name: "trace",
  summary: "a remote's timestamped trace records: live from a firmware, from a core file, or from a log",
  usage:
    "trace <firmware | core | log.jsonl> [--since D|TIME] [--json] [--follow] [--machine worker|qemu] [--log FILE] [--log-json FILE]",
  details: [
    "A firmware: boots it (like `amp run`) and follows its trace records live, with the host's",
    "events (state, crash, recovery, rpmsg link, channels) in between, until Ctrl-C or --duration.",
    'Each record shows the host time (the time the host read the buffer, marked "(read)", unless',
    "a clock mapping gives the remote time in host time) and the remote's own clock.",
    "A core file: the last records before the dump (the core's trace note; else the trace",
    "buffer found through the resource table, in the dumped memory or in --firmware).",
    "A JSON-lines log (--log-json of an earlier run): replays it; --follow keeps reading it.",
    "",
    "--since takes a duration back from now (30s, 5m, 2h) or a time (2026-12-01T12:00:00Z); for a",
    "core, a duration back from its newest record, on the remote clock.",
    "Record format in the buffer: `<seq> <remote-us> <E|W|I|D> <text>` per line (docs/wire-formats.md).",
    "",
    "Examples:",
    "  amp trace echo.elf --log remote.log --log-json remote.jsonl --recovery",
    "  amp trace crash.core --json",
    "  amp trace remote.jsonl --since 5m",
  ].join("\n"),
  options: {
    since: { type: "string", value: "D|TIME", description: "Only records since a duration ago (30s, 5m) or a time." },
    json: { type: "boolean", description: "JSON lines, one object per record or event." },
    follow: {
      type: "boolean",
      description: "With a log file: keep reading as it grows (a firmware is always followed).",
    },
    machine: { type: "string", value: "NAME", description: "Processor for a firmware: worker (default) or qemu." },
    duration: { type: "string", value: "S", description: "Stop following after S seconds." },
    recovery: { type: "boolean", description: "Recover a crashed firmware automatically (the log goes on)." },
    "clock-sync": {
      type: "boolean",
      description:
        'Map remote time to host time through the remote\'s "amp-clock" service (records then show host time ± error).',
    },
    coredump: { type: "string", value: "FILE", description: "Write a coredump of a crash to FILE." },
    firmware: {
      type: "string",
      value: "ELF",
      description: "With a core file: the firmware, whose resource table locates the trace buffer.",
    },
    log: {
      type: "string",
      value: "FILE",
      description: "Also write a human log, rotated by size (FILE.1, FILE.2, ...).",
    },
    "log-json": { type: "string", value: "FILE", description: "Also write a JSON-lines log, rotated the same way." },
    "log-max-bytes": { type: "string", value: "N", description: "Rotate the logs at N bytes (default 1048576)." },
    "log-files": { type: "string", value: "N", description: "Rotated files kept (default 5)." },
  },
  positionals: [1, 1],
  jsonLines: true,
  async run(args, io) {
    const file = args.positionals[0] ?? "";
    const sinceArg = stringOption(args, "since");
    const since = sinceArg === undefined ? undefined : parseSince(sinceArg);
    const bytes = await readInput(io, file, "file");
    const isElf = bytes.length >= 4 && bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46;
    if (isElf && bytes.length >= 18 && (bytes[16] ?? 0) + 256 * (bytes[17] ?? 0) === ElfType.ET_CORE && bytes[5] === 1)
      return fromCore(io, file, bytes, args, since);
    if (isElf && bytes.length >= 18 && bytes[5] === 2 && (bytes[17] ?? 0) + 256 * (bytes[16] ?? 0) === ElfType.ET_CORE)
      return fromCore(io, file, bytes, args, since);
    if (!isElf && bytes[0] === 0x7b) return fromLog(io, file, args, since);
    return live(io, file, args, since);
  },
};
