// Offset and drift of a remote clock against the host's, from NTP-style samples. Pure arithmetic:
// no clock, no timers; ClockSync feeds it, tests feed it virtual clocks.
//
// One exchange gives four stamps: host t1 (send) and t4 (receive) in ms, remote t2 (receive) and
// t3 (send) in integer µs. Whatever the delays each way, the remote's clock at the host's
// midpoint (t1 + t4) / 2 lay within ± rtt / 2 of its own midpoint (t2 + t3) / 2, where rtt is
// the round trip minus the time the remote held the request. That interval is the sample's error
// bound: it holds for any asymmetry of the two directions, so the bound is never optimistic.
//
// The model is a line, remote = host + offset(host) with offset(h) = a + k·(h - hRef) (k = drift),
// fitted by least squares weighted by 1/bound² over the lowest-RTT sample of each slice of the
// window (the slices spread the chosen samples over time, which is what pins the drift down).
// The bound of the fit at a host time h: the true line passes within E_j = bound_j + |residual_j|
// of the fitted one at every chosen sample j, so any two such samples i, j limit the difference of
// the two slopes to (E_i + E_j) / (h_j - h_i), and the difference of the lines at h to the
// interpolation of E between samples around h, or to E_j plus that slope times the distance.

/** One exchange: host times in ms (performance.timeOrigin + performance.now()), remote in integer µs. */
export interface ClockSample {
  /** Host time the request left (ms). */
  readonly t1: number;
  /** Remote time the request arrived (µs of the remote's clock). */
  readonly t2: number;
  /** Remote time the reply left (µs of the remote's clock). */
  readonly t3: number;
  /** Host time the reply arrived (ms). */
  readonly t4: number;
}

/** The current estimate of the remote clock against the host's. */
export interface ClockEstimate {
  /** Remote clock minus host clock in ms, at host time `atMs` (remote ms = host ms + offsetMs). */
  readonly offsetMs: number;
  /** Rate of the remote clock minus the host's, in parts per million (+200: the remote gains 200 µs a second). */
  readonly driftPpm: number;
  /** Bound on the error of `offsetMs` at `atMs`: RTT/2 of the best chosen samples plus their fit residual. */
  readonly errorMs: number;
  /** Bound on the error of `driftPpm`. */
  readonly driftErrorPpm: number;
  /** Samples the fit used (the lowest-RTT one of each slice of the window). */
  readonly samples: number;
  /** Samples in the window. */
  readonly collected: number;
  /** Smallest round trip among the fitted samples (ms, the remote's hold time excluded). */
  readonly rttMs: number;
  /** Largest |residual| of the fit (ms). */
  readonly residualMs: number;
  /** Host time (ms) the estimate refers to: the newest sample's midpoint. */
  readonly atMs: number;
}

/** A remote time mapped into host time, with its error bound (what trace records take as `toHostTime`). */
export interface HostTime {
  /** Host time in ms since the epoch; NaN while there is no estimate. */
  readonly hostMs: number;
  /** Bound on |hostMs - truth| in ms; Infinity while there is no estimate. */
  readonly errorMs: number;
}

/** Options of {@link ClockEstimator}. */
export interface ClockEstimatorOptions {
  /** Samples kept (the newest; default 128). */
  readonly windowSamples?: number;
  /** Slices of the window, one fitted sample each (default 8). */
  readonly fitPoints?: number;
  /** Largest drift the clocks may have (ppm, default 1000): bounds extrapolation from a single sample. */
  readonly maxDriftPpm?: number;
  /** Resolution of the host clock in ms (default 0.001), added to every sample's bound. */
  readonly resolutionMs?: number;
}

interface Point {
  /** Host midpoint (ms). */
  readonly h: number;
  /** Remote midpoint (ms of the remote clock). */
  readonly r: number;
  /** Round trip minus the remote's hold time (ms). */
  readonly rtt: number;
  /** Half-width of the interval the truth lies in (ms). */
  readonly e: number;
}

interface Fit {
  readonly hRef: number;
  readonly rRef: number;
  /** offset(h) - (rRef - hRef) = a + k (h - hRef) */
  readonly a: number;
  readonly k: number;
  /** The fitted samples, oldest first: host time and E = bound + |residual| (the true line passes within E there). */
  readonly anchors: readonly { readonly h: number; readonly E: number }[];
  /** Bound on |k - k_true|. */
  readonly dk: number;
  readonly estimate: ClockEstimate;
}

/** Why {@link ClockEstimator.add} did not take a sample. */
export type ClockSampleVerdict = "accepted" | "rejected" | "reset";

function positiveInt(v: number | undefined, dflt: number, what: string, min: number): number {
  const x = v ?? dflt;
  if (!Number.isInteger(x) || x < min) throw new RangeError(`${what} must be an integer >= ${min}, got ${String(v)}`);
  return x;
}

