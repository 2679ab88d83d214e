// The clock exchange with virtual clocks: a remote whose clock is offset by +12.345 s and gains
// 200 ppm, delays that differ each way and jitter from a seeded generator, so every run is the
// same. The estimate must hold its own bound, not a tolerance picked after the fact.
import { describe, expect, it } from "vitest";
import {
  AMP_CLOCK_SERVICE,
  ClockEstimator,
  ClockSync,
  decodeClockRequest,
  decodeClockResponse,
  encodeClockRequest,
  encodeClockResponse,
  isAmpError,
  serveClock,
  type Scheduler,
} from "@amp/rpmsg";
import { fromHex, toHex } from "@amp/test-utils";
import { makePair } from "../helpers/pair.ts";

const OFFSET_US = 12_345_000; // +12.345 s
const DRIFT = 200e-6; // +200 ppm
const HOST_START = 1_764_000_000_000; // host ms since the epoch (late 2025)

/** A deterministic generator in [0, 1) (LCG, Numerical Recipes constants). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 0x1_0000_0000;
  };
}

/** The virtual world: host time in ms; the remote's clock a function of it. */
class World {
  hostMs = HOST_START;
  /** The remote clock's exact reading (µs, not yet truncated) at host time h. */
  remoteExactUs(h: number): number {
    return OFFSET_US + (h - HOST_START) * 1000 * (1 + DRIFT);
  }
  /** The truth the estimate is judged against: remote ms minus host ms at host time h. */
  trueOffsetMs(h: number): number {
    return this.remoteExactUs(h) / 1000 - h;
  }
  /** Host time at which the remote clock reads `us` (inverse of remoteExactUs). */
  hostAtRemote(us: number): number {
    return HOST_START + (us - OFFSET_US) / 1000 / (1 + DRIFT);
  }
}

/** Timers that fire only when the test says so. */
class ManualScheduler implements Scheduler {
  timers = new Map<number, () => void>();
  private next = 1;
  setTimeout(cb: () => void): unknown {
    const id = this.next++;
    this.timers.set(id, cb);
    return id;
  }
  clearTimeout(h: unknown): void {
    this.timers.delete(h as number);
  }
  fireAll(): void {
    const t = [...this.timers.values()];
    this.timers.clear();
    for (const cb of t) cb();
  }
}

/**
 * A host and a remote in one thread with a virtual clock: the request takes 0.2..0.5 ms to reach
 * the remote, the reply 0.05..0.15 ms to come back (asymmetric on purpose), the remote spends
 * 10 µs between its two stamps; one exchange in eight waits another 3 ms (a busy host).
 */
function rig(seed = 1) {
  const world = new World();
  const rnd = lcg(seed);
  const p = makePair();
  const responder = serveClock(p.remote, {
    now: () => {
      world.hostMs += 0.01;
      return Math.floor(world.remoteExactUs(world.hostMs));
    },
  });
  const scheduler = new ManualScheduler();
  const sync = new ClockSync({ device: p.host, scheduler, now: () => world.hostMs, burst: 0 });
  p.host.start();
  p.settle();
  const hostProcess = p.host.process.bind(p.host);
  const remoteProcess = p.remote.process.bind(p.remote);
  /** One exchange through the rings, with the flight times added between the process() calls. */
  async function exchangeOnce(): Promise<void> {
    const done = sync.exchange();
    await Promise.resolve();
    world.hostMs += 0.2 + 0.3 * rnd();
    remoteProcess();
    world.hostMs += 0.05 + 0.1 * rnd() + (rnd() < 0.125 ? 3 : 0);
    hostProcess();
    await done;
  }
  return { world, p, sync, scheduler, responder, exchangeOnce, rnd };
}

