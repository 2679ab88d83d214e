// Doorbells: "queue N has work", separate from the data in the rings. The ring code never waits;
// it tells a Doorbell to ring and the other side drains a DoorbellReceiver from its own loop.
import { AmpError } from "./errors.js";
import type { Memory } from "./memory.js";
import { checkInt, checkRange } from "./internal/check.js";

/** The sending side: tell the peer that queue `queue` (a notify id) has work. */
export interface Doorbell {
  notify(queue: number): void;
}

/** Just enough of AbortSignal for the async helpers (the core has no DOM/Node types). */
export interface AbortSignalLike {
  readonly aborted: boolean;
  readonly reason?: unknown;
  addEventListener(type: "abort", listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: "abort", listener: () => void): void;
}

/** Timers injected by the platform (the core uses no host timers of its own). */
export interface Scheduler {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Options of the async waits. A timeout needs a `scheduler`. */
export interface WaitOptions {
  signal?: AbortSignalLike;
  /** Give up after this many ms with AmpError ERR_TIMEOUT (needs `scheduler`). */
  timeoutMs?: number;
  scheduler?: Scheduler;
}

/** The receiving side of a doorbell. */
export interface DoorbellReceiver {
  /**
   * Calls `onQueue` once for each queue rung since the last poll (several rings of one queue
   * collapse into one call) and returns how many queues were reported. Never blocks.
   */
  poll(onQueue: (queue: number) => void): number;
  /** True when a ring is pending (the next poll reports at least one queue). */
  pending(): boolean;
  /**
   * Resolves when a ring may be pending (call `poll` next; wake-ups may be spurious).
   * @throws AmpError ERR_ABORTED when `signal` fires, ERR_TIMEOUT after `timeoutMs`.
   */
  wait(options?: WaitOptions): Promise<void>;
}

/** Default highest queue number + 1 that a doorbell tracks. */
export const DEFAULT_DOORBELL_QUEUES = 64;

let done: Promise<void> | undefined;
const toVoid = (): void => undefined;
/** One settled promise, shared by every wait that needs none (created on first use). */
function settled(): Promise<void> {
  return (done ??= Promise.resolve());
}

function abortError(signal: AbortSignalLike): AmpError {
  return new AmpError("ERR_ABORTED", "wait aborted", { cause: signal.reason });
}

/**
 * Races `start(wake)` against abort and timeout. `start` arranges for `wake` to be called and
 * returns a cleanup function.
 */
function waitFor(options: WaitOptions, start: (wake: () => void) => () => void): Promise<void> {
  const { signal, timeoutMs, scheduler } = options;
  if (timeoutMs !== undefined && scheduler === undefined) throw new TypeError("timeoutMs needs a scheduler");
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(abortError(signal));
      return;
    }
    let timer: unknown;
    let stop: (() => void) | undefined;
    const finish = (err?: AmpError): void => {
      if (stop !== undefined) stop();
      stop = undefined;
      signal?.removeEventListener("abort", onAbort);
      if (timer !== undefined) scheduler?.clearTimeout(timer);
      timer = undefined;
      if (err === undefined) resolve();
      else reject(err);
    };
    const onAbort = (): void => {
      if (signal !== undefined) finish(abortError(signal));
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    if (timeoutMs !== undefined && scheduler !== undefined) {
      timer = scheduler.setTimeout(() => {
        finish(new AmpError("ERR_TIMEOUT", `no doorbell within ${timeoutMs} ms`));
      }, timeoutMs);
    }
    stop = start(() => {
      finish();
    });
  });
}

/**
 * A doorbell that calls a function directly (same thread): an interrupt handler, a test, a
 * message port's `postMessage`.
 *
 * @example
 * const bell = new CallbackDoorbell((q) => device.process(q));
 */
export class CallbackDoorbell implements Doorbell {
  private readonly fn: (queue: number) => void;
  constructor(onNotify: (queue: number) => void) {
    this.fn = onNotify;
  }
  notify(queue: number): void {
    this.fn(queue);
  }
}

/**
 * Both ends of an in-process doorbell: `notify` records the queue and wakes `wait`ers (on a
 * microtask, never re-entrantly), `poll` drains.
 */
export class LocalDoorbell implements Doorbell, DoorbellReceiver {
  private readonly bits: Uint32Array;
  private waiters: (() => void)[] = [];
  readonly queues: number;

