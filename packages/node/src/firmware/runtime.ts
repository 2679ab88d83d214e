// The firmware side of the worker-thread processor: what a JS firmware program gets when the
// CPU runs it, and helpers to reach its resource table, trace buffer, watchdog and doorbells.
// Runtime-agnostic (ECMAScript + SharedArrayBuffer/Atomics): it is bundled into the firmware
// and never imports node: modules. Everything is found in memory, as on a real CPU.
import { parseResourceTable, type ResourceTable } from "@amp/resource-table";
import { RpmsgRemote, VIRTIO_ID_RPMSG, type ClockResponder, type RpmsgRemoteOptions } from "@amp/rpmsg";
import { AddressSpace, SharedMemory, type Scheduler } from "@amp/virtio-ring";
import { DOORBELL_QUEUES, ProcessorBus } from "./bus.js";
import { decodeProgramHeader, PROGRAM_HEADER_SIZE } from "../js-firmware/format.js";
import { JS_FIRMWARE_LOAD_ADDRESS } from "./memory-map.js";
import { TraceWriter, type TraceLevel } from "./trace-writer.js";
import { RemoteVdevTransport } from "./vdev-transport.js";
import { serveFirmwareClock, type FirmwareClockOptions } from "./clock-service.js";

/**
 * What the firmware does when one of its rpmsg callbacks (`onMessage`, `onLinkChange`, a
 * name-service handler, `onClose`, ...) throws:
 * - "continue" (the default): the exception is counted (`remote.stats.callbackErrors`), written
 *   to the trace buffer, and the firmware goes on with the next message. A bug hit by one
 *   message (or a forged message from the host) does not take the whole processor down.
 * - "crash": written to the trace buffer, then `run()` ends with it: a fatal-error crash that
 *   the host sees (and recovers from, when recovery is on).
 */
export type CallbackErrorPolicy = "continue" | "crash";

/** Options of {@link Firmware.rpmsg}. */
export type FirmwareRpmsgOptions = Omit<
  RpmsgRemoteOptions,
  "transport" | "space" | "doorbell" | "setDeviceFeatures"
> & {
  /** What an exception from an rpmsg callback does (default "continue"); an `onError` option replaces this policy. */
  readonly onCallbackError?: CallbackErrorPolicy;
};

/** Callback errors traced one by one; after that one line every {@link TRACE_EVERY} (a flood must not wipe the trace). */
const TRACE_FIRST = 16;
const TRACE_EVERY = 256;

/** Options of {@link Firmware.run}. */
export interface FirmwareRunOptions {
  /** Called after every wake-up, before the loop waits again (application polling). */
  readonly onTick?: () => void;
  /** Longest wait between two loop turns in ms (default 20): the watchdog is kicked this often. */
  readonly tickMs?: number;
}

/** The host's timers, resolved when first needed (never at module load: STYLE.md point 6). */
/** Doorbell queues are drained without looking: process() serves every vring anyway. */
const ignoreQueue = (): void => undefined;

function hostScheduler(): Scheduler {
  const g = globalThis as unknown as {
    setTimeout?: (cb: () => void, ms: number) => unknown;
    clearTimeout?: (h: unknown) => void;
  };
  const st = g.setTimeout;
  const ct = g.clearTimeout;
  if (st === undefined || ct === undefined) throw new Error("this engine has no timers: pass a scheduler");
  return {
    setTimeout: (cb, ms) => st(cb, ms),
    clearTimeout: (h) => {
      ct(h);
    },
  };
}

/**
 * The processor's own monotonic clock in microseconds since the firmware started (the engine's
 * `performance.now()`, else `Date.now()`; resolved lazily). It shares no epoch with the host:
 * trace records carry it, and a clock-sync exchange maps it to host time.
 */
function remoteClock(): () => number {
  const g = globalThis as unknown as { performance?: { now(): number } };
  const perf = g.performance;
  const now = perf !== undefined && typeof perf.now === "function" ? () => perf.now() : () => Date.now();
  const start = now();
  return () => Math.floor((now() - start) * 1000);
}

/** What the CPU hands the program: its memory, its control block and the boot address. */
export interface Cpu {
  /** The processor's physical memory; device address = byte offset. */
  readonly memory: SharedArrayBuffer;
  /** The control block (doorbells, watchdog, CPU state). */
  readonly control: SharedArrayBuffer;
  /** Where the program image starts (ELF e_entry). */
  readonly bootAddress: number;
}

