#!/usr/bin/env node
// `pnpm bench:openamp`: OpenAMP's C and @amp side by side, measured in one run.
//
//   1. builds OpenAMP 1.10 natively from the pinned sources and our C benchmark program
//      (scripts/peers/build-openamp-bench.sh; tools/peers/openamp-bench/openamp-bench.c) and
//      @amp/rpmsg (turbo build);
//   2. runs the two case by case, C and @amp back to back for each case (which goes first
//      alternates by round; AMP_BENCH_ROUNDS rounds, default 3), each a child of this process: the
//      C program (host and remote on two pinned threads, `--case`, after its bare-word ceilings,
//      `--raw`) and @amp's own packages/rpmsg/bench/run.mjs (host on the main thread, remote in a
//      worker, pinned to the same two cpus, with the raw SharedArrayBuffer ceilings measured
//      before the case; AMP_BENCH_ONLY), under --trace-gc; three wait modes: poll, bell (sleep on
//      the doorbell) and spin (look for a ring for AMP_BENCH_SPIN_US, then sleep);
//   3. prints, per case, the median over the rounds of both figures, the median of the rounds'
//      ratios, the p99s and the ceilings, and writes bench-results/openamp-vs-amp.json (every
//      round's raw figures too).
//
// A C side that cannot be built (or a run that fails) ends this script with a non-zero status and
// the failing step: there is no silent skip. Message counts follow AMP_BENCH_RTT, AMP_BENCH_TPUT,
// AMP_BENCH_WARMUP and AMP_BENCH_TPUT_WARMUP, passed to both sides. Not a test: timings only here.
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import console from "node:console";
import process from "node:process";
import { cpus, loadavg } from "node:os";
import { ensurePnpmOnPath, root } from "./pnpm-path.mjs";

const ROUNDS = Number(process.env.AMP_BENCH_ROUNDS ?? 3);
const RTT = process.env.AMP_BENCH_RTT ?? "3000";
const TPUT = process.env.AMP_BENCH_TPUT ?? "400000";
// Untimed echo round trips and one-way messages before each case, on both sides (the @amp side
// needs them to be JIT-compiled: packages/rpmsg/bench/run.mjs says how much).
const WARMUP = process.env.AMP_BENCH_WARMUP ?? "20000";
const TPUT_WARMUP = process.env.AMP_BENCH_TPUT_WARMUP ?? "200000";
const SIZES = [16, 64, 256, 496];
// AMP_BENCH_BEFORE: the packages/rpmsg directory of an earlier @amp build (its own bench and dist,
// e.g. unpacked from `git archive`), run in every round too, for a before/after column.
const BEFORE = process.env.AMP_BENCH_BEFORE;
// AMP_BENCH_SPIN_US: the "spin" mode's budget, the same on both sides: a waiter looks for a ring
// this long before it sleeps on its doorbell (C: --spin-us; @amp: AtomicsDoorbell's `spin`).
const SPIN_US = process.env.AMP_BENCH_SPIN_US ?? "20";
// AMP_BENCH_CPUS "A,B" (default 0,1): both sides run their host thread on cpu A and their remote
// thread on cpu B; "none" leaves all four to the scheduler (the doorbell modes then depend on
// whether the two threads share a cpu: a wake-up on the same cpu costs a fifth of one on the other).
const CPUS = process.env.AMP_BENCH_CPUS ?? "0,1";
if (CPUS !== "none" && !/^\d+,\d+$/.test(CPUS)) fail("read AMP_BENCH_CPUS", `"${CPUS}" is neither A,B nor none`);
const C_CPUS = CPUS === "none" ? "-1,-1" : CPUS;
// Round trips of the C side's bare-word ceilings (--raw), measured right before each C case.
const RAW_N = "20000";
const WAITS = [
  ["poll", "busy"],
  ["bell", "bell"],
  ["spin", "spin"],
]; // [C name, @amp name] of the same wait mode
const CHILD_TIMEOUT_MS = 10 * 60 * 1000;

