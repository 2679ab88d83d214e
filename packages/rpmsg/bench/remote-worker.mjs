// The remote side of the benchmark, in a worker. Scenarios (workerData.scenario):
//   echo / sink      rpmsg remote; "busy" spins on process(), "bell" sleeps on the kick doorbell
//   raw-pingpong     ceiling: bounce a word through the SharedArrayBuffer (spin or Atomics.wait)
//   raw-ring         ceiling: consume a single-producer ring of 512-byte slots (copying each)
import { parentPort, workerData } from "node:worker_threads";
import { createStaticRemote } from "@amp/rpmsg";
import { setTimeout, clearTimeout } from "node:timers";
import { AddressSpace, AtomicsDoorbell, SharedMemory } from "@amp/virtio-ring";
import { IRQ_AT, KICK_AT, layout, RAW_RING_AT, WORDS_AT } from "./common.mjs";

const scheduler = { setTimeout, clearTimeout };

/** The link memory, both doorbells and the control words over the two SharedArrayBuffers. */
function attach(sab, ctrl) {
  const mem = new SharedMemory(sab);
  return {
    mem,
    space: new AddressSpace().map(0, mem),
    kick: new AtomicsDoorbell(ctrl, KICK_AT, { queues: 2 }),
    irq: new AtomicsDoorbell(ctrl, IRQ_AT, { queues: 2 }),
    words: new Int32Array(ctrl, WORDS_AT, 16),
  };
}


const { sab, ctrl, scenario, wait, zeroCopy } = workerData;
const { space, kick, irq, words } = attach(sab, ctrl);
const STOP = 0, COUNT = 1, BYTES = 2, PING = 3, PONG = 4, HEAD = 5, TAIL = 6;
const noop = () => undefined;

if (scenario === "raw-pingpong") {
  parentPort.postMessage("ready");
  let last = 0;
  while (Atomics.load(words, STOP) === 0) {
    if (wait === "bell") Atomics.wait(words, PING, last, 100);
    const v = Atomics.load(words, PING);
    if (v !== last) {
      last = v;
      Atomics.store(words, PONG, v);
      if (wait === "bell") Atomics.notify(words, PONG);
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
    remote.createEndpoint({
      name: "echo",
      onMessage: (m, ep) => {
        if (zeroCopy) {
          const b = ep.tryGetTxBuffer();
          if (b !== undefined) { b.payload.set(m.data); b.send(m.data.length, m.src); return; }
        }
        if (!ep.trySendTo(m.src, m.data)) void ep.sendTo(m.src, m.data.slice());
      },
    });
  } else {
    let count = 0;
    let bytes = 0;
    remote.createEndpoint({ name: "sink", onMessage: (m) => { count++; bytes += m.data.length; } });
    remote.onLinkChange(noop);
    const publish = () => { Atomics.store(words, COUNT, count); Atomics.store(words, BYTES, bytes); };
    const orig = remote.process.bind(remote);
    remote.process = () => { const n = orig(); publish(); return n; };
  }
  parentPort.postMessage("ready");
  while (Atomics.load(words, STOP) === 0) {
    if (wait === "bell" && !kick.pending()) kick.waitSync(50);
    kick.poll(noop);
    remote.process();
  }
}
parentPort.postMessage("done");
