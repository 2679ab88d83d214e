// Shared setup of the benchmark: an rpmsg-only link (fixed layout, same data path as a virtio
// link) in one SharedArrayBuffer, plus a control SharedArrayBuffer with the two doorbells and a
// few words for counters and the raw hand-off ceilings.
import { staticLinkLayout } from "@amp/rpmsg";
import { AddressSpace, AtomicsDoorbell, SharedMemory } from "@amp/virtio-ring";
import { spawnSync } from "node:child_process";
import { existsSync, readlinkSync } from "node:fs";
import { performance } from "node:perf_hooks";
import process from "node:process";

export const NUM = 256;
export const layout = staticLinkLayout({ base: 0, numBuffers: NUM, align: 16, bufferSize: 512 });
export const KICK_AT = 0;
export const IRQ_AT = 64;
export const WORDS_AT = 128; // Int32 words: 0 stop, 1 sink count, 2 sink bytes, 3 ping, 4 pong, 5 ring head, 6 ring tail
export const CTRL_BYTES = 128 + 64 + 256 * 512;
export const RAW_RING_AT = 192;

// AMP_BENCH_SPIN_US: how long a doorbell waiter looks for a ring before sleeping in the "spin"
// wait mode (the C side gets the same budget: --spin-us).
export const SPIN_US = Number(process.env.AMP_BENCH_SPIN_US ?? 20);

/**
 * How many looks of AtomicsDoorbell's `spin` option take SPIN_US on this thread: one look is a
 * `pending()` call, timed here on a doorbell of the same size (best of five blocks).
 */
export function spinLooks() {
  const d = new AtomicsDoorbell(new SharedArrayBuffer(AtomicsDoorbell.byteLength(2)), 0, { queues: 2 });
  let best = Infinity;
  for (let k = 0; k < 6; k++) {
    const t0 = performance.now();
    for (let i = 0; i < 200_000; i++) d.pending();
    if (k > 0) best = Math.min(best, (performance.now() - t0) / 200_000);
  }
  return Math.ceil(SPIN_US / 1000 / best);
}

/**
 * The link memory, both doorbells and the control words over the two SharedArrayBuffers. Both
 * sides run this version: a ring makes the futex call only when the receiver sleeps, as the C
 * side's doorbell does (one atomic add and one load otherwise). `spin`: the doorbells' option.
 */
export function attach(sab, ctrl, spin = 0) {
  const mem = new SharedMemory(sab);
  return {
    mem,
    space: new AddressSpace().map(0, mem),
    kick: new AtomicsDoorbell(ctrl, KICK_AT, { queues: 2, wakeOnlySleepers: true, spin }),
    irq: new AtomicsDoorbell(ctrl, IRQ_AT, { queues: 2, wakeOnlySleepers: true, spin }),
    words: new Int32Array(ctrl, WORDS_AT, 16),
  };
}

// AMP_BENCH_CPUS "A,B": the host (main) thread runs on cpu A and the remote's worker on cpu B, as
// the C side's two pinned threads (default 0,1 where Linux lets us pin a thread: /proc and
// taskset); "none" leaves both to the scheduler. Where the two threads run decides the
// doorbell modes: a wake-up on the other, idle cpu costs about 10 µs on a VM, on the same cpu 2.
const CPUS_ENV = process.env.AMP_BENCH_CPUS;
export const CPUS =
  CPUS_ENV === "none" || (CPUS_ENV === undefined && !existsSync("/proc/thread-self"))
    ? undefined
    : (CPUS_ENV ?? "0,1").split(",").map(Number);

/** Pins the calling thread (main or worker) to `cpu` with taskset; throws when that fails. */
export function pinThisThread(cpu) {
  const tid = readlinkSync("/proc/thread-self").split("/").pop();
  const r = spawnSync("taskset", ["-p", "-c", String(cpu), tid], { encoding: "utf8" });
  if (r.status !== 0)
    throw new Error(
      `cannot pin thread ${tid} to cpu ${cpu} (taskset: ${r.error ?? r.stderr}); AMP_BENCH_CPUS=none runs unpinned`,
    );
}
