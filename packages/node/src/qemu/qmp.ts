// QMP, QEMU's JSON machine protocol, over a unix socket: one JSON object per line.
// Greeting {"QMP": ...} first, then `qmp_capabilities`, then commands that each get one
// {"return": ...} or {"error": ...}; asynchronous {"event": ...} objects can arrive at any time.
// Replies come in command order (we never send an "id"-less command out of order), so a FIFO of
// pending commands is enough.
import { AmpError } from "@amp/virtio-ring";
import type { Socket } from "node:net";

import type { QemuErrorCode } from "./errors.js";

/** An asynchronous QMP event (RESET, STOP, RESUME, SHUTDOWN, GUEST_PANICKED...). */
export interface QmpEvent {
  readonly event: string;
  readonly data: Readonly<Record<string, unknown>>;
  /** QEMU's timestamp, in microseconds since the epoch. */
  readonly timestampUs: number;
}

interface Pending {
  readonly command: string;
  resolve(value: unknown): void;
  reject(error: Error): void;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/** Default time limit of a QMP command. */
export const QMP_DEFAULT_TIMEOUT_MS = 10_000;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * A QMP session on a connected socket. Create it with {@link QmpClient.handshake}, which waits for
 * the greeting and negotiates capabilities.
 *
 * @example
 * const qmp = await QmpClient.handshake(socket);
 * await qmp.execute("stop");
 * qmp.onEvent((e) => console.log(e.event));
 */
export class QmpClient {
  private readonly socket: Socket;
  private readonly pending: Pending[] = [];
  private readonly listeners = new Set<(e: QmpEvent) => void>();
  private buffered = "";
  private closedError: Error | undefined;
  private greeting: ((v: Record<string, unknown>) => void) | undefined;
  /** The version string from the greeting ("7.2.22"). */
  version = "";

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      this.onData(chunk);
    });
    socket.on("error", (e) => {
      this.fail(e);
    });
    socket.on("close", () => {
      this.fail(new AmpError<QemuErrorCode>("ERR_QEMU_CLOSED", "QMP connection closed"));
    });
  }

  /**
   * Waits for the greeting and runs `qmp_capabilities`.
   *
   * @throws AmpError ERR_TIMEOUT when QEMU does not greet within `timeoutMs`; ERR_QEMU_CLOSED.
   */
  static async handshake(socket: Socket, timeoutMs: number = QMP_DEFAULT_TIMEOUT_MS): Promise<QmpClient> {
    const client = new QmpClient(socket);
    const greeting = await new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new AmpError<QemuErrorCode>("ERR_TIMEOUT", `no QMP greeting within ${timeoutMs} ms`));
        socket.destroy();
      }, timeoutMs);
      client.greeting = (g) => {
        clearTimeout(timer);
        resolve(g);
      };
      client.pending.push({
        command: "(greeting)",
        resolve: () => undefined,
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
        timer: undefined,
      });
    });
    client.pending.shift();
    const qmp = greeting["QMP"];
    if (isRecord(qmp) && isRecord(qmp["version"]) && isRecord(qmp["version"]["qemu"])) {
      const v = qmp["version"]["qemu"];
      client.version = `${String(v["major"])}.${String(v["minor"])}.${String(v["micro"])}`;
    }
    await client.execute("qmp_capabilities", undefined, timeoutMs);
    return client;
  }

  /** Subscribes to events; returns the unsubscribe function. */
  onEvent(listener: (e: QmpEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** True once the connection closed or failed. */
  get closed(): boolean {
    return this.closedError !== undefined;
  }

  /**
   * Runs one command and resolves with its `return` value.
   *
   * @throws AmpError ERR_QMP (QEMU answered with an error), ERR_TIMEOUT, ERR_QEMU_CLOSED.
   */
  execute(
    command: string,
    args?: Readonly<Record<string, unknown>>,
    timeoutMs: number = QMP_DEFAULT_TIMEOUT_MS,
  ): Promise<unknown> {
    if (this.closedError) return Promise.reject(this.closedError);
    return new Promise((resolve, reject) => {
      const entry: Pending = { command, resolve, reject, timer: undefined };
      entry.timer = setTimeout(() => {
        const i = this.pending.indexOf(entry);
        // Leave a placeholder so that the late reply is matched to it, not to the next command.
        if (i >= 0) this.pending[i] = { command, resolve: () => undefined, reject: () => undefined, timer: undefined };
        reject(new AmpError<QemuErrorCode>("ERR_TIMEOUT", `QMP ${command}: no reply within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.push(entry);
      this.socket.write(
        JSON.stringify(args === undefined ? { execute: command } : { execute: command, arguments: args }) + "\n",
      );
    });
  }

  /** Runs a human-monitor (HMP) command line such as "info registers" and returns its text. */
  async hmp(commandLine: string, timeoutMs: number = QMP_DEFAULT_TIMEOUT_MS): Promise<string> {
    const r = await this.execute("human-monitor-command", { "command-line": commandLine }, timeoutMs);
    return typeof r === "string" ? r : "";
  }

  /** Closes the socket (QEMU keeps running). */
  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: string): void {
    this.buffered += chunk;
    if (this.buffered.length > 16 << 20) {
      this.fail(new AmpError<QemuErrorCode>("ERR_QMP", "QMP line longer than 16 MiB"));
      this.socket.destroy();
      return;
    }
    let nl: number;
    while ((nl = this.buffered.indexOf("\n")) >= 0) {
      const line = this.buffered.slice(0, nl).trim();
      this.buffered = this.buffered.slice(nl + 1);
      if (line) this.onLine(line);
    }
  }

  private onLine(line: string): void {
    let msg: unknown;
    try {
      msg = JSON.parse(line);
    } catch {
      return; // not JSON: ignore (QEMU never sends that on a QMP channel)
    }
    if (!isRecord(msg)) return;
    if ("QMP" in msg) {
      this.greeting?.(msg);
      this.greeting = undefined;
      return;
    }
    if (typeof msg["event"] === "string") {
      const ts = msg["timestamp"];
      const t = isRecord(ts) ? Number(ts["seconds"]) * 1e6 + Number(ts["microseconds"]) : 0;
      const e: QmpEvent = { event: msg["event"], data: isRecord(msg["data"]) ? msg["data"] : {}, timestampUs: t };
      for (const l of [...this.listeners]) l(e);
      return;
    }
    const p = this.pending.shift();
    if (!p) return;
    if (p.timer) clearTimeout(p.timer);
    if ("return" in msg) {
      p.resolve(msg["return"]);
    } else {
      const err = msg["error"];
      const desc = isRecord(err) ? String(err["desc"]) : "unknown error";
      p.reject(new AmpError<QemuErrorCode>("ERR_QMP", `QMP ${p.command}: ${desc}`));
    }
  }

  private fail(e: Error): void {
    if (this.closedError) return;
    this.closedError = e;
    for (const p of this.pending.splice(0)) {
      if (p.timer) clearTimeout(p.timer);
      p.reject(e);
    }
  }
}
