// Host in this thread, remote in a worker thread, over one SharedArrayBuffer with Atomics
// doorbells both ways: every feature end to end, with real concurrency.
import { afterEach, describe, expect, it } from "vitest";
import { Worker } from "node:worker_threads";
import { fileURLToPath } from "node:url";
import { AddressSpace, SharedMemory } from "@amp/virtio-ring";
import {
  createStaticHost,
  RpmsgHost,
  staticLinkLayout,
  type NsEvent,
  type ReceivedMessage,
  type RpmsgEndpoint,
} from "@amp/rpmsg";
import { bundleForWorker } from "@amp/test-utils";
import { SharedTransport } from "../helpers/shared-transport.ts";
import { bells, poolAt, RINGS_AT, sabBytes, TRANSPORT_AT, type WorkerConfig } from "../helpers/worker-layout.ts";

const scheduler = {
  setTimeout: (f: () => void, ms: number): unknown => setTimeout(f, ms),
  clearTimeout: (h: unknown) => {
    clearTimeout(h as NodeJS.Timeout);
  },
};
let workerFile: Promise<string> | undefined;
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function launch(
  config: WorkerConfig,
  hostOpts: { bufferSize?: number; negotiateBufferSize?: boolean } = {},
): Promise<{
  host: RpmsgHost;
  worker: Worker;
  stop: () => Promise<unknown>;
  remoteLink: (up: boolean) => Promise<void>;
}> {
  workerFile ??= bundleForWorker(fileURLToPath(new URL("../helpers/remote-worker.ts", import.meta.url)));
  const sab = new SharedArrayBuffer(sabBytes(config));
  const mem = new SharedMemory(sab);
  const space = new AddressSpace().map(0, mem);
  const { kick, irq } = bells(sab);
  const host =
    config.mode === "static"
      ? createStaticHost({
          layout: staticLinkLayout({
            base: RINGS_AT,
            numBuffers: config.num,
            align: config.align,
            bufferSize: config.bufferSize,
          }),
          space,
          doorbell: kick,
          scheduler,
        })
      : new RpmsgHost({
          transport: new SharedTransport(mem, TRANSPORT_AT, config.num, kick),
          space,
          poolAddr: poolAt(config),
          rings: { addr: RINGS_AT, align: config.align },
          numBuffers: config.num,
          scheduler,
          ...hostOpts,
        });
  const worker = new Worker(await workerFile, { workerData: { sab, config } });
  const remoteLink = (up: boolean): Promise<void> =>
    new Promise((resolve) => {
      const on = (m: { link?: boolean }): void => {
        if (m.link === up) {
          worker.off("message", on);
          resolve();
        }
      };
      worker.on("message", on);
    });
  await new Promise((resolve) => {
    worker.once("message", resolve);
  });
  host.start(); // like remoteproc: the vdev's features are known before the host brings it up
  const ac = new AbortController();
  const serving = host.serve(irq, { signal: ac.signal });
  let stopped: Promise<unknown> | undefined;
  const stop = (): Promise<unknown> => {
    stopped ??= (async () => {
      const result = new Promise((resolve) => {
        worker.on("message", (m: { done?: boolean; error?: string }) => {
          if (m.done === true || m.error !== undefined) resolve(m);
        });
        worker.once("exit", resolve);
      });
      worker.postMessage("stop");
      const r = await result;
      ac.abort();
      await serving;
      await worker.terminate();
      return r;
    })();
    return stopped;
  };
  cleanups.push(async () => {
    await stop();
  });
  return { host, worker, stop, remoteLink };
}

function pattern(seq: number, size: number): Uint8Array {
  const b = new Uint8Array(size);
  for (let i = 0; i < size; i++) b[i] = (seq * 7 + i) & 255;
  return b;
}

async function take(it: AsyncIterator<ReceivedMessage>, n: number): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const r = await it.next();
    if (r.done === true) throw new Error("iterator ended");
    out.push(r.value.data);
  }
  return out;
}

async function bind(host: RpmsgHost, name: string): Promise<RpmsgEndpoint> {
  await host.waitForService(name, { timeoutMs: 20_000 });
  const ep = host.createEndpoint({ name });
  expect(ep.dst).not.toBe(0xffffffff);
  return ep;
}

