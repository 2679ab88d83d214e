// The life cycle of one remote processor (DESIGN.md "The life cycle"; behaviour-and-features.md
// §1), in order. One flow for every platform: what differs lives in the driver or the loader.
// The steps live beside it, named after the life cycle: boot/ (firmware, table, allocation,
// start), vdev/ (the virtio subdevice), crash/ (coredump, recovery), release/ (release and
// teardown); session/ holds what one boot or attach owns.
import type { AbortSignalLike } from "./abort.js";
import { attachSession, bootSession } from "./boot/boot.js";
import { requireSource } from "./boot/firmware.js";
import { RemoteprocView } from "./remoteproc-view.js";
import { createControlSurface, type ControlSurface } from "./control.js";
import type { CoredumpInfo, CoredumpSegmentSpec, CoredumpSink } from "./coredump.js";
import { snapshotWindow, writeDump } from "./crash/coredump.js";
import { recoverSession } from "./crash/recover.js";
import { createElfLoader } from "./elf-loader.js";
import { StepError } from "./errors.js";
import type { CoreContext } from "./internal/context.js";
import { rprocError, stateError } from "./internal/error.js";
import { checkRequest } from "./internal/requests.js";
import type { RemoteprocOptions, ShutdownOptions } from "./options.js";
import { cleanFirmwareName, parseDumpMode, resolveOptions } from "./internal/settings.js";
import { releaseSession } from "./release/release.js";
import { stopRemote, detachRemote } from "./release/let-go.js";
import { tearDown } from "./release/teardown.js";
import type { ResourceRequest } from "./resources.js";
import type { Failures } from "./session/failures.js";
import type { Session } from "./session/session.js";
import { CrashType, RprocState, type CoredumpMode, type CrashTypeName, type RecoveryMode } from "./state.js";
import type { Subdevice } from "./subdevice.js";
import type { VirtioDriver } from "./vdev/rproc-vdev.js";
import { bindDriver, unbindDriver } from "./vdev/subdevice.js";

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
export class Remoteproc extends RemoteprocView {
  /** The sysfs-like control surface. */
  readonly control: ControlSurface;
  private readonly platformResources: ResourceRequest[];
  private readonly programResources: ResourceRequest[] = [];
  private readonly subdevices: Subdevice[] = [];
  private readonly virtioDrivers: VirtioDriver[] = [];
  private readonly dumpSegments: CoredumpSegmentSpec[];
  private readonly attachOnRecovery: boolean;
  /** What the steps in boot/, vdev/, crash/ and release/ see of this manager. */
  private readonly ctx: CoreContext;
  private chain: Promise<void> = Promise.resolve();

  constructor(options: RemoteprocOptions) {
    const o = resolveOptions(options);
    super(options, o);
    this.platformResources = o.resources;
    this.dumpSegments = [...(options.coredumpSegments ?? [])];
    this.attachOnRecovery = options.attachOnRecovery ?? false;
    this.ctx = {
      name: this.name,
      driver: this.driver,
      loader: options.loader ?? createElfLoader(),
      source: options.firmwareSource,
      regions: this.regions,
      limits: o.limits,
      subdevices: this.subdevices,
      virtioDrivers: this.virtioDrivers,
      coredumpSink: options.coredumpSink,
      coredumpElf: options.coredumpElf,
      dumpSegments: this.dumpSegments,
      firmwareName: () => this.firmwareName,
      dumpMode: () => this.dumpMode,
      translate: (da, len) => this.translate(da, len),
      emit: (event, value) => {
        this.emitter.emit(event, value, (e) => {
          this.report("listener", e);
        });
      },
      report: (operation, error) => {
        this.report(operation, error);
      },
      reportAll: (operation, failures) => {
        for (const f of failures) this.report(operation, new StepError(operation, f.step, f.error));
      },
      released: (s) => {
        this.lastTraces = s.resources.traces.flatMap((t) => (t.buffer === undefined ? [] : [t.buffer]));
        if (this.session === s) this.session = undefined;
      },
    };
    this.control = createControlSurface(this);
  }

  // ---------------------------------------------------------------------------------------
  // Control surface (sysfs)

