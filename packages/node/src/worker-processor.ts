// A remote processor whose CPU is a worker thread: the platform driver that remoteproc-core
// drives (start, stop, kick, device-address translation) plus crash detection.
import { statSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Worker, type ResourceLimits } from "node:worker_threads";
import { AmpError } from "@amp/virtio-ring";
import {
  CrashType,
  type CrashTypeName,
  type MemoryRegion,
  type MemoryWindow,
  type RemoteprocDriver,
} from "@amp/remoteproc-core";
import { SharedMemory } from "@amp/virtio-ring";
import { CpuState, ProcessorBus } from "./firmware/bus.js";
import { DEFAULT_DDR_SIZE, DEFAULT_SRAM_SIZE } from "./firmware/memory-map.js";
import { cpuBootRomUrl } from "./internal/boot-rom.js";

/**
 * Stable codes of `AmpError<WorkerProcessorErrorCode>` thrown by {@link WorkerProcessor}.
 * Caller misuse (bad sizes, starting twice) throws TypeError/RangeError/Error instead.
 */
export type WorkerProcessorErrorCode = "ERR_WORKER_ENTRY"; // the workerEntry file does not exist (or is not a file): nothing was started

/** Options of {@link WorkerProcessor}. */
export interface WorkerProcessorOptions {
  /** Size of the firmware area at device address 0 (default 4 MiB). */
  readonly sramSize?: number;
  /** Size of the host-allocated pool after it (default 4 MiB). */
  readonly ddrSize?: number;
  /**
   * The CPU's worker script: a path (absolute, or relative to the working directory) or a
   * `file:`/`data:` URL. Default: the built-in CPU, started from its source text, so no file
   * has to be found at run time and a bundled application needs nothing beside its bundle.
   * Give one to run a CPU of your own or a copy of `src/internal/cpu-worker.ts`; the file must
   * exist when the processor starts, or `start` throws `ERR_WORKER_ENTRY`.
   */
  readonly workerEntry?: string | URL;
  /** How often the watchdog word is checked, in ms (default 50). */
  readonly watchdogPollMs?: number;
  /** V8 heap limits of the worker (a runaway firmware cannot eat the host's memory). */
  readonly resourceLimits?: ResourceLimits;
}

/** A crash the processor detected. */
export interface ProcessorCrash {
  readonly type: CrashTypeName;
  /** What happened, e.g. the firmware's exception message. */
  readonly detail: string;
}

const MAX_MEMORY = 1024 * 1024 * 1024;

function checkSize(v: number, what: string): number {
  if (!Number.isInteger(v) || v < 0x10000 || v > MAX_MEMORY || v % 4096 !== 0) {
    throw new RangeError(`${what} must be a multiple of 4096 between 64 KiB and 1 GiB, got ${v}`);
  }
  return v;
}

/**
 * The given CPU script, checked: a missing file would otherwise surface only as a CPU that
 * crashed at boot (the worker's "error" event, reported as the remote's fatal error and then as
 * "rpmsg link down: the remote crashed"), far from the option that caused it.
 */
function checkWorkerEntry(entry: string | URL): string | URL {
  const isUrl = typeof entry !== "string";
  if (isUrl && entry.protocol !== "file:") return entry; // data: and others: no file to look for
  const path = isUrl ? fileURLToPath(entry) : resolve(entry);
  if (statSync(path, { throwIfNoEntry: false })?.isFile() !== true) {
    throw new AmpError<WorkerProcessorErrorCode>(
      "ERR_WORKER_ENTRY",
      `the CPU worker script ${path} (processor option workerEntry) does not exist or is not a file; ` +
        "ship that file with your application, point workerEntry at where it is, or leave workerEntry unset to use the built-in CPU",
    );
  }
  // A string path goes to the worker resolved: Worker itself only accepts "./"-relative ones.
  return isUrl ? entry : path;
}

/**
 * A simulated remote processor: memory is a SharedArrayBuffer (device address = offset),
 * doorbells and watchdog are Atomics words, and `start(bootAddr)` runs a worker thread that
 * receives only the memory, the control block and the boot address.
 *
 * Crash detection: the program throwing, rejecting or exiting reports a "fatal error"; an armed
 * watchdog that is not kicked for its timeout reports "watchdog". `stop()` terminates the worker.
 */
