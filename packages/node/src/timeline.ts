// One timeline for a remote processor: what the host saw (life-cycle states, crashes,
// recoveries, rpmsg link up/down) and what the remote wrote (trace records stamped with its own
// clock), ordered in host time, each with its error. Remote times are mapped through a
// ClockSync (@amp/rpmsg, "amp-clock") per boot: a rebooted remote's clock starts again, so each
// boot gets its own estimate, and a record is mapped with the estimate of the boot that wrote it.
import type { Remoteproc } from "@amp/remoteproc-core";
import {
  ClockSync,
  type ClockEstimate,
  type ClockSyncOptions,
  type HostTime,
  type RpmsgHost,
  type Scheduler,
} from "@amp/rpmsg";

/** What an entry records. */
export type TimelineKind = "state" | "crash" | "recovery" | "link" | "clock" | "trace" | "note";

/** One entry of the timeline. */
export interface TimelineEntry {
  /** Host time in ms since the epoch (performance.timeOrigin + performance.now()); NaN when unknown. */
  readonly hostMs: number;
  /** Bound on the error of `hostMs` in ms: 0 for what the host stamped, the clock bound for remote records, Infinity when unmapped. */
  readonly errorMs: number;
  /** Who stamped it. */
  readonly source: "host" | "remote";
  readonly kind: TimelineKind;
  readonly text: string;
  /** Boot of the remote the entry belongs to (1 for the first rpmsg link seen, +1 per boot or recovery). */
  readonly boot: number;
  /** Remote records: the remote's own time (µs). */
  readonly remoteUs?: number;
  /** Remote records: their level (E, W, I, D). */
  readonly level?: string;
  /** Remote records: their sequence number. */
  readonly seq?: number;
}

/** A remote trace record as the timeline takes it (remoteproc-core's TraceRecord / TraceEntry fit). */
export interface TimelineTraceInput {
  readonly remoteUs?: number;
  readonly level?: string;
  readonly seq?: number;
  readonly text: string;
  /** Host time the host read the record (used for a record without `remoteUs`). */
  readonly readAtMs?: number;
}

/** What a timeline follows: the platform bundles (createWorkerRemote, createQemuRemoteproc) have this shape. */
export interface TimelineSource {
  readonly rproc: Remoteproc;
  /** The rpmsg host of the running firmware, if any. */
  readonly rpmsg: RpmsgHost | undefined;
  /** Calls the listener with each new rpmsg host (boot, attach, recovery). */
  onRpmsg(listener: (host: RpmsgHost) => void): () => void;
}

/** Options of {@link createTimeline}. */
export interface TimelineOptions {
  /** Host clock in ms since the epoch (default performance.timeOrigin + performance.now()). */
  readonly now?: () => number;
  /** Timers of the clock exchange (default the global setTimeout/clearTimeout). */
  readonly scheduler?: Scheduler;
  /** ClockSync options for every boot (interval, burst, window), or false to map no remote time. */
  readonly clock?: Omit<ClockSyncOptions, "device" | "scheduler" | "now"> | false;
  /** How long each boot's remote has to announce "amp-clock" (ms, default 10000). */
  readonly bindTimeoutMs?: number;
  /** Entries kept, oldest dropped first (default 10000). */
  readonly maxEntries?: number;
  /** Called with every entry as it is added (remote records: mapped with the estimate of that moment). */
  readonly onEntry?: (entry: TimelineEntry) => void;
}

interface Stored {
  readonly hostMs: number;
  readonly source: "host" | "remote";
  readonly kind: TimelineKind;
  readonly text: string;
  readonly boot: number;
  readonly remoteUs?: number;
  readonly level?: string;
  readonly seq?: number;
  readonly errorMs?: number;
}

interface Boot {
  readonly n: number;
  readonly host: RpmsgHost;
  readonly sync: ClockSync | undefined;
  readonly waiters: ((e: ClockEstimate) => void)[];
  lastResets: number;
  announced: boolean;
}

function globalScheduler(): Scheduler {
  return {
    setTimeout: (cb, ms) => setTimeout(cb, ms),
    clearTimeout: (h) => {
      clearTimeout(h as ReturnType<typeof setTimeout>);
    },
  };
}

/**
 * Follows `source` and returns its timeline; remote trace records go in with
 * {@link Timeline.addTrace}. Each new rpmsg host (each boot) starts a ClockSync against the
 * remote's "amp-clock" service.
 * @example
 * const remote = createWorkerRemote({ ... });
 * const timeline = createTimeline(remote);
 * await remote.rproc.boot();
 * await timeline.whenSynced({ timeoutMs: 5000 });
 * timeline.addTrace(parseTraceBuffer(remote.rproc.traces[0].read()));
 * for (const e of timeline.entries()) console.log(formatTimelineEntry(e));
 */
export function createTimeline(source: TimelineSource, options: TimelineOptions = {}): Timeline {
  return new Timeline(source, options);
}

