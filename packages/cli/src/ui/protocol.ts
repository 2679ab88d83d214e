// What the live view's server sends the page: one snapshot when the page connects, then small
// messages as things happen (Server-Sent Events, one JSON object per event). Shared by the
// server (src/ui/*.ts) and the page (src/ui/page/*.ts, type imports only), so both sides agree
// on the field names. Times `t` are seconds since the server started; addresses are "0x..."
// strings as everywhere in the CLI's JSON.

/** A state change of the remote (remoteproc-core's state names). */
export interface UiTransition {
  readonly t: number;
  readonly from: string;
  readonly to: string;
}

/** One region of the remote's memory map. */
export interface UiRegion {
  readonly name: string;
  /** What it is: a platform memory region, a carveout, a vring, the rpmsg buffer pool, a trace buffer, the resource table. */
  readonly kind: "region" | "carveout" | "vring" | "buffer" | "trace" | "table";
  readonly da: string;
  readonly size: number;
}

/** The resource table of the running firmware, as `amp rsc decode --json` prints it. */
export interface UiTable {
  /** Where the host installed it, when known. */
  readonly da: string | null;
  readonly json: unknown;
}

/** An rpmsg channel the remote announced (or withdrew). */
export interface UiChannel {
  readonly t: number;
  readonly name: string;
  readonly addr: string;
  readonly state: "announced" | "withdrawn";
}

/** A host endpoint talking to a channel. */
export interface UiEndpoint {
  readonly t: number;
  readonly local: string;
  readonly remote: string;
  readonly service: string;
}

/** One line of the remote's trace log (`t`: when the host read it). */
export interface UiTraceLine {
  readonly t: number;
  /** The text (a structured record's text without its seq/time/level prefix). */
  readonly line: string;
  /** A structured record's number since boot, remote clock (µs) and level (E, W, I, D). */
  readonly seq?: number;
  readonly remoteUs?: number;
  readonly level?: string;
}

/** One event of the session, as its text line shows it. */
export interface UiEvent {
  readonly t: number;
  readonly tag: string;
  readonly event: string;
  readonly text: string;
}

/** A crash, and when the remote was running again (null while it is not). */
export interface UiCrash {
  readonly t: number;
  readonly type: string;
  readonly detail: string;
  recoveredAt: number | null;
}

/** A coredump the session wrote, downloadable at `url`. */
export interface UiCoredump {
  readonly t: number;
  readonly name: string;
  readonly url: string;
  readonly size: number;
}

/** A vring's indexes as the host reads them from shared memory. */
export interface UiVring {
  readonly name: string;
  /** Which way its buffers carry messages. */
  readonly direction: "remote-to-host" | "host-to-remote";
  readonly num: number;
  readonly availIdx: number;
  readonly usedIdx: number;
  /** avail.idx - used.idx (mod 2^16): buffers the driver made available that the device has not used yet. */
  readonly outstanding: number;
}

/** Round trips measured during one sample interval, in microseconds. */
export interface UiRtt {
  readonly n: number;
  readonly median: number;
  readonly p90: number;
  readonly max: number;
}

/** What the server measured over one interval. */
export interface UiSample {
  readonly t: number;
  readonly state: string;
  /** Messages per second received and sent by the host over the interval. */
  readonly rxRate: number;
  readonly txRate: number;
  /** Totals of the current rpmsg host (a recovery starts a new host from zero). */
  readonly rxTotal: number;
  readonly txTotal: number;
  readonly rtt: UiRtt | null;
  readonly vrings: readonly UiVring[];
}

/** A measured echo run reported by `amp demo`. */
export interface UiEchoRun {
  readonly t: number;
  readonly phase: string;
  readonly messages: number;
  readonly rttUs: { readonly median: number; readonly p90: number; readonly p99: number; readonly max: number };
}

/** Everything the page shows, at the moment it connects. */
export interface UiSnapshot {
  /** What drives the remote: "amp ui" or "amp demo". */
  readonly mode: string;
  readonly name: string;
  readonly firmware: string;
  /** Wall-clock time (ms since the epoch) of t = 0. */
  readonly startedAt: number;
  /** True when the server can inject a crash (POST /api/crash). */
  readonly canCrash: boolean;
  state: string;
  crashCount: number;
  transitions: UiTransition[];
  table: UiTable | null;
  memory: UiRegion[];
  channels: UiChannel[];
  endpoints: UiEndpoint[];
  trace: UiTraceLine[];
  timeline: UiEvent[];
  crashes: UiCrash[];
  coredumps: UiCoredump[];
  samples: UiSample[];
  echo: UiEchoRun[];
}

/** One message on `/events`. */
export type UiMessage =
  | { readonly kind: "snapshot"; readonly snapshot: UiSnapshot }
  | { readonly kind: "state"; readonly transition: UiTransition; readonly crashCount: number }
  | { readonly kind: "layout"; readonly table: UiTable | null; readonly memory: UiRegion[] }
  | { readonly kind: "channel"; readonly channel: UiChannel }
  | { readonly kind: "endpoint"; readonly endpoint: UiEndpoint }
  | { readonly kind: "trace"; readonly line: UiTraceLine }
  | { readonly kind: "event"; readonly event: UiEvent }
  | { readonly kind: "crash"; readonly crash: UiCrash }
  | { readonly kind: "recovered"; readonly t: number }
  | { readonly kind: "coredump"; readonly coredump: UiCoredump }
  | { readonly kind: "sample"; readonly sample: UiSample }
  | { readonly kind: "echo"; readonly run: UiEchoRun }
  | { readonly kind: "bye"; readonly t: number };
