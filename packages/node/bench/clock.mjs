/* global performance, URL */
// Measurement (not a test): how well the host knows a remote's clock. Two remotes:
// - a worker-thread remote whose clock is the host's wall clock shifted by +12.345 s and running
//   200 ppm fast (test/fixtures/clock-firmware.ts): the truth is known, so the error of the
//   estimate (estimate − truth) is printed beside the bound the estimator reports;
// - the QEMU C firmware (firmware/qemu, clock.c on the CMSDK timer): no truth to compare with,
//   so the bound, the round trip, the drift against the host and where the clock's zero lies.
// Run: (cd ../rpmsg && npx tsc -p tsconfig.build.json) && npx tsc -p tsconfig.build.json && node bench/clock.mjs
// AMP_CLOCK_SECONDS (default 10) per remote, AMP_CLOCK_INTERVAL_MS (default 100) between exchanges.
import { build } from "esbuild";
import { execFileSync } from "node:child_process";
import console from "node:console";
import { readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { dirname, join } from "node:path";
import process from "node:process";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { createMemoryFirmwareSource } from "@amp/remoteproc-core";
import { buildJsFirmware, createQemuRemoteproc, createTimeline, createWorkerRemote } from "@amp/node";

const SECONDS = Number(process.env.AMP_CLOCK_SECONDS ?? 10);
const INTERVAL_MS = Number(process.env.AMP_CLOCK_INTERVAL_MS ?? 100);
const OFFSET_US = 12_345_000;
const DRIFT_PPM = 200;
const pkg = join(dirname(fileURLToPath(import.meta.url)), "..");
const hostNow = () => performance.timeOrigin + performance.now();
const us = (ms) => `${(ms * 1000).toFixed(1)} µs`;
const clockOptions = { burst: 16, burstIntervalMs: 2, intervalMs: INTERVAL_MS };

async function follow(timeline, label, truthMs) {
  const sync = timeline.clock();
  console.log(`| ${label} t (s) | samples | rtt min | offset est − truth | bound | drift (ppm) |`);
  console.log("|---|---|---|---|---|---|");
  const worst = { err: 0, ratio: 0 };
  for (let s = 1; s <= SECONDS; s++) {
    await sleep(1000);
    const e = sync.estimate;
    const err = truthMs === undefined ? undefined : e.offsetMs - truthMs(e.atMs);
    if (err !== undefined) {
      worst.err = Math.max(worst.err, Math.abs(err));
      worst.ratio = Math.max(worst.ratio, Math.abs(err) / e.errorMs);
    }
    console.log(
      `| ${s} | ${e.samples}/${e.collected} | ${us(e.rttMs)} | ${err === undefined ? "(unknown)" : us(err)} | ±${us(e.errorMs)} | ${e.driftPpm.toFixed(1)} ± ${e.driftErrorPpm.toFixed(1)} |`,
    );
  }
  console.log(`stats ${JSON.stringify(sync.stats)}`);
  return { estimate: sync.estimate, worst };
}

async function worker() {
  const fixture = fileURLToPath(new URL("../test/fixtures/clock-firmware.ts", import.meta.url));
  const bundled = await build({
    entryPoints: [fixture],
    bundle: true,
    write: false,
    format: "esm",
    platform: "neutral",
    target: "es2020",
    mainFields: ["module", "main"],
    logLevel: "silent",
  });
  const program = `globalThis.__AMP_CLOCK_SKEW__ = ${JSON.stringify({ offsetUs: OFFSET_US, driftPpm: DRIFT_PPM })};\n${bundled.outputFiles[0].text}`;
  const elf = buildJsFirmware({
    program,
    resourceTable: {
      entries: [
        {
          kind: "vdev",
          id: 7,
          dfeatures: 1,
          vrings: [
            { align: 4096, num: 16 },
            { align: 4096, num: 16 },
          ],
        },
        { kind: "trace", da: 0xffffffff, len: 4096, name: "trace" },
      ],
    },
  });
  const remote = createWorkerRemote({
    firmware: "clock.elf",
    firmwareSource: createMemoryFirmwareSource({ "clock.elf": elf }),
  });
  const timeline = createTimeline(remote, { clock: clockOptions });
  try {
    await remote.rproc.boot();
    await timeline.whenSynced({ timeoutMs: 15_000 });
    const origin = Number(/clock: origin (\d+)/.exec(remote.rproc.traces[0].readText())?.[1]);
    const rate = 1 + DRIFT_PPM * 1e-6;
    const truth = (h) => (OFFSET_US + (h * 1000 - origin) * rate) / 1000 - h;
    console.log(
      `\nworker remote: clock = host + ${OFFSET_US / 1e6} s, ${DRIFT_PPM} ppm fast; exchange every ${INTERVAL_MS} ms`,
    );
    const { estimate, worst } = await follow(timeline, "worker", truth);
    console.log(
      `worker: final offset error ${us(estimate.offsetMs - truth(estimate.atMs))} (bound ±${us(estimate.errorMs)}), drift ${estimate.driftPpm.toFixed(2)} ppm (true ${DRIFT_PPM}, bound ±${estimate.driftErrorPpm.toFixed(2)}); worst |error| over the run ${us(worst.err)}, worst |error|/bound ${worst.ratio.toFixed(2)}`,
    );
  } finally {
    timeline.close();
    await remote.close();
  }
}

async function qemu() {
  try {
    execFileSync("sh", ["-c", "command -v qemu-system-arm && command -v arm-none-eabi-gcc"], { stdio: "ignore" });
  } catch {
    console.log("\nqemu remote: skipped (qemu-system-arm or arm-none-eabi-gcc missing)");
    return;
  }
  const elf = readFileSync(
    execFileSync("sh", [join(pkg, "firmware/qemu/build.sh"), join(pkg, "fixtures-build/qemu")], {
      encoding: "utf8",
    }).trim(),
  );
  const q = createQemuRemoteproc({ firmware: elf, doorbell: "irq" });
  const timeline = createTimeline(q, { clock: clockOptions });
  try {
    const before = hostNow();
    await q.rproc.boot();
    const after = hostNow();
    await timeline.whenSynced({ timeoutMs: 15_000 });
    console.log(
      `\nqemu remote (mps2-an386, irq doorbell): firmware clock = CMSDK timer 0 at 25 MHz; exchange every ${INTERVAL_MS} ms`,
    );
    const { estimate } = await follow(timeline, "qemu", undefined);
    const zero = timeline.toHostTime(0);
    console.log(
      `qemu: offset ${estimate.offsetMs.toFixed(3)} ms ±${us(estimate.errorMs)}, drift ${estimate.driftPpm.toFixed(2)} ± ${estimate.driftErrorPpm.toFixed(2)} ppm, min rtt ${us(estimate.rttMs)}; the firmware clock read 0 at host ${(zero.hostMs - before).toFixed(3)} ms after boot() began (±${us(zero.errorMs)}; boot() took ${(after - before).toFixed(1)} ms)`,
    );
  } finally {
    timeline.close();
    await q.close();
  }
}

console.log(
  `node ${process.version}, load average ${loadavg()
    .map((x) => x.toFixed(2))
    .join(" ")}`,
);
await worker();
await qemu();
