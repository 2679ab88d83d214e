// A doorbell over a UNIX stream socket: each notification is one byte, as OpenAMP's
// Linux-machine platform sends it (openamp-system-reference, system/linux/machine/generic:
// the remote listens on /tmp/openamp.event.0, the host connects, `notify` writes one byte and
// the receiver reads whatever is there). The bytes carry no queue id by default: one means
// "look at every ring". Either side of a link can use this class, host or remote.
import { rmSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import { AmpError } from "@amp/virtio-ring";
import { RSC_NOTIFY_ID_ANY } from "@amp/resource-table";
import type { Doorbell, DoorbellReceiver, WaitOptions } from "@amp/virtio-ring";
import type { SharedFileErrorCode } from "./errors.js";

/**
 * What a doorbell byte means. "any" (OpenAMP's Linux machine): a byte names no queue, the
 * receiver looks at every ring, and {@link UnixSocketDoorbell.poll} reports
 * `RSC_NOTIFY_ID_ANY`. "byte": each byte is a notify id (0..255).
 */
export type DoorbellQueueIds = "any" | "byte";

/** Options of {@link UnixSocketDoorbell.connect} and {@link UnixSocketDoorbell.listen}. */
export interface UnixSocketDoorbellOptions {
  /** What the bytes mean (default "any"). Sent bytes are always the notify id's low 8 bits. */
  readonly queueIds?: DoorbellQueueIds;
  /** How long to wait for the peer (default 10 s). */
  readonly timeoutMs?: number;
  /** Client: pause between connection attempts while nobody listens yet (default 10 ms). */
  readonly retryMs?: number;
  /**
   * Client: how long a socket file that exists may refuse connections (ECONNREFUSED: a peer
   * between bind and listen, or none at all behind a stale file) before that is ERR_DOORBELL_REFUSED
   * rather than "still starting" (default 1000 ms; never longer than `timeoutMs`).
   */
  readonly refusedGraceMs?: number;
  /** Ends the wait for the peer with ERR_ABORTED. */
  readonly signal?: AbortSignal;
}

/** Counters of a {@link UnixSocketDoorbell}. */
export interface UnixSocketDoorbellStats {
  /** Bytes read from the peer (one per notification it sent). */
  received: number;
  /** Bytes written (one per `notify`). */
  sent: number;
  /** `notify` calls after the socket closed (nothing was sent). */
  dropped: number;
}

const ONE_BYTE: readonly Buffer[] = Array.from({ length: 256 }, (_, i) => Buffer.of(i));

function doorbellError(message: string, cause?: unknown): AmpError<SharedFileErrorCode> {
  return new AmpError<SharedFileErrorCode>("ERR_DOORBELL", message, cause === undefined ? undefined : { cause });
}

/**
 * Both directions of a one-byte-per-notification doorbell on a connected UNIX stream socket:
 * a {@link Doorbell} (`notify`) and a {@link DoorbellReceiver} (`poll`, `pending`, `wait`), plus
 * {@link onRing} for event-driven use. Incoming bytes are read as soon as they arrive, so the
 * socket never fills up.
 *
 * @example
 * // The remote side of OpenAMP's Linux machine: serve the socket the OpenAMP host connects to.
 * const bell = await UnixSocketDoorbell.listen("/tmp/openamp.event.0", { timeoutMs: 30_000 });
 * await remote.serve(bell, { pollMs: 1 }); // an RpmsgRemote; it rings the host with bell.notify
 */
export class UnixSocketDoorbell implements Doorbell, DoorbellReceiver {
  /** Path of the socket. */
  readonly path: string;
  /** "client" (connected to a listener) or "server" (accepted the peer's connection). */
  readonly role: "client" | "server";
  readonly queueIds: DoorbellQueueIds;
  /** Counters (live object). */
  readonly stats: UnixSocketDoorbellStats = { received: 0, sent: 0, dropped: 0 };
  private readonly socket: Socket;
  private anyPending = false;
  private readonly pendingIds = new Uint8Array(256);
  private pendingCount = 0;
  private waiters: (() => void)[] = [];
  private readonly ringListeners = new Set<(queue: number) => void>();
  private readonly closeListeners = new Set<(error: Error | undefined) => void>();
  private closeError: Error | undefined;
  private isClosed = false;

  private constructor(path: string, role: "client" | "server", socket: Socket, queueIds: DoorbellQueueIds) {
    this.path = path;
    this.role = role;
    this.socket = socket;
    this.queueIds = queueIds;
    socket.on("data", (chunk: Buffer) => {
      this.received(chunk);
    });
    socket.on("error", (e) => {
      this.closeError ??= e;
    });
    socket.on("close", () => {
      this.onSocketClosed();
    });
  }

  /**
   * Connects to a listening peer, retrying while the socket file does not exist yet (the peer
   * is still starting), as OpenAMP's own client does. A file that exists but refuses for
   * `refusedGraceMs` means nobody serves it.
   * @throws AmpError ERR_TIMEOUT when no socket appears within `timeoutMs`; ERR_DOORBELL_REFUSED
   *   when it refuses past the grace period; ERR_ABORTED; ERR_DOORBELL for another error (e.g. EACCES).
   */
  static async connect(path: string, options: UnixSocketDoorbellOptions = {}): Promise<UnixSocketDoorbell> {
    const { timeoutMs = 10_000, retryMs = 10, refusedGraceMs = 1000, signal } = options;
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    let refusedSince: number | undefined;
    for (;;) {
      if (signal?.aborted === true) throw aborted(path, signal);
      try {
        const socket = await connectOnce(path);
        return new UnixSocketDoorbell(path, "client", socket, options.queueIds ?? "any");
      } catch (e) {
        const code = (e as { code?: unknown }).code;
        if (code !== "ENOENT" && code !== "ECONNREFUSED")
          throw doorbellError(`cannot connect to the doorbell ${path}: ${(e as Error).message}`, e);
        last = e;
        if (code === "ENOENT") refusedSince = undefined;
        else refusedSince ??= Date.now();
      }
      if (refusedSince !== undefined && (Date.now() - refusedSince >= refusedGraceMs || Date.now() >= deadline)) {
        throw new AmpError<SharedFileErrorCode>(
          "ERR_DOORBELL_REFUSED",
          `the doorbell ${path} exists but refused connections for ${Date.now() - refusedSince} ms: nothing listens on it (the remote is not running and left its socket file, or serves another host already)`,
          { cause: last },
        );
      }
      if (Date.now() >= deadline) {
        throw new AmpError<SharedFileErrorCode>(
          "ERR_TIMEOUT",
          `nothing listened on the doorbell ${path} within ${timeoutMs} ms (${(last as Error).message})`,
          { cause: last },
        );
      }
      await sleep(retryMs, signal);
    }
  }

  /**
   * Listens on `path` (a stale socket file there is removed first) and resolves with the first
   * peer that connects; then stops listening (one peer per doorbell) and removes the file.
   * @throws AmpError ERR_TIMEOUT when no peer connects within `timeoutMs`; ERR_ABORTED;
   *   ERR_DOORBELL when the socket cannot be created.
   */
  static async listen(path: string, options: UnixSocketDoorbellOptions = {}): Promise<UnixSocketDoorbell> {
    const { timeoutMs = 10_000, signal } = options;
    rmSync(path, { force: true });
    const server: Server = createServer();
    try {
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(path, () => {
          server.off("error", reject);
          resolve();
        });
      });
    } catch (e) {
      throw doorbellError(`cannot listen on the doorbell ${path}: ${(e as Error).message}`, e);
    }
    try {
      const socket = await new Promise<Socket>((resolve, reject) => {
        const timer = setTimeout(() => {
          done();
          reject(
            new AmpError<SharedFileErrorCode>(
              "ERR_TIMEOUT",
              `no peer connected to the doorbell ${path} within ${timeoutMs} ms`,
            ),
          );
        }, timeoutMs);
        const onAbort = (): void => {
          done();
          reject(
            new AmpError<SharedFileErrorCode>("ERR_ABORTED", `waiting on the doorbell ${path} was aborted`, {
              cause: signal?.reason,
            }),
          );
        };
        const onConnection = (s: Socket): void => {
          done();
          resolve(s);
        };
        const onError = (e: Error): void => {
          done();
          reject(doorbellError(`the doorbell listener ${path} failed: ${e.message}`, e));
        };
        const done = (): void => {
          clearTimeout(timer);
          signal?.removeEventListener("abort", onAbort);
          server.off("connection", onConnection);
          server.off("error", onError);
        };
        if (signal?.aborted === true) {
          onAbort();
          return;
        }
        signal?.addEventListener("abort", onAbort, { once: true });
        server.on("connection", onConnection);
        server.on("error", onError);
      });
      return new UnixSocketDoorbell(path, "server", socket, options.queueIds ?? "any");
    } finally {
      server.close();
      rmSync(path, { force: true });
    }
  }

  /** True once the socket closed (the peer went away, or {@link close}). */
  get closed(): boolean {
    return this.isClosed;
  }

  /** Rings the peer: one byte, the low 8 bits of `queue`. Does nothing (counted) once closed. */
  notify(queue: number): void {
    if (this.isClosed || this.socket.destroyed) {
      this.stats.dropped++;
      return;
    }
    this.stats.sent++;
    this.socket.write(ONE_BYTE[queue & 0xff] as Buffer);
  }

  /** Reports each queue rung since the last poll: `RSC_NOTIFY_ID_ANY` in "any" mode. */
  poll(onQueue: (queue: number) => void): number {
    let n = 0;
    if (this.anyPending) {
      this.anyPending = false;
      n++;
      onQueue(RSC_NOTIFY_ID_ANY);
    }
    if (this.pendingCount > 0) {
      this.pendingCount = 0;
      for (let q = 0; q < 256; q++) {
        if (this.pendingIds[q] === 0) continue;
        this.pendingIds[q] = 0;
        n++;
        onQueue(q);
      }
    }
    return n;
  }

  pending(): boolean {
    return this.anyPending || this.pendingCount > 0;
  }

  /**
   * Resolves when a ring is pending.
   * @throws AmpError ERR_DOORBELL once the socket is closed; ERR_ABORTED; ERR_TIMEOUT after
   *   `timeoutMs` (Node timers are used when no `scheduler` is given).
   */
  wait(options: WaitOptions = {}): Promise<void> {
    if (this.pending()) return Promise.resolve();
    if (this.isClosed) return Promise.reject(doorbellError(`the doorbell ${this.path} is closed`, this.closeError));
    const { signal, timeoutMs } = options;
    const scheduler = options.scheduler ?? {
      setTimeout: (cb: () => void, ms: number): unknown => setTimeout(cb, ms),
      clearTimeout: (h: unknown) => {
        clearTimeout(h as ReturnType<typeof setTimeout>);
      },
    };
    return new Promise<void>((resolve, reject) => {
      let timer: unknown;
      const finish = (error?: Error): void => {
        this.waiters = this.waiters.filter((w) => w !== wake);
        signal?.removeEventListener("abort", onAbort);
        if (timer !== undefined) scheduler.clearTimeout(timer);
        if (error === undefined) resolve();
        else reject(error);
      };
      const wake = (): void => {
        finish(
          this.isClosed && !this.pending()
            ? doorbellError(`the doorbell ${this.path} closed`, this.closeError)
            : undefined,
        );
      };
      const onAbort = (): void => {
        finish(new AmpError<SharedFileErrorCode>("ERR_ABORTED", "doorbell wait aborted", { cause: signal?.reason }));
      };
      if (signal?.aborted === true) {
        onAbort();
        return;
      }
      signal?.addEventListener("abort", onAbort, { once: true });
      if (timeoutMs !== undefined) {
        timer = scheduler.setTimeout(() => {
          finish(new AmpError<SharedFileErrorCode>("ERR_TIMEOUT", `no doorbell within ${timeoutMs} ms`));
        }, timeoutMs);
      }
      this.waiters.push(wake);
    });
  }

  /**
   * Calls `listener` once per batch of bytes that arrived together: with `RSC_NOTIFY_ID_ANY` in
   * "any" mode, with each distinct notify id in "byte" mode. Returns the unsubscribe function.
   */
  onRing(listener: (queue: number) => void): () => void {
    this.ringListeners.add(listener);
    return () => {
      this.ringListeners.delete(listener);
    };
  }

  /** Calls `listener` once when the socket closes (with the socket error, if one caused it). */
  onClose(listener: (error: Error | undefined) => void): () => void {
    this.closeListeners.add(listener);
    return () => {
      this.closeListeners.delete(listener);
    };
  }

  /** Closes the socket. Idempotent; close listeners run (with no error). */
  close(): void {
    this.socket.destroy();
  }

  private received(chunk: Buffer): void {
    this.stats.received += chunk.length;
    if (this.queueIds === "any") {
      this.anyPending = true;
      for (const l of [...this.ringListeners]) l(RSC_NOTIFY_ID_ANY);
    } else {
      const fresh: number[] = [];
      for (const b of chunk) {
        if (this.pendingIds[b] === 0) {
          this.pendingIds[b] = 1;
          this.pendingCount++;
        }
        if (!fresh.includes(b)) fresh.push(b);
      }
      for (const q of fresh) for (const l of [...this.ringListeners]) l(q);
    }
    this.wakeAll();
  }

  private onSocketClosed(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.wakeAll();
    for (const l of [...this.closeListeners]) l(this.closeError);
    this.closeListeners.clear();
  }

  private wakeAll(): void {
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w();
  }
}

function aborted(path: string, signal: AbortSignal): AmpError<SharedFileErrorCode> {
  return new AmpError<SharedFileErrorCode>("ERR_ABORTED", `connecting to ${path} was aborted`, {
    cause: signal.reason,
  });
}

/** Waits `ms`, or less when `signal` aborts (the caller checks it next). */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

function connectOnce(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(path);
    const onError = (e: Error): void => {
      s.destroy();
      reject(e);
    };
    s.once("error", onError);
    s.once("connect", () => {
      s.off("error", onError);
      resolve(s);
    });
  });
}