  /**
   * Sets the firmware name; only while offline (Linux `-EBUSY`). The name is cut at the first newline.
   * @throws AmpError ERR_STATE when not offline; TypeError for an empty name.
   */
  setFirmware(name: string): void {
    if (this.stateName !== RprocState.OFFLINE)
      throw stateError(`firmware can be changed only while offline (state ${this.stateName})`);
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
    if (m !== "enabled" && m !== "disabled")
      throw new TypeError(`recovery takes enabled, disabled or recover, not ${m}`);
    this.recoveryMode = m;
    if (mode === "enabled") {
      await this.locked(async () => {
        if (this.stateName === RprocState.CRASHED) await this.recoverLocked();
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
    if (typeof driver.probe !== "function" || !Array.isArray(driver.deviceIds))
      throw new TypeError("a virtio driver needs deviceIds and probe()");
    this.virtioDrivers.push(driver);
    void this.locked(() => bindDriver(this.ctx, this.session, driver));
    return () => {
      const i = this.virtioDrivers.indexOf(driver);
      if (i >= 0) this.virtioDrivers.splice(i, 1);
      return this.locked(() => unbindDriver(this.ctx, this.session, driver));
    };
  }

  /**
   * Registers a resource programmatically (resource-less firmware gets a generated table of them;
   * a firmware table gets them amended by name). Only while offline or detached.
   * @throws AmpError ERR_STATE otherwise; TypeError for a bad request.
   */
  addResource(request: ResourceRequest): void {
    if (this.stateName !== RprocState.OFFLINE && this.stateName !== RprocState.DETACHED)
      throw stateError(`resources can be added only while offline or detached (state ${this.stateName})`);
    checkRequest(request);
    this.programResources.push(request);
  }

  /**
   * Adds a coredump segment beside the allocated regions (Linux `rproc_coredump_add_custom_segment`).
   * Allocated regions that overlap it are clipped, so each byte is dumped once.
   */
  addCoredumpSegment(segment: CoredumpSegmentSpec): void {
    if (
      !Number.isSafeInteger(segment.da) ||
      segment.da < 0 ||
      !Number.isSafeInteger(segment.size) ||
      segment.size < 0 ||
      segment.size > Number.MAX_SAFE_INTEGER - segment.da
    ) {
      throw new RangeError("coredump segment needs a da and a size whose end stays below 2^53");
    }
    this.dumpSegments.push(segment);
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
      const src = requireSource(this.ctx);
      if (src.waitFor !== undefined) {
        await src.waitFor(this.firmwareName, options.signal === undefined ? {} : { signal: options.signal });
      } else if ((await src.get(this.firmwareName)) === undefined) {
        throw rprocError(
          "ERR_NO_FIRMWARE",
          `firmware "${this.firmwareName}" not found and the source cannot wait for it`,
        );
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
      if (this.stateName !== RprocState.RUNNING && this.stateName !== RprocState.ATTACHED)
        throw stateError(`cannot stop from state ${this.stateName}`);
      if (typeof this.driver.stop !== "function") throw rprocError("ERR_UNSUPPORTED", "the driver has no stop()");
      if (this.powerCount > 1) {
        this.setPower(this.powerCount - 1);
        return;
      }
      const s = this.mustSession();
      const failures: Failures = [];
      await stopRemote(this.ctx, s, failures);
      this.setPower(0);
      this.setState(RprocState.OFFLINE);
      if (options.beforeRelease !== undefined) {
        try {
          await options.beforeRelease(snapshotWindow(this.ctx, s));
        } catch (error) {
          failures.push({ step: "coredump", error });
        }
      }
      await releaseSession(this.ctx, s, failures);
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
      if (this.stateName !== RprocState.ATTACHED)
        throw stateError(`detach works only from attached (state ${this.stateName})`);
      if (typeof this.driver.detach !== "function") throw rprocError("ERR_UNSUPPORTED", "the driver has no detach()");
      if (this.powerCount > 1) {
        this.setPower(this.powerCount - 1);
        return;
      }
      const s = this.mustSession();
      const failures: Failures = [];
      await detachRemote(this.ctx, s, failures);
      this.setPower(0);
      this.setState(RprocState.DETACHED);
      await releaseSession(this.ctx, s, failures);
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
      s.state.crashType = type;
      this.crashes++;
      this.setState(RprocState.CRASHED);
      this.ctx.emit("crash", { type, count: this.crashes, ...(detail === undefined ? {} : { detail }) });
      if (this.recoveryMode === "enabled") {
        try {
          await this.recoverLocked();
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
      await this.recoverLocked();
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
    return writeDump(this.ctx, s, sink, "inline", "manual");
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
      if (s !== undefined) await tearDown(this.ctx, s, this.stateName === RprocState.CRASHED, failures);
      this.ctx.reportAll("delete", failures);
      this.setPower(0);
      this.setState(RprocState.DELETED);
    });
  }

  // ---------------------------------------------------------------------------------------
  // Flows (run under the lock)

  private async bootLocked(): Promise<void> {
    if (typeof this.driver.start !== "function") throw rprocError("ERR_UNSUPPORTED", "the driver has no start()");
    await bootSession(this.ctx, [...this.platformResources, ...this.programResources], (s) => {
      this.session = s;
    });
    this.setState(RprocState.RUNNING);
  }

  private async attachLocked(): Promise<void> {
    await attachSession(this.ctx, [...this.platformResources, ...this.programResources], (s) => {
      this.session = s;
    });
    this.setState(RprocState.ATTACHED);
  }

  private async recoverLocked(): Promise<void> {
    const to = await recoverSession(this.ctx, this.mustSession(), "recover", this.attachOnRecovery);
    this.setState(to);
  }

  // ---------------------------------------------------------------------------------------
  // Plumbing

  private locked<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn);
    this.chain = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private assertAlive(): void {
    if (this.stateName === RprocState.DELETED) throw stateError(`${this.name} is deleted`);
  }

  private mustSession(): Session {
    const s = this.session;
    if (s === undefined) throw stateError("no active session");
    return s;
  }
}