/** Host events and remote records of one remote processor, in host time. */
export class Timeline {
  private readonly now: () => number;
  private readonly scheduler: Scheduler;
  private readonly clockOptions: TimelineOptions["clock"];
  private readonly bindTimeoutMs: number;
  private readonly maxEntries: number;
  private readonly onEntry: ((e: TimelineEntry) => void) | undefined;
  private readonly stored: Stored[] = [];
  private readonly boots: Boot[] = [];
  private readonly offs: (() => void)[] = [];
  /** whenSynced() callers waiting for a boot that has not started yet. */
  private readonly pendingBootWaiters: { boot: number; done: (e: ClockEstimate) => void }[] = [];
  private closed = false;

  constructor(source: TimelineSource, options: TimelineOptions = {}) {
    this.now = options.now ?? (() => performance.timeOrigin + performance.now());
    this.scheduler = options.scheduler ?? globalScheduler();
    this.clockOptions = options.clock;
    this.bindTimeoutMs = options.bindTimeoutMs ?? 10_000;
    this.maxEntries = options.maxEntries ?? 10_000;
    this.onEntry = options.onEntry;
    const rproc = source.rproc;
    this.offs.push(
      rproc.on("state", ({ from, to }) => {
        this.hostEvent("state", `state ${from} -> ${to}`);
        if (from === "crashed" && (to === "running" || to === "attached"))
          this.hostEvent("recovery", `recovered (${to})`);
      }),
      rproc.on("crash", (c) => {
        this.hostEvent("crash", `crash #${c.count}: ${c.type}${c.detail === undefined ? "" : `: ${c.detail}`}`);
      }),
      source.onRpmsg((host) => {
        this.newBoot(host);
      }),
    );
    const current = source.rpmsg;
    if (current !== undefined) this.newBoot(current);
  }

  /** The current boot number (0 before the first rpmsg host). */
  get boot(): number {
    return this.boots.length;
  }

  /** The clock exchange of boot `boot` (default: the current one). */
  clock(boot: number = this.boot): ClockSync | undefined {
    return this.boots[boot - 1]?.sync;
  }

  /** The current estimate of boot `boot` (default: the current one). */
  estimate(boot: number = this.boot): ClockEstimate | undefined {
    return this.clock(boot)?.estimate;
  }

  /**
   * Remote µs of the current boot → host ms with its error bound (what trace-record parsers take
   * as `toHostTime`); `{ hostMs: NaN, errorMs: Infinity }` until the first estimate.
   */
  readonly toHostTime = (remoteUs: number): HostTime => this.mapRemote(remoteUs, this.boot);

  /**
   * Resolves with the first estimate of boot `boot` (default: the current one, or the next when
   * none runs yet).
   * @throws Error after `timeoutMs` (default 10000).
   */
  whenSynced(options: { boot?: number; timeoutMs?: number } = {}): Promise<ClockEstimate> {
    const boot = options.boot ?? Math.max(1, this.boot);
    const timeoutMs = options.timeoutMs ?? 10_000;
    const have = this.estimate(boot);
    if (have !== undefined) return Promise.resolve(have);
    return new Promise((resolve, reject) => {
      const timer = this.scheduler.setTimeout(() => {
        reject(
          new Error(
            `timeline: no clock estimate for boot ${boot} within ${timeoutMs} ms (does the firmware serve "amp-clock"?)`,
          ),
        );
      }, timeoutMs);
      const done = (e: ClockEstimate): void => {
        this.scheduler.clearTimeout(timer);
        resolve(e);
      };
      const b = this.boots[boot - 1];
      // A boot that has not started yet is picked up when its rpmsg host arrives.
      if (b === undefined) this.pendingBootWaiters.push({ boot, done });
      else b.waiters.push(done);
    });
  }

  /** Adds a host note (e.g. "sent crash command") stamped now. */
  note(text: string): void {
    this.hostEvent("note", text);
  }

  /**
   * Adds remote trace records of boot `boot` (default: the current one). A record with
   * `remoteUs` is mapped through that boot's clock whenever entries are read, so it gets
   * better as the estimate does; one without sits at its `readAtMs` with an unknown error.
   */
  addTrace(records: Iterable<TimelineTraceInput>, boot: number = this.boot): void {
    for (const r of records) {
      const base = {
        source: "remote" as const,
        kind: "trace" as const,
        text: r.text,
        boot,
        ...(r.level === undefined ? {} : { level: r.level }),
        ...(r.seq === undefined ? {} : { seq: r.seq }),
      };
      if (r.remoteUs !== undefined) this.push({ ...base, hostMs: NaN, remoteUs: r.remoteUs });
      else this.push({ ...base, hostMs: r.readAtMs ?? this.now(), errorMs: Infinity });
    }
  }

  /** Every entry, ordered by host time (remote records mapped with their boot's current estimate; unmapped ones last, in arrival order). */
  entries(): TimelineEntry[] {
    const out = this.stored.map((s) => this.resolve(s));
    const order = new Map(out.map((e, i) => [e, i]));
    return out.sort((a, b) => {
      const an = Number.isNaN(a.hostMs),
        bn = Number.isNaN(b.hostMs);
      if (an || bn) return an && bn ? (order.get(a) ?? 0) - (order.get(b) ?? 0) : an ? 1 : -1;
      return a.hostMs - b.hostMs || (order.get(a) ?? 0) - (order.get(b) ?? 0);
    });
  }