  constructor(options: { queues?: number } = {}) {
    this.queues = options.queues ?? DEFAULT_DOORBELL_QUEUES;
    checkInt(this.queues, 1, 1 << 16, "queues");
    this.bits = new Uint32Array((this.queues + 31) >>> 5);
  }
  notify(queue: number): void {
    checkInt(queue, 0, this.queues - 1, "queue");
    this.bits[queue >>> 5] = (this.bits[queue >>> 5] ?? 0) | (1 << (queue & 31));
    if (this.waiters.length > 0) {
      const ws = this.waiters;
      this.waiters = [];
      for (const w of ws) w();
    }
  }
  pending(): boolean {
    for (const w of this.bits) if (w !== 0) return true;
    return false;
  }
  poll(onQueue: (queue: number) => void): number {
    let n = 0;
    for (let i = 0; i < this.bits.length; i++) {
      let w = this.bits[i] ?? 0;
      if (w === 0) continue;
      this.bits[i] = 0;
      for (let b = 0; w !== 0; b++, w >>>= 1) {
        if ((w & 1) !== 0) {
          n++;
          onQueue(i * 32 + b);
        }
      }
    }
    return n;
  }
  wait(options: WaitOptions = {}): Promise<void> {
    if (this.pending())
      return waitFor(options, (wake) => {
        wake();
        return () => undefined;
      });
    return waitFor(options, (wake) => {
      this.waiters.push(wake);
      return () => {
        this.waiters = this.waiters.filter((w) => w !== wake);
      };
    });
  }
}

interface WaitAsyncResult {
  async: boolean;
  value: Promise<string> | string;
}
type WaitAsyncFn = (ta: Int32Array, index: number, value: number, timeout?: number) => WaitAsyncResult;

/** `Atomics.waitAsync` when the engine has it (ES2024), else undefined. */
function atomicsWaitAsync(): WaitAsyncFn | undefined {
  const f = (Atomics as unknown as { waitAsync?: WaitAsyncFn }).waitAsync;
  return typeof f === "function" ? f : undefined;
}

/** Options of {@link AtomicsDoorbell}. */
export interface AtomicsDoorbellOptions {
  /** Highest queue number + 1 (default {@link DEFAULT_DOORBELL_QUEUES}). */
  queues?: number;
  /**
   * Call `Atomics.notify` only when a receiver has said it may be asleep (it sets bit 0 of the
   * counter word before sleeping; this version's waits always do). A ring then costs two atomic
   * operations instead of four and the futex wake (~0.1 µs), which matters for peers that poll.
   * Turn it on only when every receiver of this doorbell runs this version or later: an older
   * receiver does not announce its sleep and would not be woken. Default false.
   */
  wakeOnlySleepers?: boolean;
  /**
   * Look for a ring this many times before going to sleep in `waitSync` and `wait` (default 0:
   * sleep at once). A thread that sleeps pays the wake-up twice per round trip (an idle core, an
   * Atomics.notify, a reschedule: about 10 µs each on a virtual machine), where a reply that
   * comes within the spin costs nothing. Each look is one `Atomics.load` per 32 queues (about
   * 10 ns in V8 on x86-64, so 2,000 looks spin about 20 µs); the thread burns that much CPU after
   * each wake-up that finds no ring. A latency knob for request/response traffic: 0 for links
   * that are idle most of the time.
   */
  spin?: number;
}

/** Bit 0 of the counter word: a receiver may be sleeping on it (see `wakeOnlySleepers`). */
const SLEEPER = 1;

/**
 * A doorbell in a SharedArrayBuffer, for two agents (workers): word 0 is a sequence counter that
 * `Atomics.wait/notify` use (its bit 0 says a receiver may be asleep), then one bit per queue.
 * Both sides construct it over the same bytes; `notify` sets the queue's bit, bumps the counter
 * and wakes a waiter. `waitSync` blocks (workers, or Node's main thread), `wait` uses
 * `Atomics.waitAsync` where the engine has it and otherwise polls with the injected scheduler.
 *
 * @example
 * const sab = new SharedArrayBuffer(AtomicsDoorbell.byteLength(2));
 * const bell = new AtomicsDoorbell(sab, 0, { queues: 2 }); // the worker builds another over `sab`
 */
