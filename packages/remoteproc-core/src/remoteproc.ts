// The life cycle of one remote processor (DESIGN.md "The life cycle"; behaviour-and-features.md
// §1). One flow for every platform: what differs lives in the driver or the loader.
import { vringSize } from "@amp/virtio-ring";
import type { ResourceTable } from "@amp/resource-table";
import type { AbortSignalLike } from "./abort.js";
import type { CoredumpElfInfo, CoredumpInfo, CoredumpSegmentSpec, CoredumpSink } from "./coredump.js";
import type { RemoteprocDriver, TableLocation } from "./driver.js";
import { AmpError, StepError, type LifecycleStep, type RemoteprocErrorCode } from "./errors.js";
import type { FirmwareSource } from "./firmware-source.js";
import { createControlSurface, type ControlSurface } from "./control.js";
import { concat } from "./internal/concat.js";
import { allocateResources, amendResources, installTable, parseTable, registerTable, rewriteHostFields, tableToCached, type ResourceContext } from "./internal/resources.js";
import { streamCoredump } from "./internal/coredump-writer.js";
import { planDumpSegments } from "./internal/dump-plan.js";
import { Emitter } from "./internal/emitter.js";
import { checkRequest } from "./internal/requests.js";
import { cachedWindow, newSession, type Failures, type Session, type VdevState } from "./internal/session.js";
import type { CarveoutInfo, ResourceRequest } from "./resources.js";
import { RegionSet, hex, type Allocation } from "./internal/allocator.js";
import { TableWindow, VDEV_STATUS, VDEV_VRINGS, VRING_DA, VRING_NOTIFYID, VRING_SIZE } from "./internal/table.js";
import type { FirmwareLoader, LoaderContext, SegmentTarget } from "./loader.js";
import { createElfLoader } from "./elf-loader.js";
import type { MemoryRegion, MemoryWindow } from "./memory.js";
import { CrashType, RprocState, type CoredumpMode, type CrashTypeName, type RecoveryMode, type RprocStateName } from "./state.js";
import type { Subdevice } from "./subdevice.js";
import type { TraceBuffer } from "./trace.js";
import { RprocVdev, type VdevHost, type VirtioDriver, type VringInfo } from "./vdev.js";

/** Limits on what a firmware may ask for. */
export interface RemoteprocLimits {
  /** Largest resource table accepted (default 65536 bytes). */
  readonly maxTableSize?: number;
  /** Largest number of table entries (default 64). */
  readonly maxEntries?: number;
  /** Largest number of vdevs (default 8). */
  readonly maxVdevs?: number;
}

/** Options of {@link createRemoteproc}. */
export interface RemoteprocOptions {
  /** Name (sysfs `name`). */
  readonly name: string;
  readonly driver: RemoteprocDriver;
  /** Firmware name (default `rproc-<name>-fw`, as Linux). */
  readonly firmware?: string;
  readonly firmwareSource?: FirmwareSource;
  /** Default: {@link createElfLoader}(). */
  readonly loader?: FirmwareLoader;
  /** Memory the platform gives the remote. */
  readonly regions?: readonly MemoryRegion[];
  /** Platform resources, amended into every boot (matched by name). */
  readonly resources?: readonly ResourceRequest[];
  /** "offline" (default; the host boots it) or "detached" (running already; the host attaches). */
  readonly initialState?: "offline" | "detached";
  /** Default "enabled". */
  readonly recovery?: RecoveryMode;
  /** Default "disabled" (as Linux). */
  readonly coredump?: CoredumpMode | "enabled";
  /** Receives crash coredumps. */
  readonly coredumpSink?: CoredumpSink;
  /** ELF class/machine for coredumps when the loader reports none. */
  readonly coredumpElf?: CoredumpElfInfo;
  /** Extra coredump segments beside the allocated regions (which are clipped around them). */
  readonly coredumpSegments?: readonly CoredumpSegmentSpec[];
  /** On a crash of an attached remote, re-attach instead of rebooting (Linux RPROC_FEAT_ATTACH_ON_RECOVERY). */
  readonly attachOnRecovery?: boolean;
  /** Alignment and rounding of carveouts and vrings (default 4096). */
  readonly pageSize?: number;
  readonly limits?: RemoteprocLimits;
}

/** Events of a {@link Remoteproc}; listeners run synchronously and must not throw (errors go to "error"). */
export interface RemoteprocEvents {
  /** Every state change. */
  state: { readonly from: RprocStateName; readonly to: RprocStateName };
  /** Every change of the power reference count. */
  power: number;
  /** A crash was accepted (the first one). */
  crash: { readonly type: CrashTypeName; readonly count: number; readonly detail?: string };
  /** A vdev started: plug a virtio driver in with {@link Remoteproc.registerVirtioDriver} or use it here. */
  vdev: RprocVdev;
  /** A vdev stopped. */
  "vdev-removed": { readonly vdev: RprocVdev; readonly crashed: boolean };
  /** A coredump was written. */
  coredump: CoredumpInfo;
  /** A failure that no caller can receive (automatic recovery, teardown hooks, listeners). */
  error: { readonly operation: string; readonly error: unknown };
}

/** What the `beforeRelease` hook of {@link Remoteproc.shutdown} may look at: the stopped remote's memory. */
export interface SnapshotWindow {
  readonly traces: readonly TraceBuffer[];
  readonly carveouts: readonly CarveoutInfo[];
  translate(da: number, length: number): MemoryWindow | undefined;
  /** Writes a coredump of the stopped remote to `sink` (inline: read from memory as written). */
  coredump(sink: CoredumpSink): Promise<CoredumpInfo | undefined>;
}

/** Options of {@link Remoteproc.shutdown}. */
export interface ShutdownOptions {
  /** Runs after the remote stopped and before its memory is released (the snapshot window). */
  readonly beforeRelease?: (window: SnapshotWindow) => void | Promise<void>;
}

const DEFAULT_PAGE = 4096;

/**
 * Creates the manager of one remote processor.
 * @throws TypeError / RangeError for bad options (a driver without `start` for an offline remote,
 * without `attach` for a detached one, overlapping regions).
 */
