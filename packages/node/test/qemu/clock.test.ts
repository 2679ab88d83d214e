// The clock exchange on a real CPU: the C firmware's "amp-clock" responder (firmware/qemu/clock.c,
// on the CMSDK timer the trace records use) under QEMU mps2-an386, interrupt doorbells. The
// firmware's clock has no known relation to the host's, so the checks are the ones causality
// gives: the clock read 0 at firmware start, which lies inside boot(); a trace record the
// firmware wrote while answering a command maps between the host's notes before and after it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireTools } from "@amp/test-utils";
import { parseTraceBuffer } from "@amp/remoteproc-core";
import {
  createQemuRemoteproc,
  createTimeline,
  formatTimelineEntry,
  type QemuRemoteproc,
  type Timeline,
} from "@amp/node";
import { buildFirmware, waitFor } from "./helpers.ts";

const missing = requireTools("qemu-system-arm", "arm-none-eabi-gcc");
const hostNow = (): number => performance.timeOrigin + performance.now();

describe.skipIf(missing)("QEMU remote: clock exchange and one timeline", () => {
  let q: QemuRemoteproc;
  let timeline: Timeline;
  let bootStart = 0;
  let bootEnd = 0;

  beforeAll(async () => {
    q = createQemuRemoteproc({ firmware: buildFirmware().bytes, doorbell: "irq" });
    timeline = createTimeline(q, { clock: { burst: 16, burstIntervalMs: 2, intervalMs: 20 } });
    bootStart = hostNow();
    await q.rproc.boot();
    bootEnd = hostNow();
  });
  afterAll(async () => {
    timeline.close();
    await q.close();
  });

  it("estimates the firmware clock: it read 0 at a host time inside boot(), within the bound", async () => {
    await timeline.whenSynced({ timeoutMs: 15_000 });
    const sync = timeline.clock()!;
    await waitFor("48 clock samples", () => (sync.estimate?.collected ?? 0) >= 48, 30_000, 20);
    const e = sync.estimate!;
    expect(sync.stats).toMatchObject({ rejected: 0, resets: 0 });
    expect(Number.isFinite(e.errorMs)).toBe(true);
    const zero = timeline.toHostTime(0);
    expect(zero.hostMs + zero.errorMs).toBeGreaterThanOrEqual(bootStart);
    expect(zero.hostMs - zero.errorMs).toBeLessThanOrEqual(bootEnd);
  });

  it("maps a trace record written while answering a command between the host's notes around it", async () => {
    const host = q.rpmsg!;
    const ctrl = await host.waitForService("amp-ctrl", { timeoutMs: 5000 });
    const ep = host.createEndpoint({ dst: ctrl.addr });
    const replies = ep.messages();
    timeline.note("before trace command");
    await ep.send(new TextEncoder().encode("trace clock-test marker"), { timeoutMs: 5000 });
    const r = await replies.next();
    timeline.note("after trace command");
    expect(new TextDecoder().decode((r.value as { data: Uint8Array }).data)).toBe("ok");
    ep.destroy();
    timeline.addTrace(parseTraceBuffer(q.rproc.traces[0]!.readRaw()!));
    const all = timeline.entries();
    const at = (text: string) => {
      const hit = all.find((x) => x.text === text);
      if (hit === undefined) throw new Error(`no "${text}" in:\n${all.map(formatTimelineEntry).join("\n")}`);
      return hit;
    };
    const rec = at("clock-test marker");
    expect(rec.source).toBe("remote");
    expect(rec.hostMs + rec.errorMs).toBeGreaterThanOrEqual(at("before trace command").hostMs);
    expect(rec.hostMs - rec.errorMs).toBeLessThanOrEqual(at("after trace command").hostMs);
    // The firmware's own boot records come before its announcement of amp-clock, in host time too.
    const announced = at("ns: announced amp-clock at 1026");
    expect(announced.hostMs).toBeGreaterThanOrEqual(bootStart - announced.errorMs);
    expect(announced.hostMs).toBeLessThanOrEqual(rec.hostMs);
  });

  it("after a crash and recovery (a new QEMU, a clock from 0 again) boot 2 gets its own estimate", async () => {
    const host = q.rpmsg!;
    const ctrl = await host.waitForService("amp-ctrl", { timeoutMs: 5000 });
    const ep = host.createEndpoint({ dst: ctrl.addr });
    const crashSent = hostNow();
    await ep.send(new TextEncoder().encode("crash"), { timeoutMs: 5000 });
    await waitFor("recovery", () => timeline.boot === 2 && q.rproc.state === "running", 30_000, 20);
    const second = await timeline.whenSynced({ boot: 2, timeoutMs: 15_000 });
    const first = timeline.estimate(1)!;
    expect(second.offsetMs).toBeLessThan(first.offsetMs);
    // The new firmware's clock read 0 after the crash command left, and before now.
    const zero = timeline.toHostTime(0);
    expect(zero.hostMs + zero.errorMs).toBeGreaterThanOrEqual(crashSent);
    expect(zero.hostMs - zero.errorMs).toBeLessThanOrEqual(hostNow());
    const kinds = timeline
      .entries()
      .filter((e) => e.source === "host" && (e.kind === "crash" || e.kind === "recovery"))
      .map((e) => e.kind);
    expect(kinds).toEqual(["crash", "recovery"]);
  });
});