export class WorkerProcessor implements RemoteprocDriver {
  /** The whole physical memory. */
  readonly memory: SharedMemory;
  /** The control block shared with the CPU. */
  readonly bus: ProcessorBus;
  /** "sram" (firmware, at 0) and "ddr" (pool) regions for remoteproc-core. */
  readonly regions: readonly MemoryRegion[];
  private readonly sab: SharedArrayBuffer;
  private readonly entry: string | URL | undefined;
  private readonly pollMs: number;
  private readonly limits: ResourceLimits | undefined;
  private worker: Worker | undefined;
  private stopping = false;
  private crashed = false;
  private watchdogTimer: ReturnType<typeof setInterval> | undefined;
  /** Ends the running interrupt loop (set by startInterrupts). */
  private irqStop: (() => void) | undefined;
  private readonly crashListeners: ((c: ProcessorCrash) => void)[] = [];
  /** Replaced, never changed in place: a delivery walks the array it started with. */
  private irqListeners: readonly ((notifyId: number) => void)[] = [];

  constructor(options: WorkerProcessorOptions = {}) {
    const sram = checkSize(options.sramSize ?? DEFAULT_SRAM_SIZE, "sramSize");
    const ddr = checkSize(options.ddrSize ?? DEFAULT_DDR_SIZE, "ddrSize");
    this.sab = new SharedArrayBuffer(sram + ddr);
    this.memory = new SharedMemory(this.sab);
    this.bus = new ProcessorBus();
    this.regions = [
      { name: "sram", da: 0, size: sram, memory: this.memory },
      { name: "ddr", da: sram, size: ddr, memory: this.memory, offset: sram, pool: true },
    ];
    this.entry = options.workerEntry;
    this.pollMs = options.watchdogPollMs ?? 50;
    this.limits = options.resourceLimits;
  }

  /** True while the CPU runs (between start and stop or a crash). */
  get running(): boolean {
    return this.worker !== undefined && !this.crashed;
  }

  /** Calls `listener` when the processor detects a crash. Returns an unsubscribe function. */
  onCrash(listener: (crash: ProcessorCrash) => void): () => void {
    this.crashListeners.push(listener);
    return () => {
      const i = this.crashListeners.indexOf(listener);
      if (i >= 0) this.crashListeners.splice(i, 1);
    };
  }

  /** Calls `listener` for every remote -> host doorbell (vring interrupt). Returns an unsubscribe function. */
  onInterrupt(listener: (notifyId: number) => void): () => void {
    this.irqListeners = [...this.irqListeners, listener];
    return () => {
      const i = this.irqListeners.indexOf(listener);
      if (i >= 0) this.irqListeners = this.irqListeners.filter((_, j) => j !== i);
    };
  }

  /**
   * Releases the CPU from reset at `bootAddr`: a new worker runs the program stored there.
   * @throws AmpError ERR_WORKER_ENTRY when `workerEntry` names a file that is not there (checked
   * before any worker starts).
   */
  async start(bootAddr: bigint): Promise<void> {
    if (this.worker !== undefined) throw new Error("the processor is already running: stop it first");
    if (bootAddr < 0n || bootAddr >= BigInt(this.sab.byteLength)) {
      throw new RangeError(`boot address 0x${bootAddr.toString(16)} is outside the processor's memory`);
    }
    const entry = this.entry === undefined ? cpuBootRomUrl() : checkWorkerEntry(this.entry);
    this.bus.reset();
    this.stopping = false;
    this.crashed = false;
    const worker = new Worker(entry, {
      workerData: { memory: this.sab, control: this.bus.buffer, bootAddress: Number(bootAddr) },
      stdout: false,
      stderr: false,
      ...(this.limits === undefined ? {} : { resourceLimits: this.limits }),
    });
    this.worker = worker;
    worker.on("error", (e: unknown) => {
      this.reportCrash(CrashType.FATAL_ERROR, e instanceof Error ? e.message : String(e));
    });
    worker.on("exit", (code) => {
      if (this.worker === worker && !this.stopping) {
        const halted = this.bus.cpuState === CpuState.HALTED;
        this.reportCrash(
          CrashType.FATAL_ERROR,
          halted ? "the firmware program returned" : `the CPU stopped (exit code ${code})`,
        );
      }
    });
    // Until "online", the worker can also fail or be stopped (stop() terminates it: "exit"
    // without "online"); start must settle then too, or whoever awaits it (the core's boot or
    // recovery, holding its lock) waits forever.
    await new Promise<void>((resolve, reject) => {
      const done = (): void => {
        worker.off("online", ok);
        worker.off("error", fail);
        worker.off("exit", exited);
      };
      const fail = (e: unknown): void => {
        done();
        reject(e instanceof Error ? e : new Error(String(e)));
      };
      const exited = (code: number): void => {
        done();
        reject(
          new Error(
            this.worker === worker
              ? `the CPU exited (code ${code}) before it came online`
              : "the processor was stopped before its CPU came online",
          ),
        );
      };
      const ok = (): void => {
        done();
        resolve();
      };
      worker.once("online", ok);
      worker.once("error", fail);
      worker.once("exit", exited);
    });
    if (this.worker !== worker) throw new Error("the processor was stopped before its CPU came online");
    this.startInterrupts();
    this.startWatchdog();
  }

