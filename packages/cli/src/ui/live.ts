// What the live view attaches to. `amp ui` runs a session of its own (the demo's echo firmware
// on a worker-thread remote, a steady echo load whose round trips it measures, crashes on
// request or on a timer, a coredump file per crash); `amp demo --ui` attaches the same server,
// hub and monitor to the demo's session ({@link startSessionUi}).
import { mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import {
  createDirectoryFirmwareSource,
  createFileCoredumpSink,
  createWorkerRemote,
  type FileCoredumpSink,
  type WorkerRemote,
} from "@amp/node";
import type { CoredumpSink, MemoryRegion } from "@amp/remoteproc-core";
import type { RpmsgEndpoint, RpmsgHost } from "@amp/rpmsg";
import { CliError } from "../internal/cli-error.js";
import type { EventOut } from "../internal/event-out.js";
import { hex } from "../internal/format.js";
import type { CliIo } from "../internal/io.js";
import { sessionOut, startSession, type Session } from "../internal/session.js";
import { UiHub } from "./hub.js";
import { monitorRemote, RttWindow } from "./monitor.js";
import { startUiServer, type UiServer } from "./server.js";

/** The echo firmware's service (firmware/echo.ts). */
export const ECHO_SERVICE = "rpmsg-amp-echo";
const WAIT_MS = 15_000;

/** Resolves after `ms`, or at once when `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve();
      return;
    }
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

/** `promise`, or undefined after `ms` or when `signal` aborts; the timer never outlives it. */
async function orTimeout<T>(promise: Promise<T>, ms: number, signal: AbortSignal): Promise<T | undefined> {
  const stop = new AbortController();
  const onAbort = (): void => {
    stop.abort();
  };
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    return await Promise.race([promise, sleep(ms, stop.signal).then(() => undefined)]);
  } finally {
    stop.abort();
    signal.removeEventListener("abort", onAbort);
  }
}

/**
 * A coredump sink that writes each dump to a new file `crash-<n>.core` in `dir` (the first
 * write of a dump opens the file, close() completes it), then reports it.
 */
function perCrashSink(dir: string, onFile: (path: string, size: number) => void): CoredumpSink {
  let n = 0;
  let current: FileCoredumpSink | undefined;
  const open = (): FileCoredumpSink => (current ??= createFileCoredumpSink(join(dir, `crash-${++n}.core`)));
  return {
    write(chunk) {
      return open().write(chunk);
    },
    close(info) {
      const sink = open();
      current = undefined;
      void sink.close?.(info);
      onFile(sink.path, info.size);
    },
  };
}

/** Options of {@link runUiSession}. */
export interface UiSessionOptions {
  /** Absolute path of the echo firmware. */
  readonly firmwarePath: string;
  readonly port?: number;
  /** Echo messages per second of the steady load (0: none). */
  readonly rate: number;
  /** Payload bytes of each echo. */
  readonly size: number;
  /** Inject a crash this often (ms); undefined: only on request. */
  readonly crashEveryMs?: number;
  /** Where coredumps go (default: a new directory under the temp directory). */
  readonly coredumpDir?: string;
  /** Stop after this long (ms); undefined: on Ctrl-C. */
  readonly durationMs?: number;
  readonly json: boolean;
}

/**
 * The echo load: opens the echo channel on every new rpmsg host (boot, recovery), sends
 * `rate` messages a second in small batches, checks each echo byte for byte and records its
 * round trip. A crash ends the current endpoint; the loop waits for the recovered host.
 */
class EchoLoad {
  endpoint: RpmsgEndpoint | undefined;
  private host: RpmsgHost | undefined;
  private wake: (() => void) | undefined;
  private sent = 0;
  private readonly session: Session;
  private readonly rtt: RttWindow;
  private readonly options: UiSessionOptions;
  private readonly signal: AbortSignal;

  constructor(session: Session, rtt: RttWindow, options: UiSessionOptions, signal: AbortSignal) {
    this.session = session;
    this.rtt = rtt;
    this.options = options;
    this.signal = signal;
  }

  /** A new host (after boot or recovery). */
  setHost(host: RpmsgHost): void {
    this.host = host;
    this.wake?.();
  }

