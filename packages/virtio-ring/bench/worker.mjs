// One side of a benchmark case, in its own worker. Roles: raw SharedArrayBuffer ping-pong and
// one-way index publish (the ceiling), and our driver/device over a split or packed ring.
import { performance } from "node:perf_hooks";
import { parentPort, workerData } from "node:worker_threads";
import {
  AddressSpace,
  AtomicsDoorbell,
  DescriptorChain,
  SharedMemory,
  VIRTIO_F_RING_PACKED,
  VIRTIO_RING_F_EVENT_IDX,
  createDeviceQueue,
  createDriverQueue,
  featureBit,
  legacyQueueAddresses,
  packedRingLayout,
} from "@amp/virtio-ring";

const { role, sab, n, packed, suppress } = workerData;
const i32 = new Int32Array(sab);
// Words: 0 start barrier, 16 ping, 32 pong (separate cache lines), 48 head, 64 tail, 80 stop;
// the word after ping/pong/head/tail is that word's sleeper flag.
const START = 0,
  PING = 16,
  PONG = 32,
  HEAD = 48,
  TAIL = 64;
const SLOTS = 256,
  SLOT_BASE = 1024; // raw queue: 256 u32 slots at i32[1024..]
const SPIN = 2000; // polls before sleeping (raw cases and ring workers alike)
const QSIZE = 256,
  RING_AT = 8192,
  BUF_AT = 65536,
  BUF_SIZE = 64;

/** The body of a busy-wait loop (nothing to do but look again). */
function spin() {
  return undefined;
}

/**
 * Waits until `ready(i32[word])`: polls SPIN times (as the ring workers do), then sleeps with
 * Atomics.wait after raising the sleeper flag in the next word, which `publish` checks.
 */
function waitFor(word, ready) {
  for (let s = 0; s < SPIN; s++) if (ready(Atomics.load(i32, word))) return;
  for (;;) {
    Atomics.store(i32, word + 1, 1);
    const v = Atomics.load(i32, word);
    if (ready(v)) break;
    Atomics.wait(i32, word, v, 50);
  }
  Atomics.store(i32, word + 1, 0);
}

/** Stores `value` and wakes the other side only if it sleeps. */
function publish(word, value) {
  Atomics.store(i32, word, value);
  if (Atomics.load(i32, word + 1) !== 0) Atomics.notify(i32, word);
}

function barrier() {
  Atomics.add(i32, START, 1);
  while (Atomics.load(i32, START) < 2) spin();
}

function queues() {
  const mem = new SharedMemory(sab);
  const space = new AddressSpace().map(0, mem);
  const addrs = packed
    ? {
        descAddr: RING_AT,
        driverAddr: RING_AT + packedRingLayout(QSIZE).driver,
        deviceAddr: RING_AT + packedRingLayout(QSIZE).device,
      }
    : legacyQueueAddresses(RING_AT, QSIZE, 4096);
  const features =
    (packed ? featureBit(VIRTIO_F_RING_PACKED) : 0n) | (suppress ? featureBit(VIRTIO_RING_F_EVENT_IDX) : 0n);
  const kick = new AtomicsDoorbell(sab, 256, { queues: 1 });
  const irq = new AtomicsDoorbell(sab, 512, { queues: 1 });
  return { mem, space, addrs, features, kick, irq };
}

barrier();
const t0 = performance.now();
let checksum = 0;

if (role === "ping") {
  for (let k = 1; k <= n; k++) {
    publish(PING, k);
    waitFor(PONG, (v) => v === k);
  }
} else if (role === "pong") {
  for (let k = 1; k <= n; k++) {
    waitFor(PING, (v) => v === k);
    publish(PONG, k);
  }
} else if (role === "produce") {
  // The best a hand-written ring can do: the producer re-reads the consumer's index only when
  // it believes the ring is full, and wakes the consumer only when it sleeps.
  let head = 0;
  let tail = 0;
  for (let k = 0; k < n; k++) {
    if (head - tail === SLOTS) {
      waitFor(TAIL, (v) => head - v < SLOTS);
      tail = Atomics.load(i32, TAIL);
    }
    i32[SLOT_BASE + (head & (SLOTS - 1))] = k;
    publish(HEAD, ++head);
  }
  waitFor(TAIL, (v) => v === head);
} else if (role === "consume") {
  let tail = 0;
  while (tail < n) {
    waitFor(HEAD, (v) => v !== tail);
    const head = Atomics.load(i32, HEAD);
    while (tail !== head) {
      checksum = (checksum + i32[SLOT_BASE + (tail & (SLOTS - 1))]) | 0;
      tail++;
    }
    publish(TAIL, tail);
  }
} else if (role === "driver") {
  const q = queues();
  const drv = createDriverQueue({
    size: QSIZE,
    space: q.space,
    ...q.addrs,
    features: q.features,
    doorbell: q.kick,
    notifyId: 0,
  });
  const used = { id: 0, len: 0, token: 0 };
  const free = [];
  for (let s = 0; s < QSIZE; s++) free.push(s);
  let sent = 0,
    done = 0,
    idle = 0;
  if (suppress) drv.disableInterrupts();
  while (done < n) {
    while (sent < n && free.length > 0) {
      const s = free.pop();
      q.mem.setU32(BUF_AT + s * BUF_SIZE, sent);
      drv.addBuffer(BUF_AT + s * BUF_SIZE, BUF_SIZE, false, s);
      sent++;
      if (!suppress) drv.kick();
    }
    if (suppress) drv.kick();
    let got = 0;
    while (drv.getUsed(used) !== null) {
      free.push(used.token);
      done++;
      got++;
    }
    if (got > 0) {
      idle = 0;
      continue;
    }
    if (++idle < SPIN) continue;
    if (suppress) {
      if (!drv.enableInterrupts()) q.irq.waitSync(50);
      drv.disableInterrupts();
    } else {
      q.irq.waitSync(50);
    }
    q.irq.poll(() => {});
    idle = 0;
  }
  Atomics.store(i32, 80, 1);
  q.kick.notify(0);
} else if (role === "device") {
  const q = queues();
  const dev = createDeviceQueue({
    size: QSIZE,
    space: q.space,
    ...q.addrs,
    features: q.features,
    doorbell: q.irq,
    notifyId: 0,
  });
  const chain = new DescriptorChain(QSIZE);
  let idle = 0;
  if (suppress) dev.disableNotifications();
  for (;;) {
    let got = 0;
    while (dev.getAvail(chain) !== null) {
      checksum = (checksum + chain.memory(0).getU32(chain.offset(0))) | 0;
      dev.pushUsed(chain.id, 0);
      got++;
      if (!suppress) dev.interrupt();
    }
    if (suppress && got > 0) dev.interrupt();
    if (got > 0) {
      idle = 0;
      continue;
    }
    if (Atomics.load(i32, 80) !== 0) break;
    if (++idle < SPIN) continue;
    if (suppress) {
      if (!dev.enableNotifications()) q.kick.waitSync(50);
      dev.disableNotifications();
    } else {
      q.kick.waitSync(50);
    }
    q.kick.poll(() => {});
    idle = 0;
  }
}
parentPort.postMessage({ ms: performance.now() - t0, checksum });
