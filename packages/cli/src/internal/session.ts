// A booted remote (worker thread or QEMU) as the CLI shows it: state changes, rpmsg channels as the
// remote announces them, the remote's trace log live, crashes, recoveries and coredumps, each
// as one timestamped line (or, with --json, one JSON line per event: `state` {from, to},
// `channel` {type, name, addr}, `trace` {line}, `crash` {type, detail}, `coredump` {path, size,
// segments, reason, crashType}, `operation-error` {operation, message}). Shared by `amp run`
// and `amp demo`.
import { basename, dirname } from "node:path";
import {
  createDirectoryFirmwareSource,
  createFileCoredumpSink,
  createWorkerRemote,
  followTrace,
  type WorkerRemote,
} from "@amp/node";
import type { FirmwareLoader, Remoteproc } from "@amp/remoteproc-core";
import type { RpmsgHost } from "@amp/rpmsg";
import { eventOut, type EventOut } from "./event-out.js";
import { hex } from "./format.js";
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
  /** Where events go (default: timestamped text lines on stdout). */
  readonly out?: EventOut;
}

/** A running session. */
export interface Session {
  readonly remote: ManagedRemote;
  /** Where the session's events go; commands add theirs ({@link sessionOut}). */
  readonly out: EventOut;
  /** Resolves with the next rpmsg host (after boot or recovery). */
  nextRpmsg(): Promise<RpmsgHost>;
  /** Stops following traces and closes the remote. */
  close(): Promise<void>;
}

/** The session's event output: `[  1.234s] state  offline -> running`, or JSON lines. */
export function sessionOut(io: CliIo, json: boolean): EventOut {
  return eventOut(io, json, { timestamps: true, tagWidth: 7 });
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
export function createWorkerSessionRemote(options: WorkerSessionOptions): {
  remote: WorkerRemote;
  onCrash: SessionOptions["onCrash"];
} {
  const coredumpPath = options.coredumpPath;
  const remote = createWorkerRemote({
    name: "worker0",
    firmware: basename(options.firmwarePath),
    firmwareSource: createDirectoryFirmwareSource(dirname(options.firmwarePath)),
    recovery: options.recovery ? "enabled" : "disabled",
    ...(coredumpPath === undefined
      ? {}
      : { coredump: "inline" as const, coredumpSink: createFileCoredumpSink(coredumpPath) }),
    ...(options.loader === undefined ? {} : { loader: options.loader }),
  });
  return {
    remote,
    onCrash: (l) => {
      remote.onCrash((c) => {
        l(c.type, c.detail);
      });
    },
  };
}

/** Wires every event of a remote to `io` (timestamped lines). Does not boot it. */
export function startSession(io: CliIo, options: SessionOptions): Session {
  const out = options.out ?? sessionOut(io, false);
  const { remote, coredumpPath } = options;
  const { rproc } = remote;
  let stopTrace: (() => void) | undefined;
  const follow = (): void => {
    stopTrace?.();
    const trace = rproc.traces[0];
    if (trace === undefined || options.showTrace === false) return;
    stopTrace = followTrace(
      trace,
      (line) => {
        out.emit("trace", line, "trace", { line });
      },
      { intervalMs: 20, ...(options.traceFile === undefined ? {} : { file: options.traceFile }) },
    );
  };
  rproc.on("state", ({ from, to }) => {
    out.emit("state", `${from} -> ${to}`, "state", { from, to });
    if (to === "running") follow();
  });
  options.onCrash((type, detail) => {
    // The last lines the remote wrote before it died.
    stopTrace?.();
    stopTrace = undefined;
    out.emit("crash", `${type}: ${detail}`, "crash", { type, detail });
  });
  rproc.on("coredump", (info) => {
    out.emit(
      "core",
      `${coredumpPath ?? "coredump"}: ${info.size} bytes, ${info.segments} segments (${info.reason}${info.crashType === undefined ? "" : `, ${info.crashType}`})`,
      "coredump",
      {
        path: coredumpPath ?? null,
        size: info.size,
        segments: info.segments,
        reason: info.reason,
        crashType: info.crashType ?? null,
      },
    );
  });
  rproc.on("error", ({ operation, error }) => {
    const message = error instanceof Error ? error.message : String(error);
    out.emit("error", `${operation}: ${message}`, "operation-error", { operation, message });
  });
  const waiters: ((h: RpmsgHost) => void)[] = [];
  remote.onRpmsg((host) => {
    host.onNameService((e) => {
      out.emit(
        "rpmsg",
        `channel "${e.name}" ${e.type === "create" ? "announced" : "withdrawn"} by the remote at address 0x${e.addr.toString(16)}`,
        "channel",
        { type: e.type, name: e.name, addr: hex(e.addr) },
      );
    });
    for (const w of waiters.splice(0)) w(host);
  });
  return {
    remote,
    out,
    nextRpmsg: () => new Promise<RpmsgHost>((resolve) => waiters.push(resolve)),
    async close() {
      stopTrace?.();
      stopTrace = undefined;
      await remote.close();
    },
  };
}
