// amp demo: the whole life cycle on a simulated processor, with the bundled echo firmware:
// boot, name-service announcement, an echo exchange with statistics, live trace, devices the
// remote lends over rpmsg (an I2C temperature sensor and GPIO lines, @amp/virtual-io), an
// injected crash with automatic recovery and a coredump, a clean shutdown. Every number is
// measured. Two demos at once never share a coredump file: by default each writes into a new
// directory of its own under the temp directory; --json gives the same story as JSON lines.
import { existsSync, mkdtempSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { findResourceTable, parseElf } from "@amp/elf-loader";
import { parseResourceTable } from "@amp/resource-table";
import type { RpmsgEndpoint, RpmsgHost } from "@amp/rpmsg";
import {
  GpioClient,
  I2cClient,
  TempSensorReg,
  connectOverRpmsg,
  decodeTemperature,
  type RpmsgChannel,
} from "@amp/virtual-io";
import { flag, numberOption, stringOption, type Command } from "../internal/command.js";
import { CliError } from "../internal/cli-error.js";
import { readInput, resolvePath } from "../internal/files.js";
import type { CliIo } from "../internal/io.js";
import { hex } from "../internal/format.js";
import { createWorkerSessionRemote, sessionOut, startSession, type Session } from "../internal/session.js";
import { bootError } from "./run.js";
import { startSessionUi } from "../ui/live.js";

const SERVICE = "rpmsg-amp-echo";
const TIMEOUT_MS = 15_000;
/**
 * Echoes sent before the measured run, reported on their own. Both threads run the rpmsg path
 * unoptimised at first: for a few thousand round trips V8 compiles it in the background and
 * collects the young heap often, which on two cores delays wake-ups by milliseconds (a 20-message
 * warm-up put 2-3% of the measured round trips above 1 ms). 2500 reach the steady state.
 */
const WARMUP = 2500;
/** Round trips above this count as the tail in the statistics line. */
const SLOW_MS = 1;
/** What the bundled firmware lends (firmware/echo.ts). */
const I2C_SERVICE = "amp-i2c";
const GPIO_SERVICE = "amp-gpio";
const SENSOR_ADDRESS = 0x48;
const LED_NAME = "led0";

/** The example firmware built with the package (dist/firmware/echo.elf). */
function bundledFirmware(): string {
  return fileURLToPath(new URL("../firmware/echo.elf", import.meta.url));
}

/**
 * Where this demo's coredump goes. Default: a directory made for this run under the temp
 * directory (mkdtemp: unique even when two demos start in the same millisecond). A directory
 * given with --coredump gets a file named after this process and the time; a file path is
 * taken as it is.
 */
function coredumpPath(io: CliIo, given: string | undefined): string {
  if (given === undefined) return join(mkdtempSync(join(tmpdir(), `amp-demo-${process.pid}-`)), "demo.core");
  const path = resolvePath(io, given);
  if (statSync(path, { throwIfNoEntry: false })?.isDirectory() === true)
    return join(path, `amp-demo-${process.pid}-${Date.now()}.core`);
  return path;
}

/** Set by `demo()`: Ctrl-C ends every wait of the demo at once. */
let interrupt: AbortSignal | undefined;

/**
 * `promise`, or `error` after `ms`, or an "interrupted" error on Ctrl-C; the timer never
 * outlives the race (the process exits promptly).
 */
async function within<T>(promise: Promise<T>, ms: number, error: () => Error): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort: (() => void) | undefined;
  const signal = interrupt;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          reject(error());
        }, ms);
        onAbort = () => {
          reject(new CliError("interrupted", "The demo stopped the remote and exits.", 130));
        };
        if (signal?.aborted === true) onAbort();
        else signal?.addEventListener("abort", onAbort, { once: true });
      }),
    ]);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    if (onAbort !== undefined) signal?.removeEventListener("abort", onAbort);
  }
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] ?? NaN;
}

function us(ms: number): string {
  return `${Math.round(ms * 1000)} µs`;
}

