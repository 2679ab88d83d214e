// Benchmark (not a test): host <-> Cortex-M4 firmware under QEMU (mps2-an386), through the
// whole stack (@amp/remoteproc-core + @amp/rpmsg host + the QEMU driver + FileMemory).
//   boot: createQemuRemoteproc + boot -> name-service announcement seen by the host
//   echo round trip (one message in flight) and throughput (a window of messages in flight),
//   with the polling doorbell (both sides spin) and the interrupt doorbell (UART1 bytes, WFI),
//   beside the ceiling measured in the same run: a raw ping-pong of one 32-bit word through the
//   same RAM file (no rings, no rpmsg), polled and with the UART doorbell.
// Run: npx tsc -p tsconfig.build.json && node bench/qemu.mjs   (needs qemu-system-arm, arm-none-eabi-gcc)
// Env: AMP_BENCH_N (round trips per case, default 3000), AMP_BENCH_SECONDS (throughput, default 2).
import { execFileSync } from "node:child_process";
import console from "node:console";
import { loadavg } from "node:os";
import { performance } from "node:perf_hooks";
import process from "node:process";
import { setImmediate, setTimeout } from "node:timers";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { AmpqCtrl, AMPQ_CTRL_DA, AMPQ_DB_PONG, MPS2_RAM_BASE, createQemuRemoteproc } from "@amp/node";

const pkg = process.env.AMP_NODE_PKG ?? join(dirname(fileURLToPath(import.meta.url)), "..");
const N = Number(process.env.AMP_BENCH_N ?? 3000);
const SECONDS = Number(process.env.AMP_BENCH_SECONDS ?? 2);
const CTRL = AMPQ_CTRL_DA - MPS2_RAM_BASE;

function stats(samples) {
  const s = [...samples].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return { median_us: +(q(0.5) * 1000).toFixed(1), p99_us: +(q(0.99) * 1000).toFixed(1), n: s.length };
}
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const nextTick = () => new Promise((r) => setImmediate(r));

const elf = readFileSync(
  execFileSync("sh", [join(pkg, "firmware/qemu/build.sh"), join(pkg, "fixtures-build/qemu")], {
    encoding: "utf8",
  }).trim(),
);

async function boot(doorbell) {
  const t0 = performance.now();
  const q = createQemuRemoteproc({ firmware: elf, doorbell, pollIntervalMs: 0 });
  const hostP = new Promise((r) => q.onRpmsg(r));
  await q.rproc.boot();
  const host = await hostP;
  const svc = await host.waitForService("rpmsg-echo", { timeoutMs: 10_000 });
  return { q, host, svc, bootMs: performance.now() - t0 };
}

/** One message in flight. Poll: the host spins on process(); irq: it waits for the doorbell event. */
async function roundTrips(q, host, doorbell, size) {
  let got = 0;
  const ep = host.createEndpoint({
    dst: 1024,
    onMessage: () => {
      got++;
    },
  });
  const payload = new Uint8Array(size).fill(0x5a);
  const samples = [];
  for (let i = 0; i < N + 100; i++) {
    const want = got + 1;
    const t = performance.now();
    if (!ep.trySend(payload)) {
      await nextTick();
      i--;
      continue;
    }
    if (doorbell === "poll") {
      while (got < want) host.process();
    } else {
      while (got < want) await new Promise((r) => setImmediate(r));
    }
    if (i >= 100) samples.push(performance.now() - t);
  }
  ep.destroy();
  return stats(samples);
}

/** Up to `window` messages in flight for SECONDS; messages per second echoed back. */
async function throughput(q, host, doorbell, size, window = 32) {
  let got = 0,
    sent = 0;
  const ep = host.createEndpoint({
    dst: 1024,
    onMessage: () => {
      got++;
    },
  });
  const payload = new Uint8Array(size).fill(0xa5);
  const end = performance.now() + SECONDS * 1000;
  const t0 = performance.now();
  while (performance.now() < end) {
    while (sent - got < window && ep.trySend(payload)) sent++;
    if (doorbell === "poll") host.process();
    else await new Promise((r) => setImmediate(r));
  }
  const dt = (performance.now() - t0) / 1000;
  ep.destroy();
  return { msgs_per_s: Math.round(got / dt), MB_per_s: +((got * size) / dt / 1e6).toFixed(2) };
}

