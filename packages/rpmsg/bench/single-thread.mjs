// Per-message CPU cost of each role in one thread (no cross-core effects): the host's sends, the
// remote's process() and the host's process(), best of many timed units, so a loaded machine
// disturbs it less than the two-thread bench. For finding where time goes (`node --cpu-prof`).
//   MODE=oneway|echo  ZC=0|1 (zero-copy sends)  CORK=0|1 (host.cork() around each burst)  SIZE=16
//   N=1000000  node bench/single-thread.mjs
import { createStaticHost, createStaticRemote, staticLinkLayout } from "@amp/rpmsg";
import { AddressSpace, AtomicsDoorbell, SharedMemory } from "@amp/virtio-ring";
import console from "node:console";
import { performance } from "node:perf_hooks";
import process from "node:process";
import { setTimeout } from "node:timers";
const N = Number(process.env.N ?? 1000000);
const size = Number(process.env.SIZE ?? 16);
const zc = process.env.ZC === "1";
const cork = process.env.CORK === "1";
const layout = staticLinkLayout({ base: 0, numBuffers: 256, align: 16, bufferSize: 512 });
const sab = new SharedArrayBuffer(layout.size);
const ctrl = new SharedArrayBuffer(256);
const space = new AddressSpace().map(0, new SharedMemory(sab));
const kick = new AtomicsDoorbell(ctrl, 0, { queues: 2, wakeOnlySleepers: true });
const irq = new AtomicsDoorbell(ctrl, 64, { queues: 2, wakeOnlySleepers: true });
const host = createStaticHost({ layout, space, doorbell: kick, maxBatch: 256 });
const remote = createStaticRemote({ layout, space, doorbell: irq, maxBatch: 256 });
const st = new Int32Array(4);
const mode = process.env.MODE ?? "oneway";
remote.createEndpoint({
  name: "sink",
  onMessage: (m, ep) => {
    st[0]++;
    if (mode === "echo") {
      if (zc) {
        const b = ep.tryGetTxBuffer();
        b.payload.set(m.data);
        b.send(m.data.length, m.src);
      } else ep.trySendTo(m.src, m.data);
    }
  },
});
host.start();
const noop = () => {};
for (let i = 0; i < 10 && host.remoteServices.length === 0; i++) {
  remote.process();
  host.process();
  kick.poll(noop);
  irq.poll(noop);
}
const ep = host.createEndpoint({
  name: "sink",
  onMessage: () => {
    st[1]++;
  },
});
const data = new Uint8Array(size).fill(1);
const now = () => performance.now();
const best = new Float64Array(3).fill(Infinity);
const B = mode === "echo" ? 1 : 200;
const U = mode === "echo" ? 200 : 1; // rounds per timed unit
function send(i) {
  if (zc) {
    const b = ep.tryGetTxBuffer();
    b.payload[0] = i;
    b.send(size);
  } else if (!ep.trySend(data)) throw new Error("no tx buffer free (the remote did not return them)");
}
function unit(timed) {
  const t = [0, 0, 0];
  for (let u = 0; u < U; u++) {
    const t0 = now();
    if (cork) host.cork();
    for (let i = 0; i < B; i++) send(i);
    if (cork) host.uncork();
    const t1 = now();
    kick.poll(noop);
    remote.process();
    const t2 = now();
    irq.poll(noop);
    host.process();
    const t3 = now();
    t[0] += t1 - t0;
    t[1] += t2 - t1;
    t[2] += t3 - t2;
  }
  if (timed) for (let k = 0; k < 3; k++) best[k] = Math.min(best[k], (t[k] / (B * U)) * 1e6);
}
for (let i = 0; i < 2000; i++) unit(false);
const units = N / (B * U);
let gcs = 0;
const { PerformanceObserver } = await import("node:perf_hooks");
const obs = new PerformanceObserver((l) => {
  gcs += l.getEntries().length;
});
obs.observe({ entryTypes: ["gc"] });
const c0 = process.cpuUsage();
const w0 = now();
for (let i = 0; i < units; i++) unit(true);
const wall = now() - w0;
const c = process.cpuUsage(c0);
await new Promise((r) => setTimeout(r, 10));
obs.disconnect();
console.log(
  `${mode} ${zc ? "zc" : "copy"}${cork ? " corked" : ""} ${size}B: best send ${best[0].toFixed(0)} remote ${best[1].toFixed(0)} host ${best[2].toFixed(0)} ns/msg; total cpu ${(((c.user + c.system) * 1000) / N).toFixed(0)} ns/msg, wall ${((wall * 1e6) / N).toFixed(0)}; gc ${gcs} per ${N} msgs (incl. timing harness)`,
);
