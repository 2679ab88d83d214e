// amp demo: the whole life cycle on a simulated processor, with the bundled echo firmware:
// boot, name-service announcement, an echo exchange with statistics, live trace, an injected
// crash with automatic recovery and a coredump, a clean shutdown. Every number is measured.
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { findResourceTable, parseElf } from "@amp/elf-loader";
import { parseResourceTable } from "@amp/resource-table";
import type { RpmsgEndpoint, RpmsgHost } from "@amp/rpmsg";
import { numberOption, stringOption, type Command } from "../internal/command.js";
import { CliError } from "../internal/cli-error.js";
import { readInput, resolvePath } from "../internal/files.js";
import type { CliIo } from "../internal/io.js";
import { createWorkerSessionRemote, startSession, type Session } from "../internal/session.js";
import { bootError } from "./run.js";

const SERVICE = "rpmsg-amp-echo";
const TIMEOUT_MS = 15_000;

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
  return `${rtts.length} messages of ${size} bytes echoed and verified in ${seconds.toFixed(2)} s: round trip median ${us(percentile(sorted, 50))}, p99 ${us(percentile(sorted, 99))}, max ${us(sorted[sorted.length - 1] ?? NaN)}`;
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
      `${trace?.kind === "trace" ? `, ${trace.len}-byte trace buffer at 0x${trace.da.toString(16)}` : ""}\n\n`,
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

    // 2. Echo exchange with statistics.
    const t = performance.now();
    const rtts = await echoRun(ep, messages, size);
    session.log(`echo   ${statsLine(rtts, size, (performance.now() - t) / 1000)}`);
    const st = host.stats;
    session.log(`rpmsg  host counters: ${st.txMessages} sent, ${st.rxMessages} received, ${st.txBytes + st.rxBytes} payload bytes, ${(Object.values(st.dropped) as number[]).reduce((a, b) => a + b, 0)} dropped`);
    await within(new Promise((r) => setTimeout(r, 100)), TIMEOUT_MS, () => new Error("unreachable")); // let the trace follower show the remote's lines

    // 3. Inject a crash; recovery reboots the firmware and a coredump is written.
    const crashCount = rproc.crashCount;
    const recovered = session.nextRpmsg();
    session.log('inject sending "crash!": the firmware will throw');
    await ep.send(new TextEncoder().encode("crash!"), { timeoutMs: TIMEOUT_MS });
    const host2 = await within(recovered, TIMEOUT_MS, () => new CliError(`no recovery within ${TIMEOUT_MS} ms`, "Recovery failed: rerun with AMP_DEBUG=1."));
    if (ep.closed) session.log(`rpmsg  old endpoint closed: ${ep.closeReason?.message ?? "link down"}`);
    const ep2 = await openEcho(session, host2);
    const t2 = performance.now();
    const after = Math.max(1, Math.min(messages, 100));
    const rtts2 = await echoRun(ep2, after, size);
    session.log(`echo   after recovery: ${statsLine(rtts2, size, (performance.now() - t2) / 1000)}`);
    await new Promise((r) => setTimeout(r, 100));

    // 4. Clean shutdown.
    await rproc.shutdown();
    const crashes = rproc.crashCount - crashCount;
    io.stdout(
      `\ndone: booted, echoed ${rtts.length + rtts2.length} messages, ${crashes} crash${crashes === 1 ? "" : "es"} recovered automatically, shut down cleanly.\n` +
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
  summary: "boot the bundled echo firmware: announcement, echo statistics, trace, crash, recovery, coredump",
  usage: "demo [--messages N] [--size BYTES] [--coredump FILE] [--firmware FILE]",
  details: "Everything printed is measured during the run. Exit status 0 when every step worked.",
  options: {
    messages: { type: "string", value: "N", description: "Echo messages before the crash (default 1000)." },
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
