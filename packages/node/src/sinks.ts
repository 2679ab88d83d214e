// Coredump and trace sinks to files, and a live follower for the remote's trace buffer.
import { closeSync, openSync, writeSync, appendFileSync, renameSync } from "node:fs";
import {
  TraceFollower,
  traceRecordLine,
  type CoredumpInfo,
  type CoredumpSink,
  type RemoteToHostTime,
  type TraceEntry,
} from "@amp/remoteproc-core";
import { hostNowMs } from "./trace-log.js";

/** A coredump sink that writes the ELF core to `path` (created or truncated). */
export interface FileCoredumpSink extends CoredumpSink {
  /** The file written. */
  readonly path: string;
  /** Facts about the dump, once closed. */
  readonly info: CoredumpInfo | undefined;
}

/**
 * Writes a coredump to a file, chunk by chunk (a large carveout is never held in memory twice).
 * The file appears complete or not at all: chunks go to `<path>.partial`, renamed on close.
 * @example
 * const sink = createFileCoredumpSink("remoteproc0.core");
 */
export function createFileCoredumpSink(path: string): FileCoredumpSink {
  const partial = `${path}.partial`;
  let fd: number | undefined;
  let info: CoredumpInfo | undefined;
  return {
    path,
    get info() {
      return info;
    },
    write(chunk: Uint8Array): void {
      fd ??= openSync(partial, "w");
      let off = 0;
      while (off < chunk.length) off += writeSync(fd, chunk, off, chunk.length - off);
    },
    close(i: CoredumpInfo): void {
      fd ??= openSync(partial, "w");
      closeSync(fd);
      fd = undefined;
      renameSync(partial, path);
      info = i;
    },
  };
}

/** Something that reads a trace buffer (remoteproc-core's TraceBuffer). */
export interface TraceSource {
  readText(): string;
  /** The whole buffer (needed to see records from before the writer last wrapped). */
  readRaw?(): Uint8Array | undefined;
}

/** Options of {@link followTrace}. */
export interface FollowTraceOptions {
  /** Poll interval in ms (default 50). */
  readonly intervalMs?: number;
  /** Stops following. */
  readonly signal?: AbortSignal;
  /** Also append every record line (`<seq> <remote-us> <level> <text>`, or the plain line) to this file. */
  readonly file?: string;
  /** Also called with every new record: seq, remote time, level, lost records before it. */
  readonly onRecord?: (entry: TraceEntry) => void;
  /** Remote time to host time (a clock-sync estimate), for `onRecord` entries. */
  readonly toHostTime?: RemoteToHostTime;
}

/**
 * Follows a trace buffer live: polls it and calls `onLine` with the text of every new record
 * (timestamped records: the text after seq, time and level; plain old text: the whole line).
 * Records overwritten before they were read are counted (`onRecord` entries' `lostBefore`), a
 * remote that starts over is noticed and its new records are reported from the beginning.
 * Returns a function that stops following (and reports what is left: call it after a crash to
 * see the last lines).
 */
export function followTrace(
  source: TraceSource,
  onLine: (line: string) => void,
  options: FollowTraceOptions = {},
): () => void {
  const follower = new TraceFollower({
    now: hostNowMs,
    ...(options.toHostTime === undefined ? {} : { toHostTime: options.toHostTime }),
  });
  const poll = (): void => {
    let raw: Uint8Array | undefined;
    try {
      raw = source.readRaw !== undefined ? source.readRaw() : new TextEncoder().encode(source.readText());
    } catch {
      return; // memory not mapped at the moment (between stop and start)
    }
    for (const e of follower.update(raw).records) {
      onLine(e.text);
      options.onRecord?.(e);
      if (options.file !== undefined) appendFileSync(options.file, `${traceRecordLine(e)}\n`);
    }
  };
  const timer = setInterval(poll, options.intervalMs ?? 50);
  timer.unref();
  let stopped = false;
  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    clearInterval(timer);
    options.signal?.removeEventListener("abort", stop);
    poll();
  };
  options.signal?.addEventListener("abort", stop, { once: true });
  return stop;
}