function nonNegative(v: number | undefined, dflt: number, what: string): number {
  const x = v ?? dflt;
  if (typeof x !== "number" || !(x >= 0) || !Number.isFinite(x))
    throw new RangeError(`${what} must be a finite number >= 0, got ${String(v)}`);
  return x;
}

/**
 * Keeps a window of clock samples and fits offset + drift with an error bound.
 * @example
 * const est = new ClockEstimator();
 * est.add({ t1, t2, t3, t4 });
 * const { hostMs, errorMs } = est.toHostTime(remoteUs);
 */
export class ClockEstimator {
  private readonly windowSamples: number;
  private readonly fitPoints: number;
  private readonly maxDrift: number;
  private readonly resolutionMs: number;
  private points: Point[] = [];
  private fit: Fit | undefined;
  private resetCount = 0;
  private rejectedCount = 0;

  constructor(options: ClockEstimatorOptions = {}) {
    this.windowSamples = positiveInt(options.windowSamples, 128, "windowSamples", 2);
    this.fitPoints = positiveInt(options.fitPoints, 8, "fitPoints", 2);
    this.maxDrift = nonNegative(options.maxDriftPpm, 1000, "maxDriftPpm") * 1e-6;
    this.resolutionMs = nonNegative(options.resolutionMs, 0.001, "resolutionMs");
  }

  /** The estimate after the last accepted sample, or undefined before the first. */
  get estimate(): ClockEstimate | undefined {
    return this.fit?.estimate;
  }

  /** How often the estimator started over because a sample contradicted it (a clock that jumped, e.g. a rebooted remote). */
  get resets(): number {
    return this.resetCount;
  }

  /** Samples refused as impossible (t4 < t1, t3 < t2, or a hold time longer than the round trip). */
  get rejected(): number {
    return this.rejectedCount;
  }

  /** Forgets every sample (call it when the remote's clock restarts: reboot, recovery). */
  reset(): void {
    this.points = [];
    this.fit = undefined;
  }

  /**
   * Adds one exchange. A sample whose interval lies outside the current estimate's bound means
   * the remote's clock jumped: the estimator starts over from that sample ("reset").
   * @throws RangeError when a stamp is not a finite number.
   */
  add(sample: ClockSample): ClockSampleVerdict {
    const { t1, t2, t3, t4 } = sample;
    for (const [n, v] of [
      ["t1", t1],
      ["t2", t2],
      ["t3", t3],
      ["t4", t4],
    ] as const) {
      if (typeof v !== "number" || !Number.isFinite(v))
        throw new RangeError(`clock sample ${n} must be a finite number, got ${String(v)}`);
    }
    const hold = (t3 - t2) / 1000;
    const rtt = t4 - t1 - hold;
    if (t4 < t1 || hold < 0 || rtt < -this.resolutionMs) {
      this.rejectedCount++;
      return "rejected";
    }
    // Integer µs on the remote: each remote stamp is up to 1 µs below the truth.
    const p: Point = {
      h: t1 + (t4 - t1) / 2,
      r: t2 / 2000 + t3 / 2000 + 0.0005,
      rtt: Math.max(0, rtt),
      e: Math.max(0, rtt) / 2 + this.resolutionMs + 0.0005,
    };
    let verdict: ClockSampleVerdict = "accepted";
    if (this.fit !== undefined && !this.consistent(p, this.fit)) {
      this.reset();
      this.resetCount++;
      verdict = "reset";
    }
    this.points.push(p);
    if (this.points.length > this.windowSamples) this.points.splice(0, this.points.length - this.windowSamples);
    this.fit = this.refit();
    return verdict;
  }

  /** Bound on the offset error at host time `hostMs` (Infinity without an estimate). */
  errorAt(hostMs: number): number {
    const f = this.fit;
    return f === undefined ? Infinity : boundAt(f, hostMs);
  }

  /** The remote clock's reading (µs) at host time `hostMs`, per the estimate (NaN without one). */
  toRemoteUs(hostMs: number): number {
    const f = this.fit;
    if (f === undefined) return NaN;
    const x = hostMs - f.hRef;
    return (f.rRef + x + f.a + f.k * x) * 1000;
  }

  /**
   * Maps a remote time (integer µs of its clock) to host time (ms since the epoch) with the
   * error bound there; `{ hostMs: NaN, errorMs: Infinity }` before the first sample. Bound to the
   * instance, so it can be handed over as a plain function.
   */
  readonly toHostTime = (remoteUs: number): HostTime => {
    const f = this.fit;
    if (f === undefined) return { hostMs: NaN, errorMs: Infinity };
    // remote = rRef + x + a + k x  =>  x = (remote - rRef - a) / (1 + k)
    const x = (remoteUs / 1000 - f.rRef - f.a) / (1 + f.k);
    const hostMs = f.hRef + x;
    // An offset error D moves the host time by D / (1 + k); plus 1 µs for the integer remote stamp.
    return { hostMs, errorMs: boundAt(f, hostMs) / (1 - Math.min(0.5, Math.abs(f.k) + f.dk)) + 0.001 };
  };