/** Sends `count` messages of `size` bytes one at a time, checks every echo, returns RTTs in ms. */
async function echoRun(ep: RpmsgEndpoint, count: number, size: number): Promise<number[]> {
  const rtts: number[] = [];
  const it = ep.messages();
  const payload = new Uint8Array(size);
  for (let i = 0; i < count; i++) {
    for (let j = 0; j < size; j++) payload[j] = (i * 31 + j) & 0xff;
    const t = performance.now();
    await within(
      ep.send(payload, { timeoutMs: TIMEOUT_MS }),
      TIMEOUT_MS,
      () =>
        new CliError(
          `message ${i + 1} could not be sent`,
          "The remote stopped taking messages: rerun with AMP_DEBUG=1.",
        ),
    );
    const next = await within(
      it.next(),
      TIMEOUT_MS,
      () =>
        new CliError(
          `no echo for message ${i + 1} within ${TIMEOUT_MS} ms`,
          "The remote stopped answering: rerun with AMP_DEBUG=1.",
        ),
    );
    rtts.push(performance.now() - t);
    if (next.done === true)
      throw new CliError("the echo channel closed during the exchange", "The remote went away: rerun the demo.");
    const got = next.value.data;
    if (got.length !== size || got.some((b, j) => b !== ((i * 31 + j) & 0xff))) {
      throw new CliError(
        `echo ${i + 1} came back different from what was sent`,
        "This is a bug in the rpmsg path: report it.",
      );
    }
  }
  return rtts;
}

/** Whole microseconds, for JSON. */
function usInt(ms: number): number {
  return Math.round(ms * 1000);
}

/** A measured echo run: one line of text, the same numbers as JSON fields. */
function reportStats(
  session: Session,
  phase: "boot" | "recovery",
  rtts: number[],
  size: number,
  seconds: number,
): void {
  const sorted = [...rtts].sort((a, b) => a - b);
  const median = percentile(sorted, 50);
  const p90 = percentile(sorted, 90);
  const p99 = percentile(sorted, 99);
  const max = sorted[sorted.length - 1] ?? NaN;
  const text = `${rtts.length} messages of ${size} bytes echoed and verified in ${seconds.toFixed(2)} s: round trip median ${us(median)}, p90 ${us(p90)}, p99 ${us(p99)}, max ${us(max)}`;
  session.out.emit("echo", `${phase === "recovery" ? "after recovery: " : ""}${text}`, "echo", {
    phase,
    messages: rtts.length,
    size,
    seconds: Math.round(seconds * 1000) / 1000,
    rttUs: { median: usInt(median), p90: usInt(p90), p99: usInt(p99), max: usInt(max) },
  });
}

/** Where the slow round trips are: how many, and at which message numbers (1-based). */
function reportTail(session: Session, rtts: number[]): void {
  const slow: number[] = [];
  rtts.forEach((r, i) => {
    if (r > SLOW_MS) slow.push(i + 1);
  });
  let worst = 0;
  rtts.forEach((r, i) => {
    if (r > (rtts[worst] ?? 0)) worst = i;
  });
  const fields = {
    thresholdMs: SLOW_MS,
    slow: slow.length,
    messages: rtts.length,
    first: slow[0] ?? null,
    last: slow[slow.length - 1] ?? null,
    slowest: rtts.length === 0 ? null : worst + 1,
  };
  if (slow.length === 0) {
    session.out.emit("echo", `no round trip above ${SLOW_MS} ms`, "echo-tail", fields);
    return;
  }
  session.out.emit(
    "echo",
    `${slow.length} of ${rtts.length} round trips above ${SLOW_MS} ms, from #${slow[0] ?? 0} to #${slow[slow.length - 1] ?? 0}, slowest #${worst + 1}; ` +
      "host and remote are threads sharing this machine's CPUs, so the tail includes OS scheduling, garbage collection and JIT compilation",
    "echo-tail",
    fields,
  );
}

/** The warm-up exchange, reported apart from the measured run. */
async function warmUp(session: Session, ep: RpmsgEndpoint, size: number, phase: "boot" | "recovery"): Promise<void> {
  const rtts = await echoRun(ep, WARMUP, size);
  const first = rtts[0] ?? NaN;
  const slowest = Math.max(...rtts);
  session.out.emit(
    "echo",
    `${phase === "recovery" ? "after recovery: " : ""}warm-up: ${rtts.length} messages, first round trip ${us(first)}, slowest ${us(slowest)} (not in the statistics below)`,
    "warmup",
    {
      phase,
      messages: rtts.length,
      size,
      firstUs: usInt(first),
      slowestUs: usInt(slowest),
    },
  );
}

/** `promise`, with a CliError naming `what` after TIMEOUT_MS. */
function step<T>(promise: Promise<T>, what: string): Promise<T> {
  return within(
    promise,
    TIMEOUT_MS,
    () =>
      new CliError(
        `${what} did not finish within ${TIMEOUT_MS} ms`,
        "The remote stopped answering: rerun with AMP_DEBUG=1.",
      ),
  );
}

