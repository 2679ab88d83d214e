// The remoteproc-core driver for a Cortex-M4 under QEMU (mps2-an386) whose RAM is a file.
//
// Life cycle, mapped onto QEMU (qemu-remote.md):
// - the core loads the firmware's segments into the RAM file through `regions` (host as loader);
// - start: spawn a NEW QEMU halted (-S), set the doorbell mode word, `system_reset` (the CPU reads
//   SP/PC from the vector table now in the file), `cont`. A new process per start is the rule of
//   §3 "stale TCG code": QEMU never sees code change under translated blocks;
// - stop: read the registers (for the coredump), then `quit`. The RAM stays in the file;
// - attach/detach: connect to / let go of a QEMU started by someone else with server sockets;
// - kick: a byte on UART1 raises the firmware's doorbell interrupt (irq mode), or nothing
//   (poll mode: the firmware busy-polls the rings);
// - remote -> host: UART1 bytes (irq mode) or the control block's notify counter (poll mode);
// - crash: the firmware's HardFault record (crash byte on UART1 or the state word), QMP events
//   (guest reset request, watchdog), or QEMU exiting on its own (a lockup aborts QEMU 7.2).
import { closeSync, existsSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ElfNote } from "@amp/elf-loader";
import type { MemoryRegion, RemoteprocDriver, TableLocation } from "@amp/remoteproc-core";
import { FileMemory } from "../file-memory.js";
import {
  AMPQ_CTRL_DA,
  AMPQ_DB_CRASH,
  AMPQ_DB_PONG,
  AmpqCrash,
  AmpqCtrl,
  AmpqMode,
  AmpqState,
  MPS2_RAM_BASE,
  MPS2_RAM_SIZE,
} from "./abi.js";
import { writeQemuCoredump } from "./coredump.js";
import { describeFault, readFaultRecord } from "./crash.js";
import type { FaultRecord } from "./crash.js";
import type { ImageTable } from "./image.js";
import { QemuMachine } from "./machine.js";
import type { Mps2Board, QemuExit, QemuSocketPaths } from "./machine.js";
import type { QmpEvent } from "./qmp.js";
import type { CpuRegisters } from "./registers.js";

/** One named piece of the RAM for the core (a `MemoryRegion` over the RAM file). */
export interface QemuRegionSpec {
  readonly name: string;
  /** Device address (inside 0x21000000..0x22000000). */
  readonly da: number;
  readonly size: number;
  /** Serves dynamic allocations (vrings or buffers with da ANY). */
  readonly pool?: boolean;
}

/**
 * The default split of the 16 MiB RAM (non-overlapping, as the core requires), matching
 * firmware/qemu/amp-qemu.h: the image in the first MiB, vrings and other allocations from a pool,
 * the rpmsg buffer pool at 0x21200000 ("vdev0buffer", 64 KiB = 2 x 64 buffers of 512 bytes),
 * more pool, and the control block ("amp-ctrl") in the last 4 KiB.
 */
export const DEFAULT_QEMU_MEMORY_MAP: readonly QemuRegionSpec[] = [
  { name: "image", da: 0x2100_0000, size: 0x10_0000 },
  { name: "pool", da: 0x2110_0000, size: 0x10_0000, pool: true },
  { name: "vdev0buffer", da: 0x2120_0000, size: 0x1_0000 },
  { name: "pool-high", da: 0x2121_0000, size: 0x21ff_f000 - 0x2121_0000, pool: true },
  { name: "amp-ctrl", da: AMPQ_CTRL_DA, size: 0x1000 },
];

/** How host and firmware tell each other about new work. */
export type QemuDoorbellMode = "irq" | "poll";

/** Options of {@link QemuDriver}. */
export interface QemuDriverOptions {
  /**
   * The RAM file (16 MiB, created when missing). Default: a new file in /dev/shm (or the temp
   * directory), deleted by {@link QemuDriver.dispose}.
   */
  readonly memoryPath?: string;
  /** Doorbell mode (default "irq": the firmware sleeps in WFI between messages). */
  readonly doorbell?: QemuDoorbellMode;
  /** Poll mode: how often the host checks the notify counter, in ms (default 1; 0 = every event-loop turn). */
  readonly pollIntervalMs?: number;
  /** The QEMU binary (default "qemu-system-arm"). */
  readonly qemu?: string;
  readonly board?: Mps2Board;
  /** Open a gdbstub on a unix socket (`machine.sockets.gdb`) at each start (default false). */
  readonly gdb?: boolean;
  readonly extraArgs?: readonly string[];
  /** Time limit for QEMU to start (default 10 s). */
  readonly startTimeoutMs?: number;
  /** Device address of the firmware's control block (default 0x21fff000, see abi.ts). */
  readonly ctrlDa?: number;
  /** Notify ids signalled when a poll-mode notification arrives (default [0, 1]: vdev0's vrings). */
  readonly pollNotifyIds?: readonly number[];
  /**
   * Write a core file (whole RAM + CPU registers, see writeQemuCoredump) when the remote is
   * stopped after a crash, i.e. before recovery reloads the image. "%n" is replaced by the crash
   * number (1, 2, ...) counted by this driver.
   */
  readonly crashCoredumpPath?: string;
  /** How the RAM is split into regions for the core (default {@link DEFAULT_QEMU_MEMORY_MAP}). */
  readonly memoryMap?: readonly QemuRegionSpec[];
  /** Late attach: the sockets of a QEMU started with `qemuArgs({ role: "server" })`. */
  readonly attach?: {
    readonly sockets: QemuSocketPaths;
    /** Where the running firmware's resource table is (e.g. `checkImage(elf).resourceTable`). */
    readonly resourceTable?: ImageTable;
  };
}

