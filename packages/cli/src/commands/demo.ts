// amp demo: the whole life cycle on a simulated processor, with the bundled echo firmware:
// boot, name-service announcement, an echo exchange with statistics, live trace, devices the
// remote lends over rpmsg (an I2C temperature sensor and GPIO lines, @amp/virtual-io), an
// injected crash with automatic recovery and a coredump, a clean shutdown. Every number is
// measured.
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { findResourceTable, parseElf } from "@amp/elf-loader";
import { parseResourceTable } from "@amp/resource-table";
import type { RpmsgEndpoint, RpmsgHost } from "@amp/rpmsg";
import { GpioClient, I2cClient, TempSensorReg, connectOverRpmsg, decodeTemperature, type RpmsgChannel } from "@amp/virtual-io";
import { numberOption, stringOption, type Command } from "../internal/command.js";
import { CliError } from "../internal/cli-error.js";
import { readInput, resolvePath } from "../internal/files.js";
import type { CliIo } from "../internal/io.js";
import { createWorkerSessionRemote, startSession, type Session } from "../internal/session.js";
import { bootError } from "./run.js";

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
        timer = setTimeout(() => { reject(error()); }, ms);
        onAbort = () => { reject(new CliError("interrupted", "The demo stopped the remote and exits.", 130)); };
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
    await within(ep.send(payload, { timeoutMs: TIMEOUT_MS }), TIMEOUT_MS, () => new CliError(`message ${i + 1} could not be sent`, "The remote stopped taking messages: rerun with AMP_DEBUG=1."));
    const next = await within(it.next(), TIMEOUT_MS, () => new CliError(`no echo for message ${i + 1} within ${TIMEOUT_MS} ms`, "The remote stopped answering: rerun with AMP_DEBUG=1."));
    rtts.push(performance.now() - t);
    if (next.done === true) throw new CliError("the echo channel closed during the exchange", "The remote went away: rerun the demo.");
    const got = next.value.data;
    if (got.length !== size || got.some((b, j) => b !== ((i * 31 + j) & 0xff))) {
      throw new CliError(`echo ${i + 1} came back different from what was sent`, "This is a bug in the rpmsg path: report it.");
    }
  }
  return rtts;
}

function statsLine(rtts: number[], size: number, seconds: number): string {
  const sorted = [...rtts].sort((a, b) => a - b);
  return `${rtts.length} messages of ${size} bytes echoed and verified in ${seconds.toFixed(2)} s: round trip median ${us(percentile(sorted, 50))}, p90 ${us(percentile(sorted, 90))}, p99 ${us(percentile(sorted, 99))}, max ${us(sorted[sorted.length - 1] ?? NaN)}`;
}

/** Where the slow round trips are: how many, and at which message numbers (1-based). */
function tailLine(rtts: number[]): string {
  const slow: number[] = [];
  rtts.forEach((r, i) => { if (r > SLOW_MS) slow.push(i + 1); });
  let worst = 0;
  rtts.forEach((r, i) => { if (r > (rtts[worst] ?? 0)) worst = i; });
  if (slow.length === 0) return `no round trip above ${SLOW_MS} ms`;
  return (
    `${slow.length} of ${rtts.length} round trips above ${SLOW_MS} ms, from #${slow[0] ?? 0} to #${slow[slow.length - 1] ?? 0}, slowest #${worst + 1}; ` +
    "host and remote are threads sharing this machine's CPUs, so the tail includes OS scheduling, garbage collection and JIT compilation"
  );
}

/** The warm-up exchange, reported apart from the measured run. */
async function warmUp(session: Session, ep: RpmsgEndpoint, size: number, label: string): Promise<void> {
  const rtts = await echoRun(ep, WARMUP, size);
  session.log(`echo   ${label}warm-up: ${rtts.length} messages, first round trip ${us(rtts[0] ?? NaN)}, slowest ${us(Math.max(...rtts))} (not in the statistics below)`);
}

/** `promise`, with a CliError naming `what` after TIMEOUT_MS. */
function step<T>(promise: Promise<T>, what: string): Promise<T> {
  return within(promise, TIMEOUT_MS, () => new CliError(`${what} did not finish within ${TIMEOUT_MS} ms`, "The remote stopped answering: rerun with AMP_DEBUG=1."));
}

/**
 * The remote lends its I2C bus and GPIO lines over rpmsg: the host reads the temperature sensor
 * and toggles the LED line, each request a virtio-i2c/virtio-gpio message across the link.
 */