/** Entry point of a JS firmware: the default export of the program module. */
export type FirmwareMain = (cpu: Cpu) => Promise<void>;

/** Everything a firmware program uses, found in its own memory. */
export class Firmware {
  /** The whole memory (device address = offset). */
  readonly memory: SharedMemory;
  /** Doorbells, watchdog and CPU state. */
  readonly bus: ProcessorBus;
  readonly bootAddress: number;
  /** Where the firmware's resource table lives (from the program header), if it has one. */
  readonly resourceTableAddress: number | undefined;
  readonly resourceTableSize: number;
  private traceWriter: TraceWriter | undefined;
  /** The remote's monotonic clock: microseconds since this firmware started. */
  readonly clockUs: () => number = remoteClock();
  /** Bytes of the program image at the boot address (header + code). */
  private readonly imageSize: number;

  constructor(cpu: Cpu) {
    this.memory = new SharedMemory(cpu.memory);
    this.bus = new ProcessorBus(cpu.control);
    this.bootAddress = cpu.bootAddress;
    const header = decodeProgramHeader(new Uint8Array(cpu.memory), cpu.bootAddress);
    this.resourceTableAddress = header.resourceTableAddress;
    this.resourceTableSize = header.resourceTableSize;
    this.imageSize = PROGRAM_HEADER_SIZE + header.codeLength;
    const table = this.readResourceTable();
    const trace = table?.entries.find((e) => e.kind === "trace");
    if (trace?.kind === "trace" && trace.len >= 2 && trace.da + trace.len <= this.memory.byteLength) {
      this.traceWriter = new TraceWriter(this.memory, trace.da, trace.len, { clockUs: this.clockUs });
    }
  }

  /** The resource table as it is in memory now (the host rewrites fields of it). */
  readResourceTable(): ResourceTable | undefined {
    const da = this.resourceTableAddress;
    if (da === undefined) return undefined;
    return parseResourceTable(this.memory.read(da, this.resourceTableSize));
  }

  /**
   * Appends a record to the trace buffer (no-op when the table declares none): `level` E, W, I
   * (default) or D, stamped with {@link clockUs} and numbered, so the host can order records,
   * map them to host time and count any it missed.
   */
  trace(line: string, level: TraceLevel = "I"): void {
    this.traceWriter?.record(level, line);
  }

  /**
   * The rpmsg remote (virtio device role) on the table's first rpmsg vdev: the transport is the
   * vdev entry in this memory, descriptor addresses are device addresses of this memory, and
   * used buffers interrupt the host through the remote -> host doorbell.
   * @throws Error when the resource table has no rpmsg vdev
   */
  rpmsg(options: FirmwareRpmsgOptions = {}): RpmsgRemote {
    const table = this.readResourceTable();
    const vdev = table?.entries.find((e) => e.kind === "vdev" && e.id === VIRTIO_ID_RPMSG);
    if (vdev?.kind !== "vdev" || this.resourceTableAddress === undefined)
      throw new Error("the resource table has no rpmsg vdev (virtio id 7)");
    // Notify ids the host assigns must fit the remote -> host doorbell (checked at link-up).
    const transport = new RemoteVdevTransport(
      this.memory,
      this.resourceTableAddress + vdev.offset,
      vdev.id,
      vdev.vrings.length,
      vdev.configLen,
      { maxNotifyId: DOORBELL_QUEUES - 1 },
    );
    const space = this.sharedSpace(table);
    const { onCallbackError, ...rest } = options;
    // Firmware is often plain JavaScript: check the value, not only its type.
    const given: unknown = onCallbackError ?? "continue";
    if (given !== "continue" && given !== "crash")
      throw new RangeError(`onCallbackError must be "continue" or "crash", got ${String(given)}`);
    const policy: CallbackErrorPolicy = given;
    let remote: RpmsgRemote | undefined = undefined;
    // The device counts the error (stats.callbackErrors) before calling onError; a throw from
    // onError comes out of process(), which ends run(): the crash.
    const onError =
      rest.onError ??
      ((error: unknown): void => {
        const n = remote?.stats.callbackErrors ?? 1;
        if (policy === "crash" || n <= TRACE_FIRST || n % TRACE_EVERY === 0) {
          this.trace(
            `rpmsg: callback error #${n}: ${describeError(error)}; ${policy === "crash" ? 'crashing (onCallbackError: "crash")' : "message dropped, firmware continues"}`,
            policy === "crash" ? "E" : "W",
          );
        }
        if (policy === "crash") throw error;
      });
    remote = new RpmsgRemote({
      scheduler: hostScheduler(),
      ...rest,
      onError,
      transport,
      space,
      doorbell: this.bus.toHost,
      setDeviceFeatures: false,
    });
    return remote;
  }

