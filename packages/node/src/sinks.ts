// Coredump and trace sinks to files, and a live follower for the remote's trace buffer.
import { closeSync, openSync, writeSync, appendFileSync, renameSync } from "node:fs";
import type { CoredumpInfo, CoredumpSink } from "@amp/remoteproc-core";

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

/** Something that reads a trace buffer's current text (remoteproc-core's TraceBuffer). */
export interface TraceSource {
  readText(): string;
}

/** Options of {@link followTrace}. */
export interface FollowTraceOptions {
  /** Poll interval in ms (default 50). */
  readonly intervalMs?: number;
  /** Stops following. */
  readonly signal?: AbortSignal;
  /** Also append every line to this file. */
  readonly file?: string;
}

/**
 * Follows a trace buffer live: polls its text and calls `onLine` for every new complete line.
 * The remote writes the buffer as Linux reads it (NUL-terminated text from offset 0) and starts
 * over when it is full; a restart is noticed and the new text is reported from its beginning.
 * Returns a function that stops following (and reports what is left: call it after a crash to
 * see the last lines).
 */
export function followTrace(source: TraceSource, onLine: (line: string) => void, options: FollowTraceOptions = {}): () => void {
  let seen = "";
  const emit = (line: string): void => {
    onLine(line);
    if (options.file !== undefined) appendFileSync(options.file, `${line}\n`);
  };
  const poll = (): void => {
    let text: string;
    try {
      text = source.readText();
    } catch {
      return; // memory not mapped at the moment (between stop and start)
    }
    if (!text.startsWith(seen)) seen = ""; // the remote started over
    const fresh = text.slice(seen.length);
    const end = fresh.lastIndexOf("\n");
    if (end < 0) return;
    for (const line of fresh.slice(0, end).split("\n")) emit(line);
    seen += fresh.slice(0, end + 1);
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