async function virtualIo(session: Session, host: RpmsgHost): Promise<void> {
  const scheduler = { setTimeout, clearTimeout: (h: unknown) => { clearTimeout(h as ReturnType<typeof setTimeout>); } };
  const channels: RpmsgChannel[] = [];
  try {
    for (const name of [I2C_SERVICE, GPIO_SERVICE]) {
      await step(host.waitForService(name, { timeoutMs: TIMEOUT_MS }), `waiting for the firmware to announce "${name}"`);
      channels.push(await step(connectOverRpmsg(host, { name, timeoutMs: TIMEOUT_MS, scheduler }), `connecting to "${name}"`));
    }
    const [i2cChannel, gpioChannel] = channels;
    if (i2cChannel === undefined || gpioChannel === undefined) return;
    const i2c = new I2cClient(i2cChannel);
    const t = performance.now();
    const raw = await step(i2c.writeRead(SENSOR_ADDRESS, Uint8Array.of(TempSensorReg.TEMPERATURE), 2), "the I2C read of the temperature sensor");
    const rtt = performance.now() - t;
    const reg = ((raw[0] ?? 0) << 8) | (raw[1] ?? 0);
    session.log(
      `vio    i2c: the remote's sensor at 0x${SENSOR_ADDRESS.toString(16)} read over rpmsg "${I2C_SERVICE}": register 0 = 0x${reg.toString(16).padStart(4, "0")}, ` +
        `${decodeTemperature(reg)} °C (write-then-read transfer, ${us(rtt)})`,
    );
    const gpio = new GpioClient(gpioChannel);
    const names = await step(gpio.names(), "reading the GPIO line names");
    const led = names.indexOf(LED_NAME);
    if (led < 0) throw new CliError(`the firmware's GPIO bank has no line named "${LED_NAME}"`, "Use the bundled echo firmware, or one that lends the same devices.");
    for (const level of [true, false]) {
      if (level) await step(gpio.output(led, true), `driving ${LED_NAME}`);
      else await step(gpio.set(led, false), `driving ${LED_NAME}`);
      const back = await step(gpio.get(led), `reading ${LED_NAME} back`);
      session.log(`vio    gpio: line ${led} ("${LED_NAME}") driven ${level ? "high" : "low"} over rpmsg "${GPIO_SERVICE}", reads back ${back ? "high" : "low"}`);
    }
  } finally {
    for (const c of channels) c.close();
  }
}

async function openEcho(session: Session, host: RpmsgHost): Promise<RpmsgEndpoint> {
  const svc = await within(host.waitForService(SERVICE, { timeoutMs: TIMEOUT_MS }), TIMEOUT_MS, () => new CliError(`the firmware did not announce "${SERVICE}"`, "Check that --firmware is an echo firmware."));
  const ep = host.createEndpoint({ dst: svc.addr });
  session.log(`rpmsg  host endpoint 0x${ep.addr.toString(16)} talks to "${SERVICE}" at 0x${svc.addr.toString(16)}`);
  return ep;
}