export class AtomicsDoorbell implements Doorbell, DoorbellReceiver {
  private readonly i32: Int32Array;
  private readonly words: number;
  private readonly sleepersOnly: boolean;
  private readonly spin: number;
  readonly queues: number;

  /** Bytes needed for `queues` queues (a multiple of 4). */
  static byteLength(queues: number = DEFAULT_DOORBELL_QUEUES): number {
    checkInt(queues, 1, 1 << 16, "queues");
    return 4 * (1 + ((queues + 31) >>> 5));
  }

  /** @throws RangeError when the region is outside `buffer` or not 4-byte aligned. */
  constructor(buffer: SharedArrayBuffer, byteOffset = 0, options: AtomicsDoorbellOptions = {}) {
    this.queues = options.queues ?? DEFAULT_DOORBELL_QUEUES;
    const len = AtomicsDoorbell.byteLength(this.queues);
    checkRange(byteOffset, len, buffer.byteLength, "doorbell region");
    if (byteOffset % 4 !== 0) throw new RangeError("doorbell region must be 4-byte aligned");
    this.i32 = new Int32Array(buffer, byteOffset, len >>> 2);
    this.words = len >>> 2;
    this.sleepersOnly = options.wakeOnlySleepers ?? false;
    this.spin = options.spin ?? 0;
    checkInt(this.spin, 0, 2 ** 31 - 1, "spin");
  }
  notify(queue: number): void {
    if (!(queue >>> 0 === queue && queue < this.queues)) checkInt(queue, 0, this.queues - 1, "queue");
    Atomics.or(this.i32, 1 + (queue >>> 5), 1 << (queue & 31));
    // The queue bit is set before the counter is read (both sequentially consistent): a receiver
    // that set SLEEPER after this read checks the bits next and sees this ring; one that set it
    // before is seen here and woken. Adding 1 to a word with SLEEPER set clears it and changes
    // the value the sleeper waits on.
    if (this.sleepersOnly) {
      if ((Atomics.load(this.i32, 0) & SLEEPER) === 0) return;
      Atomics.add(this.i32, 0, 1);
    } else {
      Atomics.add(this.i32, 0, 1);
    }
    Atomics.notify(this.i32, 0);
  }
  /** The `spin` option: true as soon as a ring is pending, false after `spin` looks without. */
  private spun(): boolean {
    for (let i = this.spin; i > 0; i--) if (this.pending()) return true;
    return false;
  }
  /** Marks a receiver as about to sleep; returns the counter value to sleep on. */
  private announceSleep(): number {
    return Atomics.or(this.i32, 0, SLEEPER) | SLEEPER;
  }
  pending(): boolean {
    for (let i = 1; i < this.words; i++) if (Atomics.load(this.i32, i) !== 0) return true;
    return false;
  }
  poll(onQueue: (queue: number) => void): number {
    let n = 0;
    for (let i = 1; i < this.words; i++) {
      if (Atomics.load(this.i32, i) === 0) continue;
      let w = Atomics.exchange(this.i32, i, 0) >>> 0;
      for (let b = 0; w !== 0; b++, w >>>= 1) {
        if ((w & 1) !== 0) {
          n++;
          onQueue((i - 1) * 32 + b);
        }
      }
    }
    return n;
  }
  /**
   * Blocks until a ring is pending or `timeoutMs` passes (Atomics.wait, after the `spin` looks;
   * not allowed on a browser's main thread). Returns whether a ring is pending.
   */
  waitSync(timeoutMs: number = Infinity): boolean {
    if (this.spun()) return true;
    const seq = this.announceSleep();
    if (this.pending()) return true;
    Atomics.wait(this.i32, 0, seq, timeoutMs);
    return this.pending();
  }
  wait(options: WaitOptions = {}): Promise<void> {
    // A spin blocks the caller's event loop for at most `spin` looks (the option says how long).
    if (this.spin > 0 && options.signal?.aborted !== true && this.spun()) return settled();
    const seq = this.announceSleep();
    const waitAsync = atomicsWaitAsync();
    // Without a signal or a timeout there is nothing to race: the engine's own promise is the
    // wait (an interrupt loop waits like this once per interrupt; no closure, no extra promise).
    if (options.signal === undefined && options.timeoutMs === undefined && waitAsync !== undefined) {
      if (this.pending()) return settled();
      const r = waitAsync(this.i32, 0, seq);
      return r.async ? (r.value as Promise<string>).then(toVoid) : settled();
    }
    if (this.pending())
      return waitFor(options, (wake) => {
        wake();
        return () => undefined;
      });
    if (waitAsync !== undefined) {
      return waitFor(options, (wake) => {
        let live = true;
        let pending = false;
        const r = waitAsync(this.i32, 0, seq);
        if (r.async) {
          pending = true;
          void (r.value as Promise<string>).then(() => {
            pending = false;
            if (live) wake();
          });
        } else wake();
        // A pending waitAsync cannot be cancelled, and until it settles the engine keeps it and
        // everything it closes over (an aborted wait on a remote that never rings again leaked
        // ~3 KiB per crash/recovery cycle). Settle it with a notify: a spurious wake-up, which
        // every receiver of this word already tolerates; `live` makes it a no-op here.
        return () => {
          live = false;
          if (pending) Atomics.notify(this.i32, 0);
        };
      });
    }
    return pollUntil(() => Atomics.load(this.i32, 0) !== seq || this.pending(), options);
  }
}

