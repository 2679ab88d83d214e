// What a remote processor shows while it lives: its state, counters and modes, the running
// session's vdevs, traces, carveouts and table, address translation and interrupt delivery.
// Remoteproc extends it with the life cycle, so remoteproc.ts holds the order of things only.
import type { CarveoutInfo } from "./resources.js";
import type { TableLocation, RemoteprocDriver } from "./driver.js";
import { carveoutInfos } from "./crash/coredump.js";
import type { RegionSet } from "./internal/allocator.js";
import { Emitter } from "./internal/emitter.js";
import type { Settings } from "./internal/settings.js";
import type { MemoryWindow } from "./memory.js";
import type { RemoteprocEvents, RemoteprocOptions } from "./options.js";
import type { Session } from "./session/session.js";
import { RprocState, type CoredumpMode, type RecoveryMode, type RprocStateName } from "./state.js";
import type { TraceBuffer } from "./trace.js";
import type { RprocVdev } from "./vdev/rproc-vdev.js";

/** The observable side of a {@link Remoteproc} (every member is documented there). */
export abstract class RemoteprocView {
  /** Name (sysfs `name`). */
  readonly name: string;
  protected readonly driver: RemoteprocDriver;
  protected readonly regions: RegionSet;
  protected readonly emitter: Emitter<RemoteprocEvents> = new Emitter<RemoteprocEvents>();
  protected stateName: RprocStateName;
  protected powerCount = 0;
  protected crashes = 0;
  protected firmwareName: string;
  protected recoveryMode: RecoveryMode;
  protected dumpMode: CoredumpMode;
  /** The current boot or attach, from its start sequence to its release. */
  protected session: Session | undefined;
  /** Trace buffers of the last released session (their snapshots). */
  protected lastTraces: TraceBuffer[] = [];

  protected constructor(options: RemoteprocOptions, o: Settings) {
    this.name = options.name;
    this.driver = options.driver;
    this.stateName = o.initialState === "detached" ? RprocState.DETACHED : RprocState.OFFLINE;
    this.regions = o.regions;
    this.firmwareName = o.firmware;
    this.recoveryMode = o.recovery;
    this.dumpMode = o.coredump;
  }

  /** Current state (sysfs `state`). */
  get state(): RprocStateName {
    return this.stateName;
  }
  /** Power reference count: boots minus shutdowns/detaches. */
  get power(): number {
    return this.powerCount;
  }
  /** Crashes accepted so far (Linux `crash_cnt`). */
  get crashCount(): number {
    return this.crashes;
  }
  /** Firmware name (sysfs `firmware`). */
  get firmware(): string {
    return this.firmwareName;
  }
  /** Recovery mode (sysfs `recovery`). */
  get recovery(): RecoveryMode {
    return this.recoveryMode;
  }
  /** Coredump mode (sysfs `coredump`). */
  get coredumpMode(): CoredumpMode {
    return this.dumpMode;
  }

  /** Subscribes to an event; returns the unsubscribe function. */
  on<K extends keyof RemoteprocEvents>(event: K, listener: (value: RemoteprocEvents[K]) => void): () => void {
    return this.emitter.on(event, listener);
  }

  /** The vdevs that are started. */
  get vdevs(): readonly RprocVdev[] {
    const out: RprocVdev[] = [];
    for (const v of this.session?.resources.vdevs ?? []) if (v.live !== undefined) out.push(v.live);
    return out;
  }

  /** Trace buffers of the current (or, after release, the last) session. */
  get traces(): readonly TraceBuffer[] {
    if (this.session === undefined) return this.lastTraces;
    const out: TraceBuffer[] = [];
    for (const t of this.session.resources.traces) if (t.buffer !== undefined) out.push(t.buffer);
    return out;
  }

  /** Allocated carveouts. */
  get carveouts(): readonly CarveoutInfo[] {
    return this.session === undefined ? [] : carveoutInfos(this.session);
  }

  /** Bytes of region memory currently allocated (0 whenever no session holds resources). */
  get allocatedBytes(): number {
    return this.regions.usedBytes;
  }

  /** A copy of the table the host currently uses (installed, else cached), or undefined. */
  get resourceTable(): Uint8Array | undefined {
    return this.session?.table.current()?.bytes();
  }

  /** Where the resource table is installed in device memory, or undefined. */
  get resourceTableLocation(): TableLocation | undefined {
    const t = this.session?.table;
    return t?.live === undefined ? undefined : t.location;
  }

  /** Translates a device address range: the driver's `translate`, then the regions. */
  translate(da: number, length: number): MemoryWindow | undefined {
    return this.driver.translate?.(da, length) ?? this.regions.translate(da, length);
  }

  /**
   * Remote -> host notification for vring `notifyId` (Linux `rproc_vq_interrupt`); the platform's
   * doorbell receiver calls it. Returns false when no started vdev has that id.
   */
  handleInterrupt(notifyId: number): boolean {
    for (const v of this.session?.resources.vdevs ?? []) if (v.live?.deliver(notifyId) === true) return true;
    return false;
  }

  /**
   * Host panic: asks the driver to let the remote flush; returns how many ms the platform should
   * wait (0 when not running or the driver has no `panic`).
   */
  panic(): number {
    if (this.stateName !== RprocState.RUNNING && this.stateName !== RprocState.ATTACHED) return 0;
    return this.driver.panic?.() ?? 0;
  }

  // ---------------------------------------------------------------------------------------
  // For the life cycle

  /** Enters state `to`, with a "state" event. */
  protected setState(to: RprocStateName): void {
    const from = this.stateName;
    if (from === to) return;
    this.stateName = to;
    this.emitter.emit("state", { from, to }, (e) => {
      this.report("listener", e);
    });
  }

  /** Sets the power count, with a "power" event. */
  protected setPower(n: number): void {
    if (n === this.powerCount) return;
    this.powerCount = n;
    this.emitter.emit("power", n, (e) => {
      this.report("listener", e);
    });
  }

  /** A failure no caller can receive: the "error" event. */
  protected report(operation: string, error: unknown): void {
    this.emitter.emit("error", { operation, error });
  }
}