function fail(step, detail) {
  console.error(`\nbench:openamp FAILED at step: ${step}\n${detail ?? ""}`);
  console.error(
    "The OpenAMP side is required: fix the step above (scripts/install-system-deps.sh installs what the C build needs).",
  );
  process.exit(1);
}

/** Runs a child with a hard timeout; its stderr goes to ours, its stdout is returned. */
function run(step, cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, {
    cwd: root,
    encoding: "utf8",
    maxBuffer: 1 << 28,
    timeout: CHILD_TIMEOUT_MS,
    killSignal: "SIGKILL",
    stdio: ["ignore", "pipe", "inherit"],
    ...opts,
  });
  if (r.error !== undefined) fail(step, String(r.error));
  if (r.status !== 0)
    fail(step, `${cmd} ${args.join(" ")} exited with ${r.status ?? r.signal}\n${(r.stdout ?? "").slice(-2000)}`);
  return r.stdout;
}

// ---- build --------------------------------------------------------------------------------
ensurePnpmOnPath();
process.stderr.write("bench:openamp: building OpenAMP and the C benchmark (cached)\n");
let t0 = Date.now();
const cBench = run(
  "build the C side (scripts/peers/build-openamp-bench.sh)",
  join(root, "scripts/peers/build-openamp-bench.sh"),
  [],
)
  .trim()
  .split("\n")
  .pop();
const cBuildSecs = (Date.now() - t0) / 1000;
process.stderr.write("bench:openamp: building @amp/rpmsg\n");
// AMP_BENCH_NO_BUILD=1: use the dist already built (e.g. while another package's edit breaks turbo).
if (process.env.AMP_BENCH_NO_BUILD !== "1")
  run(
    "build @amp/rpmsg (turbo run build --filter=@amp/rpmsg)",
    "turbo",
    ["run", "build", "--filter=@amp/rpmsg", "--output-logs=errors-only"],
    { stdio: ["ignore", "inherit", "inherit"] },
  );

// ---- interleaved rounds ---------------------------------------------------------------------
// Spinning benchmarks on a shared machine measure the other work too: the load around the run is
// recorded and a busy machine is called out next to the figures.
const loadBefore = loadavg()[0];
// The machine's cross-core latency is not constant (a shared VM's two vCPUs land on cores that
// share a cache, or not, and that changes within minutes: the raw ping-pong moves between 0.2
// and 0.55 µs): the two sides of every figure are therefore measured case by case, C and @amp
// back to back (which goes first alternates by round), and each ratio is the median of the
// rounds' own ratios.
const caseList = [];
for (const [cWait, ampWait] of WAITS)
  for (const size of SIZES) for (const zeroCopy of [false, true]) caseList.push({ cWait, ampWait, size, zeroCopy });