describe("host (main thread) and remote (worker) over SharedArrayBuffer", () => {
  it("echo, zero-copy echo and held-buffer echo, in order, under buffer exhaustion both ways", async () => {
    const { host, stop } = await launch({ mode: "virtio", num: 8, align: 4096, bufferSize: 512 });
    await host.waitLinkUp({ timeoutMs: 20_000 });
    expect(host.geometry).toMatchObject({ bufferSize: 512, numRxBuffers: 8, numTxBuffers: 8 });
    for (const name of ["echo", "zc-echo", "hold-echo"]) {
      const ep = await bind(host, name);
      const it = ep.messages();
      const sizes = Array.from({ length: 60 }, (_, i) => (i * 37) % 497);
      const sends = sizes.map((n, i) => ep.send(pattern(i, n), { timeoutMs: 20_000 }));
      const got = await take(it, sizes.length);
      await Promise.all(sends);
      expect(got.map((b) => b.length)).toEqual(sizes);
      got.forEach((b, i) => {
        expect(b).toEqual(pattern(i, sizes[i]!));
      });
      ep.destroy(); // one local endpoint per announced service
    }
    // zero-copy from the host side too
    const ep = await bind(host, "echo");
    const it = ep.messages();
    const tb = await ep.getTxBuffer({ timeoutMs: 20_000 });
    tb.payload.set([1, 2, 3, 4]);
    tb.send(4);
    expect([...(await take(it, 1))[0]!]).toEqual([1, 2, 3, 4]);
    const r = (await stop()) as { stats: { protocolErrors: number } };
    expect(r.stats.protocolErrors).toBe(0);
    expect(host.stats.protocolErrors).toBe(0);
  });

  it.each([false, true])(
    "a burst larger than the ring arrives complete and in order (blocking sends on the remote, event index %s)",
    async (eventIdx) => {
      const { host } = await launch({ mode: "virtio", num: 4, align: 4096, bufferSize: 512, eventIdx });
      const ep = await bind(host, "burst");
      const it = ep.messages();
      const req = new Uint8Array(6);
      new DataView(req.buffer).setUint16(0, 200, true);
      new DataView(req.buffer).setUint32(2, 100, true);
      await ep.send(req);
      const got = await take(it, 200);
      got.forEach((b, s) => {
        expect(new DataView(b.buffer, b.byteOffset).getUint32(0, true)).toBe(s);
      });
      expect(host.stats.dropped).toMatchObject({ noRecipient: 0, badLength: 0 });
      expect((host.geometry!.features & (1n << 29n)) !== 0n).toBe(eventIdx);
    },
  );

  it.each([false, true])(
    "10000 blocking one-way sends through a 2-buffer ring: no lost wake-up (event index %s)",
    async (eventIdx) => {
      // Host senders block for tx buffers with completions suppressed until they wait (Linux's
      // scheme); a completion that lands while they are being re-enabled must not be lost. The
      // sink never answers, so nothing else would wake the host.
      const { host } = await launch({ mode: "virtio", num: 2, align: 4096, bufferSize: 512, eventIdx });
      const ep = await bind(host, "sink");
      const it = ep.messages();
      const n = 10_000;
      for (let i = 0; i < n; i++) await ep.send(pattern(i, 8), { timeoutMs: 10_000 });
      await ep.send(Uint8Array.of(0), { timeoutMs: 30_000 });
      const [count] = await take(it, 1);
      expect(new DataView(count!.buffer, count!.byteOffset).getUint32(0, true)).toBe(n);
    },
  );

  it("late binding: announcements that arrived before anyone asked are delivered on bind", async () => {
    const { host } = await launch({ mode: "virtio", num: 8, align: 4096, bufferSize: 512 });
    await host.waitForService("burst", { timeoutMs: 20_000 });
    const seen: NsEvent[] = [];
    host.onNameService((e) => seen.push(e));
    expect(seen.map((e) => e.name).sort()).toEqual(["burst", "echo", "hold-echo", "sink", "zc-echo"]);
  });

  it("link down and up again: device reset closes endpoints with a reason, the remote re-announces", async () => {
    const { host, remoteLink } = await launch({ mode: "virtio", num: 8, align: 4096, bufferSize: 512 });
    const ep = await bind(host, "echo");
    const it = ep.messages();
    await ep.send(pattern(1, 10));
    await take(it, 1);
    const pending = it.next();
    const remoteDown = remoteLink(false);
    host.stop("test: restart the remote");
    await expect(pending).rejects.toMatchObject({ code: "ERR_LINK_DOWN" });
    await expect(ep.send(pattern(2, 1))).rejects.toMatchObject({ code: "ERR_LINK_DOWN" });
    await remoteDown; // the remote must see the reset (status 0) before the host comes back
    host.start();
    const ep2 = await bind(host, "echo");
    const it2 = ep2.messages();
    await ep2.send(pattern(3, 33));
    expect((await take(it2, 1))[0]).toEqual(pattern(3, 33));
    expect(host.stats.linkUps).toBe(2);
  });

  it("big buffers: opt-in negotiation between two @amp peers carries 4000-byte messages", async () => {
    const { host } = await launch(
      { mode: "virtio", num: 4, align: 4096, bufferSize: 4096, bigBuffers: 4096 },
      { bufferSize: 4096, negotiateBufferSize: true },
    );
    await host.waitLinkUp({ timeoutMs: 20_000 });
    expect(host.geometry?.bufferSize).toBe(4096);
    const ep = await bind(host, "echo");
    expect(ep.mtu).toBe(4080);
    const it = ep.messages();
    await ep.send(pattern(9, 4000));
    expect((await take(it, 1))[0]).toEqual(pattern(9, 4000));
  });

  it("big buffers stay off against a remote that does not offer them (Linux/OpenAMP keep 512)", async () => {
    const { host } = await launch(
      { mode: "virtio", num: 4, align: 4096, bufferSize: 4096 },
      { bufferSize: 4096, negotiateBufferSize: true },
    );
    await host.waitLinkUp({ timeoutMs: 20_000 });
    expect(host.geometry?.bufferSize).toBe(512);
    const ep = await bind(host, "echo");
    await expect(ep.send(new Uint8Array(497))).rejects.toMatchObject({ code: "ERR_MSG_SIZE" });
  });

  it("rpmsg-only mode: fixed layout, no transport, same endpoint API", async () => {
    const { host } = await launch({ mode: "static", num: 8, align: 16, bufferSize: 512 });
    const ep = await bind(host, "echo");
    const it = ep.messages();
    for (let i = 0; i < 20; i++) await ep.send(pattern(i, i * 20));
    const got = await take(it, 20);
    got.forEach((b, i) => {
      expect(b).toEqual(pattern(i, i * 20));
    });
  });
});