/** The ceiling: one word written by the host, copied back by the firmware's idle loop. */
async function rawPingPong(q, doorbell) {
  const m = q.driver.memory;
  const machine = q.driver.machine;
  let pongs = 0;
  const off = machine.onDoorbell((b) => {
    if (b === AMPQ_DB_PONG) pongs++;
  });
  const samples = [];
  let v = m.getU32(CTRL + AmpqCtrl.PING);
  for (let i = 0; i < N + 100; i++) {
    v = (v + 1) >>> 0;
    const want = pongs + 1;
    const t = performance.now();
    m.setU32(CTRL + AmpqCtrl.PING, v);
    if (doorbell === "poll") {
      while (m.getU32(CTRL + AmpqCtrl.PONG) !== v);
    } else {
      machine.ring(0x7e);
      while (pongs < want) await new Promise((r) => setImmediate(r));
    }
    if (i >= 100) samples.push(performance.now() - t);
  }
  off();
  const s = stats(samples);
  return { ...s, rt_per_s: Math.round(1e6 / s.median_us) };
}

const load = loadavg().map((x) => +x.toFixed(2)); // the polling cases need two idle cores
/** QEMU's CPU use over 1 s while the firmware has nothing to do (Linux /proc; undefined elsewhere). */
async function idleCpuPercent(q) {
  const pid = q.driver.machine.pid;
  const ticks = () => {
    try {
      const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
      return Number(f[11]) + Number(f[12]); // utime + stime, in clock ticks (100 Hz)
    } catch {
      return undefined;
    }
  };
  const a = ticks();
  await new Promise((r) => setTimeout(r, 1000));
  const b = ticks();
  return a === undefined || b === undefined ? undefined : b - a;
}

const results = {};
for (const doorbell of ["poll", "irq"]) {
  const boots = [];
  let last;
  for (let i = 0; i < 3; i++) {
    if (last) await last.q.close();
    last = await boot(doorbell);
    boots.push(last.bootMs);
  }
  const { q, host } = last;
  const idle = await idleCpuPercent(q);
  const raw = await rawPingPong(q, doorbell);
  const rtt16 = await roundTrips(q, host, doorbell, 16);
  const rtt496 = await roundTrips(q, host, doorbell, 496);
  const tput16 = await throughput(q, host, doorbell, 16);
  const tput496 = await throughput(q, host, doorbell, 496);
  results[doorbell] = {
    boot_to_ns_ms_median: +median(boots).toFixed(1),
    qemu_cpu_percent_idle: idle,
    raw_word_pingpong: raw,
    echo_rtt_16B: rtt16,
    echo_rtt_496B: rtt496,
    throughput_16B: tput16,
    throughput_496B: tput496,
    rpmsg_rtt_over_raw: +(rtt16.median_us / raw.median_us).toFixed(1),
  };
  await q.close();
}
console.log(
  JSON.stringify(
    {
      bench: "qemu mps2-an386 <-> @amp host",
      N,
      seconds: SECONDS,
      node: process.version,
      loadavg_at_start: load,
      results,
    },
    null,
    2,
  ),
);
for (const [mode, r] of Object.entries(results)) {
  console.log(
    `QemuRemote/${mode}: boot->NS ${r.boot_to_ns_ms_median} ms | QEMU idle ${r.qemu_cpu_percent_idle}% CPU | raw word RTT median ${r.raw_word_pingpong.median_us} us (ceiling) | ` +
      `echo 16B median ${r.echo_rtt_16B.median_us} us p99 ${r.echo_rtt_16B.p99_us} us (${r.rpmsg_rtt_over_raw}x raw) | ` +
      `echo 496B median ${r.echo_rtt_496B.median_us} us | ${r.throughput_16B.msgs_per_s} msgs/s (16B), ${r.throughput_496B.msgs_per_s} msgs/s = ${r.throughput_496B.MB_per_s} MB/s (496B)`,
  );
}