const ampTag = (k) => `^${k.ampWait}/${k.zeroCopy ? "zero-copy" : "copy"}/${k.size}$`;
/** One case (or the allocation runs, with only = "^alloc$") of an @amp bench build. */
function runAmp(step, dir, only, extraEnv = {}) {
  const out = run(step, process.execPath, ["--trace-gc", join(dir, "bench/run.mjs")], {
    env: {
      ...process.env,
      AMP_BENCH_RTT: RTT,
      AMP_BENCH_TPUT: TPUT,
      AMP_BENCH_WARMUP: WARMUP,
      AMP_BENCH_TPUT_WARMUP: TPUT_WARMUP,
      AMP_BENCH_ONLY: only,
      AMP_BENCH_ALLOC: "0",
      AMP_BENCH_SPIN_US: SPIN_US,
      AMP_BENCH_CPUS: CPUS,
      ...extraEnv,
    },
  });
  return { r: JSON.parse(readFileSync(join(dir, "bench-results/rpmsg.json"), "utf8")), out };
}
const rounds = [];
for (let round = 1; round <= ROUNDS; round++) {
  process.stderr.write(`bench:openamp: round ${round}/${ROUNDS}, case by case (OpenAMP C and @amp back to back)\n`);
  const r = { c: undefined, cSecs: 0, amp: undefined, ampSecs: 0, gc: { kinds: {}, total: 0, isolates: 0 } };
  if (BEFORE !== undefined) r.before = { rtt: [], throughput: [] };
  const cFirst = round % 2 === 1;
  for (const k of caseList) {
    const steps = [
      () => {
        const t = Date.now();
        const args = [
          "--rtt",
          RTT,
          "--tput",
          TPUT,
          "--warmup",
          WARMUP,
          "--tput-warmup",
          TPUT_WARMUP,
          "--case",
          `${k.cWait},${k.size},${k.zeroCopy ? 1 : 0}`,
          "--spin-us",
          SPIN_US,
        ];
        args.push("--cpus", C_CPUS);
        const rawArgs = ["--raw", RAW_N, "--cpus", C_CPUS];
        const raw = JSON.parse(run(`round ${round}: run ${cBench} ${rawArgs.join(" ")}`, cBench, rawArgs));
        const c = JSON.parse(run(`round ${round}: run ${cBench} ${args.join(" ")}`, cBench, args));
        r.cSecs += (Date.now() - t) / 1000;
        if (c.cases.length !== 1) fail(`round ${round}: ${cBench}`, `--case gave ${c.cases.length} cases`);
        if (r.c === undefined) r.c = { ...c, cases: [] };
        r.c.cases.push({ ...c.cases[0], raw });
      },
      () => {
        const t = Date.now();
        const { r: a, out } = runAmp(
          `round ${round}: packages/rpmsg/bench/run.mjs ${ampTag(k)}`,
          join(root, "packages/rpmsg"),
          ampTag(k),
        );
        r.ampSecs += (Date.now() - t) / 1000;
        if (r.amp === undefined) r.amp = { ...a, rtt: [], throughput: [], alloc: [] };
        r.amp.rtt.push(...a.rtt);
        r.amp.throughput.push(...a.throughput);
        addGc(r.gc, gcCounts(out));
      },
    ];
    if (!cFirst) steps.reverse();
    process.stderr.write(
      `  ${k.cWait}/${k.zeroCopy ? "zero-copy" : "copy"}/${k.size} (${cFirst ? "C first" : "@amp first"})\n`,
    );
    for (const step of steps) step();
    if (BEFORE !== undefined) {
      const { r: b } = runAmp(`round ${round}: ${BEFORE}/bench/run.mjs ${ampTag(k)}`, BEFORE, ampTag(k));
      r.before.rtt.push(...b.rtt);
      r.before.throughput.push(...b.throughput);
    }
  }
  // The allocation runs (10^6 messages per case) are counted per role in the first round only.
  if (round === 1 && process.env.AMP_BENCH_ALLOC !== "0") {
    process.stderr.write("  @amp allocation runs\n");
    const { r: a } = runAmp(
      "round 1: allocation runs (packages/rpmsg/bench/run.mjs)",
      join(root, "packages/rpmsg"),
      "^alloc$",
      {
        AMP_BENCH_ALLOC: process.env.AMP_BENCH_ALLOC ?? "1000000",
      },
    );
    r.amp.alloc = a.alloc;
  }
  rounds.push(r);
}

/** Adds one process's GC counts to a round's. */
function addGc(into, g) {
  for (const [kind, n] of Object.entries(g.kinds)) into.kinds[kind] = (into.kinds[kind] ?? 0) + n;
  into.total += g.total;
  into.isolates += g.isolates;
}