/**
 * The remote lends its I2C bus and GPIO lines over rpmsg: the host reads the temperature sensor
 * and toggles the LED line, each request a virtio-i2c/virtio-gpio message across the link.
 */
async function virtualIo(session: Session, host: RpmsgHost): Promise<void> {
  const scheduler = {
    setTimeout,
    clearTimeout: (h: unknown) => {
      clearTimeout(h as ReturnType<typeof setTimeout>);
    },
  };
  const channels: RpmsgChannel[] = [];
  try {
    for (const name of [I2C_SERVICE, GPIO_SERVICE]) {
      await step(
        host.waitForService(name, { timeoutMs: TIMEOUT_MS }),
        `waiting for the firmware to announce "${name}"`,
      );
      channels.push(
        await step(connectOverRpmsg(host, { name, timeoutMs: TIMEOUT_MS, scheduler }), `connecting to "${name}"`),
      );
    }
    const [i2cChannel, gpioChannel] = channels;
    if (i2cChannel === undefined || gpioChannel === undefined) return;
    const i2c = new I2cClient(i2cChannel);
    const t = performance.now();
    const raw = await step(
      i2c.writeRead(SENSOR_ADDRESS, Uint8Array.of(TempSensorReg.TEMPERATURE), 2),
      "the I2C read of the temperature sensor",
    );
    const rtt = performance.now() - t;
    const reg = ((raw[0] ?? 0) << 8) | (raw[1] ?? 0);
    const celsius = decodeTemperature(reg);
    session.out.emit(
      "vio",
      `i2c: the remote's sensor at 0x${SENSOR_ADDRESS.toString(16)} read over rpmsg "${I2C_SERVICE}": register 0 = 0x${reg.toString(16).padStart(4, "0")}, ` +
        `${celsius} °C (write-then-read transfer, ${us(rtt)})`,
      "i2c",
      { service: I2C_SERVICE, addr: hex(SENSOR_ADDRESS), register: 0, value: hex(reg), celsius, rttUs: usInt(rtt) },
    );
    const gpio = new GpioClient(gpioChannel);
    const names = await step(gpio.names(), "reading the GPIO line names");
    const led = names.indexOf(LED_NAME);
    if (led < 0)
      throw new CliError(
        `the firmware's GPIO bank has no line named "${LED_NAME}"`,
        "Use the bundled echo firmware, or one that lends the same devices.",
      );
    for (const level of [true, false]) {
      if (level) await step(gpio.output(led, true), `driving ${LED_NAME}`);
      else await step(gpio.set(led, false), `driving ${LED_NAME}`);
      const back = await step(gpio.get(led), `reading ${LED_NAME} back`);
      session.out.emit(
        "vio",
        `gpio: line ${led} ("${LED_NAME}") driven ${level ? "high" : "low"} over rpmsg "${GPIO_SERVICE}", reads back ${back ? "high" : "low"}`,
        "gpio",
        {
          service: GPIO_SERVICE,
          line: led,
          name: LED_NAME,
          driven: level ? "high" : "low",
          readBack: back ? "high" : "low",
        },
      );
    }
  } finally {
    for (const c of channels) c.close();
  }
}

async function openEcho(session: Session, host: RpmsgHost): Promise<RpmsgEndpoint> {
  const svc = await within(
    host.waitForService(SERVICE, { timeoutMs: TIMEOUT_MS }),
    TIMEOUT_MS,
    () => new CliError(`the firmware did not announce "${SERVICE}"`, "Check that --firmware is an echo firmware."),
  );
  const ep = host.createEndpoint({ dst: svc.addr });
  session.out.emit(
    "rpmsg",
    `host endpoint 0x${ep.addr.toString(16)} talks to "${SERVICE}" at 0x${svc.addr.toString(16)}`,
    "endpoint",
    { local: hex(ep.addr), service: SERVICE, remote: hex(svc.addr) },
  );
  return ep;
}