export function createRemoteproc(options: RemoteprocOptions): Remoteproc {
  return new Remoteproc(options);
}

/**
 * One remote processor: states offline, running, crashed, attached, detached, deleted with
 * Linux's transitions, a power reference count, events on every change. Operations are queued
 * one at a time (Linux takes `rproc->lock`); a call made in the wrong state fails with
 * `ERR_STATE` and changes nothing; a failed step throws a {@link StepError} after releasing
 * everything the operation acquired.
 */
export class Remoteproc {
  /** Name (sysfs `name`). */
  readonly name: string;
  /** The sysfs-like control surface. */
  readonly control: ControlSurface;
  private readonly driver: RemoteprocDriver;
  private readonly loader: FirmwareLoader;
  private readonly source: FirmwareSource | undefined;
  private readonly regions: RegionSet;
  private readonly platformResources: ResourceRequest[];
  private readonly programResources: ResourceRequest[] = [];
  private readonly subdevices: Subdevice[] = [];
  private readonly virtioDrivers: VirtioDriver[] = [];
  private readonly dumpSegments: CoredumpSegmentSpec[];
  private readonly emitter = new Emitter<RemoteprocEvents>();
  private readonly pageSize: number;
  private readonly maxTableSize: number;
  private readonly maxEntries: number;
  private readonly maxVdevs: number;
  private readonly attachOnRecovery: boolean;
  private readonly coredumpSink: CoredumpSink | undefined;
  private readonly coredumpElf: CoredumpElfInfo | undefined;
  private stateName: RprocStateName;
  private powerCount = 0;
  private crashes = 0;
  private firmwareName: string;
  private recoveryMode: RecoveryMode;
  private dumpMode: CoredumpMode;
  private session: Session | undefined;
  private lastTraces: TraceBuffer[] = [];
  private chain: Promise<void> = Promise.resolve();
  private readonly rctx: ResourceContext;

  constructor(options: RemoteprocOptions) {
    if (typeof options.name !== "string" || options.name === "") throw new TypeError("a remote processor needs a name");
    this.name = options.name;
    this.driver = options.driver;
    const initial: string = options.initialState ?? "offline";
    if (initial !== "offline" && initial !== "detached") throw new TypeError(`initialState must be "offline" or "detached"`);
    if (initial === "offline" && typeof this.driver.start !== "function") throw new TypeError("a driver for an offline remote needs start()");
    if (initial === "detached" && typeof this.driver.attach !== "function") throw new TypeError("a driver for a detached remote needs attach()");
    this.stateName = initial === "detached" ? RprocState.DETACHED : RprocState.OFFLINE;
    this.loader = options.loader ?? createElfLoader();
    this.source = options.firmwareSource;
    this.regions = new RegionSet(options.regions ?? []);
    for (const r of options.resources ?? []) checkRequest(r);
    this.platformResources = [...(options.resources ?? [])];
    this.firmwareName = options.firmware === undefined ? `rproc-${this.name}-fw` : cleanFirmwareName(options.firmware);
    const recovery: string = options.recovery ?? "enabled";
    if (recovery !== "enabled" && recovery !== "disabled") throw new TypeError(`recovery must be "enabled" or "disabled"`);
    this.recoveryMode = recovery;
    this.dumpMode = parseDumpMode(options.coredump ?? "disabled");
    this.coredumpSink = options.coredumpSink;
    this.coredumpElf = options.coredumpElf;
    this.dumpSegments = [...(options.coredumpSegments ?? [])];
    this.attachOnRecovery = options.attachOnRecovery ?? false;
    this.pageSize = options.pageSize ?? DEFAULT_PAGE;
    if (!Number.isInteger(this.pageSize) || this.pageSize < 1 || (this.pageSize & (this.pageSize - 1)) !== 0) throw new RangeError("pageSize must be a power of two");
    this.maxTableSize = options.limits?.maxTableSize ?? 65536;
    this.maxEntries = options.limits?.maxEntries ?? 64;
    this.maxVdevs = options.limits?.maxVdevs ?? 8;
    this.rctx = { driver: this.driver, regions: this.regions, pageSize: this.pageSize, maxEntries: this.maxEntries, maxVdevs: this.maxVdevs, translate: (da, len) => this.translate(da, len) };
    this.control = createControlSurface(this);
  }

  // ---------------------------------------------------------------------------------------
  // Control surface (sysfs)

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

  /**
   * Sets the firmware name; only while offline (Linux `-EBUSY`). The name is cut at the first newline.
   * @throws AmpError ERR_STATE when not offline; TypeError for an empty name.
   */
  setFirmware(name: string): void {
    if (this.stateName !== RprocState.OFFLINE) throw stateError(`firmware can be changed only while offline (state ${this.stateName})`);
    this.firmwareName = cleanFirmwareName(name);
  }

  /**
   * `enabled` clears the flag and recovers a crashed remote now; `disabled` leaves crashes for
   * debugging; `recover` recovers once without changing the flag.
   * @throws TypeError for another word; the errors of {@link recover}.
   */
  async setRecovery(mode: RecoveryMode | "recover"): Promise<void> {
    const m: string = mode;
    if (m === "recover") return this.recover();
    if (m !== "enabled" && m !== "disabled") throw new TypeError(`recovery takes enabled, disabled or recover, not ${m}`);
    this.recoveryMode = m;
    if (mode === "enabled") {
      await this.locked(async () => {
        if (this.stateName === RprocState.CRASHED) await this.recoverLocked("recover");
      });
    }
  }

  /**
   * Sets the coredump mode ("enabled" is accepted for "default").
   * @throws AmpError ERR_STATE while crashed (Linux `-EBUSY`); TypeError for another word.
   */
  setCoredumpMode(mode: CoredumpMode | "enabled"): void {
    const m = parseDumpMode(mode);
    if (this.stateName === RprocState.CRASHED) throw stateError("the coredump mode cannot change while crashed");
    this.dumpMode = m;
  }

  // ---------------------------------------------------------------------------------------
  // Registration

