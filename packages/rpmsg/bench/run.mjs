// Benchmark of @amp/rpmsg (run `npx tsc -p tsconfig.build.json` first; `pnpm bench`).
// Host in the main thread, remote in a worker, over SharedArrayBuffer:
//   - echo round trip (median, p99) for 16/64/256/496-byte payloads, in three wait modes: busy
//     poll, doorbell (Atomics.wait) and spin (the doorbell's `spin` option: look for a ring for
//     AMP_BENCH_SPIN_US, default 20, before sleeping); copy and zero-copy sends (zero-copy:
//     `trySendWith` on both sides, except the doorbell one-way host, which waits for a
//     `getTxBuffer` handle);
//   - one-way throughput (messages/s, MB/s), busy-poll (trySend spin) and doorbell (async send +
//     host.serve on an Atomics doorbell), copy and zero-copy;
//   - ceilings measured in the same run between the same two threads: a raw SharedArrayBuffer
//     ping-pong (spin and Atomics.wait/notify), a raw one-way ring of 512-byte slots, and
//     memory-copy bandwidth.
// Copy and zero-copy of one size and mode run back to back after untimed warm-up rounds; a last
// table gives their ratio (zero-copy does strictly less work, so it should be >= copy).
// Allocation runs count scavenges per role for copy, zero-copy and zero-copy through handles.
// Writes bench-results/rpmsg.json and prints markdown tables. Not a test.
import { Worker } from "node:worker_threads";
import { mkdirSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import { createStaticHost } from "@amp/rpmsg";
import console from "node:console";
import process from "node:process";
import { performance, PerformanceObserver } from "node:perf_hooks";
import { setTimeout, clearTimeout } from "node:timers";
import { attach, CPUS, CTRL_BYTES, layout, pinThisThread, RAW_RING_AT, SPIN_US, spinLooks } from "./common.mjs";

const scheduler = { setTimeout, clearTimeout };

const here = dirname(fileURLToPath(import.meta.url));
const SIZES = [16, 64, 256, 496];
const RTT_N = Number(process.env.AMP_BENCH_RTT ?? 3000);
const TPUT_N = Number(process.env.AMP_BENCH_TPUT ?? 400000);
// Every worker is fresh: untimed rounds first, so that both roles' paths are JIT-compiled before
// timing. Measured in one fresh process: bursts of 40,000 one-way messages ran at 0.3, 4, 7, then
// 9-10 M msg/s; blocks of 3,000 echo round trips took 4.0, 2.1, then 1.8 µs each. Hence 20,000
// round trips and 200,000 messages.
const WARMUP = Number(process.env.AMP_BENCH_WARMUP ?? 20000);
const TPUT_WARMUP = Number(process.env.AMP_BENCH_TPUT_WARMUP ?? 200000);
// AMP_BENCH_CORK=0: one-way bursts without host.cork() (one avail.idx store and kick check per send).
const CORK = process.env.AMP_BENCH_CORK !== "0";
// AMP_BENCH_ONLY: a regex over the case tags ("busy/copy/16", "bell/zero-copy/496") to run a subset.
const ONLY = process.env.AMP_BENCH_ONLY === undefined ? undefined : new RegExp(process.env.AMP_BENCH_ONLY);
const STOP = 0,
  COUNT = 1,
  PING = 3,
  PONG = 4,
  HEAD = 5,
  TAIL = 6,
  PHASE = 7;
// Allocation runs: messages per role and case (one-way sends; echo round trips count twice).
const ALLOC_N = Number(process.env.AMP_BENCH_ALLOC ?? 1_000_000);
const now = () => performance.now();
if (CPUS !== undefined) pinThisThread(CPUS[0]); // before any worker starts (each pins itself)
// The "spin" mode's doorbell option on this thread (the worker times its own); calibrated only
// when a spin case runs (it takes about 12 ms of looking).
const spinSelected = SIZES.some((size) =>
  ["copy", "zero-copy"].some((m) => ONLY === undefined || ONLY.test(`spin/${m}/${size}`)),
);
const SPIN_LOOKS = spinSelected ? spinLooks() : 0;
const noop = () => undefined;

function stats(samples) {
  const s = Float64Array.from(samples).sort();
  return { median: s[Math.floor(s.length / 2)], p99: s[Math.floor(s.length * 0.99)] };
}

async function start(scenario, opts = {}) {
  const sab = new SharedArrayBuffer(layout.size);
  const ctrl = new SharedArrayBuffer(CTRL_BYTES);
  const w = new Worker(join(here, "remote-worker.mjs"), { workerData: { sab, ctrl, scenario, ...opts } });
  await new Promise((r, j) => {
    w.once("message", r);
    w.once("error", j);
  });
  const a = attach(sab, ctrl, opts.wait === "spin" ? SPIN_LOOKS : 0);
  const stop = async () => {
    Atomics.store(a.words, STOP, 1);
    a.kick.notify(0);
    Atomics.notify(a.words, PING);
    await w.terminate();
  };
  /** Stops a `gc: true` worker and returns the GC counts it measured. */
  const stopWithGc = async () => {
    const counted = new Promise((r) => {
      w.on("message", (m) => {
        if (m?.gc !== undefined) r(m.gc);
      });
    });
    Atomics.store(a.words, STOP, 1);
    const gc = await counted;
    await w.terminate();
    return gc;
  };
  return { ...a, stop, stopWithGc };
}

async function rpmsgLink(scenario, opts) {
  const r = await start(scenario, opts);
  const host = createStaticHost({ layout, space: r.space, doorbell: r.kick, scheduler, maxBatch: 256 });
  host.start();
  const deadline = now() + 5000;
  const name = scenario;
  while (host.remoteServices.length === 0 && now() < deadline) {
    if (opts.wait !== "busy") r.irq.waitSync(10);
    r.irq.poll(noop);
    host.process();
  }
  return { ...r, host, name };
}

/**
 * A synchronous send of `size` bytes in the given mode: copy (`trySend`), zero-copy through
 * `trySendWith` (zeroCopy true: no handle, nothing allocated) or through a TxBuffer handle
 * (zeroCopy "handle": one small object per send). False when no tx buffer is free.
 */
function sender(ep, size, zeroCopy) {
  const data = new Uint8Array(size).fill(1);
  let seq = 0;
  const fill = (payload) => {
    payload[0] = seq++ & 255;
    return size;
  };
  if (zeroCopy === "handle")
    return () => {
      const b = ep.tryGetTxBuffer();
      if (b === undefined) return false;
      b.payload[0] = seq++ & 255;
      b.send(size);
      return true;
    };
  if (zeroCopy) return () => ep.trySendWith(fill);
  return () => ep.trySend(data);
}

async function echo(size, wait, zeroCopy) {
  const l = await rpmsgLink("echo", { wait, zeroCopy });
  let got = 0;
  const ep = l.host.createEndpoint({
    name: "echo",
    onMessage: () => {
      got++;
    },
  });
  const send = sender(ep, size, zeroCopy);
  const samples = [];
  for (let i = -WARMUP; i < RTT_N; i++) {
    const want = got + 1;
    const t0 = now();
    if (!send()) throw new Error("no tx buffer in a ping-pong");
    // Poll mode spins on the rings alone (as the C side: it reads its doorbell only in bell mode).
    if (wait !== "busy") {
      while (got < want) {
        if (!l.irq.pending()) l.irq.waitSync(1000);
        l.irq.poll(noop);
        l.host.process();
      }
    } else {
      while (got < want) l.host.process();
    }
    if (i >= 0) samples.push((now() - t0) * 1000);
  }
  await l.stop();
  return stats(samples);
}

async function throughput(size, wait, zeroCopy) {
  const l = await rpmsgLink("sink", { wait });
  const ep = l.host.createEndpoint({ name: "sink" });
  const data = new Uint8Array(size).fill(1);
  const ac = new globalThis.AbortController();
  const serving = wait === "busy" ? undefined : l.host.serve(l.irq, { signal: ac.signal });
  /**
   * Sends n messages, then waits until the sink has counted `until`. The burst is corked
   * (AMP_BENCH_CORK=0 turns it off): avail.idx is stored and the remote kicked every 32 sends,
   * when a send finds no free buffer, at each process() and at the end, not once per message.
   */
  const burst = async (n, until) => {
    if (CORK) l.host.cork();
    try {
      await sendAll(n);
    } finally {
      if (CORK) l.host.uncork();
    }
    if (wait === "busy") while (Atomics.load(l.words, COUNT) < until) l.host.process();
    else while (Atomics.load(l.words, COUNT) < until) await new Promise((r) => setTimeout(r, 0));
  };
  const send = sender(ep, size, zeroCopy);
  const sendAll = async (n) => {
    if (wait === "busy") {
      for (let i = 0; i < n; i++) while (!send()) l.host.process();
    } else {
      // Waiting sends: the zero-copy one waits for a TxBuffer handle (trySendWith cannot wait).
      for (let i = 0; i < n; i++) {
        if (zeroCopy) {
          const b = await ep.getTxBuffer();
          b.payload[0] = i & 255;
          b.send(size);
        } else await ep.send(data);
      }
    }
  };
  await burst(TPUT_WARMUP, TPUT_WARMUP);
  const t0 = now();
  await burst(TPUT_N, TPUT_WARMUP + TPUT_N);
  const secs = (now() - t0) / 1000;
  const count = Atomics.load(l.words, COUNT) - TPUT_WARMUP;
  if (serving !== undefined) {
    ac.abort();
    l.irq.notify(0);
    await serving;
  }
  await l.stop();
  return { msgsPerSec: count / secs, MBps: (count * size) / secs / 1e6 };
}

async function rawPingPong(wait) {
  const r = await start("raw-pingpong", { wait });
  const samples = [];
  for (let i = 1; i <= RTT_N + 200; i++) {
    const t0 = now();
    Atomics.store(r.words, PING, i);
    if (wait !== "busy") Atomics.notify(r.words, PING);
    while (Atomics.load(r.words, PONG) !== i) {
      if (wait === "busy") continue;
      for (let k = wait === "spin" ? SPIN_LOOKS : 0; k > 0 && Atomics.load(r.words, PONG) !== i; k--);
      if (Atomics.load(r.words, PONG) !== i) Atomics.wait(r.words, PONG, i - 1, 1000);
    }
    if (i > 200) samples.push((now() - t0) * 1000);
  }
  await r.stop();
  return stats(samples);
}

async function rawRing(size) {
  const r = await start("raw-ring", {});
  const ctrl = r.words.buffer;
  const slots = new Uint8Array(ctrl, RAW_RING_AT, 256 * 512);
  const data = new Uint8Array(size).fill(3);
  let head = 0;
  const t0 = now();
  for (let i = 0; i < TPUT_N; i++) {
    while (head - Atomics.load(r.words, TAIL) >= 256) {
      /* ring full: spin */
    }
    const off = (head & 255) * 512;
    slots[off] = size & 255;
    slots[off + 1] = size >> 8;
    slots.set(data, off + 2);
    head = (head + 1) | 0;
    Atomics.store(r.words, HEAD, head);
  }
  while (Atomics.load(r.words, COUNT) < TPUT_N) {
    /* drain */
  }
  const secs = (now() - t0) / 1000;
  await r.stop();
  return { msgsPerSec: TPUT_N / secs, MBps: (TPUT_N * size) / secs / 1e6 };
}

function memcpyBandwidth() {
  const a = new Uint8Array(1 << 16).fill(5);
  const b = new Uint8Array(1 << 16);
  const rounds = 20000;
  const t0 = now();
  for (let i = 0; i < rounds; i++) b.set(a);
  return { MBps: (rounds * a.length) / ((now() - t0) / 1000) / 1e6 };
}

/** GC entries by kind: minor (scavenge) and the rest (mark-compact, incremental, weak callbacks). */
function gcKinds(entries) {
  let minor = 0,
    other = 0;
  for (const e of entries)
    if ((e.detail?.kind ?? e.kind) === 1) minor++;
    else other++;
  return { minor, other };
}

/**
 * Garbage collections per role while `n` messages flow (busy-poll, no timing or samples in the
 * loop, so the bench itself allocates nothing): the host's on this thread, the remote's counted
 * in the worker between the PHASE marks. Scavenges per 10^6 messages = allocation per message.
 */
async function allocCase(kind, size, zeroCopy, n) {
  const l = await rpmsgLink(kind === "echo" ? "echo" : "sink", { wait: "busy", zeroCopy, gc: true });
  let got = 0;
  const ep = l.host.createEndpoint({
    name: kind === "echo" ? "echo" : "sink",
    onMessage: () => {
      got++;
    },
  });
  const send = sender(ep, size, zeroCopy);
  const run = (count) => {
    for (let i = 0; i < count; i++) {
      const want = got + 1;
      while (!send()) l.host.process();
      if (kind === "echo") while (got < want) l.host.process();
    }
    if (kind !== "echo") while (Atomics.load(l.words, COUNT) < count + base) l.host.process();
  };
  let base = 0;
  run(WARMUP);
  base = WARMUP;
  const entries = [];
  const obs = new PerformanceObserver((list) => {
    entries.push(...list.getEntries());
  });
  obs.observe({ entryTypes: ["gc"] });
  const heap0 = process.memoryUsage().heapUsed;
  const t0 = now();
  Atomics.store(l.words, PHASE, 1);
  run(n);
  Atomics.store(l.words, PHASE, 2);
  const t1 = now();
  const heapGrowth = process.memoryUsage().heapUsed - heap0;
  await new Promise((r) => setTimeout(r, 20));
  obs.disconnect();
  const host = gcKinds(entries.filter((e) => e.startTime >= t0 && e.startTime <= t1));
  const remote = await l.stopWithGc();
  const msgs = kind === "echo" ? 2 * n : n;
  const per = (x) => (x * 1e6) / msgs;
  return {
    name: `Rpmsg/alloc/${kind}/${modeName(zeroCopy)}/${size}`,
    kind,
    size,
    zeroCopy,
    messages: msgs,
    host: { ...host, scavengesPer1e6: per(host.minor), heapGrowthBytes: heapGrowth },
    remote: { ...remote, scavengesPer1e6: per(remote.minor) },
  };
}

/** copy, zero-copy (trySendWith), zero-copy handle (tryGetTxBuffer). */
function modeName(zeroCopy) {
  return zeroCopy === "handle" ? "zero-copy handle" : zeroCopy ? "zero-copy" : "copy";
}

const results = {
  node: process.version,
  date: new Date().toISOString(),
  corkedOneWay: CORK,
  cpus: CPUS ?? null,
  spin: { us: SPIN_US, hostLooks: SPIN_LOOKS },
  rtt: [],
  throughput: [],
  alloc: [],
  ceilings: {},
};
results.ceilings.memcpy = memcpyBandwidth();
// Machines running other work make spinning measurements drift: each case gets its ceilings
// measured right before it, between the same two threads, so the ratios compare like with like.
// Copy and zero-copy of one payload size and mode run back to back (which goes first alternates),
// so that drift does not land on one of them only: their ratio is the figure to compare.
for (const wait of ["busy", "bell", "spin"]) {
  for (const [k, size] of SIZES.entries()) {
    for (const zeroCopy of k % 2 === 0 ? [false, true] : [true, false]) {
      const tag = `${wait}/${zeroCopy ? "zero-copy" : "copy"}/${size}`;
      if (ONLY !== undefined && !ONLY.test(tag)) continue;
      process.stderr.write(`${tag}: ceilings`);
      const rawRtt = await rawPingPong(wait);
      const ring = await rawRing(size);
      process.stderr.write(" echo");
      const r = await echo(size, wait, zeroCopy);
      process.stderr.write(" one-way\n");
      const t = await throughput(size, wait, zeroCopy);
      results.rtt.push({
        name: `Rpmsg/echo/${tag}`,
        size,
        wait,
        zeroCopy,
        medianUs: r.median,
        p99Us: r.p99,
        rawPingPongMedianUs: rawRtt.median,
      });
      results.throughput.push({
        name: `Rpmsg/one-way/${tag}`,
        size,
        wait,
        zeroCopy,
        ...t,
        rawRingMsgsPerSec: ring.msgsPerSec,
      });
    }
  }
}

if (ALLOC_N > 0 && (ONLY === undefined || ONLY.test("alloc"))) {
  for (const [kind, zeroCopy] of [
    ["one-way", false],
    ["one-way", true],
    ["one-way", "handle"],
    ["echo", false],
    ["echo", true],
    ["echo", "handle"],
  ]) {
    process.stderr.write(`alloc/${kind}/${modeName(zeroCopy)}/16\n`);
    results.alloc.push(await allocCase(kind, 16, zeroCopy, kind === "echo" ? ALLOC_N / 2 : ALLOC_N));
  }
}

mkdirSync(join(here, "..", "bench-results"), { recursive: true });
writeFileSync(join(here, "..", "bench-results", "rpmsg.json"), JSON.stringify(results, null, 2));

const f = (x, d = 1) => x.toFixed(d);
const c = results.ceilings;
console.log(
  `\n@amp/rpmsg benchmark (${results.node}); host = main thread, remote = worker; RTT n=${RTT_N}, one-way n=${TPUT_N}${CORK ? " (corked bursts)" : ""}; ${CPUS === undefined ? "threads unpinned" : `host on cpu ${CPUS[0]}, remote on cpu ${CPUS[1]}`}; spin mode ${SPIN_US} µs`,
);
console.log(`memcpy bandwidth (64 KiB Uint8Array.set): ${f(c.memcpy.MBps / 1000, 2)} GB/s\n`);
console.log(
  "| case | payload B | RTT median µs | RTT p99 µs | raw SAB ping-pong µs | RTT / raw | one-way msg/s | one-way MB/s | raw ring msg/s | msg/s / raw |",
);
console.log("|---|---|---|---|---|---|---|---|---|---|");
for (let i = 0; i < results.rtt.length; i++) {
  const r = results.rtt[i];
  const t = results.throughput[i];
  console.log(
    `| ${r.wait} ${r.zeroCopy ? "zero-copy" : "copy"} | ${r.size} | ${f(r.medianUs, 2)} | ${f(r.p99Us, 2)} | ${f(r.rawPingPongMedianUs, 2)} | ${f(r.medianUs / r.rawPingPongMedianUs)}× | ${f(t.msgsPerSec, 0)} | ${f(t.MBps, 1)} | ${f(t.rawRingMsgsPerSec, 0)} | ${f(t.msgsPerSec / t.rawRingMsgsPerSec, 2)} |`,
  );
}
if (results.alloc.length > 0) {
  console.log(
    "\n| allocation run (busy, 16 B) | messages | host scavenges | per 10^6 msgs | host heap growth | remote scavenges | per 10^6 msgs |",
  );
  console.log("|---|---:|---:|---:|---:|---:|---:|");
  for (const a of results.alloc) {
    console.log(
      `| ${a.kind} ${modeName(a.zeroCopy)} | ${a.messages} | ${a.host.minor} | ${f(a.host.scavengesPer1e6)} | ${f(a.host.heapGrowthBytes / 1024)} KiB | ${a.remote.minor} | ${f(a.remote.scavengesPer1e6)} |`,
    );
  }
}
console.log(
  "\n| mode | payload B | zero-copy / copy RTT median (lower is better) | zero-copy / copy one-way msg/s (higher is better) |",
);
console.log("|---|---|---|---|");
for (const wait of ["busy", "bell", "spin"]) {
  for (const size of SIZES) {
    const pick = (list, zc) => list.find((x) => x.wait === wait && x.size === size && x.zeroCopy === zc);
    if (pick(results.rtt, true) === undefined || pick(results.rtt, false) === undefined) continue;
    const rtt = pick(results.rtt, true).medianUs / pick(results.rtt, false).medianUs;
    const tput = pick(results.throughput, true).msgsPerSec / pick(results.throughput, false).msgsPerSec;
    console.log(`| ${wait} | ${size} | ${f(rtt, 2)} | ${f(tput, 2)} |`);
  }
}