async function demo(
  io: CliIo,
  firmware: string,
  messages: number,
  size: number,
  coredump: string | undefined,
  json: boolean,
  ui = false,
): Promise<number> {
  interrupt = io.signal;
  const bytes = await readInput(io, firmware, "firmware file");
  const elf = parseElf(bytes);
  const rsc = findResourceTable(elf);
  const table = rsc === undefined ? undefined : parseResourceTable(rsc.bytes);
  const vdev = table?.entries.find((e) => e.kind === "vdev");
  const trace = table?.entries.find((e) => e.kind === "trace");
  // Only now that the firmware is there: a failed start leaves no empty directory behind.
  const corePath = coredumpPath(io, coredump);
  const out = sessionOut(io, json);
  if (json) {
    out.emit("", "", "firmware", {
      file: firmware,
      bytes: bytes.length,
      class: `ELF${elf.header.elfClass}`,
      entry: hex(elf.header.entry),
      rpmsgVdev: vdev?.kind === "vdev" ? { vrings: vdev.vrings.length, num: vdev.vrings[0]?.num ?? 0 } : null,
      trace: trace?.kind === "trace" ? { len: trace.len, da: hex(trace.da) } : null,
      coredump: corePath,
    });
  } else {
    io.stdout("amp demo: the remoteproc life cycle on a simulated remote processor (a worker thread)\n");
    io.stdout(
      `firmware ${firmware}: ${bytes.length} bytes, ELF${elf.header.elfClass} JS firmware, entry 0x${elf.header.entry.toString(16)}; ` +
        `resource table: ${vdev?.kind === "vdev" ? `rpmsg vdev with ${vdev.vrings.length} vrings of ${vdev.vrings[0]?.num ?? 0}` : "no vdev"}` +
        `${trace?.kind === "trace" ? `, ${trace.len}-byte trace buffer at 0x${trace.da.toString(16)}` : ""}\n` +
        `coredump of the injected crash: ${corePath}\n` +
        "[time] is host time since start; trace lines are stamped when the host reads the remote's trace buffer (polled every 20 ms), so they can lag the events they describe\n\n",
    );
  }
  const liveUi = ui ? await startSessionUi(io, { mode: "amp demo", firmware }) : undefined; // --ui: the live view follows the session
  const session = startSession(io, {
    ...createWorkerSessionRemote({ firmwarePath: resolvePath(io, firmware), recovery: true, coredumpPath: corePath }),
    coredumpPath: corePath,
    out: liveUi?.tee(out) ?? out,
  });
  liveUi?.attach(session);
  const { rproc } = session.remote;
  try {
    // 1. Boot and wait for the announcement.
    const firstHost = session.nextRpmsg();
    try {
      await rproc.boot();
    } catch (e) {
      throw bootError(firmware, e);
    }
    const host = await within(
      firstHost,
      TIMEOUT_MS,
      () =>
        new CliError(
          `the firmware announced no rpmsg device within ${TIMEOUT_MS} ms`,
          "Check the firmware's resource table with `amp inspect`.",
        ),
    );
    const ep = await openEcho(session, host);

    // 2. Echo exchange with statistics, measured after a warm-up (WARMUP).
    await warmUp(session, ep, size, "boot");
    const t = performance.now();
    const rtts = await echoRun(ep, messages, size);
    reportStats(session, "boot", rtts, size, (performance.now() - t) / 1000);
    reportTail(session, rtts);
    const st = host.stats;
    const dropped = (Object.values(st.dropped) as number[]).reduce((a, b) => a + b, 0);
    session.out.emit(
      "rpmsg",
      `host totals so far (warm-up and name-service messages included): ${st.txMessages} sent, ${st.rxMessages} received, ${st.txBytes + st.rxBytes} payload bytes, ${dropped} dropped`,
      "rpmsg-totals",
      {
        sent: st.txMessages,
        received: st.rxMessages,
        payloadBytes: st.txBytes + st.rxBytes,
        dropped,
      },
    );
    await within(new Promise((r) => setTimeout(r, 100)), TIMEOUT_MS, () => new Error("unreachable")); // let the trace follower show the remote's lines

    // 3. Virtual I/O: devices the remote owns, used by the host across the link.
    await virtualIo(session, host);
    await within(new Promise((r) => setTimeout(r, 100)), TIMEOUT_MS, () => new Error("unreachable"));

    // 4. Inject a crash; recovery reboots the firmware and a coredump is written.
    const crashCount = rproc.crashCount;
    const recovered = session.nextRpmsg();
    session.out.emit("inject", 'sending "crash!": the firmware will throw', "inject", { message: "crash!" });
    await ep.send(new TextEncoder().encode("crash!"), { timeoutMs: TIMEOUT_MS });
    const host2 = await within(
      recovered,
      TIMEOUT_MS,
      () => new CliError(`no recovery within ${TIMEOUT_MS} ms`, "Recovery failed: rerun with AMP_DEBUG=1."),
    );
    if (ep.closed) {
      const reason = ep.closeReason?.message ?? "link down";
      session.out.emit("rpmsg", `old endpoint closed: ${reason}`, "endpoint-closed", { local: hex(ep.addr), reason });
    }
    const ep2 = await openEcho(session, host2);
    await warmUp(session, ep2, size, "recovery");
    const t2 = performance.now();
    const after = Math.max(1, Math.min(messages, 100));
    const rtts2 = await echoRun(ep2, after, size);
    reportStats(session, "recovery", rtts2, size, (performance.now() - t2) / 1000);
    await new Promise((r) => setTimeout(r, 100));

    // 5. Clean shutdown (with --ui, after Ctrl-C: the page stays live until then).
    if (liveUi !== undefined) await liveUi.hold(io);
    await rproc.shutdown();
    const crashes = rproc.crashCount - crashCount;
    const echoed = 2 * WARMUP + rtts.length + rtts2.length;
    if (json)
      out.emit("", "", "done", { messages: echoed, warmup: 2 * WARMUP, crashesRecovered: crashes, coredump: corePath });
    else {
      io.stdout(
        `\ndone: booted, echoed ${echoed} messages (${2 * WARMUP} of them warm-up), read a sensor and toggled a GPIO line the remote lends, ` +
          `${crashes} crash${crashes === 1 ? "" : "es"} recovered automatically, shut down cleanly.\n` +
          `coredump: ${corePath} (read it with \`amp coredump ${corePath}\`)\n`,
      );
    }
    return 0;
  } finally {
    await session.close();
    await liveUi?.close();
  }
}

