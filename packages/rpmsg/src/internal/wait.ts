// Waiting with a per-call timeout and an AbortSignal, without touching host timers: the timer
// functions are injected (a `scheduler` option), so this runs in any ES2020 engine.
import { rpmsgError } from "../errors.js";

// The wait types have one home, @amp/virtio-ring (its doorbell waits); rpmsg re-exports them
// under the same names. Its per-call options leave out `scheduler`: rpmsg takes the timer
// functions once, on the device, not on every call.
import type { AbortSignalLike, Scheduler, WaitOptions as RingWaitOptions } from "@amp/virtio-ring";

export type { AbortSignalLike, Scheduler };

/**
 * Per-call options of every blocking operation: `timeoutMs` (give up after this many
 * milliseconds; needs the device's `scheduler`; default: wait until the link goes down) and
 * `signal` (give up when it aborts). The fields of @amp/virtio-ring's WaitOptions.
 */
export type WaitOptions = Omit<RingWaitOptions, "scheduler">;

/** One pending waiter: settled exactly once, by `resolve`, `reject`, the timer or the signal. */
export interface Waiter<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
  readonly settled: boolean;
}

/**
 * Creates a waiter honouring `opts`. `onSettle` runs once when it settles any way (to unlink it
 * from a queue). Throws synchronously for misuse (timeout without a scheduler).
 */
export function createWaiter<T>(
  what: string,
  opts: WaitOptions | undefined,
  scheduler: Scheduler | undefined,
  onSettle: (w: Waiter<T>) => void,
): Waiter<T> {
  const timeoutMs = opts?.timeoutMs;
  if (timeoutMs !== undefined) {
    if (typeof timeoutMs !== "number" || !(timeoutMs >= 0))
      throw new RangeError(`timeoutMs must be a number >= 0, got ${String(timeoutMs)}`);
    if (scheduler === undefined)
      throw new TypeError("timeoutMs needs a `scheduler` option ({ setTimeout, clearTimeout }) on the device");
  }
  let res!: (v: T) => void;
  let rej!: (e: unknown) => void;
  const promise = new Promise<T>((a, b) => {
    res = a;
    rej = b;
  });
  let settled = false;
  let timer: unknown;
  const signal = opts?.signal;
  const onAbort = (): void => {
    w.reject(rpmsgError("ERR_ABORTED", `${what}: aborted`, { cause: signal?.reason }));
  };
  const finish = (): void => {
    settled = true;
    if (timer !== undefined) scheduler?.clearTimeout(timer);
    signal?.removeEventListener("abort", onAbort);
    onSettle(w);
  };
  const w: Waiter<T> = {
    promise,
    get settled() {
      return settled;
    },
    resolve(v: T) {
      if (settled) return;
      finish();
      res(v);
    },
    reject(e: unknown) {
      if (settled) return;
      finish();
      rej(e);
    },
  };
  if (signal?.aborted === true) {
    onAbort();
    return w;
  }
  signal?.addEventListener("abort", onAbort, { once: true });
  if (timeoutMs !== undefined && scheduler !== undefined) {
    timer = scheduler.setTimeout(() => {
      w.reject(rpmsgError("ERR_TIMEOUT", `${what}: timed out after ${timeoutMs} ms`));
    }, timeoutMs);
  }
  return w;
}