/** What the driver saw when the remote crashed. */
export interface QemuCrashReport {
  /** remoteproc crash type: a fault or QEMU ending is "fatal error", the firmware's watchdog record or a QMP WATCHDOG event "watchdog". */
  readonly type: "fatal error" | "watchdog";
  /** One line for people. */
  readonly message: string;
  /** The firmware's HardFault record, when it wrote one. */
  readonly fault?: FaultRecord;
  /** The QMP event behind it, if any. */
  readonly event?: QmpEvent;
  /** How QEMU ended, if it did. */
  readonly exit?: QemuExit;
}

function defaultMemoryPath(): string {
  const dir = existsSync("/dev/shm") ? "/dev/shm" : tmpdir();
  return join(
    dir,
    `amp-qemu-${process.pid}-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e9).toString(36)}.mem`,
  );
}

/**
 * A {@link RemoteprocDriver} for firmware running on QEMU mps2-an386. Give `regions` to the core
 * (they back loading, carveouts and address translation), and connect `onInterrupt` / `onCrash`
 * to the core's interrupt and crash entry points ({@link createQemuRemoteproc} does both).
 *
 * @example
 * const driver = new QemuDriver({ doorbell: "irq" });
 * driver.onInterrupt = (id) => rproc.handleInterrupt(id);
 * driver.onCrash = (c) => void rproc.reportCrash(c.type);
 */
export class QemuDriver implements RemoteprocDriver {
  /** The remote's RAM (the whole 16 MiB file; byte 0 = device address 0x21000000). */
  readonly memory: FileMemory;
  /** The RAM split into regions (options.memoryMap), for the core. */
  readonly regions: readonly MemoryRegion[];
  readonly memoryPath: string;
  /** Called with a vring notify id when the remote notified the host. */
  onInterrupt: (notifyId: number) => void = () => undefined;
  /** Called once per crash with what the driver saw. */
  onCrash: (report: QemuCrashReport) => void = () => undefined;
  /** Extra notes for crash core files (e.g. the trace note with the last trace records); set by the owner. */
  crashNotes: () => readonly ElfNote[] = () => [];
  /** Console text (UART0) of the firmware. */
  onConsole: (text: string) => void = () => undefined;
  /** Registers read at the last stop (or crash), for the coredump. */
  lastRegisters: CpuRegisters | undefined;
  /** The last crash report. */
  lastCrash: QemuCrashReport | undefined;
  /** Core files written so far (options.crashCoredumpPath). */
  readonly coreFiles: string[] = [];
  private crashCount = 0;
  private current: QemuMachine | undefined;
  private readonly options: QemuDriverOptions;
  private readonly ownsFile: boolean;
  private readonly ctrl: number;
  private crashed = false;
  private stopping = false;
  private pollTimer: ReturnType<typeof setTimeout> | ReturnType<typeof setImmediate> | undefined;
  private lastNotify = 0;

