// The firmware side of the worker-thread processor: what a JS firmware program gets when the
// CPU runs it, and helpers to reach its resource table, trace buffer, watchdog and doorbells.
// Runtime-agnostic (ECMAScript + SharedArrayBuffer/Atomics): it is bundled into the firmware
// and never imports node: modules. Everything is found in memory, as on a real CPU.
import { parseResourceTable, type ResourceTable } from "@amp/resource-table";
import { RpmsgRemote, type RpmsgRemoteOptions } from "@amp/rpmsg";
import { AddressSpace, isAmpError, SharedMemory, type Scheduler } from "@amp/virtio-ring";
import { ProcessorBus } from "./bus.js";
import { decodeProgramHeader } from "../js-firmware/format.js";
import { TraceWriter } from "./trace-writer.js";
import { RemoteVdevTransport } from "./vdev-transport.js";

/** VIRTIO_ID_RPMSG */
const VIRTIO_ID_RPMSG = 7;

/** Options of {@link Firmware.rpmsg}. */
export type FirmwareRpmsgOptions = Omit<RpmsgRemoteOptions, "transport" | "space" | "doorbell" | "setDeviceFeatures">;

/** Options of {@link Firmware.run}. */
export interface FirmwareRunOptions {
  /** Called after every wake-up, before the loop waits again (application polling). */
  readonly onTick?: () => void;
  /** Longest wait between two loop turns in ms (default 20): the watchdog is kicked this often. */
  readonly tickMs?: number;
}

/** The host's timers, resolved when first needed (never at module load: STYLE.md point 6). */
function hostScheduler(): Scheduler {
  const g = globalThis as unknown as { setTimeout?: (cb: () => void, ms: number) => unknown; clearTimeout?: (h: unknown) => void };
  const st = g.setTimeout;
  const ct = g.clearTimeout;
  if (st === undefined || ct === undefined) throw new Error("this engine has no timers: pass a scheduler");
  return { setTimeout: (cb, ms) => st(cb, ms), clearTimeout: (h) => { ct(h); } };
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

  constructor(cpu: Cpu) {
    this.memory = new SharedMemory(cpu.memory);
    this.bus = new ProcessorBus(cpu.control);
    this.bootAddress = cpu.bootAddress;
    const header = decodeProgramHeader(new Uint8Array(cpu.memory), cpu.bootAddress);
    this.resourceTableAddress = header.resourceTableAddress;
    this.resourceTableSize = header.resourceTableSize;
    const table = this.readResourceTable();
    const trace = table?.entries.find((e) => e.kind === "trace");
    if (trace?.kind === "trace" && trace.len >= 2 && trace.da + trace.len <= this.memory.byteLength) {
      this.traceWriter = new TraceWriter(this.memory, trace.da, trace.len);
    }
  }

  /** The resource table as it is in memory now (the host rewrites fields of it). */
  readResourceTable(): ResourceTable | undefined {
    const da = this.resourceTableAddress;
    if (da === undefined) return undefined;
    return parseResourceTable(this.memory.read(da, this.resourceTableSize));
  }

  /** Appends a line to the trace buffer (no-op when the table declares none). */
  trace(line: string): void {
    this.traceWriter?.line(line);
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
    if (vdev?.kind !== "vdev" || this.resourceTableAddress === undefined) throw new Error("the resource table has no rpmsg vdev (virtio id 7)");
    const transport = new RemoteVdevTransport(this.memory, this.resourceTableAddress + vdev.offset, vdev.id, vdev.vrings.length, vdev.configLen);
    const space = new AddressSpace().map(0, this.memory, { name: "memory" });
    return new RpmsgRemote({ scheduler: hostScheduler(), ...options, transport, space, doorbell: this.bus.toHost, setDeviceFeatures: false });
  }

  /**
   * The firmware's main loop: waits for host doorbells, runs `remote.process()` (messages, link
   * changes) and kicks the watchdog, forever. Only a crash or the host stopping the CPU ends it.
   */
  async run(remote: RpmsgRemote | undefined, options: FirmwareRunOptions = {}): Promise<never> {
    const scheduler = hostScheduler();
    const tickMs = options.tickMs ?? 20;
    for (;;) {
      this.bus.toRemote.poll(() => undefined);
      remote?.process();
      options.onTick?.();
      this.bus.kickWatchdog();
      try {
        await this.bus.toRemote.wait({ timeoutMs: tickMs, scheduler });
      } catch (e) {
        if (!isAmpError(e) || e.code !== "ERR_TIMEOUT") throw e;
      }
    }
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