describe("clock exchange wire format", () => {
  it("encodes a request and a response byte for byte (little-endian, 64-bit as two u32 halves)", () => {
    const req = new Uint8Array(16);
    expect(encodeClockRequest({ seq: 0x1234, t1: 0x0102_0304_0506 }, req)).toBe(16);
    expect(toHex(req)).toBe("0101341200000000060504030201" + "0000");
    expect(decodeClockRequest(req)).toEqual({ seq: 0x1234, t1: 0x0102_0304_0506 });
    const res = new Uint8Array(32);
    expect(encodeClockResponse({ seq: 7, t1: 1, t2: 2 ** 32 + 5, t3: 2 ** 53 - 1 }, res)).toBe(32);
    expect(toHex(res)).toBe("0201070000000000" + "0100000000000000" + "0500000001000000" + "ffffffffffff1f00");
    expect(decodeClockResponse(res)).toEqual({ seq: 7, t1: 1, t2: 2 ** 32 + 5, t3: 2 ** 53 - 1 });
  });

  it("refuses wrong lengths, types, versions and times past 2^53 with ERR_MALFORMED", () => {
    const codes = (f: () => unknown): string => {
      try {
        f();
        return "ok";
      } catch (e) {
        return isAmpError(e) ? `${e.code}@${String(e.offset)}` : String(e);
      }
    };
    expect(codes(() => decodeClockResponse(new Uint8Array(31)))).toBe("ERR_MALFORMED@0");
    expect(codes(() => decodeClockResponse(fromHex("0101" + "00".repeat(30))))).toBe("ERR_MALFORMED@0"); // a request's type
    expect(codes(() => decodeClockRequest(fromHex("0102" + "00".repeat(14))))).toBe("ERR_MALFORMED@1"); // version 2
    expect(codes(() => decodeClockResponse(fromHex("0201" + "00".repeat(22) + "0000000000002000")))).toBe(
      "ERR_MALFORMED@24",
    ); // t3 = 2^53
    expect(() => encodeClockRequest({ seq: 0x10000, t1: 0 }, new Uint8Array(16))).toThrow(RangeError);
    expect(() => encodeClockRequest({ seq: 0, t1: -1 }, new Uint8Array(16))).toThrow(RangeError);
  });
});

describe("clock estimate against a remote offset by +12.345 s, drifting +200 ppm", () => {
  it("recovers the offset within its own bound and the drift within 2 ppm over 60 exchanges a second apart", async () => {
    const { world, sync, exchangeOnce, responder } = rig();
    await sync.bind();
    for (let i = 0; i < 60; i++) {
      await exchangeOnce();
      const e = sync.estimate!;
      // After every sample, not only the last: the bound holds all along.
      expect(Math.abs(e.offsetMs - world.trueOffsetMs(e.atMs))).toBeLessThanOrEqual(e.errorMs);
      world.hostMs += 1000;
    }
    const e = sync.estimate!;
    expect(responder.answered).toBe(60);
    expect(sync.stats).toMatchObject({ sent: 60, received: 60, timeouts: 0, dropped: 0, rejected: 0, resets: 0 });
    expect(e.samples).toBe(8);
    expect(e.collected).toBe(60);
    expect(Math.abs(e.driftPpm - 200)).toBeLessThan(2);
    expect(e.driftPpm - 200).toBeLessThanOrEqual(e.driftErrorPpm);
    // The asymmetric path (0.2..0.5 ms out, 0.05..0.15 back) biases the midpoint; the bound covers it.
    expect(e.errorMs).toBeLessThan(0.35);
    expect(e.rttMs).toBeGreaterThan(0.25);
    // toHostTime: remote stamps from the window and a little past it, against the truth.
    for (const back of [59_000, 30_000, 1000, 0, -5000]) {
      const h = world.hostMs - back;
      const us = Math.floor(world.remoteExactUs(h));
      const t = sync.toHostTime(us);
      expect(Math.abs(t.hostMs - world.hostAtRemote(us))).toBeLessThanOrEqual(t.errorMs);
      expect(t.errorMs).toBeLessThan(back < 0 ? 1 : 0.4);
    }
  });

  it("holds the bound on every seed (20 different jitter sequences)", async () => {
    for (let seed = 2; seed < 22; seed++) {
      const { world, sync, exchangeOnce } = rig(seed);
      await sync.bind();
      for (let i = 0; i < 24; i++) {
        await exchangeOnce();
        world.hostMs += 250 + 500 * ((seed * 7 + i) % 3);
      }
      const e = sync.estimate!;
      expect(Math.abs(e.offsetMs - world.trueOffsetMs(e.atMs))).toBeLessThanOrEqual(e.errorMs);
      expect(Math.abs(e.driftPpm - 200)).toBeLessThanOrEqual(e.driftErrorPpm);
      expect(Math.abs(e.driftPpm - 200)).toBeLessThan(10);
    }
  });

  it("before any sample maps nothing; after one it extrapolates with the assumed worst drift", async () => {
    const { world, sync, exchangeOnce } = rig();
    expect(sync.toHostTime(1)).toEqual({ hostMs: NaN, errorMs: Infinity });
    await sync.bind();
    await exchangeOnce();
    const e = sync.estimate!;
    expect(e.samples).toBe(1);
    expect(e.driftPpm).toBe(0);
    // 10 s later the bound has grown by 10 s × 1000 ppm = 10 ms, and still holds the truth.
    const later = world.hostMs + 10_000;
    const t = sync.toHostTime(Math.floor(world.remoteExactUs(later)));
    expect(t.errorMs).toBeGreaterThan(10);
    expect(Math.abs(t.hostMs - later)).toBeLessThanOrEqual(t.errorMs);
  });

  it("starts over when the remote's clock restarts (a reboot): the old estimate is contradicted", () => {
    const est = new ClockEstimator();
    let h = HOST_START;
    let remote = 5_000_000;
    for (let i = 0; i < 10; i++, h += 1000, remote += 1_000_000)
      expect(est.add({ t1: h, t2: remote, t3: remote + 5, t4: h + 0.2 })).toBe("accepted");
    expect(est.add({ t1: h, t2: 120, t3: 125, t4: h + 0.2 })).toBe("reset");
    expect(est.resets).toBe(1);
    expect(est.estimate?.collected).toBe(1);
    expect(Math.abs(est.estimate!.offsetMs - (0.1225 - (h + 0.1)))).toBeLessThanOrEqual(est.estimate!.errorMs);
    // Impossible samples are refused, not fitted.
    expect(est.add({ t1: h, t2: 10, t3: 5, t4: h + 1 })).toBe("rejected");
    expect(est.add({ t1: h, t2: 10, t3: 5000, t4: h + 1 })).toBe("rejected"); // held 5 ms of a 1 ms round trip
    expect(est.rejected).toBe(2);
  });
});