  /** Subscribes to an event; returns the unsubscribe function. */
  on<K extends keyof RemoteprocEvents>(event: K, listener: (value: RemoteprocEvents[K]) => void): () => void {
    return this.emitter.on(event, listener);
  }

  /** Appends a subdevice (it takes part from the next boot or attach on). Returns a remover. */
  addSubdevice(subdevice: Subdevice): () => void {
    if (typeof subdevice !== "object") throw new TypeError("subdevice must be an object");
    this.subdevices.push(subdevice);
    return () => {
      const i = this.subdevices.indexOf(subdevice);
      if (i >= 0) this.subdevices.splice(i, 1);
    };
  }

  /**
   * Registers a virtio driver (e.g. an rpmsg host for device id 7). Running vdevs it matches are
   * probed at once; later ones when they start. Returns a function that unregisters it (and
   * removes its bindings).
   */
  registerVirtioDriver(driver: VirtioDriver): () => Promise<void> {
    if (typeof driver.probe !== "function" || !Array.isArray(driver.deviceIds)) throw new TypeError("a virtio driver needs deviceIds and probe()");
    this.virtioDrivers.push(driver);
    const bindNow = this.locked(async () => {
      for (const v of this.session?.vdevs ?? []) {
        if (v.live !== undefined && v.binding === undefined && driver.deviceIds.includes(v.id)) {
          try {
            v.binding = (await driver.probe(v.live)) ?? {};
          } catch (error) {
            this.report("probe", error);
          }
        }
      }
    });
    void bindNow;
    return () => {
      const i = this.virtioDrivers.indexOf(driver);
      if (i >= 0) this.virtioDrivers.splice(i, 1);
      return this.locked(async () => {
        for (const v of this.session?.vdevs ?? []) {
          if (v.live !== undefined && v.binding !== undefined && driver.deviceIds.includes(v.id)) {
            const b = v.binding;
            v.binding = undefined;
            try {
              await b.remove?.(false);
            } catch (error) {
              this.report("remove", error);
            }
          }
        }
      });
    };
  }

  /**
   * Registers a resource programmatically (resource-less firmware gets a generated table of them;
   * a firmware table gets them amended by name). Only while offline or detached.
   * @throws AmpError ERR_STATE otherwise; TypeError for a bad request.
   */
  addResource(request: ResourceRequest): void {
    if (this.stateName !== RprocState.OFFLINE && this.stateName !== RprocState.DETACHED) throw stateError(`resources can be added only while offline or detached (state ${this.stateName})`);
    checkRequest(request);
    this.programResources.push(request);
  }

  /**
   * Adds a coredump segment beside the allocated regions (Linux `rproc_coredump_add_custom_segment`).
   * Allocated regions that overlap it are clipped, so each byte is dumped once.
   */
  addCoredumpSegment(segment: CoredumpSegmentSpec): void {
    if (!Number.isSafeInteger(segment.da) || segment.da < 0 || !Number.isSafeInteger(segment.size) || segment.size < 0 || segment.size > Number.MAX_SAFE_INTEGER - segment.da) {
      throw new RangeError("coredump segment needs a da and a size whose end stays below 2^53");
    }
    this.dumpSegments.push(segment);
  }

  // ---------------------------------------------------------------------------------------
  // What a running remote has

  /** The vdevs that are started. */
  get vdevs(): readonly RprocVdev[] {
    const out: RprocVdev[] = [];
    for (const v of this.session?.vdevs ?? []) if (v.live !== undefined) out.push(v.live);
    return out;
  }

  /** Trace buffers of the current (or, after release, the last) session. */
  get traces(): readonly TraceBuffer[] {
    if (this.session === undefined) return this.lastTraces;
    const out: TraceBuffer[] = [];
    for (const t of this.session.traces) if (t.buffer !== undefined) out.push(t.buffer);
    return out;
  }

  /** Allocated carveouts. */
  get carveouts(): readonly CarveoutInfo[] {
    const out: CarveoutInfo[] = [];
    for (const c of this.session?.carveouts ?? []) {
      if (c.alloc !== undefined) out.push({ name: c.name, da: c.alloc.da, pa: c.alloc.pa, size: c.alloc.size, entryOffset: c.entryOffset, window: c.alloc.window });
    }
    return out;
  }

  /** Bytes of region memory currently allocated (0 whenever no session holds resources). */
  get allocatedBytes(): number {
    return this.regions.usedBytes;
  }

  /** A copy of the table the host currently uses (installed, else cached), or undefined. */
  get resourceTable(): Uint8Array | undefined {
    const t = this.currentTable();
    return t?.bytes();
  }

