// The host's half of the clock exchange: runs requests over an rpmsg endpoint bound to the
// remote's "amp-clock" service, one at a time (a queued request would inflate its own round
// trip), and feeds a ClockEstimator. Timers come from the injected scheduler; the host clock is
// injected too (default: performance.timeOrigin + performance.now(), resolved when constructed).
import type { RpmsgDevice } from "../device.js";
import type { RpmsgEndpoint } from "../endpoint.js";
import { isAmpError, rpmsgError } from "../errors.js";
import type { AbortSignalLike, Scheduler } from "../internal/wait.js";
import {
  ClockEstimator,
  type ClockEstimate,
  type ClockEstimatorOptions,
  type ClockSample,
  type HostTime,
} from "./estimator.js";
import { AMP_CLOCK_REQUEST_SIZE, AMP_CLOCK_SERVICE, decodeClockResponse, encodeClockRequest } from "./wire.js";

/** Options of {@link ClockSync}. */
export interface ClockSyncOptions extends ClockEstimatorOptions {
  /** The host-side rpmsg device (an RpmsgHost) whose remote serves the clock. */
  readonly device: RpmsgDevice;
  /** Timers for the periodic exchange and the per-exchange timeout, e.g. `{ setTimeout, clearTimeout }`. */
  readonly scheduler: Scheduler;
  /** Host clock in ms since the epoch (default performance.timeOrigin + performance.now()). */
  readonly now?: () => number;
  /** Service to bind to (default "amp-clock"). */
  readonly name?: string;
  /** Pause between two exchanges once warmed up (ms, default 1000). */
  readonly intervalMs?: number;
  /** Exchanges at start, `burstIntervalMs` apart, for a first estimate at once (default 8). */
  readonly burst?: number;
  /** Pause between the burst's exchanges (ms, default 5). */
  readonly burstIntervalMs?: number;
  /** How long one exchange may take before it counts as lost (ms, default 1000). */
  readonly timeoutMs?: number;
  /** Called after every accepted sample with the new estimate. */
  readonly onEstimate?: (estimate: ClockEstimate) => void;
}

/** Counters of a {@link ClockSync}. */
export interface ClockSyncStats {
  /** Requests sent. */
  readonly sent: number;
  /** Replies matched to their request. */
  readonly received: number;
  /** Exchanges that timed out (request or reply lost, or a remote too busy). */
  readonly timeouts: number;
  /** Replies dropped: malformed, or not the pending request's (late, duplicated). */
  readonly dropped: number;
  /** Samples the estimator refused as impossible. */
  readonly rejected: number;
  /** Restarts of the estimate after a clock jump. */
  readonly resets: number;
}

interface Pending {
  readonly seq: number;
  readonly t1: number;
  readonly t1Us: number;
  readonly resolve: (s: ClockSample) => void;
  readonly reject: (e: unknown) => void;
  timer: unknown;
}

/** performance.timeOrigin + performance.now(), when the engine has them. */
function defaultHostClock(): () => number {
  const perf = (globalThis as unknown as { performance?: { timeOrigin?: number; now?: () => number } }).performance;
  const now = perf?.now;
  const origin = perf?.timeOrigin;
  if (typeof now !== "function" || typeof origin !== "number")
    throw new TypeError(
      "this engine has no performance.now()/timeOrigin: pass a `now` option (host ms since the epoch)",
    );
  return () => origin + now.call(perf);
}

/**
 * Estimates the remote's clock against the host's over the "amp-clock" rpmsg service.
 * `toHostTime` maps remote µs to host ms with an error bound; it is bound to the instance, so
 * it can be handed to trace-record parsers as is.
 * @example
 * const sync = new ClockSync({ device: host, scheduler: { setTimeout, clearTimeout } });
 * await sync.start({ timeoutMs: 5000 }); // bound to the service, first burst done
 * console.log(sync.estimate?.offsetMs, sync.toHostTime(remoteUs));
 * sync.stop();
 */
export class ClockSync {
  /** The estimator the samples go to (reset it when the remote reboots). */
  readonly estimator: ClockEstimator;
  private readonly device: RpmsgDevice;
  private readonly scheduler: Scheduler;
  private readonly now: () => number;
  private readonly name: string;
  private readonly intervalMs: number;
  private readonly burst: number;
  private readonly burstIntervalMs: number;
  private readonly timeoutMs: number;
  private readonly onEstimate: ((e: ClockEstimate) => void) | undefined;
  private readonly request = new Uint8Array(AMP_CLOCK_REQUEST_SIZE);
  private ep: RpmsgEndpoint | undefined;
  private pending: Pending | undefined;
  private seq = 0;
  private running = false;
  private loopTimer: unknown;
  private wake: (() => void) | undefined;
  private counts = { sent: 0, received: 0, timeouts: 0, dropped: 0 };

