// Pending requests keyed by tag, with optional timeouts through an injected scheduler, and a
// close() that rejects everything. Shared by the channel implementations.
import type { VirtualIoErrorCode } from "../errors.js";
import { vioError } from "../errors.js";
import type { AmpError } from "../errors.js";

// The platform's timer functions, injected (the core uses no host globals): the one Scheduler
// type of @amp, from @amp/virtio-ring, re-exported under the same name.
import type { Scheduler } from "@amp/virtio-ring";

export type { Scheduler };

interface Entry<T> {
  resolve(value: T): void;
  reject(error: unknown): void;
  timer: unknown;
}

export class PendingTable<T> {
  private readonly entries = new Map<number, Entry<T>>();
  private nextTag = 1;
  private closed = false;
  private readonly timeoutMs: number | undefined;
  private readonly scheduler: Scheduler | undefined;
  private readonly maxPending: number;

  constructor(options: {
    timeoutMs?: number | undefined;
    scheduler?: Scheduler | undefined;
    maxPending?: number | undefined;
  }) {
    if (options.timeoutMs !== undefined && (!(options.timeoutMs > 0) || options.scheduler === undefined)) {
      throw new TypeError("timeoutMs needs a positive value and a scheduler ({ setTimeout, clearTimeout })");
    }
    this.timeoutMs = options.timeoutMs;
    this.scheduler = options.scheduler;
    this.maxPending = options.maxPending ?? 256;
  }

  get size(): number {
    return this.entries.size;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Registers a new request; `start(tag)` sends it. */
  add(start: (tag: number) => void): Promise<T> {
    if (this.closed) return Promise.reject(vioError("ERR_CLOSED", "channel is closed"));
    if (this.entries.size >= this.maxPending)
      return Promise.reject(vioError("ERR_LIMIT", `more than ${this.maxPending} requests pending`));
    let tag = this.nextTag;
    while (this.entries.has(tag)) tag = (tag + 1) >>> 0 || 1;
    this.nextTag = (tag + 1) >>> 0 || 1;
    return new Promise<T>((resolve, reject) => {
      const entry: Entry<T> = { resolve, reject, timer: undefined };
      this.entries.set(tag, entry);
      const sched = this.scheduler;
      if (this.timeoutMs !== undefined && sched !== undefined) {
        const ms = this.timeoutMs;
        entry.timer = sched.setTimeout(() => {
          this.fail(tag, vioError("ERR_TIMEOUT", `no answer within ${ms} ms`));
        }, ms);
      }
      try {
        start(tag);
      } catch (e) {
        this.fail(tag, e);
      }
    });
  }

  /** Resolves the request `tag`; false when it is unknown (late, duplicate or forged). */
  settle(tag: number, value: T): boolean {
    const e = this.take(tag);
    if (e === undefined) return false;
    e.resolve(value);
    return true;
  }

  /** Rejects the request `tag`; false when it is unknown. */
  fail(tag: number, error: unknown): boolean {
    const e = this.take(tag);
    if (e === undefined) return false;
    e.reject(error);
    return true;
  }

  /** Rejects all pending requests and refuses new ones. */
  close(code: VirtualIoErrorCode = "ERR_CLOSED", message = "channel closed"): void {
    this.closed = true;
    const err: AmpError<VirtualIoErrorCode> = vioError(code, message);
    for (const tag of [...this.entries.keys()]) this.fail(tag, err);
  }

  private take(tag: number): Entry<T> | undefined {
    const e = this.entries.get(tag);
    if (e === undefined) return undefined;
    this.entries.delete(tag);
    if (e.timer !== undefined) this.scheduler?.clearTimeout(e.timer);
    return e;
  }
}
