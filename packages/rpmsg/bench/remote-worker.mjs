// The remote side of the benchmark, in a worker. Scenarios (workerData.scenario):
//   echo / sink      rpmsg remote; "busy" spins on process(), "bell" sleeps on the kick doorbell,
//                    "spin" looks for a ring for SPIN_US first (the doorbell's `spin` option)
//   raw-pingpong     ceiling: bounce a word through the SharedArrayBuffer (spin or Atomics.wait)
//   raw-ring         ceiling: consume a single-producer ring of 512-byte slots (copying each)
import { parentPort, workerData } from "node:worker_threads";
import { createStaticRemote } from "@amp/rpmsg";
import { setTimeout, clearTimeout } from "node:timers";
import { attach, CPUS, layout, pinThisThread, RAW_RING_AT, spinLooks } from "./common.mjs";

const scheduler = { setTimeout, clearTimeout };

const { sab, ctrl, scenario, wait, zeroCopy } = workerData;
if (CPUS !== undefined) pinThisThread(CPUS[1]);
// "spin" is "bell" with doorbells that look for a ring for SPIN_US before they sleep.
const looks = wait === "spin" ? spinLooks() : 0;
const { space, kick, irq, words } = attach(sab, ctrl, looks);
const STOP = 0,
  COUNT = 1,
  BYTES = 2,
  PING = 3,
  PONG = 4,
  HEAD = 5,
  TAIL = 6,
  PHASE = 7;

/** GC entries by kind: minor (scavenge) and the rest (mark-compact, incremental, weak callbacks). */
function gcKinds(entries) {
  let minor = 0,
    other = 0;
  for (const e of entries)
    if ((e.detail?.kind ?? e.kind) === 1) minor++;
    else other++;
  return { minor, other };
}
const noop = () => undefined;

if (scenario === "raw-pingpong") {
  parentPort.postMessage("ready");
  let last = 0;
  while (Atomics.load(words, STOP) === 0) {
    if (wait !== "busy") {
      for (let k = looks; k > 0 && Atomics.load(words, PING) === last; k--);
      if (Atomics.load(words, PING) === last) Atomics.wait(words, PING, last, 100);
    }
    const v = Atomics.load(words, PING);
    if (v !== last) {
      last = v;
      Atomics.store(words, PONG, v);
      if (wait !== "busy") Atomics.notify(words, PONG);
    }
  }
} else if (scenario === "raw-ring") {
  parentPort.postMessage("ready");
  const slots = new Uint8Array(ctrl, RAW_RING_AT, 256 * 512);
  const scratch = new Uint8Array(512);
  let tail = 0;
  let count = 0;
  while (Atomics.load(words, STOP) === 0) {
    const head = Atomics.load(words, HEAD);
    while (tail !== head) {
      const off = (tail & 255) * 512;
      const len = slots[off] | (slots[off + 1] << 8);
      scratch.set(slots.subarray(off + 2, off + 2 + len));
      tail = (tail + 1) | 0;
      count++;
    }
    Atomics.store(words, TAIL, tail);
    Atomics.store(words, COUNT, count);
  }
} else {
  const remote = createStaticRemote({ layout, space, doorbell: irq, scheduler, maxBatch: 256 });
  if (scenario === "echo") {
    // zeroCopy true: trySendWith with a fill made once (nothing allocated per reply);
    // "handle": a TxBuffer per reply.
    let reply = new Uint8Array(0);
    const fillReply = (payload) => {
      payload.set(reply);
      return reply.length;
    };
    remote.createEndpoint({
      name: "echo",
      onMessage: (m, ep) => {
        if (zeroCopy === "handle") {
          const b = ep.tryGetTxBuffer();
          if (b !== undefined) {
            b.payload.set(m.data);
            b.send(m.data.length, m.src);
            return;
          }
        } else if (zeroCopy) {
          reply = m.data;
          if (ep.trySendWith(fillReply, m.src)) return;
        }
        if (!ep.trySendTo(m.src, m.data)) void ep.sendTo(m.src, m.data.slice());
      },
    });
  } else {
    let count = 0;
    let bytes = 0;
    remote.createEndpoint({
      name: "sink",
      onMessage: (m) => {
        count++;
        bytes += m.data.length;
      },
    });
    remote.onLinkChange(noop);
    // Published after each batch that brought messages (the C sink stores its count per
    // message; a store per empty poll would only slow the loop down).
    const orig = remote.process.bind(remote);
    remote.process = () => {
      const n = orig();
      if (n > 0) {
        Atomics.store(words, COUNT, count);
        Atomics.store(words, BYTES, bytes);
      }
      return n;
    };
  }
  parentPort.postMessage("ready");
  if (workerData.gc === true) {
    // Allocation run: count this thread's garbage collections between the host's PHASE marks.
    const { PerformanceObserver, performance } = await import("node:perf_hooks");
    const entries = [];
    const obs = new PerformanceObserver((l) => {
      entries.push(...l.getEntries());
    });
    obs.observe({ entryTypes: ["gc"] });
    let t0 = -1,
      t1 = -1;
    while (Atomics.load(words, STOP) === 0) {
      remote.process();
      if (t0 < 0) {
        if (Atomics.load(words, PHASE) === 1) t0 = performance.now();
      } else if (t1 < 0 && Atomics.load(words, PHASE) === 2) t1 = performance.now();
    }
    await new Promise((r) => setTimeout(r, 20)); // observer entries arrive on the event loop
    obs.disconnect();
    const inWindow = entries.filter((e) => e.startTime >= t0 && e.startTime <= t1);
    parentPort.postMessage({ gc: gcKinds(inWindow) });
  } else
    // Poll mode spins on the rings alone, bell mode sleeps on the doorbell first: as the C side
    // (it reads its doorbell word only in bell mode).
    if (wait !== "busy") {
      while (Atomics.load(words, STOP) === 0) {
        if (!kick.pending()) kick.waitSync(50);
        kick.poll(noop);
        remote.process();
      }
    } else {
      while (Atomics.load(words, STOP) === 0) remote.process();
    }
}
parentPort.postMessage("done");