  private async nextHost(current: RpmsgHost | undefined): Promise<RpmsgHost | undefined> {
    while (!this.signal.aborted && (this.host === undefined || this.host === current)) {
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        void sleep(250, this.signal).then(resolve);
      });
    }
    return this.signal.aborted ? undefined : this.host;
  }

  async run(): Promise<void> {
    let used: RpmsgHost | undefined;
    for (;;) {
      const host = await this.nextHost(used);
      if (host === undefined) return;
      used = host;
      let svc;
      try {
        svc = await orTimeout(host.waitForService(ECHO_SERVICE, { timeoutMs: WAIT_MS }), WAIT_MS, this.signal);
      } catch {
        continue; // the link went down before the announcement: wait for the next host
      }
      if (svc === undefined) continue;
      const ep = host.createEndpoint({ dst: svc.addr });
      this.endpoint = ep;
      this.session.out.emit(
        "rpmsg",
        `host endpoint 0x${ep.addr.toString(16)} talks to "${ECHO_SERVICE}" at 0x${svc.addr.toString(16)}`,
        "endpoint",
        { local: hex(ep.addr), service: ECHO_SERVICE, remote: hex(svc.addr) },
      );
      await this.load(ep);
      if (this.endpoint === ep) this.endpoint = undefined;
    }
  }

  /** Echo batches every 50 ms until the endpoint closes or the session stops. */
  private async load(ep: RpmsgEndpoint): Promise<void> {
    const { rate, size } = this.options;
    const it = ep.messages();
    const payload = new Uint8Array(size);
    const perTick = Math.max(1, Math.round(rate / 20));
    const closed = (): boolean => ep.closed; // changes under our feet (link down): read it each time
    while (!this.signal.aborted && !closed()) {
      const tick = performance.now();
      for (let k = 0; rate > 0 && k < perTick && !closed(); k++) {
        const seq = this.sent++;
        for (let j = 0; j < size; j++) payload[j] = (seq * 31 + j) & 0xff;
        const t = performance.now();
        try {
          await ep.send(payload, { timeoutMs: WAIT_MS });
        } catch {
          return; // link down (a crash): the endpoint is closed
        }
        const next = await orTimeout(it.next(), WAIT_MS, this.signal).catch(() => undefined);
        if (next === undefined || next.done === true) return;
        const got = next.value.data;
        if (got.length !== size || got.some((b, j) => b !== ((seq * 31 + j) & 0xff))) {
          this.session.out.emit("error", `echo ${seq + 1} came back different from what was sent`, "echo-mismatch", {
            message: seq + 1,
          });
          continue;
        }
        this.rtt.add(performance.now() - t);
      }
      await sleep(Math.max(1, 50 - (performance.now() - tick)), this.signal);
    }
  }
}