/** Counts --trace-gc lines per kind and per isolate (the main thread and each worker). */
function gcCounts(out) {
  const kinds = {};
  const isolates = new Set();
  for (const line of out.split("\n")) {
    const m = /^\[\d+:(0x[0-9a-f]+)\]\s+[\d.]+ ms: ([A-Za-z -]+?)(?: \(|\s+[\d.]+ \()/.exec(line);
    if (m === null) continue;
    isolates.add(m[1]);
    kinds[m[2]] = (kinds[m[2]] ?? 0) + 1;
  }
  return { kinds, total: Object.values(kinds).reduce((a, b) => a + b, 0), isolates: isolates.size };
}

// ---- medians --------------------------------------------------------------------------------
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};
const cCase = (r, wait, size, zc) => r.c.cases.find((x) => x.wait === wait && x.size === size && x.zeroCopy === zc);
const ampRtt = (r, wait, size, zc) => r.amp.rtt.find((x) => x.wait === wait && x.size === size && x.zeroCopy === zc);
const ampTput = (r, wait, size, zc) =>
  r.amp.throughput.find((x) => x.wait === wait && x.size === size && x.zeroCopy === zc);
const pick = (get, field) =>
  median(
    rounds.map((r) => {
      const x = get(r);
      if (x === undefined) fail("read results", "a case is missing from a result file");
      return x[field];
    }),
  );

const cases = [];
for (const [cWait, ampWait] of WAITS) {
  for (const size of SIZES) {
    for (const zeroCopy of [false, true]) {
      cases.push({
        wait: cWait,
        size,
        zeroCopy,
        oneWay: {
          ...(BEFORE === undefined
            ? {}
            : { beforeMsgsPerSec: pick((r) => ampTput({ amp: r.before }, ampWait, size, zeroCopy), "msgsPerSec") }),
          openampMsgsPerSec: pick((r) => cCase(r, cWait, size, zeroCopy), "msgsPerSec"),
          ampMsgsPerSec: pick((r) => ampTput(r, ampWait, size, zeroCopy), "msgsPerSec"),
          rawRingMsgsPerSec: pick((r) => ampTput(r, ampWait, size, zeroCopy), "rawRingMsgsPerSec"),
        },
        echo: {
          ...(BEFORE === undefined
            ? {}
            : { beforeMedianUs: pick((r) => ampRtt({ amp: r.before }, ampWait, size, zeroCopy), "medianUs") }),
          openampMedianUs: pick((r) => cCase(r, cWait, size, zeroCopy), "rttMedianUs"),
          openampP99Us: pick((r) => cCase(r, cWait, size, zeroCopy), "rttP99Us"),
          ampMedianUs: pick((r) => ampRtt(r, ampWait, size, zeroCopy), "medianUs"),
          ampP99Us: pick((r) => ampRtt(r, ampWait, size, zeroCopy), "p99Us"),
          rawPingPongMedianUs: pick((r) => ampRtt(r, ampWait, size, zeroCopy), "rawPingPongMedianUs"),
          // The C side's bare word between its two threads: through the futex doorbell for the
          // bell mode, spinning otherwise (a 20 µs spin never sleeps on a bare bounce).
          openampRawPingPongMedianUs: median(
            rounds.map((r) => {
              const raw = cCase(r, cWait, size, zeroCopy).raw;
              return cWait === "bell" ? raw.futexPingPongMedianUs : raw.spinPingPongMedianUs;
            }),
          ),
        },
      });
    }
  }
}
// Each ratio is the median of the rounds' own ratios (both figures of a round measured together).
const WAIT_OF = Object.fromEntries(WAITS);
for (const k of cases) {
  const aw = WAIT_OF[k.wait];
  k.oneWay.ratio = median(
    rounds.map((r) => ampTput(r, aw, k.size, k.zeroCopy).msgsPerSec / cCase(r, k.wait, k.size, k.zeroCopy).msgsPerSec),
  );
  k.echo.ratio = median(
    rounds.map((r) => ampRtt(r, aw, k.size, k.zeroCopy).medianUs / cCase(r, k.wait, k.size, k.zeroCopy).rttMedianUs),
  ); // > 1: @amp slower
}
// The wake-up and hand-off ceilings of the two languages, between the same two threads: every
// round's per-case measurements, pooled.
const cRaws = rounds.flatMap((r) => r.c.cases.map((x) => x.raw));
const ampRaws = (wait) =>
  rounds.flatMap((r) => r.amp.rtt.filter((x) => x.wait === wait).map((x) => x.rawPingPongMedianUs));
const wakeCeilings = {
  openampFutexPingPongMedianUs: median(cRaws.map((x) => x.futexPingPongMedianUs)),
  ampAtomicsWaitPingPongMedianUs: median(ampRaws("bell")),
  openampSpinPingPongMedianUs: median(cRaws.map((x) => x.spinPingPongMedianUs)),
  ampSpinPingPongMedianUs: median(ampRaws("busy")),
};
const loadAfter = loadavg()[0];
const memcpyMBps = median(rounds.map((r) => r.amp.ceilings.memcpy.MBps));
const ampMessages =
  rounds[0].amp.rtt.length * 2 * (Number(RTT) + Number(WARMUP)) +
  rounds[0].amp.throughput.length * (Number(TPUT) + Number(TPUT_WARMUP));
const gc = {
  perRound: rounds.map((r) => r.gc),
  messagesPerRound: ampMessages,
  note: "--trace-gc lines over a whole @amp bench process (main thread and every worker, set-up included); messagesPerRound counts each echo as two",
};
const result = {
  date: new Date().toISOString(),
  node: process.version,
  openamp: rounds[0].c.openamp,
  rounds: ROUNDS,
  counts: { rtt: Number(RTT), oneWay: Number(TPUT), warmup: Number(WARMUP), oneWayWarmup: Number(TPUT_WARMUP) },
  cBuildSecs,
  machine: { cpus: cpus().length, loadavg1Before: loadBefore, loadavg1After: loadAfter },
  spinUs: Number(SPIN_US),
  cpus: CPUS,
  ceilings: { memcpyMBps, ...wakeCeilings },
  cases,
  gc,
  raw: rounds,
};
mkdirSync(join(root, "bench-results"), { recursive: true });
writeFileSync(join(root, "bench-results/openamp-vs-amp.json"), JSON.stringify(result, null, 2));

// ---- tables -----------------------------------------------------------------------------------
const f = (x, d = 2) => x.toFixed(d);
const M = (x) => `${f(x / 1e6)} M`;
const times = (r) => (r >= 1 ? `${f(r)}× slower` : `${f(1 / r)}× faster`);
const label = (k) => `${k.wait}, ${k.zeroCopy ? "zero-copy" : "copy"}, ${k.size} B`;
console.log(
  `\nOpenAMP ${result.openamp} (C, two pinned threads) vs @amp (main thread + worker), ${process.version}; medians of ${ROUNDS} rounds, C and @amp back to back per case`,
);
console.log(
  `counts: echo ${RTT} round trips after ${WARMUP} untimed, one-way ${TPUT} messages after ${TPUT_WARMUP} untimed; 256-entry vrings, 512-byte buffers`,
);
console.log(
  `machine: ${cpus().length} cpus, 1-min load average ${f(loadBefore)} before the rounds, ${f(loadAfter)} after (the bench itself adds about 2)`,
);
if (loadBefore > 0.5)
  console.log(
    "WARNING: the machine was busy before the run started; spinning figures and their ratios are unreliable (rerun on an idle machine)",
  );
console.log(`memcpy ceiling (64 KiB Uint8Array.set): ${f(memcpyMBps / 1000)} GB/s`);
const w = wakeCeilings;
console.log(
  `bare-word round trip between the two threads (medians of every case's): spinning C ${f(w.openampSpinPingPongMedianUs)} µs, JS ${f(w.ampSpinPingPongMedianUs)} µs; sleeping C futex ${f(w.openampFutexPingPongMedianUs)} µs, JS Atomics.wait/notify ${f(w.ampAtomicsWaitPingPongMedianUs)} µs (${f(w.ampAtomicsWaitPingPongMedianUs / w.openampFutexPingPongMedianUs)}×)`,
);
console.log(
  `threads: ${CPUS === "none" ? "unpinned on both sides" : `host on cpu ${CPUS.split(",")[0]}, remote on cpu ${CPUS.split(",")[1]}, on both sides`}; spin mode: a waiter looks for a ring for ${SPIN_US} µs before it sleeps, on both sides\n`,
);
const bh = BEFORE === undefined ? ["", ""] : [" @amp before msg/s | before / C |", "---:|---:|"];
console.log(`| one-way | OpenAMP C msg/s |${bh[0]} @amp msg/s | ratio (≥ 1: @amp ahead) | raw SAB ring msg/s |`);
console.log(`|---|---:|${bh[1]}---:|---:|---:|`);
const bOne = (k) =>
  BEFORE === undefined
    ? ""
    : ` ${M(k.oneWay.beforeMsgsPerSec)} | ${f(k.oneWay.beforeMsgsPerSec / k.oneWay.openampMsgsPerSec)} |`;
for (const k of cases)
  console.log(
    `| ${label(k)} | ${M(k.oneWay.openampMsgsPerSec)} |${bOne(k)} ${M(k.oneWay.ampMsgsPerSec)} | ${f(k.oneWay.ratio)} | ${M(k.oneWay.rawRingMsgsPerSec)} |`,
  );
const be = BEFORE === undefined ? ["", ""] : [" @amp before p50 µs | before vs C |", "---:|---:|"];
console.log(
  `\n| echo round trip | OpenAMP C p50 µs |${be[0]} @amp p50 µs | @amp vs C (p50) | OpenAMP C p99 µs | @amp p99 µs | C bare word p50 µs | JS bare word p50 µs |`,
);
console.log(`|---|---:|${be[1]}---:|---:|---:|---:|---:|---:|`);
const bEcho = (k) =>
  BEFORE === undefined
    ? ""
    : ` ${f(k.echo.beforeMedianUs)} | ${times(k.echo.beforeMedianUs / k.echo.openampMedianUs)} |`;
for (const k of cases)
  console.log(
    `| ${label(k)} | ${f(k.echo.openampMedianUs)} |${bEcho(k)} ${f(k.echo.ampMedianUs)} | ${times(k.echo.ratio)} | ${f(k.echo.openampP99Us)} | ${f(k.echo.ampP99Us)} | ${f(k.echo.openampRawPingPongMedianUs)} | ${f(k.echo.rawPingPongMedianUs)} |`,
  );
const alloc = rounds[0].amp.alloc ?? [];
if (alloc.length > 0) {
  console.log(
    "\n| @amp allocation run (round 1; busy poll, 16 B) | messages | host scavenges | per 10^6 msgs | host heap growth | remote scavenges | per 10^6 msgs |",
  );
  console.log("|---|---:|---:|---:|---:|---:|---:|");
  for (const a of alloc)
    console.log(
      `| ${a.kind} ${a.zeroCopy === "handle" ? "zero-copy handle" : a.zeroCopy ? "zero-copy" : "copy"} | ${a.messages} | ${a.host.minor} | ${f(a.host.scavengesPer1e6, 1)} | ${f(a.host.heapGrowthBytes / 1024, 1)} KiB | ${a.remote.minor} | ${f(a.remote.scavengesPer1e6, 1)} |`,
    );
}
console.log(
  `\n@amp GC over each bench process (${ampMessages} messages, set-up included): ${rounds
    .map(
      (r) =>
        `${r.gc.total} (${Object.entries(r.gc.kinds)
          .map(([k, v]) => `${k} ${v}`)
          .join(", ")})`,
    )
    .join("; ")}`,
);
console.log(
  `run time per round: C ${rounds.map((r) => f(r.cSecs, 1)).join("/")} s, @amp ${rounds.map((r) => f(r.ampSecs, 1)).join("/")} s; written: bench-results/openamp-vs-amp.json`,
);
