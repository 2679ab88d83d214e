// The clock exchange against a real worker-thread remote (real threads, real clocks). The
// worker reads the same wall clock as the host (performance.timeOrigin + performance.now()), so
// a clock derived from it with a known offset and drift has a known truth: the estimate's
// bound must contain it. Then the timeline: host events and the firmware's trace records in one
// order, re-estimated after a crash and recovery (the rebooted firmware's clock starts again).
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { fileURLToPath } from "node:url";
import { createMemoryFirmwareSource, parseTraceBuffer } from "@amp/remoteproc-core";
import {
  buildJsFirmware,
  createTimeline,
  createWorkerRemote,
  formatTimelineEntry,
  type Timeline,
  type WorkerRemote,
} from "@amp/node";
import { bundleToString } from "@amp/test-utils";
import { cpuWorkerEntry, SMALL_RPMSG_TABLE, until } from "../helpers.ts";

const OFFSET_US = 12_345_000;
const DRIFT_PPM = 200;

let entry: string;
let program: string;
const remotes: WorkerRemote[] = [];
const timelines: Timeline[] = [];

beforeAll(async () => {
  entry = await cpuWorkerEntry();
  program = await bundleToString(fileURLToPath(new URL("../fixtures/clock-firmware.ts", import.meta.url)), {
    format: "esm",
    platform: "neutral",
  });
});

afterEach(async () => {
  for (const t of timelines.splice(0)) t.close();
  for (const r of remotes.splice(0)) await r.close();
});

function make(skew: { offsetUs: number; driftPpm: number } | undefined): WorkerRemote {
  const prefix = skew === undefined ? "" : `globalThis.__AMP_CLOCK_SKEW__ = ${JSON.stringify(skew)};\n`;
  const image = buildJsFirmware({ program: prefix + program, resourceTable: SMALL_RPMSG_TABLE });
  const remote = createWorkerRemote({
    firmware: "clock.elf",
    firmwareSource: createMemoryFirmwareSource({ "clock.elf": image }),
    processor: { workerEntry: entry, sramSize: 0x100000, ddrSize: 0x100000 },
    recovery: "enabled",
  });
  remotes.push(remote);
  return remote;
}

const te = (s: string): Uint8Array => new TextEncoder().encode(s);