  private consistent(p: Point, f: Fit): boolean {
    const x = p.h - f.hRef;
    const predicted = f.a + f.k * x;
    const y = p.r - f.rRef - x;
    return Math.abs(y - predicted) <= boundAt(f, p.h) + p.e;
  }

  private refit(): Fit | undefined {
    const pts = this.points;
    const n = pts.length;
    const first = pts[0];
    const last = pts[n - 1];
    if (first === undefined || last === undefined) return undefined;
    // The lowest-RTT sample of each slice (consecutive in time).
    const slices = Math.min(this.fitPoints, n);
    const chosen: Point[] = [];
    for (let s = 0; s < slices; s++) {
      let best: Point | undefined;
      for (let i = Math.floor((s * n) / slices); i < Math.floor(((s + 1) * n) / slices); i++) {
        const q = pts[i];
        if (q !== undefined && (best === undefined || q.rtt < best.rtt)) best = q;
      }
      if (best !== undefined) chosen.push(best);
    }
    const c0 = chosen[0] ?? first;
    const hRef = c0.h;
    const rRef = c0.r;
    // Weighted least squares of y = a + k x, x = h - hRef, y = offset relative to the reference.
    let sw = 0,
      sx = 0,
      sy = 0,
      sxx = 0,
      sxy = 0;
    for (const q of chosen) {
      const w = 1 / (q.e * q.e);
      const x = q.h - hRef;
      const y = q.r - rRef - x;
      sw += w;
      sx += w * x;
      sy += w * y;
      sxx += w * x * x;
      sxy += w * x * y;
    }
    const den = sw * sxx - sx * sx;
    const spread = (chosen[chosen.length - 1]?.h ?? hRef) - hRef;
    let k = 0;
    let a = sy / sw;
    // Too little time between the samples for a slope (relative to their bounds): offset only.
    if (chosen.length >= 2 && den > 0 && spread > 0) {
      k = (sw * sxy - sx * sy) / den;
      a = (sy - k * sx) / sw;
      if (Math.abs(k) > this.maxDrift) {
        // A slope steeper than any clock drifts is noise over a short spread: clamp it.
        k = Math.sign(k) * this.maxDrift;
        a = (sy - k * sx) / sw;
      }
    }
    let residual = 0;
    const bounds: { h: number; E: number; rtt: number }[] = [];
    for (const q of chosen) {
      const x = q.h - hRef;
      const r = Math.abs(q.r - rRef - x - (a + k * x));
      residual = Math.max(residual, r);
      bounds.push({ h: q.h, E: q.e + r, rtt: q.rtt });
    }
    // The slope bound: any two fitted samples limit how far the true line can tilt away.
    const dkCap = Math.abs(k) + this.maxDrift;
    let dk = dkCap;
    bounds.forEach((bi, i) => {
      for (const bj of bounds.slice(i + 1)) if (bj.h > bi.h) dk = Math.min(dk, (bi.E + bj.E) / (bj.h - bi.h));
    });
    let rttMs = Infinity;
    for (const b of bounds) rttMs = Math.min(rttMs, b.rtt);
    const atMs = last.h;
    const anchors = bounds.map((b) => ({ h: b.h, E: b.E }));
    const partial = { hRef, rRef, a, k, anchors, dk };
    const estimate: ClockEstimate = {
      offsetMs: rRef - hRef + a + k * (atMs - hRef),
      driftPpm: k * 1e6,
      errorMs: 0,
      driftErrorPpm: dk * 1e6,
      samples: chosen.length,
      collected: n,
      rttMs,
      residualMs: residual,
      atMs,
    };
    const withBound = { ...estimate, errorMs: boundAt(partial, atMs) };
    return { ...partial, estimate: withBound };
  }
}

/**
 * The bound of a fit at host time h: the difference D of the fitted and the true line is linear
 * with |D| ≤ E_j at each anchor and slope ≤ dk, so |D(h)| ≤ E_j + dk·|h - h_j| for every anchor,
 * and between two anchors it is at most the interpolation of their E. The smallest of these.
 */
function boundAt(f: Pick<Fit, "anchors" | "dk">, h: number): number {
  const an = f.anchors;
  let best = Infinity;
  for (let i = 0; i < an.length; i++) {
    const ai = an[i];
    if (ai === undefined) break;
    best = Math.min(best, ai.E + f.dk * Math.abs(h - ai.h));
    if (h < ai.h) continue;
    for (let j = i + 1; j < an.length; j++) {
      const aj = an[j];
      if (aj === undefined || h > aj.h || aj.h <= ai.h) continue;
      const w = (h - ai.h) / (aj.h - ai.h);
      best = Math.min(best, ai.E * (1 - w) + aj.E * w);
    }
  }
  return best;
}