  /**
   * Opens (creating it when needed) the 16 MiB RAM file. Nothing runs until `start` or `attach`.
   *
   * @throws RangeError for a `ctrlDa` or memory-map region outside the RAM; the fs error when the
   *   file cannot be opened.
   */
  constructor(options: QemuDriverOptions = {}) {
    const ctrlDa = options.ctrlDa ?? AMPQ_CTRL_DA;
    if (!Number.isInteger(ctrlDa) || ctrlDa < MPS2_RAM_BASE || ctrlDa > MPS2_RAM_BASE + MPS2_RAM_SIZE - 0x80) {
      throw new RangeError(`ctrlDa 0x${ctrlDa.toString(16)} is not inside the RAM`);
    }
    const map = options.memoryMap ?? DEFAULT_QEMU_MEMORY_MAP;
    for (const r of map) {
      if (
        !Number.isInteger(r.da) ||
        !Number.isInteger(r.size) ||
        r.size <= 0 ||
        r.da < MPS2_RAM_BASE ||
        r.da - MPS2_RAM_BASE > MPS2_RAM_SIZE - r.size
      ) {
        throw new RangeError(`memory map region "${r.name}" is not inside the RAM 0x21000000..0x22000000`);
      }
    }
    this.options = options;
    this.ownsFile = options.memoryPath === undefined;
    this.memoryPath = options.memoryPath ?? defaultMemoryPath();
    this.memory = FileMemory.open(this.memoryPath, { size: MPS2_RAM_SIZE });
    this.ctrl = ctrlDa - MPS2_RAM_BASE;
    this.regions = map.map((r) => ({
      name: r.name,
      da: r.da,
      size: r.size,
      memory: this.memory,
      offset: r.da - MPS2_RAM_BASE,
      ...(r.pool === true ? { pool: true } : {}),
    }));
  }

  /** The QEMU currently running this remote, if any. */
  get machine(): QemuMachine | undefined {
    return this.current;
  }

  /** Doorbell mode in use. */
  get doorbellMode(): QemuDoorbellMode {
    return this.options.doorbell ?? "irq";
  }

  /** Launches a fresh QEMU, resets the CPU into the loaded image and lets it run. */
  async start(): Promise<void> {
    await this.shutdownMachine();
    this.crashed = false;
    this.lastCrash = undefined;
    this.lastRegisters = undefined;
    // The firmware reads the mode in its idle loop. A crash record of the previous run must not be
    // taken for a new crash (the firmware clears it too, but only once it runs).
    this.memory.setU32(this.ctrl + AmpqCtrl.MODE, this.doorbellMode === "irq" ? AmpqMode.IRQ : AmpqMode.POLL);
    this.memory.setU32(this.ctrl + AmpqCtrl.STATE, AmpqState.RESET);
    this.memory.setU32(this.ctrl + AmpqCtrl.MAGIC, 0);
    this.memory.setU32(this.ctrl + AmpqCtrl.CRASH + AmpqCrash.MAGIC, 0);
    const o = this.options;
    const m = await QemuMachine.launch({
      memoryPath: this.memoryPath,
      ...(o.qemu === undefined ? {} : { qemu: o.qemu }),
      ...(o.board === undefined ? {} : { board: o.board }),
      ...(o.gdb === undefined ? {} : { gdb: o.gdb }),
      ...(o.extraArgs === undefined ? {} : { extraArgs: o.extraArgs }),
      ...(o.startTimeoutMs === undefined ? {} : { startTimeoutMs: o.startTimeoutMs }),
    });
    try {
      this.wire(m);
      await m.pauseOnGuestReset();
      await m.reset();
      await m.cont();
    } catch (e) {
      await m.quit().catch(() => undefined);
      this.current = undefined;
      throw e;
    }
  }

  /** Reads the registers, then ends QEMU. The RAM file keeps the remote's memory. */
  async stop(): Promise<void> {
    await this.shutdownMachine();
  }

  /** Connects to the QEMU given in `options.attach`. */
  async attach(): Promise<void> {
    const a = this.options.attach;
    if (a === undefined)
      throw new TypeError("QemuDriver: attach needs options.attach (the sockets of the running QEMU)");
    await this.shutdownMachine();
    this.crashed = false;
    const m = await QemuMachine.connect({
      sockets: a.sockets,
      ...(this.options.startTimeoutMs === undefined ? {} : { timeoutMs: this.options.startTimeoutMs }),
    });
    this.wire(m);
    this.lastNotify = this.memory.getU32(this.ctrl + AmpqCtrl.NOTIFY);
    const mode = this.memory.getU32(this.ctrl + AmpqCtrl.MODE);
    if (mode !== (this.doorbellMode === "irq" ? AmpqMode.IRQ : AmpqMode.POLL)) {
      this.memory.setU32(this.ctrl + AmpqCtrl.MODE, this.doorbellMode === "irq" ? AmpqMode.IRQ : AmpqMode.POLL);
    }
  }

  /** Lets go of QEMU and leaves the firmware running. */
  detach(): void {
    this.stopPolling();
    const m = this.current;
    this.current = undefined;
    m?.disconnect();
  }

  /** Attach: the table location given in `options.attach.resourceTable`. */
  getLoadedResourceTable(): TableLocation | undefined {
    return this.options.attach?.resourceTable;
  }

  /** Host -> remote: one UART1 byte (irq mode); nothing in poll mode (the firmware polls). */
  kick(notifyId: number): void {
    if (this.doorbellMode === "irq") this.current?.ring(notifyId);
  }