  /** Stops every clock exchange and the event listeners. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const off of this.offs.splice(0)) off();
    for (const b of this.boots) b.sync?.close();
  }

  private mapRemote(remoteUs: number, boot: number): HostTime {
    const sync = this.boots[boot - 1]?.sync;
    return sync === undefined ? { hostMs: NaN, errorMs: Infinity } : sync.toHostTime(remoteUs);
  }

  private resolve(s: Stored): TimelineEntry {
    if (s.remoteUs === undefined) return { ...s, errorMs: s.errorMs ?? 0 };
    const t = this.mapRemote(s.remoteUs, s.boot);
    return { ...s, hostMs: t.hostMs, errorMs: t.errorMs };
  }

  private hostEvent(kind: TimelineKind, text: string): void {
    this.push({ hostMs: this.now(), source: "host", kind, text, boot: this.boot, errorMs: 0 });
  }

  private push(s: Stored): void {
    if (this.closed) return;
    this.stored.push(s);
    if (this.stored.length > this.maxEntries) this.stored.splice(0, this.stored.length - this.maxEntries);
    this.onEntry?.(this.resolve(s));
  }

  private newBoot(host: RpmsgHost): void {
    if (this.closed || this.boots.some((b) => b.host === host)) return;
    const n = this.boots.length + 1;
    const clock = this.clockOptions;
    const sync =
      clock === false
        ? undefined
        : new ClockSync({
            ...clock,
            device: host,
            scheduler: this.scheduler,
            now: this.now,
            onEstimate: (e) => {
              this.onEstimate(boot, e);
              clock?.onEstimate?.(e);
            },
          });
    const boot: Boot = { n, host, sync, waiters: [], lastResets: 0, announced: false };
    this.boots.push(boot);
    // The previous boot's exchange is over: its estimate stays for the records it wrote.
    this.boots[n - 2]?.sync?.stop();
    this.hostEvent("note", `boot ${n}: new rpmsg link${sync === undefined ? "" : ", clock exchange starts"}`);
    if (host.isLinkUp) this.hostEvent("link", "rpmsg link up");
    host.onLinkChange((up, reason) => {
      this.push({
        hostMs: this.now(),
        source: "host",
        kind: "link",
        text: up ? "rpmsg link up" : `rpmsg link down${reason === undefined ? "" : `: ${reason.code}`}`,
        boot: n,
        errorMs: 0,
      });
    });
    for (const w of this.pendingBootWaiters.splice(0)) {
      if (w.boot === n) boot.waiters.push(w.done);
      else this.pendingBootWaiters.push(w);
    }
    sync?.start({ timeoutMs: this.bindTimeoutMs }).catch((e: unknown) => {
      const why = e instanceof Error ? e.message : String(e);
      this.push({
        hostMs: this.now(),
        source: "host",
        kind: "clock",
        text: `boot ${n}: no clock exchange (${why}); remote times stay unmapped`,
        boot: n,
        errorMs: 0,
      });
    });
  }

  private onEstimate(boot: Boot, e: ClockEstimate): void {
    const resets = boot.sync?.stats.resets ?? 0;
    if (!boot.announced || resets !== boot.lastResets) {
      boot.announced = true;
      boot.lastResets = resets;
      this.push({
        hostMs: this.now(),
        source: "host",
        kind: "clock",
        text: `boot ${boot.n}: clock ${resets === 0 ? "estimated" : "re-estimated after a jump"}: ${describeEstimate(e)}`,
        boot: boot.n,
        errorMs: 0,
      });
    }
    for (const w of boot.waiters.splice(0)) w(e);
  }
}

/** "offset +12345.678 ms, drift +200.1 ppm, ±0.050 ms (8 samples, rtt 0.091 ms)". */
export function describeEstimate(e: ClockEstimate): string {
  const sign = (x: number): string => (x >= 0 ? "+" : "");
  return `offset ${sign(e.offsetMs)}${e.offsetMs.toFixed(3)} ms, drift ${sign(e.driftPpm)}${e.driftPpm.toFixed(1)} ppm, ±${e.errorMs.toFixed(3)} ms (${e.samples} samples, rtt ${e.rttMs.toFixed(3)} ms)`;
}

/** One line per entry: ISO time with µs, the error, who, what. */
export function formatTimelineEntry(e: TimelineEntry): string {
  const when = Number.isFinite(e.hostMs) ? isoMicros(e.hostMs) : "(unmapped)".padEnd(27);
  const err = Number.isFinite(e.errorMs) ? `±${e.errorMs.toFixed(3)}ms` : "±?";
  const who = e.source === "host" ? "host    " : `remote#${e.boot}`;
  const lvl = e.level === undefined ? "" : `${e.level} `;
  return `${when} ${err.padStart(11)} ${who} ${e.kind.padEnd(8)} ${lvl}${e.text}`;
}

function isoMicros(ms: number): string {
  const whole = Math.floor(ms);
  const us = Math.floor((ms - whole) * 1000);
  return new Date(whole).toISOString().replace("Z", `${String(us).padStart(3, "0")}Z`);
}