  constructor(options: ClockSyncOptions) {
    // Plain-JavaScript callers: check the value, not only its type.
    if ((options.scheduler as Scheduler | undefined) === undefined)
      throw new TypeError("ClockSync needs a `scheduler` ({ setTimeout, clearTimeout })");
    this.device = options.device;
    this.scheduler = options.scheduler;
    this.now = options.now ?? defaultHostClock();
    this.name = options.name ?? AMP_CLOCK_SERVICE;
    this.intervalMs = nonNegative(options.intervalMs, 1000, "intervalMs");
    this.burst = options.burst ?? 8;
    if (!Number.isInteger(this.burst) || this.burst < 0)
      throw new RangeError(`burst must be an integer >= 0, got ${String(options.burst)}`);
    this.burstIntervalMs = nonNegative(options.burstIntervalMs, 5, "burstIntervalMs");
    this.timeoutMs = nonNegative(options.timeoutMs, 1000, "timeoutMs");
    this.onEstimate = options.onEstimate;
    this.estimator = new ClockEstimator(options);
  }

  /** The current estimate (undefined before the first sample). */
  get estimate(): ClockEstimate | undefined {
    return this.estimator.estimate;
  }

  /** The bound endpoint (undefined before {@link bind}). */
  get endpoint(): RpmsgEndpoint | undefined {
    return this.ep;
  }

  /** Counters. */
  get stats(): ClockSyncStats {
    return { ...this.counts, rejected: this.estimator.rejected, resets: this.estimator.resets };
  }

  /** Remote µs → host ms with its error bound; `{ hostMs: NaN, errorMs: Infinity }` before the first sample. */
  readonly toHostTime = (remoteUs: number): HostTime => this.estimator.toHostTime(remoteUs);

  /**
   * Waits for the remote's announcement of the service and creates the host endpoint.
   * @throws AmpError ERR_TIMEOUT / ERR_ABORTED / ERR_LINK_DOWN from the wait.
   */
  async bind(options: { timeoutMs?: number; signal?: AbortSignalLike } = {}): Promise<RpmsgEndpoint> {
    if (this.ep !== undefined && !this.ep.closed) return this.ep;
    const svc = await this.device.waitForService(this.name, options);
    this.ep = this.device.createEndpoint({
      dst: svc.addr,
      onMessage: (msg) => {
        this.onReply(msg.data, this.now());
      },
      onClose: (reason) => {
        this.failPending(reason);
      },
    });
    return this.ep;
  }

  /**
   * Binds, runs the burst, then keeps exchanging every `intervalMs` until {@link stop} or the
   * endpoint closes (link down). Resolves after the burst.
   * @throws what {@link bind} throws.
   */
  async start(options: { timeoutMs?: number; signal?: AbortSignalLike } = {}): Promise<void> {
    await this.bind(options);
    this.running = true;
    for (let i = 0; i < this.burst; i++) {
      await this.tryExchange();
      if (!this.isRunning()) break;
      if (i + 1 < this.burst) await this.sleep(this.burstIntervalMs);
    }
    this.schedule();
  }