/** Polls `ready` every `intervalMs` with the injected scheduler. */
function pollUntil(ready: () => boolean, options: WaitOptions & { intervalMs?: number }): Promise<void> {
  const scheduler = options.scheduler;
  if (scheduler === undefined) throw new TypeError("waiting without Atomics.waitAsync needs a scheduler");
  const interval = options.intervalMs ?? 1;
  return waitFor(options, (wake) => {
    let timer: unknown;
    const tick = (): void => {
      if (ready()) wake();
      else timer = scheduler.setTimeout(tick, interval);
    };
    tick();
    return () => {
      if (timer !== undefined) scheduler.clearTimeout(timer);
    };
  });
}

/**
 * A doorbell made of one u32 counter per queue in any Memory (a file shared with QEMU, a
 * mailbox window), for peers that can only poll. Each queue's counter must have one writer (the
 * side that rings it); the receiver remembers the last value it saw.
 *
 * @example
 * const bell = new PollingDoorbell(mem, 0x100, { queues: 2, scheduler });
 */
export class PollingDoorbell implements Doorbell, DoorbellReceiver {
  private readonly mem: Memory;
  private readonly base: number;
  private readonly seen: Uint32Array;
  private readonly scheduler: Scheduler | undefined;
  private readonly intervalMs: number;
  readonly queues: number;

  /** Bytes needed for `queues` queues. */
  static byteLength(queues: number): number {
    checkInt(queues, 1, 1 << 16, "queues");
    return 4 * queues;
  }

  constructor(
    memory: Memory,
    byteOffset: number,
    options: { queues?: number; scheduler?: Scheduler; intervalMs?: number } = {},
  ) {
    this.queues = options.queues ?? DEFAULT_DOORBELL_QUEUES;
    checkRange(byteOffset, PollingDoorbell.byteLength(this.queues), memory.byteLength, "doorbell region");
    this.mem = memory;
    this.base = byteOffset;
    this.seen = new Uint32Array(this.queues);
    for (let q = 0; q < this.queues; q++) this.seen[q] = memory.getU32Acquire(byteOffset + 4 * q);
    this.scheduler = options.scheduler;
    this.intervalMs = options.intervalMs ?? 1;
  }
  notify(queue: number): void {
    checkInt(queue, 0, this.queues - 1, "queue");
    const at = this.base + 4 * queue;
    this.mem.setU32Release(at, (this.mem.getU32(at) + 1) >>> 0);
  }
  pending(): boolean {
    for (let q = 0; q < this.queues; q++) if (this.mem.getU32Acquire(this.base + 4 * q) !== this.seen[q]) return true;
    return false;
  }
  poll(onQueue: (queue: number) => void): number {
    let n = 0;
    for (let q = 0; q < this.queues; q++) {
      const v = this.mem.getU32Acquire(this.base + 4 * q);
      if (v !== this.seen[q]) {
        this.seen[q] = v;
        n++;
        onQueue(q);
      }
    }
    return n;
  }
  wait(options: WaitOptions = {}): Promise<void> {
    const scheduler = options.scheduler ?? this.scheduler;
    return pollUntil(() => this.pending(), {
      ...options,
      ...(scheduler === undefined ? {} : { scheduler }),
      intervalMs: this.intervalMs,
    });
  }
}
