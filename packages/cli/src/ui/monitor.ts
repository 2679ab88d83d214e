// Samples a running remote for the live view: message rates from the rpmsg host's counters,
// round trips measured by whoever drives the echo load, and each vring's avail/used indexes
// read straight from the shared memory they live in (nothing in the ring code has to expose
// them: the host owns that memory, and reading two u16 words changes nothing). It also
// describes the resource table and the memory map whenever the remote (re)starts.
import type { MemoryRegion, Remoteproc } from "@amp/remoteproc-core";
import { parseResourceTable } from "@amp/resource-table";
import type { RpmsgHost } from "@amp/rpmsg";
import { splitRingLayout } from "@amp/virtio-ring";
import { hex } from "../internal/format.js";
import { tableToJson } from "../internal/rsc-json.js";
import type { UiHub } from "./hub.js";
import type { UiRegion, UiRtt, UiTable, UiVring } from "./protocol.js";

/** Round trips (ms) reported by the echo loop, taken by the monitor once per sample. */
export class RttWindow {
  private values: number[] = [];
  /** One measured round trip, in milliseconds. */
  add(ms: number): void {
    if (this.values.length < 100_000) this.values.push(ms);
  }
  /** The interval's statistics in µs (null when nothing was measured); starts a new interval. */
  take(): UiRtt | null {
    const v = this.values.sort((a, b) => a - b);
    this.values = [];
    if (v.length === 0) return null;
    const at = (p: number): number =>
      Math.round(1000 * (v[Math.min(v.length - 1, Math.max(0, Math.ceil(p * v.length) - 1))] ?? 0));
    return { n: v.length, median: at(0.5), p90: at(0.9), max: at(1) };
  }
}

/** What {@link monitorRemote} reads. */
export interface MonitorOptions {
  readonly rproc: Remoteproc;
  /** The rpmsg host of the running firmware, if any. */
  readonly host: () => RpmsgHost | undefined;
  /** The platform's memory regions (drawn under the carveouts). */
  readonly regions?: readonly MemoryRegion[];
  readonly rtt?: RttWindow;
  /** Sample interval (default 500 ms). */
  readonly intervalMs?: number;
}

/** vring 0 carries the remote's messages to the host (rpmsg's host rx), vring 1 the host's. */
function readVrings(rproc: Remoteproc): UiVring[] {
  const out: UiVring[] = [];
  for (const vdev of rproc.vdevs) {
    for (const v of vdev.vrings) {
      try {
        const l = splitRingLayout(v.num, v.align);
        const m = v.window.memory;
        const availIdx = m.getU16(v.window.offset + l.avail + 2); // struct vring_avail: flags, idx
        const usedIdx = m.getU16(v.window.offset + l.used + 2); // struct vring_used: flags, idx
        out.push({
          name: `vdev${vdev.index}vring${v.index}`,
          direction: v.index === 0 ? "remote-to-host" : "host-to-remote",
          num: v.num,
          availIdx,
          usedIdx,
          outstanding: (availIdx - usedIdx) & 0xffff,
        });
      } catch {
        // The ring went away between the listing and the read (a stop in progress).
      }
    }
  }
  return out;
}

/** The memory map and the resource table of what runs now. */
function describeLayout(
  rproc: Remoteproc,
  regions: readonly MemoryRegion[],
): { table: UiTable | null; memory: UiRegion[] } {
  const memory: UiRegion[] = regions.map((r) => ({ name: r.name, kind: "region", da: hex(r.da), size: r.size }));
  for (const c of rproc.carveouts) memory.push({ name: c.name, kind: "carveout", da: hex(c.da), size: c.size });
  for (const vdev of rproc.vdevs) {
    for (const v of vdev.vrings)
      memory.push({ name: `vdev${vdev.index}vring${v.index}`, kind: "vring", da: hex(v.da), size: v.window.size });
    if (vdev.buffer !== undefined)
      memory.push({ name: `vdev${vdev.index}buffer`, kind: "buffer", da: hex(vdev.buffer.da), size: vdev.buffer.size });
  }
  for (const t of rproc.traces)
    memory.push({ name: t.name === "" ? `trace${t.index}` : t.name, kind: "trace", da: hex(t.da), size: t.length });
  const loc = rproc.resourceTableLocation;
  if (loc !== undefined) memory.push({ name: "resource table", kind: "table", da: hex(loc.da), size: loc.size });
  let table: UiTable | null = null;
  const bytes = rproc.resourceTable;
  if (bytes !== undefined) {
    try {
      table = { da: loc === undefined ? null : hex(loc.da), json: tableToJson(parseResourceTable(bytes)) };
    } catch {
      table = null; // a table the core accepted parses; this only guards a mid-stop read
    }
  }
  return { table, memory };
}

/** Starts sampling; returns the function that stops it. */
export function monitorRemote(hub: UiHub, options: MonitorOptions): () => void {
  const { rproc } = options;
  const regions = options.regions ?? [];
  let last = { host: undefined as RpmsgHost | undefined, rx: 0, tx: 0, at: performance.now() };
  const layout = (): void => {
    hub.publish({ kind: "layout", ...describeLayout(rproc, regions) });
  };
  const offState = rproc.on("state", ({ to }) => {
    if (to === "running" || to === "attached") layout();
  });
  if (rproc.state === "running") layout();
  const sample = (): void => {
    const now = performance.now();
    const host = options.host();
    const st = host?.stats;
    const rx = st?.rxMessages ?? 0;
    const tx = st?.txMessages ?? 0;
    // A recovery brings a new host whose counters start at 0: rates restart from it.
    const same = host !== undefined && host === last.host;
    const dt = (now - last.at) / 1000;
    const rate = (n: number, before: number): number =>
      same && dt > 0 ? Math.max(0, Math.round((n - before) / dt)) : 0;
    hub.publish({
      kind: "sample",
      sample: {
        t: hub.now(),
        state: rproc.state,
        rxRate: rate(rx, last.rx),
        txRate: rate(tx, last.tx),
        rxTotal: rx,
        txTotal: tx,
        rtt: options.rtt?.take() ?? null,
        vrings: readVrings(rproc),
      },
    });
    last = { host, rx, tx, at: now };
  };
  const timer = setInterval(sample, options.intervalMs ?? 500);
  timer.unref();
  return () => {
    clearInterval(timer);
    offState();
  };
}
