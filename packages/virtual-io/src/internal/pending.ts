// Pending requests keyed by tag, with optional timeouts through an injected scheduler, and a
// close() that rejects everything. Shared by the channel implementations.
//
// The hot path allocates only the promise handed to the caller: entries are recycled, and the
// promise executor is one bound function that fills the entry being opened (the constructor
// runs it synchronously), not a new closure per request.
import type { VirtualIoErrorCode } from "../errors.js";
import { vioError } from "../errors.js";
import type { AmpError } from "../errors.js";

// The platform's timer functions, injected (the core uses no host globals): the one Scheduler
// type of @amp, from @amp/virtio-ring, re-exported under the same name.
import type { Scheduler } from "@amp/virtio-ring";

export type { Scheduler };

const noop = (): void => undefined;

// T types the resolve function the entry holds for its table's promises.
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters
class Entry<T> {
  resolve: (value: T) => void = noop;
  reject: (error: unknown) => void = noop;
  timer: unknown = undefined;
}

/** Entries kept for reuse at most (the rest are left to the collector). */
const MAX_SPARE = 64;

export class PendingTable<T> {
  private readonly entries = new Map<number, Entry<T>>();
  private readonly spare: Entry<T>[] = [];
  private nextTag = 1;
  private closed = false;
  private readonly timeoutMs: number | undefined;
  private readonly scheduler: Scheduler | undefined;
  private readonly maxPending: number;
  /** The entry {@link PendingTable.open} is filling (read by `executor`). */
  private opening: Entry<T> | undefined;
  private readonly executor = (resolve: (value: T) => void, reject: (error: unknown) => void): void => {
    const e = this.opening as Entry<T>;
    e.resolve = resolve;
    e.reject = reject;
  };
  /** Tag of the request the last {@link PendingTable.open} registered; 0 when it refused. */
  lastTag = 0;

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

  /**
   * Registers a new request and returns its promise; its tag is then in {@link lastTag} (0 when
   * the table refused: closed or full, and the promise rejects). The caller sends it and calls
   * {@link fail} with the tag if sending throws.
   */
  open(): Promise<T> {
    this.lastTag = 0;
    if (this.closed) return Promise.reject(vioError("ERR_CLOSED", "channel is closed"));
    if (this.entries.size >= this.maxPending)
      return Promise.reject(vioError("ERR_LIMIT", `more than ${this.maxPending} requests pending`));
    let tag = this.nextTag;
    while (this.entries.has(tag)) tag = (tag + 1) >>> 0 || 1;
    this.nextTag = (tag + 1) >>> 0 || 1;
    const entry = this.spare.pop() ?? new Entry<T>();
    this.opening = entry;
    const p = new Promise<T>(this.executor);
    this.opening = undefined;
    this.entries.set(tag, entry);
    const sched = this.scheduler;
    if (this.timeoutMs !== undefined && sched !== undefined) {
      const ms = this.timeoutMs;
      entry.timer = sched.setTimeout(() => {
        this.fail(tag, vioError("ERR_TIMEOUT", `no answer within ${ms} ms`));
      }, ms);
    }
    this.lastTag = tag;
    return p;
  }

  /** Registers a new request; `start(tag)` sends it (a throw from it rejects the request). */
  add(start: (tag: number) => void): Promise<T> {
    const p = this.open();
    const tag = this.lastTag;
    if (tag === 0) return p;
    try {
      start(tag);
    } catch (e) {
      this.fail(tag, e);
    }
    return p;
  }

  /** Resolves the request `tag`; false when it is unknown (late, duplicate or forged). */
  settle(tag: number, value: T): boolean {
    const e = this.take(tag);
    if (e === undefined) return false;
    const resolve = e.resolve;
    this.recycle(e);
    resolve(value);
    return true;
  }

  /** Rejects the request `tag`; false when it is unknown. */
  fail(tag: number, error: unknown): boolean {
    const e = this.take(tag);
    if (e === undefined) return false;
    const reject = e.reject;
    this.recycle(e);
    reject(error);
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

  private recycle(e: Entry<T>): void {
    e.resolve = noop;
    e.reject = noop;
    e.timer = undefined;
    if (this.spare.length < MAX_SPARE) this.spare.push(e);
  }
}