  /** Halts the CPU: terminates the worker. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.stopWatchdog();
    this.irqStop?.();
    this.irqStop = undefined;
    const w = this.worker;
    this.worker = undefined;
    if (w !== undefined) await w.terminate();
    this.bus.cpuState = CpuState.RESET;
    this.releaseInterruptWait();
  }

  /**
   * An Atomics.waitAsync cannot be cancelled: the stopped interrupt loop's wait stays registered
   * in the engine, holding its closures, until the host's doorbell rings again, which a CPU that
   * crashes before it rings never does (every such crash/recovery cycle kept about 3 KiB when the
   * loop was aborted through a signal). One ring (queue 0, drained at once: the CPU is stopped)
   * releases it and ends the loop, which sees it was stopped and delivers nothing.
   */
  private releaseInterruptWait(): void {
    this.bus.toHost.notify(0);
    this.bus.toHost.poll(() => undefined);
  }

  /** Host -> remote doorbell for vring `notifyId`. */
  kick(notifyId: number): void {
    this.bus.toRemote.notify(notifyId);
  }

  /** Device address = offset in the one memory. */
  translate(da: number, length: number): MemoryWindow | undefined {
    if (da < 0 || length < 0 || da > this.sab.byteLength || length > this.sab.byteLength - da) return undefined;
    return { da, size: length, memory: this.memory, offset: da };
  }

  private reportCrash(type: CrashTypeName, detail: string): void {
    if (this.crashed || this.stopping) return;
    this.crashed = true;
    this.stopWatchdog();
    for (const l of [...this.crashListeners]) l({ type, detail });
  }

  /**
   * The host's interrupt loop: wait for the remote's doorbell, deliver each rung queue, again.
   * Per interrupt it allocates only the wait itself: no AbortSignal listener (stop() ends the
   * loop with a flag and one ring, releaseInterruptWait) and no copy of the listener list.
   */
  private startInterrupts(): void {
    const bell = this.bus.toHost;
    const run = { live: true };
    this.irqStop = () => {
      run.live = false;
    };
    const deliver = (q: number): void => {
      for (const l of this.irqListeners) l(q);
    };
    const loop = async (): Promise<void> => {
      while (run.live) {
        await bell.wait();
        // stop() may have cleared it during the wait (the stopping ring: the CPU is gone)
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition
        if (!run.live) return;
        bell.poll(deliver);
      }
    };
    void loop();
  }

  private startWatchdog(): void {
    let lastCount = this.bus.watchdogCount;
    let lastChange = Date.now();
    this.watchdogTimer = setInterval(() => {
      const timeout = this.bus.watchdogTimeout;
      const count = this.bus.watchdogCount;
      const now = Date.now();
      if (count !== lastCount) {
        lastCount = count;
        lastChange = now;
      } else if (timeout > 0 && now - lastChange > timeout) {
        this.reportCrash(CrashType.WATCHDOG, `watchdog not kicked for ${now - lastChange} ms (timeout ${timeout} ms)`);
      }
    }, this.pollMs);
    this.watchdogTimer.unref();
  }

  private stopWatchdog(): void {
    if (this.watchdogTimer !== undefined) clearInterval(this.watchdogTimer);
    this.watchdogTimer = undefined;
  }
}
