// A booted remote (worker thread or QEMU) as the CLI shows it: state changes, rpmsg channels as the
// remote announces them, the remote's trace log live, crashes, recoveries and coredumps, each
// as one timestamped line. Shared by `amp run` and `amp demo`.
import { basename, dirname } from "node:path";
import { createDirectoryFirmwareSource, createFileCoredumpSink, createWorkerRemote, followTrace, type WorkerRemote } from "@amp/node";
import type { FirmwareLoader, Remoteproc } from "@amp/remoteproc-core";
import type { RpmsgHost } from "@amp/rpmsg";
import type { CliIo } from "./io.js";

/** What a session drives: a remote under remoteproc-core with rpmsg bound (worker or QEMU). */
export interface ManagedRemote {
  readonly rproc: Remoteproc;
  onRpmsg(listener: (host: RpmsgHost) => void): () => void;
  close(): Promise<void>;
}

/** Options of {@link startSession}. */
export interface SessionOptions {
  readonly remote: ManagedRemote;
  /** Subscribes to the platform's crash reports (type and a one-line detail). */
  readonly onCrash: (listener: (type: string, detail: string) => void) => void;
  /** Where crash coredumps go (for the log line). */
  readonly coredumpPath?: string;
  /** Also append trace lines to this file. */
  readonly traceFile?: string;
  /** Print trace lines (default true). */
  readonly showTrace?: boolean;
}

/** A running session. */
export interface Session {
  readonly remote: ManagedRemote;
  /** Timestamped line on stdout. */
  log(text: string): void;
  /** Resolves with the next rpmsg host (after boot or recovery). */
  nextRpmsg(): Promise<RpmsgHost>;
  /** Stops following traces and closes the remote. */
  close(): Promise<void>;
}

function fmtMs(ms: number): string {
  return `${(ms / 1000).toFixed(3).padStart(7)}s`;
}

/** Options of {@link createWorkerSessionRemote}. */
export interface WorkerSessionOptions {
  /** Absolute path of the firmware file (its directory is the firmware source). */
  readonly firmwarePath: string;
  readonly recovery: boolean;
  readonly coredumpPath?: string;
  readonly loader?: FirmwareLoader;
}

/** A worker-thread remote for `firmwarePath`, ready for {@link startSession}. */
export function createWorkerSessionRemote(options: WorkerSessionOptions): { remote: WorkerRemote; onCrash: SessionOptions["onCrash"] } {
  const coredumpPath = options.coredumpPath;
  const remote = createWorkerRemote({
    name: "worker0",
    firmware: basename(options.firmwarePath),
    firmwareSource: createDirectoryFirmwareSource(dirname(options.firmwarePath)),
    recovery: options.recovery ? "enabled" : "disabled",
    ...(coredumpPath === undefined ? {} : { coredump: "inline" as const, coredumpSink: createFileCoredumpSink(coredumpPath) }),
    ...(options.loader === undefined ? {} : { loader: options.loader }),
  });
  return { remote, onCrash: (l) => { remote.onCrash((c) => { l(c.type, c.detail); }); } };
}

/** Wires every event of a remote to `io` (timestamped lines). Does not boot it. */
export function startSession(io: CliIo, options: SessionOptions): Session {
  const t0 = performance.now();
  const log = (text: string): void => {
    io.stdout(`[${fmtMs(performance.now() - t0)}] ${text}\n`);
  };
  const { remote, coredumpPath } = options;
  const { rproc } = remote;
  let stopTrace: (() => void) | undefined;
  const follow = (): void => {
    stopTrace?.();
    const trace = rproc.traces[0];
    if (trace === undefined || options.showTrace === false) return;
    stopTrace = followTrace(trace, (line) => { log(`trace  ${line}`); }, { intervalMs: 20, ...(options.traceFile === undefined ? {} : { file: options.traceFile }) });
  };
  rproc.on("state", ({ from, to }) => {
    log(`state  ${from} -> ${to}`);
    if (to === "running") follow();
  });
  options.onCrash((type, detail) => {
    // The last lines the remote wrote before it died.
    stopTrace?.();
    stopTrace = undefined;
    log(`crash  ${type}: ${detail}`);
  });
  rproc.on("coredump", (info) => {
    log(`core   ${coredumpPath ?? "coredump"}: ${info.size} bytes, ${info.segments} segments (${info.reason}${info.crashType === undefined ? "" : `, ${info.crashType}`})`);
  });
  rproc.on("error", ({ operation, error }) => {
    log(`error  ${operation}: ${error instanceof Error ? error.message : String(error)}`);
  });
  const waiters: ((h: RpmsgHost) => void)[] = [];
  remote.onRpmsg((host) => {
    host.onNameService((e) => {
      log(`rpmsg  channel "${e.name}" ${e.type === "create" ? "announced" : "withdrawn"} by the remote at address 0x${e.addr.toString(16)}`);
    });
    for (const w of waiters.splice(0)) w(host);
  });
  return {
    remote,
    log,
    nextRpmsg: () => new Promise<RpmsgHost>((resolve) => waiters.push(resolve)),
    async close() {
      stopTrace?.();
      stopTrace = undefined;
      await remote.close();
    },
  };
}