  /** Reads the firmware's HardFault record from the RAM, if there is one. */
  faultRecord(): FaultRecord | undefined {
    return readFaultRecord(this.memory, MPS2_RAM_BASE, this.ctrl + MPS2_RAM_BASE);
  }

  /** Ends QEMU if running and closes the RAM file (deleting it when the driver created it). */
  async dispose(): Promise<void> {
    await this.shutdownMachine(false);
    this.memory.close();
    if (this.ownsFile) rmSync(this.memoryPath, { force: true });
  }

  private wire(m: QemuMachine): void {
    this.current = m;
    m.onConsole((t) => {
      this.onConsole(t);
    });
    m.onDoorbell((byte) => {
      if (byte === AMPQ_DB_CRASH) this.checkFault();
      else if (byte !== AMPQ_DB_PONG) this.onInterrupt(byte);
    });
    m.onEvent((e) => {
      if (e.event === "WATCHDOG") {
        this.crash({ type: "watchdog", message: `watchdog fired (action ${String(e.data["action"])})`, event: e });
      } else if (e.event === "SHUTDOWN" && e.data["guest"] === true) {
        this.crash({ type: "fatal error", message: `the firmware requested a ${String(e.data["reason"])}`, event: e });
      }
    });
    m.onExit((exit) => {
      if (this.current !== m || this.stopping) return;
      this.stopPolling();
      const why = exit.signal !== null ? `signal ${exit.signal}` : `code ${exit.code}`;
      this.crash({
        type: "fatal error",
        message: `QEMU exited (${why})${exit.stderr ? `: ${exit.stderr.trim().split("\n").pop() ?? ""}` : ""}`,
        exit,
      });
    });
    this.lastNotify = this.memory.getU32(this.ctrl + AmpqCtrl.NOTIFY);
    if (this.doorbellMode === "poll") this.startPolling();
  }

  private checkFault(): boolean {
    const fault = this.faultRecord();
    if (fault === undefined) return false;
    this.crash({ type: fault.kind === "watchdog" ? "watchdog" : "fatal error", message: describeFault(fault), fault });
    return true;
  }

  private crash(report: QemuCrashReport): void {
    if (this.crashed) return;
    this.crashed = true;
    this.crashCount++;
    this.lastCrash = report;
    const m = this.current;
    // Freeze the CPU where it is and keep its registers for the coredump.
    if (m !== undefined && !m.hasExited) {
      void m
        .stop()
        .then(() => m.registers())
        .then((r) => {
          this.lastRegisters ??= r;
        })
        .catch(() => undefined);
    }
    this.onCrash(report);
  }

  private writeCrashCore(): void {
    const template = this.options.crashCoredumpPath;
    if (template === undefined) return;
    const path = template.replace("%n", String(this.crashCount));
    const fd = openSync(path, "w");
    try {
      let notes: readonly ElfNote[] = [];
      try {
        notes = this.crashNotes();
      } catch {
        // a core without the extra notes is better than none
      }
      writeQemuCoredump(this.memory, (c) => writeSync(fd, c), {
        notes,
        ...(this.lastRegisters === undefined ? {} : { registers: this.lastRegisters }),
      });
    } finally {
      closeSync(fd);
    }
    this.coreFiles.push(path);
  }

  private startPolling(): void {
    const interval = this.options.pollIntervalMs ?? 1;
    const ids = this.options.pollNotifyIds ?? [0, 1];
    const tick = (): void => {
      if (this.current === undefined) return;
      const n = this.memory.getU32(this.ctrl + AmpqCtrl.NOTIFY);
      if (n !== this.lastNotify) {
        this.lastNotify = n;
        if (this.memory.getU32(this.ctrl + AmpqCtrl.STATE) === AmpqState.CRASHED && this.checkFault()) return;
        for (const id of ids) this.onInterrupt(id);
      }
      this.pollTimer = interval <= 0 ? setImmediate(tick) : setTimeout(tick, interval);
    };
    tick();
  }

  private stopPolling(): void {
    if (this.pollTimer !== undefined) {
      clearTimeout(this.pollTimer as ReturnType<typeof setTimeout>);
      clearImmediate(this.pollTimer as ReturnType<typeof setImmediate>);
    }
    this.pollTimer = undefined;
  }

  private async shutdownMachine(saveRegisters = true): Promise<void> {
    this.stopPolling();
    const m = this.current;
    if (m === undefined) return;
    this.stopping = true;
    try {
      if (!m.hasExited) {
        if (saveRegisters && this.lastRegisters === undefined)
          this.lastRegisters = await m.registers().catch(() => undefined);
        await m.quit();
      }
      if (this.crashed && saveRegisters) this.writeCrashCore();
    } finally {
      this.current = undefined;
      this.stopping = false;
    }
  }
}