  /**
   * Where the host may place vrings and rpmsg buffers: all memory but the firmware's own parts
   * (the guard page below the program, the program image, the resource table, the trace
   * buffers). A host that points a ring or a buffer at one of them gets a refusal (NEEDS_RESET, or
   * the buffer dropped and counted) instead of the remote writing over its own state.
   */
  private sharedSpace(table: ResourceTable | undefined): AddressSpace {
    const own: [number, number][] = [[this.bootAddress, this.bootAddress + this.imageSize]];
    if (this.bootAddress >= JS_FIRMWARE_LOAD_ADDRESS) own.push([0, JS_FIRMWARE_LOAD_ADDRESS]);
    if (this.resourceTableAddress !== undefined)
      own.push([this.resourceTableAddress, this.resourceTableAddress + this.resourceTableSize]);
    for (const e of table?.entries ?? []) if (e.kind === "trace" && e.len > 0) own.push([e.da, e.da + e.len]);
    own.sort((a, b) => a[0] - b[0]);
    const space = new AddressSpace();
    const end = this.memory.byteLength;
    let at = 0;
    for (const [s, e] of own) {
      if (s > at) space.map(at, this.memory, { offset: at, length: Math.min(s, end) - at, name: "shared memory" });
      at = Math.max(at, Math.min(e, end));
      if (at >= end) break;
    }
    if (at < end) space.map(at, this.memory, { offset: at, length: end - at, name: "shared memory" });
    return space;
  }

  /**
   * The firmware's main loop: waits for host doorbells, runs `remote.process()` (messages, link
   * changes) and kicks the watchdog, forever. Only a crash or the host stopping the CPU ends it;
   * an exception from an rpmsg callback is a crash only with `onCallbackError: "crash"` (see
   * {@link CallbackErrorPolicy}), one from `onTick` always is.
   */
  async run(remote: RpmsgRemote | undefined, options: FirmwareRunOptions = {}): Promise<never> {
    const scheduler = hostScheduler();
    const tickMs = options.tickMs ?? 20;
    const bell = this.bus.toRemote;
    // One timer per tick, not one per wait: the tick rings the CPU's own doorbell, which wakes
    // the wait below like a host ring would (a spurious ring; poll and process() tolerate
    // those). A message then costs no timer set and cleared on the echo's critical path.
    let timer: unknown;
    const tick = (): void => {
      bell.notify(0);
      timer = scheduler.setTimeout(tick, tickMs);
    };
    timer = scheduler.setTimeout(tick, tickMs);
    try {
      for (;;) {
        bell.poll(ignoreQueue);
        remote?.process();
        options.onTick?.();
        this.bus.kickWatchdog();
        await bell.wait();
      }
    } finally {
      scheduler.clearTimeout(timer);
    }
  }

  /**
   * Serves "amp-clock" on `remote`: the host's ClockSync then maps this processor's clock (by
   * default {@link Firmware.clockUs}, the one trace records carry) to host time (clock-service.ts).
   */
  serveClock(remote: RpmsgRemote, options: FirmwareClockOptions = {}): ClockResponder {
    return serveFirmwareClock(remote, { ...options, now: options.now ?? this.clockUs });
  }

  /** Arms the watchdog: the host reports a watchdog crash if `kick` stops for `ms`. */
  armWatchdog(ms: number): void {
    this.bus.armWatchdog(ms);
  }

  /** Keeps the watchdog quiet. */
  kickWatchdog(): void {
    this.bus.kickWatchdog();
  }
}

/** One line for the trace: "AmpError ERR_BAD_ADDRESS: ..." or "TypeError: ...". */
function describeError(e: unknown): string {
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    return `${e.name}${typeof code === "string" ? ` ${code}` : ""}: ${e.message}`;
  }
  return `thrown ${typeof e}: ${String(e)}`;
}

/**
 * Declares a firmware program: `export default defineFirmware(async (fw) => { ... })`.
 * The CPU calls the returned function with its memory; a throw (or a rejected promise) is a
 * fatal-error crash, returning halts the processor.
 */
export function defineFirmware(body: (fw: Firmware) => void | Promise<void>): FirmwareMain {
  return async (cpu: Cpu) => {
    await body(new Firmware(cpu));
  };
}