describe("ClockSync and the responder over rpmsg", () => {
  it("binds to the announced service and times out an exchange whose reply never comes", async () => {
    const { p, sync, scheduler, world } = rig();
    expect(p.host.remoteServices).toContainEqual({ name: AMP_CLOCK_SERVICE, addr: 1024 });
    await sync.bind();
    const pending = sync.exchange();
    await Promise.resolve();
    await Promise.resolve();
    await expect(sync.exchange()).rejects.toMatchObject({ code: "ERR_LIMIT" });
    scheduler.fireAll(); // the remote never ran: the timeout fires
    await expect(pending).rejects.toMatchObject({ code: "ERR_TIMEOUT" });
    // The late reply arrives now and is dropped: its request is no longer pending.
    world.hostMs += 1;
    p.settle();
    expect(sync.stats).toMatchObject({ sent: 1, received: 0, timeouts: 1, dropped: 1 });
    expect(sync.estimate).toBeUndefined();
  });

  it("the responder drops requests of the wrong size, type or version and answers the rest", () => {
    const { p, responder } = rig();
    const got: Uint8Array[] = [];
    const ep = p.host.createEndpoint({ dst: 1024, onMessage: (m) => got.push(m.data.slice()) });
    ep.trySend(new Uint8Array(15));
    ep.trySend(fromHex("0201" + "00".repeat(14)));
    ep.trySend(fromHex("0102" + "00".repeat(14)));
    const ok = new Uint8Array(16);
    encodeClockRequest({ seq: 9, t1: 42 }, ok);
    ep.trySend(ok);
    p.settle();
    expect(responder.dropped).toBe(3);
    expect(responder.answered).toBe(1);
    expect(got.length).toBe(1);
    const r = decodeClockResponse(got[0]!);
    expect(r.seq).toBe(9);
    expect(r.t1).toBe(42);
    expect(r.t3 - r.t2).toBe(10); // one 10 µs step of the virtual remote clock between the stamps
  });

  it("a closed endpoint (link down) fails the pending exchange and stops the loop", async () => {
    const { p, sync } = rig();
    await sync.bind();
    const pending = sync.exchange();
    await Promise.resolve();
    await Promise.resolve();
    p.host.stop("test");
    await expect(pending).rejects.toSatisfy(
      (e: unknown) => isAmpError(e) && (e.code === "ERR_LINK_DOWN" || e.code === "ERR_CLOSED"),
    );
  });
});
