// The remote side in a worker thread: an RpmsgRemote over the SharedArrayBuffer, driven by an
// Atomics doorbell. Services it offers (re-created whenever the link comes back):
//   "echo"      replies with the same bytes (trySend, else a blocking send)
//   "zc-echo"   replies through a zero-copy tx buffer
//   "hold-echo" holds the rx buffer past the callback, replies later, then releases it
//   "sink"      counts what it gets, answers a 1-byte message with the count
//   "burst"     on a 6-byte request {u16 count, u32 size}, sends `count` messages of `size`
//               bytes (byte i = (seq + i) & 255, seq in bytes 0..3) with blocking sends
import { parentPort, workerData } from "node:worker_threads";
import { AddressSpace, SharedMemory } from "@amp/virtio-ring";
import { createStaticRemote, RpmsgRemote, staticLinkLayout, type RpmsgDevice } from "@amp/rpmsg";
import { SharedTransport } from "./shared-transport.ts";
import { bells, RINGS_AT, TRANSPORT_AT, type WorkerConfig } from "./worker-layout.ts";

const { sab, config } = workerData as { sab: SharedArrayBuffer; config: WorkerConfig };
const mem = new SharedMemory(sab);
const space = new AddressSpace().map(0, mem);
const { kick, irq } = bells(sab);
const scheduler = {
  setTimeout: (f: () => void, ms: number): unknown => setTimeout(f, ms),
  clearTimeout: (h: unknown) => {
    clearTimeout(h as NodeJS.Timeout);
  },
};

const remote: RpmsgDevice =
  config.mode === "static"
    ? createStaticRemote({
        layout: staticLinkLayout({
          base: RINGS_AT,
          numBuffers: config.num,
          align: config.align,
          bufferSize: config.bufferSize,
        }),
        space,
        doorbell: irq,
        scheduler,
      })
    : new RpmsgRemote({
        transport: new SharedTransport(mem, TRANSPORT_AT, config.num),
        space,
        doorbell: irq,
        scheduler,
        eventIdx: config.eventIdx ?? false,
        ...(config.bigBuffers === undefined ? {} : { offerBigBuffers: true, maxBufferSize: config.bigBuffers }),
      });

function services(): void {
  if (remote.endpointList.length > 0) return;
  remote.createEndpoint({
    name: "echo",
    onMessage: (m, ep) => {
      if (!ep.trySendTo(m.src, m.data)) void ep.sendTo(m.src, m.data.slice()).catch(() => undefined);
    },
  });
  remote.createEndpoint({
    name: "zc-echo",
    onMessage: (m, ep) => {
      const b = ep.tryGetTxBuffer();
      if (b !== undefined) {
        b.payload.set(m.data);
        b.send(m.data.length, m.src);
        return;
      }
      const copy = m.data.slice();
      void ep
        .getTxBuffer()
        .then((t) => {
          t.payload.set(copy);
          t.send(copy.length, m.src);
        })
        .catch(() => undefined);
    },
  });
  remote.createEndpoint({
    name: "hold-echo",
    onMessage: (m, ep) => {
      const h = m.hold();
      void Promise.resolve()
        .then(() => ep.sendTo(h.src, h.data))
        .finally(() => {
          h.release();
        })
        .catch(() => undefined);
    },
  });
  let sunk = 0;
  remote.createEndpoint({
    name: "sink", // counts silently; a 1-byte message asks for the count (u32) back
    onMessage: (m, ep) => {
      if (m.data.length !== 1) {
        sunk++;
        return;
      }
      const b = new Uint8Array(4);
      new DataView(b.buffer).setUint32(0, sunk, true);
      void ep.sendTo(m.src, b).catch(() => undefined);
    },
  });
  remote.createEndpoint({
    name: "burst",
    onMessage: (m, ep) => {
      const v = new DataView(m.data.buffer, m.data.byteOffset, m.data.byteLength);
      const count = v.getUint16(0, true);
      const size = v.getUint32(2, true);
      const src = m.src;
      void (async () => {
        for (let s = 0; s < count; s++) {
          const b = new Uint8Array(size);
          for (let i = 0; i < size; i++) b[i] = (s + i) & 255;
          if (size >= 4) new DataView(b.buffer).setUint32(0, s, true);
          await ep.sendTo(src, b);
        }
      })().catch(() => undefined);
    },
  });
}

remote.onLinkChange((up) => {
  parentPort?.postMessage({ link: up });
  if (up) services();
});
services();
parentPort?.postMessage({ ready: true }); // the device features are in the transport now
const ac = new AbortController();
parentPort?.on("message", (msg: string) => {
  if (msg === "stop") ac.abort();
});
remote.serve(kick, { signal: ac.signal, pollMs: 2 }).then(
  () => {
    parentPort?.postMessage({ done: true, stats: remote.stats });
    process.exit(0);
  },
  (e: unknown) => {
    parentPort?.postMessage({ error: String(e) });
    process.exit(1);
  },
);