  /** Stops the periodic exchange (a pending one still completes or times out). Idempotent. */
  stop(): void {
    this.running = false;
    if (this.loopTimer !== undefined) this.scheduler.clearTimeout(this.loopTimer);
    this.loopTimer = undefined;
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  /** Stops and destroys the endpoint. */
  close(): void {
    this.stop();
    this.ep?.destroy();
  }

  /**
   * Runs one exchange now and returns its sample (also fed to the estimator).
   * @throws AmpError ERR_TIMEOUT when no reply came within `timeoutMs`; ERR_NOT_BOUND before
   * {@link bind}; ERR_LINK_DOWN / ERR_CLOSED when the link or endpoint went away; ERR_LIMIT when an exchange is already pending.
   */
  async exchange(): Promise<ClockSample> {
    const ep = this.ep;
    if (ep === undefined)
      throw rpmsgError("ERR_NOT_BOUND", `ClockSync: not bound to "${this.name}" yet; call bind() or start() first`);
    if (this.pending !== undefined)
      throw rpmsgError("ERR_LIMIT", "ClockSync: one exchange at a time (a queued request would measure its own wait)");
    // Take the buffer first so that t1 is as close as possible to the kick.
    const buf = ep.tryGetTxBuffer() ?? (await ep.getTxBuffer({ timeoutMs: this.timeoutMs }));
    const seq = (this.seq = (this.seq + 1) & 0xffff);
    const sample = new Promise<ClockSample>((resolve, reject) => {
      const t1 = this.now();
      const t1Us = Math.max(0, Math.floor(t1 * 1000));
      encodeClockRequest({ seq, t1: t1Us }, this.request);
      buf.payload.set(this.request);
      const p: Pending = { seq, t1, t1Us, resolve, reject, timer: undefined };
      this.pending = p;
      p.timer = this.scheduler.setTimeout(() => {
        if (this.pending !== p) return;
        this.pending = undefined;
        this.counts.timeouts++;
        reject(rpmsgError("ERR_TIMEOUT", `ClockSync: no reply to request ${seq} within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      try {
        buf.send(AMP_CLOCK_REQUEST_SIZE);
        this.counts.sent++;
      } catch (e) {
        buf.release();
        this.scheduler.clearTimeout(p.timer);
        this.pending = undefined;
        reject(e instanceof Error ? e : new Error(String(e)));
      }
    });
    return sample;
  }

  /**
   * Runs `count` exchanges back to back (lost ones are counted and skipped) and returns the
   * estimate afterwards.
   * @throws AmpError ERR_LINK_DOWN / ERR_CLOSED / ERR_NOT_BOUND as {@link exchange}.
   */
  async sync(count = 8): Promise<ClockEstimate | undefined> {
    for (let i = 0; i < count; i++) {
      try {
        await this.exchange();
      } catch (e) {
        if (!(isAmpError(e) && e.code === "ERR_TIMEOUT")) throw e;
      }
    }
    return this.estimate;
  }

  private onReply(data: Uint8Array, t4: number): void {
    const p = this.pending;
    let res;
    try {
      res = decodeClockResponse(data);
    } catch {
      this.counts.dropped++;
      return;
    }
    if (p === undefined || res.seq !== p.seq || res.t1 !== p.t1Us) {
      this.counts.dropped++;
      return;
    }
    this.pending = undefined;
    this.scheduler.clearTimeout(p.timer);
    this.counts.received++;
    const sample: ClockSample = { t1: p.t1, t2: res.t2, t3: res.t3, t4 };
    if (this.estimator.add(sample) !== "rejected") {
      const e = this.estimator.estimate;
      if (e !== undefined) this.onEstimate?.(e);
    }
    p.resolve(sample);
  }

  private failPending(reason: unknown): void {
    this.stop();
    const p = this.pending;
    if (p === undefined) return;
    this.pending = undefined;
    this.scheduler.clearTimeout(p.timer);
    p.reject(reason);
  }

  /** One exchange for the loop: lost ones are counted, a closed endpoint ends the loop. */
  private async tryExchange(): Promise<void> {
    try {
      await this.exchange();
    } catch (e) {
      // Lost, or the caller's own exchange() is in flight: try again next time.
      if (isAmpError(e) && (e.code === "ERR_TIMEOUT" || e.code === "ERR_LIMIT")) return;
      this.running = false;
    }
  }

  /** Waits `ms`, or less when {@link stop} comes first (so that start() never hangs). */
  /** Read through a method: `stop()` may clear the flag while start() awaits. */
  private isRunning(): boolean {
    return this.running;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
      this.loopTimer = this.scheduler.setTimeout(() => {
        this.loopTimer = undefined;
        this.wake = undefined;
        resolve();
      }, ms);
    });
  }

  private schedule(): void {
    if (!this.running || this.loopTimer !== undefined) return;
    this.loopTimer = this.scheduler.setTimeout(() => {
      this.loopTimer = undefined;
      if (!this.running) return;
      void this.tryExchange().then(() => {
        this.schedule();
      });
    }, this.intervalMs);
  }
}

function nonNegative(v: number | undefined, dflt: number, what: string): number {
  const x = v ?? dflt;
  if (typeof x !== "number" || !(x >= 0) || !Number.isFinite(x))
    throw new RangeError(`${what} must be a finite number >= 0, got ${String(v)}`);
  return x;
}