/** `amp ui`: the live view over a session of its own. Returns the exit code. */
export async function runUiSession(io: CliIo, options: UiSessionOptions): Promise<number> {
  const stop = new AbortController();
  const onAbort = (): void => {
    stop.abort();
  };
  io.signal?.addEventListener("abort", onAbort, { once: true });
  const dir = options.coredumpDir ?? mkdtempSync(join(tmpdir(), `amp-ui-${process.pid}-`));
  mkdirSync(dir, { recursive: true });
  const hub = new UiHub({ mode: "amp ui", name: "worker0", firmware: basename(options.firmwarePath), canCrash: true });
  const remote: WorkerRemote = createWorkerRemote({
    name: "worker0",
    firmware: basename(options.firmwarePath),
    firmwareSource: createDirectoryFirmwareSource(dirname(options.firmwarePath)),
    recovery: "enabled",
    coredump: "inline",
    coredumpSink: perCrashSink(dir, (path, size) => {
      hub.addCoredump(path, size);
    }),
  });
  const out = hub.tee(sessionOut(io, options.json));
  const session = startSession(io, {
    remote,
    onCrash: (l) => {
      remote.onCrash((c) => {
        l(c.type, c.detail);
      });
    },
    out,
  });
  const rtt = new RttWindow();
  const load = new EchoLoad(session, rtt, options, stop.signal);
  remote.onRpmsg((h) => {
    load.setHost(h);
  });
  const stopMonitor = monitorRemote(hub, {
    rproc: remote.rproc,
    host: () => remote.rpmsg,
    regions: remote.processor.regions,
    rtt,
  });
  const crash = async (): Promise<void> => {
    const ep = load.endpoint;
    if (remote.rproc.state !== "running" || ep === undefined || ep.closed)
      throw new Error(`the remote is ${remote.rproc.state}, not running with its echo channel open`);
    out.emit("inject", 'sending "crash!": the firmware will throw', "inject", { message: "crash!" });
    await ep.send(new TextEncoder().encode("crash!"), { timeoutMs: WAIT_MS });
  };
  let server: UiServer | undefined;
  let crashTimer: ReturnType<typeof setInterval> | undefined;
  try {
    server = await startUiServer({ hub, ...(options.port === undefined ? {} : { port: options.port }), crash });
    if (options.json) out.emit("", "", "ui", { url: server.url, coredumps: dir });
    else io.stdout(`amp ui: live view at ${server.url} (Ctrl-C stops)\ncoredumps go to ${dir}\n`);
    try {
      await remote.rproc.boot();
    } catch (e) {
      throw new CliError(
        `cannot boot ${options.firmwarePath}: ${e instanceof Error ? e.message : String(e)}`,
        "Check the firmware with `amp inspect`.",
        1,
        { cause: e },
      );
    }
    const loading = load.run();
    if (options.crashEveryMs !== undefined)
      crashTimer = setInterval(() => {
        crash().catch(() => undefined);
      }, options.crashEveryMs);
    if (options.durationMs !== undefined) await sleep(options.durationMs, stop.signal);
    else
      await new Promise<void>((resolve) => {
        if (stop.signal.aborted) resolve();
        else
          stop.signal.addEventListener(
            "abort",
            () => {
              resolve();
            },
            { once: true },
          );
      });
    stop.abort();
    if (crashTimer !== undefined) clearInterval(crashTimer);
    await loading;
    out.emit("stop", io.signal?.aborted === true ? "interrupted: shutting down" : "time is up: shutting down", "stop", {
      reason: io.signal?.aborted === true ? "interrupted" : "duration",
    });
    return 0;
  } finally {
    stop.abort();
    if (crashTimer !== undefined) clearInterval(crashTimer);
    io.signal?.removeEventListener("abort", onAbort);
    stopMonitor();
    await session.close();
    await server?.close();
  }
}

/** The live view attached to a session that a command drives (`amp demo --ui`). */
export interface SessionUi {
  readonly url: string;
  /** `out`, also feeding the page. Give it to startSession. */
  tee(out: EventOut): EventOut;
  /** Starts sampling the session's remote (call it before boot: it follows the rpmsg hosts from then on). */
  attach(session: Session): void;
  /** Prints the URL and waits for Ctrl-C (the page stays live meanwhile). */
  hold(io: CliIo): Promise<void>;
  close(): Promise<void>;
}

/** Starts the server for a command's own session (the page has no crash button: the command decides). */
export async function startSessionUi(
  io: CliIo,
  options: { readonly mode: string; readonly firmware: string; readonly port?: number },
): Promise<SessionUi> {
  const hub = new UiHub({ mode: options.mode, name: "worker0", firmware: basename(options.firmware), canCrash: false });
  const server = await startUiServer({ hub, ...(options.port === undefined ? {} : { port: options.port }) });
  io.stderr(`${options.mode}: live view at ${server.url}\n`);
  let stopMonitor: (() => void) | undefined;
  return {
    url: server.url,
    tee: (out) => hub.tee(out),
    attach(session) {
      let host: RpmsgHost | undefined;
      session.remote.onRpmsg((h) => {
        host = h;
      });
      // A worker remote also has its processor's memory regions to draw; other remotes have none here.
      const regions =
        (session.remote as { processor?: { regions?: readonly MemoryRegion[] } }).processor?.regions ?? [];
      stopMonitor = monitorRemote(hub, { rproc: session.remote.rproc, host: () => host, regions });
    },
    async hold(cli) {
      cli.stderr(`${options.mode}: done; the live view stays at ${server.url} until Ctrl-C\n`);
      const signal = cli.signal;
      if (signal === undefined) return;
      await new Promise<void>((resolve) => {
        if (signal.aborted) resolve();
        else
          signal.addEventListener(
            "abort",
            () => {
              resolve();
            },
            { once: true },
          );
      });
    },
    async close() {
      stopMonitor?.();
      await server.close();
    },
  };
}