  /** Where the resource table is installed in device memory, or undefined. */
  get resourceTableLocation(): TableLocation | undefined {
    return this.session?.live === undefined ? undefined : this.session.location;
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
    for (const v of this.session?.vdevs ?? []) if (v.live?.deliver(notifyId) === true) return true;
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
  // Life cycle

  /**
   * Boots (offline -> running) or attaches (detached -> attached); when already powered, only
   * counts one more user (Linux `rproc_boot`).
   * @throws AmpError ERR_STATE (crashed with no users, deleted), ERR_UNSUPPORTED, {@link StepError}.
   */
  boot(): Promise<void> {
    return this.locked(async () => {
      this.assertAlive();
      if (this.powerCount > 0) {
        this.setPower(this.powerCount + 1);
        return;
      }
      if (this.stateName === RprocState.DETACHED) await this.attachLocked();
      else if (this.stateName === RprocState.OFFLINE) await this.bootLocked();
      else throw stateError(`cannot boot from state ${this.stateName}`);
      this.setPower(1);
    });
  }

  /**
   * Waits until the firmware exists (when the source can wait) and boots; a detached remote is
   * attached at once (Linux auto-boot).
   * @throws AmpError ERR_ABORTED when `signal` aborts the wait, ERR_NO_FIRMWARE, and what {@link boot} throws.
   */
  async autoBoot(options: { readonly signal?: AbortSignalLike } = {}): Promise<void> {
    this.assertAlive();
    if (this.stateName !== RprocState.DETACHED) {
      const src = this.requireSource();
      if (src.waitFor !== undefined) {
        await src.waitFor(this.firmwareName, options.signal === undefined ? {} : { signal: options.signal });
      } else if ((await src.get(this.firmwareName)) === undefined) {
        throw new AmpError<RemoteprocErrorCode>("ERR_NO_FIRMWARE", `firmware "${this.firmwareName}" not found and the source cannot wait for it`);
      }
    }
    return this.boot();
  }

  /**
   * Stops a running or attached remote and releases its resources when the last user goes (Linux
   * `rproc_shutdown`). Split in two: after the remote stopped, `beforeRelease` may read memory
   * (traces, a coredump) before it is released. If the driver's `stop` fails, nothing changes.
   * @throws AmpError ERR_STATE (not running/attached; crashed is refused as in Linux), ERR_UNSUPPORTED (no driver stop), {@link StepError}.
   */
  shutdown(options: ShutdownOptions = {}): Promise<void> {
    return this.locked(async () => {
      this.assertAlive();
      if (this.stateName !== RprocState.RUNNING && this.stateName !== RprocState.ATTACHED) throw stateError(`cannot stop from state ${this.stateName}`);
      if (typeof this.driver.stop !== "function") throw new AmpError<RemoteprocErrorCode>("ERR_UNSUPPORTED", "the driver has no stop()");
      if (this.powerCount > 1) {
        this.setPower(this.powerCount - 1);
        return;
      }
      const s = this.mustSession();
      const failures: Failures = [];
      await this.stopSubdevs(s, false, failures);
      const before = tableToCached(s);
      try {
        await this.driver.stop();
      } catch (error) {
        await this.restoreAfterFailedStop(s, before, failures);
        throw new StepError("shutdown", "stop", error);
      }
      s.running = false;
      await this.unprepareSubdevs(s, failures);
      this.setPower(0);
      this.setState(RprocState.OFFLINE);
      if (options.beforeRelease !== undefined) {
        try {
          await options.beforeRelease(this.snapshotWindow(s));
        } catch (error) {
          failures.push({ step: "coredump", error });
        }
      }
      await this.release(s, failures);
      const first = failures[0];
      if (first !== undefined) throw new StepError("shutdown", first.step, first.error);
    });
  }

  /**
   * Lets go of an attached remote and leaves it running; the table found at attach is written
   * back so a later attach sees it clean (Linux `rproc_detach`). If the driver's `detach` fails,
   * nothing changes.
   * @throws AmpError ERR_STATE (only from attached), ERR_UNSUPPORTED (no driver detach), {@link StepError}.
   */
  detach(): Promise<void> {
    return this.locked(async () => {
      this.assertAlive();
      if (this.stateName !== RprocState.ATTACHED) throw stateError(`detach works only from attached (state ${this.stateName})`);
      if (typeof this.driver.detach !== "function") throw new AmpError<RemoteprocErrorCode>("ERR_UNSUPPORTED", "the driver has no detach()");
      if (this.powerCount > 1) {
        this.setPower(this.powerCount - 1);
        return;
      }
      const s = this.mustSession();
      const failures: Failures = [];
      await this.stopSubdevs(s, false, failures);
      const liveCopy = s.live?.bytes();
      if (s.live !== undefined && s.clean !== undefined) s.live.write(0, s.clean);
      try {
        await this.driver.detach();
      } catch (error) {
        if (s.live !== undefined && liveCopy !== undefined) s.live.write(0, liveCopy);
        await this.startSubdevsBestEffort(s, failures);
        this.reportAll("detach", failures);
        throw new StepError("detach", "detach", error);
      }
      s.running = false;
      s.live = undefined;
      await this.unprepareSubdevs(s, failures);
      this.setPower(0);
      this.setState(RprocState.DETACHED);
      await this.release(s, failures);
      const first = failures[0];
      if (first !== undefined) throw new StepError("detach", first.step, first.error);
    });
  }

  /**
   * Reports a crash (Linux `rproc_report_crash`; callable from the driver at any time). Only the
   * first crash of a running or attached remote counts (`detail`, e.g. a fault address, goes to the
   * "crash" event); then, if recovery is enabled, the remote
   * is recovered. The promise settles when the crash is handled; recovery failures go to the
   * "error" event (the remote then stays crashed).
   */
  reportCrash(type: CrashTypeName = CrashType.FATAL_ERROR, detail?: string): Promise<void> {
    return this.locked(async () => {
      if (this.stateName !== RprocState.RUNNING && this.stateName !== RprocState.ATTACHED) return;
      const s = this.mustSession();
      s.crashType = type;
      this.crashes++;
      this.setState(RprocState.CRASHED);
      this.emitter.emit("crash", { type, count: this.crashes, ...(detail === undefined ? {} : { detail }) }, (e) => { this.report("listener", e); });
      if (this.recoveryMode === "enabled") {
        try {
          await this.recoverLocked("recover");
        } catch (error) {
          this.report("recover", error);
        }
      }
    });
  }

  /**
   * Recovers a crashed remote once (sysfs `recovery` = recover): stop (subdevices told it is a
   * crash), coredump, reload the firmware with the cached resource table, start. On failure the
   * remote stays crashed and recover can be tried again.
   * @throws AmpError ERR_STATE when not crashed, {@link StepError}.
   */
  recover(): Promise<void> {
    return this.locked(async () => {
      this.assertAlive();
      if (this.stateName !== RprocState.CRASHED) throw stateError(`nothing to recover in state ${this.stateName}`);
      await this.recoverLocked("recover");
    });
  }

  /**
   * Writes a coredump of the remote's memory to `sink` now (inline: each chunk read just before it
   * is written). Works while resources are held (running, attached, crashed). Returns undefined
   * when no ELF class is known (as Linux makes no dump then).
   * @throws AmpError ERR_STATE when no resources are held.
   */
  async coredump(sink: CoredumpSink): Promise<CoredumpInfo | undefined> {
    const s = this.session;
    if (s === undefined) throw stateError(`no memory to dump in state ${this.stateName}`);
    return this.writeDump(s, sink, "inline", "manual");
  }

  /**
   * Deletes the remote (Linux `rproc_del`): stops or detaches it, releases everything ignoring
   * errors (they go to the "error" event), and enters `deleted`, where every call fails.
   * @throws AmpError ERR_STATE when already deleted.
   */
  delete(): Promise<void> {
    return this.locked(async () => {
      this.assertAlive();
      const s = this.session;
      const failures: Failures = [];
      if (s !== undefined) {
        const crashed = this.stateName === RprocState.CRASHED;
        await this.stopSubdevs(s, crashed, failures);
        if (s.running) {
          try {
            if (s.mode === "attach" && this.driver.detach !== undefined) {
              if (s.live !== undefined && s.clean !== undefined) s.live.write(0, s.clean);
              await this.driver.detach();
            } else {
              await this.driver.stop?.();
            }
          } catch (error) {
            failures.push({ step: s.mode === "attach" && this.driver.detach !== undefined ? "detach" : "stop", error });
          }
          s.running = false;
        }
        tableToCached(s);
        await this.unprepareSubdevs(s, failures);
        await this.release(s, failures);
      }
      this.reportAll("delete", failures);
      this.setPower(0);
      this.setState(RprocState.DELETED);
    });
  }

  // ---------------------------------------------------------------------------------------
  // Flows (run under the lock)

  private async bootLocked(): Promise<void> {
    if (typeof this.driver.start !== "function") throw new AmpError<RemoteprocErrorCode>("ERR_UNSUPPORTED", "the driver has no start()");
    const s = newSession("boot");
    let step: LifecycleStep = "firmware";
    try {
      const bytes = await this.fetchFirmware();
      step = "loadAndVerify";
      s.firmware = await this.loader.loadAndVerify(bytes, this.loaderContext());
      s.bootAddr = s.firmware.bootAddr;
      step = "prepare";
      await this.driver.prepare?.();
      s.prepared = true;
      step = "resource table";
      const table = s.firmware.resourceTable;
      if (table !== undefined) {
        if (table.bytes.length > this.maxTableSize) throw new AmpError<RemoteprocErrorCode>("ERR_LIMIT", `resource table of ${table.bytes.length} bytes exceeds maxTableSize ${this.maxTableSize}`);
        s.cached = cachedWindow(table.bytes);
        s.location = { da: table.da, size: table.bytes.length };
      }
      const parsed = s.cached === undefined ? undefined : parseTable(this.rctx, s.cached);
      step = "register resources";
      if (parsed !== undefined && s.cached !== undefined) await registerTable(this.rctx, s, s.cached, parsed);
      step = "amend resources";
      await amendResources(this.rctx, s, [...this.platformResources, ...this.programResources]);
      step = "allocate";
      await allocateResources(this.rctx, s);
      step = "load segments";
      await s.firmware.loadSegments(this.segmentTarget());
      step = "install table";
      installTable(this.rctx, s);
      this.session = s;
      await this.startSequence(s, "start", (st) => { step = st; });
    } catch (error) {
      await this.unwind(s, "boot");
      throw new StepError("boot", step, error);
    }
    this.setState(RprocState.RUNNING);
  }

  private async attachLocked(): Promise<void> {
    const s = newSession("attach");
    let step: LifecycleStep = "prepare";
    try {
      await this.driver.prepare?.();
      s.prepared = true;
      step = "resource table";
      const loc = await this.driver.getLoadedResourceTable?.();
      let parsed: ResourceTable | undefined;
      if (loc !== undefined) {
        if (!Number.isSafeInteger(loc.da) || loc.da < 0 || !Number.isSafeInteger(loc.size) || loc.size <= 0) throw new AmpError<RemoteprocErrorCode>("ERR_MALFORMED", "getLoadedResourceTable returned a bad location");
        if (loc.size > this.maxTableSize) throw new AmpError<RemoteprocErrorCode>("ERR_LIMIT", `loaded resource table of ${loc.size} bytes exceeds maxTableSize ${this.maxTableSize}`);
        const w = this.translate(loc.da, loc.size);
        if (w === undefined) throw new AmpError<RemoteprocErrorCode>("ERR_TRANSLATE", `loaded resource table at ${hex(loc.da)} (+${loc.size}) is not in device memory`);
        const live = TableWindow.of(w);
        s.clean = live.bytes();
        parsed = parseTable(this.rctx, cachedWindow(s.clean));
        s.live = live;
        s.location = loc;
      }
      step = "register resources";
      if (parsed !== undefined && s.live !== undefined) await registerTable(this.rctx, s, s.live, parsed);
      step = "amend resources";
      await amendResources(this.rctx, s, [...this.platformResources, ...this.programResources]);
      step = "allocate";
      await allocateResources(this.rctx, s);
      this.session = s;
      await this.startSequence(s, "attach", (st) => { step = st; });
    } catch (error) {
      await this.unwind(s, "attach");
      throw new StepError("attach", step, error);
    }
    this.setState(RprocState.ATTACHED);
  }

  /** prepare subdevices -> driver start/attach -> start subdevices. */
  private async startSequence(s: Session, how: "start" | "attach", setStep: (step: LifecycleStep) => void): Promise<void> {
    s.subdevs = [...this.subdevices, ...s.vdevs.map((v) => this.vdevSubdevice(v))];
    setStep("prepare subdevices");
    for (const sd of s.subdevs) {
      await sd.prepare?.();
      s.preparedSubdevs++;
    }
    setStep(how);
    if (how === "start") await this.driver.start?.(s.bootAddr);
    else await this.driver.attach?.();
    s.running = true;
    setStep("start subdevices");
    for (const sd of s.subdevs) {
      await sd.start?.();
      s.startedSubdevs++;
    }
  }

  private async recoverLocked(operation: string): Promise<void> {
    const s = this.mustSession();
    const failures: Failures = [];
    if (this.attachOnRecovery && s.mode === "attach" && this.driver.detach !== undefined) {
      let step: LifecycleStep = "stop subdevices";
      try {
        await this.stopSubdevs(s, true, failures);
        if (s.running) {
          step = "detach";
          if (s.live !== undefined && s.clean !== undefined) s.live.write(0, s.clean);
          await this.driver.detach();
          s.running = false;
        }
        await this.unprepareSubdevs(s, failures);
        await this.maybeCrashDump(s);
        this.freeRetired(s);
        if (s.live !== undefined && s.clean !== undefined) {
          step = "register resources";
          rewriteHostFields(s, s.live);
        }
        await this.startSequence(s, "attach", (st) => { step = st; });
      } catch (error) {
        await this.haltAfterFailedRecovery(s, failures);
        this.reportAll(operation, failures);
        throw new StepError(operation, step, error);
      }
      this.reportAll(operation, failures);
      this.setState(RprocState.ATTACHED);
      return;
    }
    let step: LifecycleStep = "stop subdevices";
    try {
      await this.stopSubdevs(s, true, failures);
      tableToCached(s);
      step = "stop";
      if (s.running) {
        await this.driver.stop?.();
        s.running = false;
      }
      step = "unprepare subdevices";
      await this.unprepareSubdevs(s, failures);
      step = "coredump";
      await this.maybeCrashDump(s);
      this.freeRetired(s);
      step = "firmware";
      const bytes = await this.fetchFirmware();
      step = "release";
      if (s.firmware !== undefined) {
        const old = s.firmware;
        s.firmware = undefined;
        await this.loader.release(old);
      }
      step = "loadAndVerify";
      s.firmware = await this.loader.loadAndVerify(bytes, this.loaderContext());
      s.bootAddr = s.firmware.bootAddr;
      if (!s.generated) {
        const t = s.firmware.resourceTable;
        s.location = t === undefined || s.cached === undefined ? undefined : { da: t.da, size: s.cached.size };
      }
      s.mode = "boot";
      step = "load segments";
      await s.firmware.loadSegments(this.segmentTarget());
      step = "install table";
      installTable(this.rctx, s);
      await this.startSequence(s, "start", (st) => { step = st; });
    } catch (error) {
      await this.haltAfterFailedRecovery(s, failures);
      this.reportAll(operation, failures);
      throw new StepError(operation, step, error);
    }
    this.reportAll(operation, failures);
    this.setState(RprocState.RUNNING);
  }

  /** A recovery failed part-way: bring the session back to "stopped, resources held" so it can be retried. */
  private async haltAfterFailedRecovery(s: Session, failures: Failures): Promise<void> {
    await this.stopSubdevs(s, true, failures);
    if (s.running) {
      try {
        if (s.mode === "attach" && this.driver.detach !== undefined) await this.driver.detach();
        else await this.driver.stop?.();
        s.running = false;
      } catch (error) {
        failures.push({ step: "stop", error });
      }
    }
    if (s.mode === "boot") tableToCached(s);
    await this.unprepareSubdevs(s, failures);
  }

  /** Undo a failed boot or attach: everything acquired is released. */
  private async unwind(s: Session, operation: string): Promise<void> {
    const failures: Failures = [];
    await this.stopSubdevs(s, true, failures);
    if (s.running) {
      try {
        if (s.mode === "attach" && this.driver.detach !== undefined) await this.driver.detach();
        else await this.driver.stop?.();
      } catch (error) {
        failures.push({ step: s.mode === "attach" ? "detach" : "stop", error });
      }
      s.running = false;
    }
    if (s.mode === "attach" && s.live !== undefined && s.clean !== undefined) {
      try {
        s.live.write(0, s.clean);
      } catch (error) {
        failures.push({ step: "release", error });
      }
      s.live = undefined;
    }
    tableToCached(s);
    await this.unprepareSubdevs(s, failures);
    await this.release(s, failures);
    this.reportAll(`${operation} (unwinding)`, failures);
  }

  private async restoreAfterFailedStop(s: Session, before: TableWindow | undefined, failures: Failures): Promise<void> {
    if (before !== undefined) s.live = before;
    await this.startSubdevsBestEffort(s, failures);
    this.reportAll("shutdown", failures);
  }

  private async startSubdevsBestEffort(s: Session, failures: Failures): Promise<void> {
    for (let i = s.startedSubdevs; i < s.subdevs.length; i++) {
      const sd = s.subdevs[i];
      try {
        await sd?.start?.();
        s.startedSubdevs++;
      } catch (error) {
        failures.push({ step: "start subdevices", error });
        break;
      }
    }
  }

  // ---------------------------------------------------------------------------------------
  // Steps

  /** What a loader learns about a load; companions come from the same source as the image. */
  private loaderContext(): LoaderContext {
    const source = this.requireSource();
    return {
      firmwareName: this.firmwareName,
      rprocName: this.name,
      readCompanion: async (name) => source.get(name),
    };
  }

  private async fetchFirmware(): Promise<Uint8Array> {
    const src = this.requireSource();
    const bytes = await src.get(this.firmwareName);
    if (bytes === undefined) throw new AmpError<RemoteprocErrorCode>("ERR_NO_FIRMWARE", `firmware "${this.firmwareName}" not found`);
    return bytes;
  }

  private segmentTarget(): SegmentTarget {
    const window = (da: bigint, length: number): MemoryWindow => {
      // Device addresses are numbers (exact below 2^53, wider than any CPU's physical addresses).
      if (da < 0n || da > BigInt(Number.MAX_SAFE_INTEGER) || !Number.isSafeInteger(length) || length < 0) {
        throw new AmpError<RemoteprocErrorCode>("ERR_TRANSLATE", `segment at 0x${da.toString(16)} (+${length}) is beyond 2^53, outside every memory region`);
      }
      const w = this.translate(Number(da), length);
      if (w === undefined) throw new AmpError<RemoteprocErrorCode>("ERR_TRANSLATE", `bad segment da 0x${da.toString(16)} (+${length}): not in device memory`);
      return w;
    };
    return {
      write: (da, bytes) => {
        const w = window(da, bytes.length);
        w.memory.write(w.offset, bytes);
      },
      fill: (da, length, value) => {
        if (length > BigInt(Number.MAX_SAFE_INTEGER)) throw new AmpError<RemoteprocErrorCode>("ERR_TRANSLATE", `segment fill of 0x${length.toString(16)} bytes is too large`);
        const n = Number(length);
        const w = window(da, n);
        w.memory.fill(w.offset, n, value);
      },
    };
  }

  private vdevSubdevice(v: VdevState): Subdevice {
    const host: VdevHost = {
      rprocName: this.name,
      table: () => this.currentTable(),
      kick: (id) => { this.driver.kick?.(id); },
      translate: (da, len) => this.translate(da, len),
      allocate: (what, size, align) => {
        const a = this.regions.allocate(what, size, align, undefined);
        v.extra.push(a);
        return a.window;
      },
    };
    return {
      name: `vdev${v.index}`,
      start: async () => {
        const vrings: VringInfo[] = v.vrings.map((r) => {
          const a = r.alloc;
          if (a === undefined) throw new AmpError<RemoteprocErrorCode>("ERR_STATE", `vdev${v.index} vring ${r.index} is not allocated`);
          // Linux zeroes each vring when the virtqueue is created (remoteproc_virtio.c).
          a.window.memory.fill(a.window.offset, vringSize(r.num, r.align), 0);
          return { index: r.index, num: r.num, align: r.align, da: a.da, notifyId: r.notifyId, window: a.window };
        });
        const vdev = new RprocVdev(host, v.index, v.id, v.entryOffset, v.configLen, vrings, v.buffer?.window);
        v.live = vdev;
        this.emitter.emit("vdev", vdev, (e) => { this.report("listener", e); });
        const drv = this.virtioDrivers.find((d) => d.deviceIds.includes(v.id));
        if (drv === undefined) return;
        try {
          v.binding = (await drv.probe(vdev)) ?? {};
        } catch (error) {
          this.disposeVdev(v, true);
          throw error;
        }
      },
      stop: async (crashed) => {
        const b = v.binding;
        v.binding = undefined;
        try {
          await b?.remove?.(crashed);
        } finally {
          this.disposeVdev(v, crashed);
        }
      },
    };
  }

  private disposeVdev(v: VdevState, crashed: boolean): void {
    const vdev = v.live;
    if (vdev === undefined) return;
    try {
      // virtio reset (Linux rproc_virtio_reset): status 0 in the table the remote sees.
      this.currentTable()?.setU8Release(v.entryOffset + VDEV_STATUS, 0);
    } catch {
      // the table is unreachable; nothing to reset
    }
    const s = this.session;
    if (crashed && s !== undefined && s.held) s.retired.push(...v.extra.map((alloc) => ({ vdev: v.index, alloc })));
    else for (const a of v.extra) this.regions.free(a);
    v.extra = [];
    vdev.dispose();
    v.live = undefined;
    this.emitter.emit("vdev-removed", { vdev, crashed }, (e) => { this.report("listener", e); });
  }

  private async stopSubdevs(s: Session, crashed: boolean, failures: Failures): Promise<void> {
    while (s.startedSubdevs > 0) {
      s.startedSubdevs--;
      try {
        await s.subdevs[s.startedSubdevs]?.stop?.(crashed);
      } catch (error) {
        failures.push({ step: "stop subdevices", error });
      }
    }
  }

  private async unprepareSubdevs(s: Session, failures: Failures): Promise<void> {
    while (s.preparedSubdevs > 0) {
      s.preparedSubdevs--;
      try {
        await s.subdevs[s.preparedSubdevs]?.unprepare?.();
      } catch (error) {
        failures.push({ step: "unprepare subdevices", error });
      }
    }
  }

  /** Frees every allocation, unmaps devmem, unprepares the driver, releases the loaded image. */
  private async release(s: Session, failures: Failures): Promise<void> {
    for (const t of s.traces) t.buffer?.snapshot();
    s.held = false;
    const table = s.live ?? s.cached;
    for (const v of s.vdevs) {
      this.disposeVdev(v, false);
      for (const r of v.vrings) {
        if (r.alloc !== undefined) this.regions.free(r.alloc);
        r.alloc = undefined;
        // Linux rproc_free_vring: da = 0, notifyid = -1 in the table that still exists.
        if (table !== undefined && s.mode === "boot") {
          try {
            table.setU32(v.entryOffset + VDEV_VRINGS + VRING_SIZE * r.index + VRING_DA, 0);
            table.setU32(v.entryOffset + VDEV_VRINGS + VRING_SIZE * r.index + VRING_NOTIFYID, 0xffffffff);
          } catch {
            // unreachable table
          }
        }
      }
      if (v.buffer !== undefined && v.bufferShared !== true) this.regions.free(v.buffer);
      v.buffer = undefined;
    }
    this.freeRetired(s);
    for (const c of s.carveouts) {
      if (c.alloc !== undefined) this.regions.free(c.alloc);
      c.alloc = undefined;
    }
    for (const t of s.traces) {
      if (t.alloc !== undefined) this.regions.free(t.alloc);
      t.alloc = undefined;
    }
    while (s.mapped.length > 0) {
      const d = s.mapped.pop();
      try {
        if (d !== undefined) await this.driver.unmapDevmem?.(d);
      } catch (error) {
        failures.push({ step: "release", error });
      }
    }
    if (s.prepared) {
      s.prepared = false;
      try {
        await this.driver.unprepare?.();
      } catch (error) {
        failures.push({ step: "release", error });
      }
    }
    if (s.firmware !== undefined) {
      const fw = s.firmware;
      s.firmware = undefined;
      try {
        await this.loader.release(fw);
      } catch (error) {
        failures.push({ step: "release", error });
      }
    }
    s.live = undefined;
    this.lastTraces = s.traces.flatMap((t) => (t.buffer === undefined ? [] : [t.buffer]));
    if (this.session === s) this.session = undefined;
  }

  // ---------------------------------------------------------------------------------------
  // Coredump

  private async maybeCrashDump(s: Session): Promise<void> {
    if (this.dumpMode === "disabled" || this.coredumpSink === undefined) return;
    const sink = this.coredumpSink;
    try {
      if (this.dumpMode === "inline") {
        await this.writeDump(s, sink, "inline", "crash");
        return;
      }
      // default: copy everything now, hand it over, do not wait for the sink.
      const chunks: Uint8Array[] = [];
      const info = await this.writeDump(s, { write: (c) => { chunks.push(c.slice()); } }, "default", "crash");
      if (info === undefined) return;
      const all = concat(chunks);
      void Promise.resolve()
        .then(() => sink.write(all))
        .then(() => sink.close?.(info))
        .catch((error: unknown) => { this.report("coredump", error); });
    } catch (error) {
      this.report("coredump", error);
    }
  }

  private async writeDump(s: Session, sink: CoredumpSink, mode: "inline" | "default", reason: "crash" | "manual"): Promise<CoredumpInfo | undefined> {
    const elf = s.firmware?.elf ?? this.coredumpElf;
    if (elf === undefined) {
      this.report("coredump", new AmpError<RemoteprocErrorCode>("ERR_UNSUPPORTED", "no coredump: the ELF class is not set (pass coredumpElf)"));
      return undefined;
    }
    const specs = planDumpSegments(this.allocatedRegions(s), this.dumpSegments);
    const size = await streamCoredump({ elf, entry: s.bootAddr, segments: specs, translate: (da, len) => this.translate(da, len) }, (chunk) => sink.write(chunk));
    const info: CoredumpInfo = { reason, mode, size, segments: specs.length, ...(reason === "crash" && s.crashType !== undefined ? { crashType: s.crashType } : {}) };
    if (mode === "inline") await sink.close?.(info);
    this.emitter.emit("coredump", info, (e) => { this.report("listener", e); });
    return info;
  }

  /**
   * Every region held for the remote, as Linux's default dump (all carveouts, vrings and vdev
   * buffers among them): carveouts, then per vdev its vrings, buffer region and allocations
   * (live, or kept after a crash), then allocated trace buffers, then fixed-address trace buffers
   * that are backed by memory.
   */
  private allocatedRegions(s: Session): CoredumpSegmentSpec[] {
    const out: CoredumpSegmentSpec[] = [];
    const add = (a: Allocation | undefined, name: string): void => {
      if (a !== undefined) out.push({ da: a.da, size: a.size, name });
    };
    for (const c of s.carveouts) add(c.alloc, c.name);
    for (const v of s.vdevs) {
      for (const r of v.vrings) add(r.alloc, `vdev${v.index}vring${r.index}`);
      if (v.bufferShared !== true) add(v.buffer, `vdev${v.index}buffer`);
      for (const a of v.extra) add(a, `vdev${v.index} allocation`);
    }
    for (const r of s.retired) add(r.alloc, `vdev${r.vdev} allocation`);
    for (const t of s.traces) add(t.alloc, t.name);
    for (const t of s.traces) {
      if (t.alloc === undefined && t.reqDa !== undefined && this.translate(t.reqDa, t.len) !== undefined) out.push({ da: t.reqDa, size: t.len, name: t.name });
    }
    return out;
  }

  /** Frees the vdev allocations kept for a crash coredump. */
  private freeRetired(s: Session): void {
    for (const r of s.retired) this.regions.free(r.alloc);
    s.retired = [];
  }

  private snapshotWindow(s: Session): SnapshotWindow {
    const carveouts: CarveoutInfo[] = [];
    for (const c of s.carveouts) {
      if (c.alloc !== undefined) carveouts.push({ name: c.name, da: c.alloc.da, pa: c.alloc.pa, size: c.alloc.size, entryOffset: c.entryOffset, window: c.alloc.window });
    }
    return {
      traces: s.traces.flatMap((t) => (t.buffer === undefined ? [] : [t.buffer])),
      carveouts,
      translate: (da, len) => this.translate(da, len),
      coredump: (sink) => this.writeDump(s, sink, "inline", "manual"),
    };
  }

  // ---------------------------------------------------------------------------------------
  // Plumbing

  private currentTable(): TableWindow | undefined {
    const s = this.session;
    return s === undefined ? undefined : (s.live ?? s.cached);
  }

  private locked<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn);
    this.chain = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private setState(to: RprocStateName): void {
    const from = this.stateName;
    if (from === to) return;
    this.stateName = to;
    this.emitter.emit("state", { from, to }, (e) => { this.report("listener", e); });
  }