async function demo(io: CliIo, firmware: string, messages: number, size: number, corePath: string): Promise<number> {
  interrupt = io.signal;
  const bytes = await readInput(io, firmware, "firmware file");
  const elf = parseElf(bytes);
  const rsc = findResourceTable(elf);
  const table = rsc === undefined ? undefined : parseResourceTable(rsc.bytes);
  const vdev = table?.entries.find((e) => e.kind === "vdev");
  const trace = table?.entries.find((e) => e.kind === "trace");
  io.stdout("amp demo: the remoteproc life cycle on a simulated remote processor (a worker thread)\n");
  io.stdout(
    `firmware ${firmware}: ${bytes.length} bytes, ELF${elf.header.elfClass} JS firmware, entry 0x${elf.header.entry.toString(16)}; ` +
      `resource table: ${vdev?.kind === "vdev" ? `rpmsg vdev with ${vdev.vrings.length} vrings of ${vdev.vrings[0]?.num ?? 0}` : "no vdev"}` +
      `${trace?.kind === "trace" ? `, ${trace.len}-byte trace buffer at 0x${trace.da.toString(16)}` : ""}\n` +
      "[time] is host time since start; trace lines are stamped when the host reads the remote's trace buffer (polled every 20 ms), so they can lag the events they describe\n\n",
  );
  const session = startSession(io, { ...createWorkerSessionRemote({ firmwarePath: resolvePath(io, firmware), recovery: true, coredumpPath: corePath }), coredumpPath: corePath });
  const { rproc } = session.remote;
  try {
    // 1. Boot and wait for the announcement.
    const firstHost = session.nextRpmsg();
    try {
      await rproc.boot();
    } catch (e) {
      throw bootError(firmware, e);
    }
    const host = await within(firstHost, TIMEOUT_MS, () => new CliError(`the firmware announced no rpmsg device within ${TIMEOUT_MS} ms`, "Check the firmware's resource table with `amp inspect`."));
    const ep = await openEcho(session, host);

    // 2. Echo exchange with statistics, measured after a warm-up (WARMUP).
    await warmUp(session, ep, size, "");
    const t = performance.now();
    const rtts = await echoRun(ep, messages, size);
    session.log(`echo   ${statsLine(rtts, size, (performance.now() - t) / 1000)}`);
    session.log(`echo   ${tailLine(rtts)}`);
    const st = host.stats;
    session.log(`rpmsg  host totals so far (warm-up and name-service messages included): ${st.txMessages} sent, ${st.rxMessages} received, ${st.txBytes + st.rxBytes} payload bytes, ${(Object.values(st.dropped) as number[]).reduce((a, b) => a + b, 0)} dropped`);
    await within(new Promise((r) => setTimeout(r, 100)), TIMEOUT_MS, () => new Error("unreachable")); // let the trace follower show the remote's lines

    // 3. Virtual I/O: devices the remote owns, used by the host across the link.
    await virtualIo(session, host);
    await within(new Promise((r) => setTimeout(r, 100)), TIMEOUT_MS, () => new Error("unreachable"));

    // 4. Inject a crash; recovery reboots the firmware and a coredump is written.
    const crashCount = rproc.crashCount;
    const recovered = session.nextRpmsg();
    session.log('inject sending "crash!": the firmware will throw');
    await ep.send(new TextEncoder().encode("crash!"), { timeoutMs: TIMEOUT_MS });
    const host2 = await within(recovered, TIMEOUT_MS, () => new CliError(`no recovery within ${TIMEOUT_MS} ms`, "Recovery failed: rerun with AMP_DEBUG=1."));
    if (ep.closed) session.log(`rpmsg  old endpoint closed: ${ep.closeReason?.message ?? "link down"}`);
    const ep2 = await openEcho(session, host2);
    await warmUp(session, ep2, size, "after recovery: ");
    const t2 = performance.now();
    const after = Math.max(1, Math.min(messages, 100));
    const rtts2 = await echoRun(ep2, after, size);
    session.log(`echo   after recovery: ${statsLine(rtts2, size, (performance.now() - t2) / 1000)}`);
    await new Promise((r) => setTimeout(r, 100));

    // 5. Clean shutdown.
    await rproc.shutdown();
    const crashes = rproc.crashCount - crashCount;
    io.stdout(
      `\ndone: booted, echoed ${2 * WARMUP + rtts.length + rtts2.length} messages (${2 * WARMUP} of them warm-up), read a sensor and toggled a GPIO line the remote lends, ` +
        `${crashes} crash${crashes === 1 ? "" : "es"} recovered automatically, shut down cleanly.\n` +
        `coredump: ${corePath} (read it with \`amp coredump ${corePath}\`)\n`,
    );
    return 0;
  } finally {
    await session.close();
  }
}

/** `amp demo` */
export const demoCommand: Command = {
  name: "demo",
  summary: "boot the bundled echo firmware: announcement, echo statistics, trace, lent I2C/GPIO, crash, recovery, coredump",
  usage: "demo [--messages N] [--size BYTES] [--coredump FILE] [--firmware FILE]",
  details: "Everything printed is measured during the run. Exit status 0 when every step worked.",
  options: {
    messages: { type: "string", value: "N", description: "Measured echo messages before the crash, after a 2500-message warm-up (default 1000)." },
    size: { type: "string", value: "BYTES", description: "Payload size, 1..496 (default 64)." },
    coredump: { type: "string", value: "FILE", description: "Where the crash coredump goes (default: the temp directory)." },
    firmware: { type: "string", value: "FILE", description: "Use another echo firmware than the bundled one." },
  },
  positionals: [0, 0],
  async run(args, io) {
    const messages = numberOption("demo", args, "messages", 1, 1_000_000) ?? 1000;
    const size = numberOption("demo", args, "size", 1, 496) ?? 64;
    const fw = stringOption(args, "firmware") ?? bundledFirmware();
    if (stringOption(args, "firmware") === undefined && !existsSync(fw)) {
      throw new CliError("the example firmware is not built (dist/firmware/echo.elf is missing)", "Run `pnpm build` first, or pass --firmware <echo.elf>.");
    }
    const core = stringOption(args, "coredump") ?? join(tmpdir(), "amp-demo.core");
    return demo(io, fw, Math.floor(messages), Math.floor(size), resolvePath(io, core));
  },
};
