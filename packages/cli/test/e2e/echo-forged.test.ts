// The bundled echo firmware (firmware/echo.ts, built from source here) on the worker-thread
// processor, fed one forged rpmsg header by the host (issue 15, item 2): src = RPMSG_ADDR_ANY.
// The echo's reply `trySendTo(m.src, ...)` fails; the firmware runtime's default policy for
// callback errors counts it, writes it to the trace and carries on: the processor keeps running
// and echoes the next message. Before the fix the reply threw a TypeError, nothing caught it and
// the processor died ("fatal error").
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { fileURLToPath } from "node:url";
import { buildJsFirmware, createWorkerRemote, type WorkerRemote } from "@amp/node";
import { createMemoryFirmwareSource, type RprocVdev } from "@amp/remoteproc-core";
import { RPMSG_ADDR_ANY, RpmsgHost, type RpmsgEndpoint } from "@amp/rpmsg";
import { bundleForWorker, bundleToString } from "@amp/test-utils";
import { AddressSpace, type Memory } from "@amp/virtio-ring";
import { VIO_FRAME_QUEUE_INFO, VioFrameKind, encodeVioFrame } from "@amp/virtual-io";
import { DEFAULT_RPMSG_TABLE } from "../../src/commands/firmware-build.ts";

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
/** The forged buffer of the issue: header (src ANY, dst 0x400, reserved 0, len 4, flags 0) | payload. */
const FORGED = "ffffffff" + "00040000" + "00000000" + "0400" + "0000" + "00000000";
/** A src the host writes and the forging memory turns into RPMSG_ADDR_ANY on its way out. */
const MARK = 0xdead_beef;
const scheduler = {
  setTimeout: (cb: () => void, ms: number): unknown => setTimeout(cb, ms),
  clearTimeout: (h: unknown): void => {
    clearTimeout(h as ReturnType<typeof setTimeout>);
  },
};

let cpuWorker: string;
let echoElf: Uint8Array;
const remotes: WorkerRemote[] = [];

beforeAll(async () => {
  cpuWorker = await bundleForWorker(here("../../../node/src/internal/cpu-worker.ts"));
  const program = await bundleToString(here("../../firmware/echo.ts"), { format: "esm", platform: "neutral" });
  echoElf = buildJsFirmware({ program, resourceTable: DEFAULT_RPMSG_TABLE });
});

afterEach(async () => {
  for (const r of remotes.splice(0)) await r.close();
});