  private setPower(n: number): void {
    if (n === this.powerCount) return;
    this.powerCount = n;
    this.emitter.emit("power", n, (e) => { this.report("listener", e); });
  }

  private report(operation: string, error: unknown): void {
    this.emitter.emit("error", { operation, error });
  }

  private reportAll(operation: string, failures: Failures): void {
    for (const f of failures) this.report(operation, new StepError(operation, f.step, f.error));
  }

  private assertAlive(): void {
    if (this.stateName === RprocState.DELETED) throw stateError(`${this.name} is deleted`);
  }

  private mustSession(): Session {
    const s = this.session;
    if (s === undefined) throw stateError("no active session");
    return s;
  }

  private requireSource(): FirmwareSource {
    if (this.source === undefined) throw new AmpError<RemoteprocErrorCode>("ERR_NO_FIRMWARE", "no firmware source configured");
    return this.source;
  }

}



function stateError(msg: string): AmpError<RemoteprocErrorCode> {
  return new AmpError<RemoteprocErrorCode>("ERR_STATE", msg);
}

function cleanFirmwareName(name: string): string {
  if (typeof name !== "string") throw new TypeError("firmware name must be a string");
  const v = name.split("\n")[0] ?? "";
  if (v === "") throw new TypeError("firmware name must not be empty");
  return v;
}

function parseDumpMode(mode: string): CoredumpMode {
  if (mode === "enabled" || mode === "default") return "default";
  if (mode === "disabled" || mode === "inline") return mode;
  throw new TypeError(`coredump mode must be disabled, default (enabled) or inline, not ${mode}`);
}