describe("clock exchange with a worker-thread remote", () => {
  it("a remote clock offset by +12.345 s and drifting +200 ppm: the true offset lies inside the reported bound", async () => {
    const remote = make({ offsetUs: OFFSET_US, driftPpm: DRIFT_PPM });
    const timeline = createTimeline(remote, { clock: { burst: 16, burstIntervalMs: 2, intervalMs: 20 } });
    timelines.push(timeline);
    await remote.rproc.boot();
    await timeline.whenSynced({ timeoutMs: 15_000 });
    const sync = timeline.clock()!;
    await until(() => (sync.estimate?.collected ?? 0) >= 64, 30_000, "64 clock samples");
    sync.stop();
    const e = sync.estimate!;
    const origin = Number(/clock: origin (\d+)/.exec(remote.rproc.traces[0]!.readText())?.[1]);
    expect(Number.isSafeInteger(origin)).toBe(true);
    const rate = 1 + DRIFT_PPM * 1e-6;
    const trueOffsetMs = (h: number): number => (OFFSET_US + (h * 1000 - origin) * rate) / 1000 - h;
    const offsetError = e.offsetMs - trueOffsetMs(e.atMs);
    expect(Math.abs(offsetError)).toBeLessThanOrEqual(e.errorMs);
    expect(Math.abs(e.driftPpm - DRIFT_PPM)).toBeLessThanOrEqual(e.driftErrorPpm);
    expect(sync.stats.received).toBe(e.collected + sync.stats.rejected);
    // toHostTime on a remote stamp of "now": it lands within its bound of the host time it was.
    const h = performance.timeOrigin + performance.now();
    const mapped = timeline.toHostTime(Math.floor(OFFSET_US + (h * 1000 - origin) * rate));
    expect(Math.abs(mapped.hostMs - h)).toBeLessThanOrEqual(mapped.errorMs);
  });

  it("puts host events and trace records on one timeline, and re-estimates after a crash and recovery", async () => {
    const remote = make(undefined);
    const timeline = createTimeline(remote, { clock: { burst: 8, burstIntervalMs: 2, intervalMs: 50 } });
    timelines.push(timeline);
    await remote.rproc.boot();
    const first = await timeline.whenSynced({ timeoutMs: 15_000 });
    const host = remote.rpmsg!;
    const svc = await host.waitForService("clock-test-ctl", { timeoutMs: 10_000 });
    const ep = host.createEndpoint({ dst: svc.addr });
    const replies = ep.messages();
    timeline.note("before ping");
    await ep.send(te("ping"), { timeoutMs: 10_000 });
    await replies.next();
    timeline.note("after ping");
    timeline.addTrace(parseTraceBuffer(remote.rproc.traces[0]!.readRaw()!), 1);

    await ep.send(te("crash!"), { timeoutMs: 10_000 });
    await until(() => timeline.boot === 2 && remote.rproc.state === "running", 20_000, "recovery");
    const second = await timeline.whenSynced({ boot: 2, timeoutMs: 15_000 });
    const host2 = remote.rpmsg!;
    const svc2 = await host2.waitForService("clock-test-ctl", { timeoutMs: 10_000 });
    const ep2 = host2.createEndpoint({ dst: svc2.addr });
    const replies2 = ep2.messages();
    timeline.note("before ping 2");
    await ep2.send(te("ping 2"), { timeoutMs: 10_000 });
    await replies2.next();
    timeline.note("after ping 2");
    timeline.addTrace(parseTraceBuffer(remote.rproc.traces[0]!.readRaw()!), 2);

    const all = timeline.entries();
    const find = (pred: (t: (typeof all)[number]) => boolean, what: string): (typeof all)[number] => {
      const hit = all.find(pred);
      if (hit === undefined) throw new Error(`no ${what} in:\n${all.map(formatTimelineEntry).join("\n")}`);
      return hit;
    };
    // The firmware's record of each ping lies between the host's notes around it, within its bound.
    for (const [n, text] of [
      [1, "ping"],
      [2, "ping 2"],
    ] as const) {
      const before = find((x) => x.text === (n === 1 ? "before ping" : "before ping 2"), "note");
      const after = find((x) => x.text === (n === 1 ? "after ping" : "after ping 2"), "note");
      const rec = find(
        (x) => x.source === "remote" && x.boot === n && x.text === `ctl: got ${text}`,
        `trace of ${text}`,
      );
      expect(Number.isFinite(rec.errorMs)).toBe(true);
      expect(rec.hostMs + rec.errorMs).toBeGreaterThanOrEqual(before.hostMs);
      expect(rec.hostMs - rec.errorMs).toBeLessThanOrEqual(after.hostMs);
    }
    // The host side of the crash, in order, and each boot with its own estimate.
    const kinds = all
      .filter((x) => x.source === "host" && x.kind !== "note" && x.kind !== "clock")
      .map((x) => `${x.kind}: ${x.text}`);
    // (The core reports the state change before the crash event; a link comes up while the core starts the subdevices, before "running".)
    expect(kinds).toEqual([
      "link: rpmsg link up",
      "state: state offline -> running",
      "state: state running -> crashed",
      "crash: crash #1: fatal error",
      "link: rpmsg link down: ERR_LINK_DOWN",
      "link: rpmsg link up",
      "state: state crashed -> running",
      "recovery: recovered (running)",
    ]);
    // The rebooted firmware's clock started again at 0, later: its offset (remote − host) is smaller.
    expect(second.offsetMs).toBeLessThan(first.offsetMs);
    expect(timeline.estimate(1)).toBeDefined();
    expect(timeline.clock(1)).not.toBe(timeline.clock(2));
    // Sorted by host time.
    const times = all.map((x) => x.hostMs).filter((t) => Number.isFinite(t));
    expect(times).toEqual([...times].sort((a, b) => a - b));
  });
});