/** `mem` as the host writes it, except that a u32 store of MARK stores RPMSG_ADDR_ANY (the forgery). */
function forging(mem: Memory, forged: { offset: number; memory: Memory }[]): Memory {
  return new Proxy(mem, {
    get(target, key) {
      if (key === "setU32") {
        return (offset: number, value: number): void => {
          if (value === MARK) {
            target.setU32(offset, RPMSG_ADDR_ANY);
            forged.push({ offset, memory: target });
          } else target.setU32(offset, value);
        };
      }
      const v: unknown = Reflect.get(target, key, target);
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

interface Rig {
  remote: WorkerRemote;
  host: () => RpmsgHost;
  forged: { offset: number; memory: Memory }[];
  crashes: string[];
  trace: () => string;
}

/** The echo firmware with an rpmsg host of our own whose buffer writes can be forged. */
async function boot(image: Uint8Array): Promise<Rig> {
  const remote = createWorkerRemote({
    firmware: "echo.elf",
    firmwareSource: createMemoryFirmwareSource({ "echo.elf": image }),
    processor: { workerEntry: cpuWorker, sramSize: 0x100000, ddrSize: 0x100000 },
    recovery: "disabled",
    rpmsg: false,
  });
  remotes.push(remote);
  const forged: Rig["forged"] = [];
  let current: RpmsgHost | undefined;
  void remote.rproc.registerVirtioDriver({
    deviceIds: [7],
    probe(vdev: RprocVdev) {
      const n = Math.min(256, vdev.vrings[0]?.num ?? 256);
      const pool = vdev.allocate(2 * n * 512, 4096);
      const space = new AddressSpace();
      for (const r of vdev.addressSpace.ranges)
        space.map(r.da, forging(r.memory, forged), {
          offset: r.offset,
          length: r.length,
          ...(r.name === undefined ? {} : { name: r.name }),
        });
      const host = new RpmsgHost({
        scheduler,
        numBuffers: n,
        bufferSize: 512,
        transport: vdev.transport,
        space,
        poolAddr: pool.da,
      });
      const off = vdev.onInterrupt(() => {
        host.process();
      });
      host.start();
      current = host;
      host.process();
      return {
        remove(crashed) {
          off();
          host.stop("removed", { reset: !crashed });
        },
      };
    },
  });
  const crashes: string[] = [];
  remote.onCrash((c) => crashes.push(`${c.type}: ${c.detail}`));
  await remote.rproc.boot();
  return {
    remote,
    host: () => {
      if (current === undefined) throw new Error("no rpmsg host");
      return current;
    },
    forged,
    crashes,
    trace: () => remote.rproc.traces[0]?.readText() ?? "",
  };
}

async function until(what: string, predicate: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function echo(ep: RpmsgEndpoint, got: string[], text: string): Promise<void> {
  const before = got.length;
  await ep.send(new TextEncoder().encode(text), { timeoutMs: 10_000 });
  await until(`the echo of "${text}"`, () => got.length > before);
  expect(got.slice(before)).toEqual([toHex(new TextEncoder().encode(text))]);
}

describe("the echo firmware against a forged src = RPMSG_ADDR_ANY", () => {
  it("counts and traces the failed reply, keeps running and echoes the next message", async () => {
    const rig = await boot(echoElf);
    const host = rig.host();
    const svc = await host.waitForService("rpmsg-amp-echo", { timeoutMs: 10_000 });
    expect(svc.addr).toBe(0x400);
    const got: string[] = [];
    const ep = host.createEndpoint({
      dst: svc.addr,
      onMessage: (m) => {
        got.push(toHex(m.data));
      },
    });
    await echo(ep, got, "before");

    await ep.sendOffchannel(MARK, svc.addr, new Uint8Array(4), { timeoutMs: 10_000 });
    expect(rig.forged).toHaveLength(1);
    const f = rig.forged[0]!;
    expect(toHex(f.memory.read(f.offset, 20))).toBe(FORGED); // exactly the bytes went out

    await until(
      "the trace line of the callback error, or a crash",
      () => rig.trace().includes("rpmsg: callback error #1") || rig.crashes.length > 0,
    );
    expect(rig.crashes).toEqual([]);
    const line = rig
      .trace()
      .split("\n")
      .find((l) => l.includes("rpmsg: callback error #1"));
    expect(line).toMatch(/AmpError ERR_BAD_ADDRESS: .*0xffffffff.*; message dropped, firmware continues$/);
    expect(rig.crashes).toEqual([]);
    expect(rig.remote.rproc.state).toBe("running");
    expect(got).toHaveLength(1); // nothing came back for the forged message

    // The same forgery on the firmware's virtual-I/O channel: its answer goes to `sendTo(src)`,
    // whose refusal is now a rejected promise (the server catches it), not a synchronous throw.
    const i2c = await host.waitForService("amp-i2c", { timeoutMs: 10_000 });
    const info = encodeVioFrame({
      kind: VioFrameKind.REQUEST,
      queue: VIO_FRAME_QUEUE_INFO,
      tag: 1,
      length: 64,
      body: new Uint8Array(0),
    });
    await ep.sendOffchannel(MARK, i2c.addr, info, { timeoutMs: 10_000 });
    expect(rig.forged).toHaveLength(2);

    await echo(ep, got, "after"); // one rx ring, in order: the forged frames were handled before this
    expect(rig.trace()).not.toContain("rpmsg: callback error #2");
    expect(rig.crashes).toEqual([]);
    expect(rig.remote.rproc.state).toBe("running");
  });

  it('the "crash!" command still crashes the processor (from the main loop, not the callback)', async () => {
    const rig = await boot(echoElf);
    const host = rig.host();
    const svc = await host.waitForService("rpmsg-amp-echo", { timeoutMs: 10_000 });
    const ep = host.createEndpoint({ dst: svc.addr });
    await ep.send(new TextEncoder().encode("crash!"), { timeoutMs: 10_000 });
    await until("the crash", () => rig.crashes.length > 0);
    expect(rig.crashes[0]).toMatch(/^fatal error: .*injected fault/);
  });

  it('onCallbackError: "crash" makes a callback exception a traced fatal-error crash', async () => {
    const program = await bundleToString(here("../firmware/strict-echo.ts"), { format: "esm", platform: "neutral" });
    const image = buildJsFirmware({ program, resourceTable: DEFAULT_RPMSG_TABLE });
    const rig = await boot(image);
    const host = rig.host();
    const svc = await host.waitForService("strict-echo", { timeoutMs: 10_000 });
    const ep = host.createEndpoint({ dst: svc.addr });
    await ep.sendOffchannel(MARK, svc.addr, new Uint8Array(4), { timeoutMs: 10_000 });
    await until("the crash", () => rig.crashes.length > 0);
    expect(rig.crashes[0]).toMatch(/^fatal error: .*ERR_BAD_ADDRESS|^fatal error: .*0xffffffff/);
    expect(rig.trace()).toMatch(
      /rpmsg: callback error #1: AmpError ERR_BAD_ADDRESS: .*; crashing \(onCallbackError: "crash"\)/,
    );
  });
});
