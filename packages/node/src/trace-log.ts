// Durable logs of a remote: its trace records and the host's events about it (state changes,
// crashes, recoveries, coredumps, rpmsg link up/down and channels), interleaved in one stream and
// written as JSON lines and/or human text to files that rotate by size and count
// (`log`, `log.1`, `log.2`, ...). The log outlives a crash: the last records the remote wrote are
// read from its (kept) memory before the crash line, and the same files go on after recovery.
import { closeSync, existsSync, fstatSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import {
  formatRemoteTime,
  TraceFollower,
  type RemoteToHostTime,
  type Remoteproc,
  type TraceEntry,
} from "@amp/remoteproc-core";
import type { RpmsgHost } from "@amp/rpmsg";

/** Host clock in ms since the epoch (sub-millisecond resolution). */
export function hostNowMs(): number {
  return performance.timeOrigin + performance.now();
}

/** Options of {@link createRotatingFile}. */
export interface RotatingFileOptions {
  /** Rotate before a write would make the file larger than this (default 1 MiB). */
  readonly maxBytes?: number;
  /** Rotated files kept beside the current one: `path.1` (newest) ... `path.N` (default 5; 0: the file is truncated instead). */
  readonly maxFiles?: number;
}

/** An append-only file that rotates by size. */
export interface RotatingFile {
  readonly path: string;
  /** Appends `text` (rotating first when it would not fit). */
  write(text: string): void;
  close(): void;
}

/**
 * Opens `path` for appending (an existing file is continued, so a restarted process keeps one
 * history) and rotates it when it reaches `maxBytes`: `path` -> `path.1` -> `path.2` ..., the
 * oldest beyond `maxFiles` is deleted. A single line longer than `maxBytes` is still written whole.
 */
export function createRotatingFile(path: string, options: RotatingFileOptions = {}): RotatingFile {
  const maxBytes = options.maxBytes ?? 1 << 20;
  const maxFiles = options.maxFiles ?? 5;
  if (!Number.isInteger(maxBytes) || maxBytes < 1)
    throw new RangeError(`maxBytes must be a positive integer, got ${String(maxBytes)}`);
  if (!Number.isInteger(maxFiles) || maxFiles < 0)
    throw new RangeError(`maxFiles must be a non-negative integer, got ${String(maxFiles)}`);
  let fd: number | undefined = openSync(path, "a");
  let size = fstatSync(fd).size;
  const rotate = (): void => {
    if (fd !== undefined) closeSync(fd);
    if (maxFiles === 0) rmSync(path, { force: true });
    else {
      rmSync(`${path}.${String(maxFiles)}`, { force: true });
      for (let i = maxFiles - 1; i >= 1; i--)
        if (existsSync(`${path}.${String(i)}`)) renameSync(`${path}.${String(i)}`, `${path}.${String(i + 1)}`);
      renameSync(path, `${path}.1`);
    }
    fd = openSync(path, "a");
    size = 0;
  };
  return {
    path,
    write(text: string): void {
      if (fd === undefined) throw new Error(`${path}: the log is closed`);
      const bytes = Buffer.from(text, "utf8");
      if (size > 0 && size + bytes.length > maxBytes) rotate();
      let off = 0;
      while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
      size += bytes.length;
    },
    close(): void {
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
    },
  };
}

/** Options of {@link createTraceLog}. */
export interface TraceLogOptions extends RotatingFileOptions {
  /** JSON lines file (one object per record or event). */
  readonly json?: string;
  /** Human-readable file. */
  readonly text?: string;
  /** Host clock (default {@link hostNowMs}). */
  readonly now?: () => number;
}

/** Host events the log records, with their fields. */
export type TraceLogEvent =
  | { readonly event: "state"; readonly from: string; readonly to: string }
  | { readonly event: "crash"; readonly type: string; readonly detail?: string }
  | { readonly event: "recovery"; readonly crashes: number }
  | { readonly event: "coredump"; readonly size: number; readonly segments: number; readonly reason: string }
  | { readonly event: "rpmsg-link"; readonly up: boolean; readonly reason?: string }
  | { readonly event: "channel"; readonly type: string; readonly name: string; readonly addr: number }
  | { readonly event: "error"; readonly operation: string; readonly message: string }
  | { readonly event: "note"; readonly message: string };

/** A log that takes trace entries and host events. */
export interface TraceLog {
  /** A record read from trace buffer `trace` (its index). */
  record(entry: TraceEntry, trace?: number): void;
  /** A host event. */
  event(e: TraceLogEvent): void;
  close(): void;
}

/** One JSON line for a trace entry (`kind: "trace"`), as written by {@link createTraceLog}. */
export function traceEntryJson(entry: TraceEntry, trace: number, t: number): Record<string, unknown> {
  return {
    t: Math.round(t * 1000) / 1000,
    kind: "trace",
    trace,
    seq: entry.seq ?? null,
    remoteUs: entry.remoteUs ?? null,
    level: entry.level ?? null,
    text: entry.text,
    lostBefore: entry.lostBefore,
    ...(entry.hostMs === undefined
      ? {}
      : { hostMs: Math.round(entry.hostMs * 1000) / 1000, hostErrorMs: entry.hostErrorMs ?? 0 }),
    ...(entry.truncated === true ? { truncated: true } : {}),
  };
}

function isoMs(ms: number): string {
  return new Date(ms).toISOString();
}

function eventText(e: TraceLogEvent): string {
  switch (e.event) {
    case "state":
      return `state ${e.from} -> ${e.to}`;
    case "crash":
      return `crash ${e.type}${e.detail === undefined ? "" : `: ${e.detail}`}`;
    case "recovery":
      return `recovery: running again after crash #${String(e.crashes)}`;
    case "coredump":
      return `coredump ${String(e.size)} bytes, ${String(e.segments)} segments (${e.reason})`;
    case "rpmsg-link":
      return `rpmsg link ${e.up ? "up" : "down"}${e.reason === undefined ? "" : `: ${e.reason}`}`;
    case "channel":
      return `rpmsg channel "${e.name}" ${e.type === "create" ? "announced" : "withdrawn"} at 0x${e.addr.toString(16)}`;
    case "error":
      return `error in ${e.operation}: ${e.message}`;
    case "note":
      return e.message;
  }
}

/** The human line of a trace entry: `<host time> trace0 [remote 1.234567s] I text`. */
export function traceEntryText(entry: TraceEntry, trace: number, t: number): string {
  const lost =
    entry.lostBefore > 0
      ? `${isoMs(t)} trace${String(trace)} !! ${String(entry.lostBefore)} record${entry.lostBefore === 1 ? "" : "s"} lost (overwritten before the host read them)\n`
      : "";
  // Host time from the clock mapping when there is one, else the time the host read the buffer.
  const when =
    entry.hostMs === undefined
      ? `${isoMs(t)} (read)`
      : `${isoMs(entry.hostMs)} ±${(entry.hostErrorMs ?? 0).toFixed(1)}ms`;
  const remote = entry.remoteUs === undefined ? "" : ` [remote ${formatRemoteTime(entry.remoteUs)}s]`;
  return `${lost}${when} trace${String(trace)}${remote} ${entry.level ?? "-"} ${entry.text}`;
}

/** Writes records and events to rotating JSON-lines and/or text files. */
export function createTraceLog(options: TraceLogOptions): TraceLog {
  const now = options.now ?? hostNowMs;
  const json = options.json === undefined ? undefined : createRotatingFile(options.json, options);
  const text = options.text === undefined ? undefined : createRotatingFile(options.text, options);
  return {
    record(entry, trace = 0) {
      const t = entry.readAtMs ?? now();
      json?.write(`${JSON.stringify(traceEntryJson(entry, trace, t))}\n`);
      text?.write(`${traceEntryText(entry, trace, t)}\n`);
    },
    event(e) {
      const t = now();
      json?.write(`${JSON.stringify({ t: Math.round(t * 1000) / 1000, kind: "event", ...e })}\n`);
      text?.write(`${isoMs(t)} event ${eventText(e)}\n`);
    },
    close() {
      json?.close();
      text?.close();
    },
  };
}

/** What {@link attachTraceLog} follows: a remote under remoteproc-core, optionally with rpmsg. */
export interface LoggedRemote {
  readonly rproc: Remoteproc;
  onRpmsg?(listener: (host: RpmsgHost) => void): () => void;
}

/** Options of {@link attachTraceLog}. */
export interface AttachTraceLogOptions {
  /** Poll interval of the trace buffers in ms (default 50). */
  readonly intervalMs?: number;
  /** Remote time to host time (a clock-sync estimate); without it, the read time is logged. */
  readonly toHostTime?: RemoteToHostTime;
  /** Host clock (default {@link hostNowMs}). */
  readonly now?: () => number;
  /** Also called with every new record (e.g. to print it). */
  readonly onRecord?: (entry: TraceEntry, trace: number) => void;
}

/**
 * Follows every trace buffer of `remote` and its host events into `log` until the returned
 * function is called (which reads the buffers one last time). Survives crashes and recoveries:
 * on a crash the buffers (kept in memory) are read before the crash line, after recovery the
 * new run's records follow a `recovery` line in the same files.
 */
export function attachTraceLog(
  remote: LoggedRemote,
  target: TraceLog,
  options: AttachTraceLogOptions = {},
): () => void {
  const { rproc } = remote;
  let stopped = false;
  // A log that fails (disk full, closed) must never throw into the remote's life cycle.
  const log: TraceLog = {
    record(e, i) {
      if (!stopped)
        try {
          target.record(e, i);
        } catch {
          /* dropped */
        }
    },
    event(e) {
      if (!stopped)
        try {
          target.event(e);
        } catch {
          /* dropped */
        }
    },
    close() {
      target.close();
    },
  };
  const now = options.now ?? hostNowMs;
  const followers: TraceFollower[] = [];
  const follower = (i: number): TraceFollower => {
    let f = followers[i];
    if (f === undefined) {
      f = new TraceFollower({ now, ...(options.toHostTime === undefined ? {} : { toHostTime: options.toHostTime }) });
      followers[i] = f;
    }
    return f;
  };
  const poll = (): void => {
    const traces = rproc.traces;
    for (let i = 0; i < traces.length; i++) {
      let raw: Uint8Array | undefined;
      try {
        raw = traces[i]?.readRaw();
      } catch {
        continue; // memory not mapped at the moment
      }
      for (const e of follower(i).update(raw).records) {
        log.record(e, i);
        options.onRecord?.(e, i);
      }
    }
  };
  const offs: (() => void)[] = [];
  let crashed = false;
  offs.push(
    rproc.on("state", ({ from, to }) => {
      if (from === "crashed" || to === "offline") poll();
      log.event({ event: "state", from, to });
      if (to === "running" || to === "attached") {
        // A new run: the remote's seq and clock start again.
        for (const f of followers) f.reset();
        if (crashed) log.event({ event: "recovery", crashes: rproc.crashCount });
        crashed = false;
      }
    }),
  );
  offs.push(
    rproc.on("crash", (c) => {
      crashed = true;
      poll(); // the last records before the crash, from the memory kept while crashed
      log.event({ event: "crash", type: c.type, ...(c.detail === undefined ? {} : { detail: c.detail }) });
    }),
  );
  offs.push(
    rproc.on("coredump", (i) => {
      log.event({ event: "coredump", size: i.size, segments: i.segments, reason: i.reason });
    }),
  );
  offs.push(
    rproc.on("error", ({ operation, error }) => {
      log.event({ event: "error", operation, message: error instanceof Error ? error.message : String(error) });
    }),
  );
  if (remote.onRpmsg !== undefined) {
    offs.push(
      remote.onRpmsg((host) => {
        if (host.isLinkUp) log.event({ event: "rpmsg-link", up: true });
        offs.push(
          host.onLinkChange((up, reason) => {
            log.event({ event: "rpmsg-link", up, ...(reason === undefined ? {} : { reason: reason.message }) });
          }),
        );
        offs.push(
          host.onNameService((e) => {
            log.event({ event: "channel", type: e.type, name: e.name, addr: e.addr });
          }),
        );
      }),
    );
  }
  const timer = setInterval(poll, options.intervalMs ?? 50);
  timer.unref();
  return () => {
    if (stopped) return;
    clearInterval(timer);
    for (const off of offs.splice(0)) off();
    poll();
    stopped = true;
  };
}
