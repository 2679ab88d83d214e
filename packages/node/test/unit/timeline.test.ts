// The timeline without threads: a host and a remote in one thread over the README's in-memory
// transport, a virtual clock, a stand-in for the Remoteproc's events. Two boots: the remote's
// clock restarts at the second, and each boot's records must be mapped with that boot's estimate.
import { describe, expect, it } from "vitest";
import type { Remoteproc } from "@amp/remoteproc-core";
import { RpmsgHost, RpmsgRemote, serveClock, type Scheduler } from "@amp/rpmsg";
import { AddressSpace, ArrayBufferMemory, InMemoryTransport } from "@amp/virtio-ring";
import { createTimeline, formatTimelineEntry, type TimelineSource } from "@amp/node";

const HOST_START = 1_764_000_000_000;

class ManualScheduler implements Scheduler {
  setTimeout(): unknown {
    return 0; // never fires: the test runs each exchange itself
  }
  clearTimeout(): void {}
}

/** The Remoteproc events the timeline listens to, fired by hand. */
function fakeRproc() {
  const listeners = new Map<string, ((v: unknown) => void)[]>();
  const rproc = {
    on(event: string, l: (v: unknown) => void) {
      listeners.set(event, [...(listeners.get(event) ?? []), l]);
      return () => undefined;
    },
  };
  const emit = (event: string, v: unknown): void => {
    for (const l of listeners.get(event) ?? []) l(v);
  };
  return { rproc: rproc as unknown as Remoteproc, emit };
}

/** One boot: a fresh link whose remote clock starts at 0 µs at host time `bootMs`, 100 ppm fast. */
function link(world: { ms: number }, bootMs: number) {
  const mem = new ArrayBufferMemory(new ArrayBuffer(0x10000));
  const space = new AddressSpace().map(0, mem);
  const transport = new InMemoryTransport({ deviceId: 7, deviceFeatures: 1n, legacy: true, queues: [16, 16] });
  const remote = new RpmsgRemote({ transport, space });
  const remoteUs = (h: number): number => Math.floor((h - bootMs) * 1000 * (1 + 100e-6));
  serveClock(remote, { now: () => remoteUs(world.ms) });
  const host = new RpmsgHost({ transport, space, rings: { addr: 0 }, poolAddr: 0x8000, numBuffers: 16 });
  return { remote, host, remoteUs };
}

describe("timeline", () => {
  it("orders host events and both boots' records in host time, each with its own boot's clock", async () => {
    const world = { ms: HOST_START };
    const { rproc, emit } = fakeRproc();
    let onHost: ((h: RpmsgHost) => void) | undefined;
    let current: RpmsgHost | undefined;
    const source: TimelineSource = {
      rproc,
      get rpmsg() {
        return current;
      },
      onRpmsg(l) {
        onHost = l;
        return () => undefined;
      },
    };
    const timeline = createTimeline(source, {
      now: () => world.ms,
      scheduler: new ManualScheduler(),
      clock: { burst: 0 },
    });
    const boot = async (bootMs: number) => {
      const l = link(world, bootMs);
      current = l.host;
      onHost?.(l.host);
      l.host.start();
      l.remote.process();
      l.host.process();
      await timeline.clock()!.bind();
      for (let i = 0; i < 10; i++) {
        const done = timeline.clock()!.exchange();
        await Promise.resolve();
        world.ms += 0.3;
        l.remote.process();
        world.ms += 0.1;
        l.host.process();
        await done;
        world.ms += 100;
      }
      return l;
    };

    const b1 = await boot(world.ms - 5);
    emit("state", { from: "offline", to: "running" });
    const rec1At = world.ms - 500;
    timeline.addTrace([{ seq: 0, remoteUs: b1.remoteUs(rec1At), level: "I", text: "boot 1 record" }]);
    world.ms += 1000;
    emit("state", { from: "running", to: "crashed" });
    emit("crash", { type: "watchdog", count: 1 });
    b1.host.stop("crash");
    world.ms += 50;
    const b2 = await boot(world.ms - 3);
    emit("state", { from: "crashed", to: "running" });
    const rec2At = world.ms - 200;
    timeline.addTrace([
      { seq: 0, remoteUs: b2.remoteUs(rec2At), level: "W", text: "boot 2 record" },
      { text: "a plain line", readAtMs: world.ms },
    ]);

    const all = timeline.entries();
    const shown = all.map(formatTimelineEntry).join("\n");
    const at = (text: string) => all.find((e) => e.text === text)!;
    // Each record lands within its bound of the host time it was written at.
    for (const [text, truth] of [
      ["boot 1 record", rec1At],
      ["boot 2 record", rec2At],
    ] as const) {
      const e = at(text);
      expect(e.source).toBe("remote");
      expect(Math.abs(e.hostMs - truth), shown).toBeLessThanOrEqual(e.errorMs);
      expect(e.errorMs).toBeLessThan(1);
    }
    expect(at("boot 1 record").boot).toBe(1);
    expect(at("boot 2 record").boot).toBe(2);
    expect(at("a plain line").errorMs).toBe(Infinity);
    // Host events, in order, with the records between them.
    const order = all.filter((e) => e.kind !== "clock" && e.kind !== "note").map((e) => e.text);
    expect(order).toEqual([
      "rpmsg link up",
      "boot 1 record",
      "state offline -> running",
      "state running -> crashed",
      "crash #1: watchdog",
      "rpmsg link down: ERR_LINK_DOWN",
      "rpmsg link up",
      "boot 2 record",
      "state crashed -> running",
      "recovered (running)",
      "a plain line",
    ]);
    // Two estimates: the second boot's clock started later, so its offset is smaller.
    expect(timeline.estimate(2)!.offsetMs).toBeLessThan(timeline.estimate(1)!.offsetMs);
    expect(timeline.toHostTime(b2.remoteUs(rec2At)).hostMs).toBeCloseTo(at("boot 2 record").hostMs, 9);
    expect(all.some((e) => e.kind === "clock" && e.text.startsWith("boot 2: clock estimated"))).toBe(true);
    timeline.close();
  });
});