/** `amp demo` */
export const demoCommand: Command = {
  name: "demo",
  summary:
    "boot the bundled echo firmware: announcement, echo statistics, trace, lent I2C/GPIO, crash, recovery, coredump",
  usage: "demo [--messages N] [--size BYTES] [--coredump PATH] [--firmware FILE] [--json] [--ui]",
  details: [
    "Everything printed is measured during the run. Exit status 0 when every step worked.",
    "",
    "The coredump of the injected crash goes to a new directory of its own under the temp",
    "directory (amp-demo-<pid>-XXXXXX/demo.core, printed at the start and the end), so demos",
    "running at the same time never overwrite each other's; --coredump FILE chooses the file,",
    "--coredump DIR a file amp-demo-<pid>-<time>.core in an existing directory.",
    "",
    'With --json, JSON lines, each with "event" and "t" (seconds): firmware {file, bytes, class,',
    "entry, rpmsgVdev, trace, coredump}, the session's events (state, channel, trace, crash,",
    "coredump, operation-error), endpoint, warmup and echo {phase, messages, size, rttUs},",
    "echo-tail, rpmsg-totals, i2c, gpio, inject, endpoint-closed, done {messages, warmup,",
    'crashesRecovered, coredump}; a failure is a last {"event":"error","error":{...}}.',
  ].join("\n"),
  options: {
    messages: {
      type: "string",
      value: "N",
      description: "Measured echo messages before the crash, after a 2500-message warm-up (default 1000).",
    },
    size: { type: "string", value: "BYTES", description: "Payload size, 1..496 (default 64)." },
    coredump: {
      type: "string",
      value: "PATH",
      description:
        "Where the crash coredump goes: a file, or an existing directory (default: a new directory under the temp directory).",
    },
    firmware: { type: "string", value: "FILE", description: "Use another echo firmware than the bundled one." },
    json: { type: "boolean", description: "JSON lines on standard output, one object per event." },
    ui: {
      type: "boolean",
      description: "Serve the live view (as `amp ui`) on 127.0.0.1 during the demo; it stays open until Ctrl-C.",
    },
  },
  positionals: [0, 0],
  jsonLines: true,
  async run(args, io) {
    const messages = numberOption("demo", args, "messages", 1, 1_000_000) ?? 1000;
    const size = numberOption("demo", args, "size", 1, 496) ?? 64;
    const fw = stringOption(args, "firmware") ?? bundledFirmware();
    if (stringOption(args, "firmware") === undefined && !existsSync(fw)) {
      throw new CliError(
        "the example firmware is not built (dist/firmware/echo.elf is missing)",
        "Run `pnpm build` first, or pass --firmware <echo.elf>.",
      );
    }
    return demo(
      io,
      fw,
      Math.floor(messages),
      Math.floor(size),
      stringOption(args, "coredump"),
      flag(args, "json"),
      flag(args, "ui"),
    );
  },
};
