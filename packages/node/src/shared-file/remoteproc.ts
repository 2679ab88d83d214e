// One call for a person or a CLI (`amp attach`): a Remoteproc over a SharedFileDriver, with
// the rpmsg host bound to every rpmsg vdev, interrupts that name no queue fanned out to every
// vring, and crashes reported to the core.
import { createElfLoader, createMemoryFirmwareSource, createRemoteproc, CrashType } from "@amp/remoteproc-core";
import type { CoredumpMode, CoredumpSink, RecoveryMode, Remoteproc, RprocVdevLike } from "@amp/remoteproc-core";
import { RSC_NOTIFY_ID_ANY } from "@amp/resource-table";
import type { RpmsgHost } from "@amp/rpmsg";
import { trackRpmsgHosts } from "../internal/rpmsg-hosts.js";
import type { RpmsgHostListener, RpmsgVdevOptions } from "../rpmsg-vdev.js";
import { SharedFileDriver, type SharedFileCrashReport, type SharedFileDriverOptions } from "./driver.js";

/**
 * What {@link deliverInterrupt} needs of a Remoteproc, typed structurally so that a Remoteproc
 * of another installed copy of @amp/remoteproc-core fits.
 */
export type InterruptTarget = Pick<Remoteproc, "handleInterrupt"> & {
  readonly vdevs: readonly Pick<RprocVdevLike, "vrings">[];
};

/**
 * Delivers a remote -> host notification to the core: a vring notify id as it is, or
 * `RSC_NOTIFY_ID_ANY` ("look at every ring", what OpenAMP's doorbell means) to every vring of
 * every started vdev. Returns how many vrings it was delivered to.
 *
 * @example
 * driver.onInterrupt = (id) => deliverInterrupt(rproc, id);
 */
export function deliverInterrupt(rproc: InterruptTarget, notifyId: number): number {
  if (notifyId !== RSC_NOTIFY_ID_ANY) return rproc.handleInterrupt(notifyId) ? 1 : 0;
  let n = 0;
  for (const vdev of rproc.vdevs) {
    // One vdev driver (rpmsg) usually processes every ring on any of its interrupts; a second
    // delivery to the same vdev then finds nothing new, which is cheap.
    for (const v of vdev.vrings) if (rproc.handleInterrupt(v.notifyId)) n++;
  }
  return n;
}

/** Options of {@link createSharedFileRemoteproc}. */
export interface SharedFileRemoteprocOptions extends SharedFileDriverOptions {
  /** Remote processor name (default "shared-file"). */
  readonly name?: string;
  /**
   * The firmware ELF to load into the file and boot (with `launch` starting the remote's
   * process). Without it the remote is attached to: it runs already (or is started by you) and
   * wrote its own resource table.
   */
  readonly firmware?: Uint8Array;
  /** Recovery after a crash (default "disabled": a process remote that ended is not restarted). */
  readonly recovery?: RecoveryMode;
  readonly coredump?: CoredumpMode;
  readonly coredumpSink?: CoredumpSink;
  /** rpmsg host options for rpmsg vdevs, or false to leave them to a virtio driver of your own. */
  readonly rpmsg?: Omit<RpmsgVdevOptions, "onHost"> | false;
}

/** What {@link createSharedFileRemoteproc} returns. */
export interface SharedFileRemoteproc {
  readonly rproc: Remoteproc;
  readonly driver: SharedFileDriver;
  /** The rpmsg host of the first running rpmsg vdev, if any. */
  readonly rpmsg: RpmsgHost | undefined;
  /**
   * Calls `listener` with each new rpmsg host (every attach, boot and recovery makes one),
   * before it has read any message; returns the unsubscribe function.
   */
  onRpmsg(listener: RpmsgHostListener): () => void;
  /** Crash reports of the driver, as they happen. */
  onCrash(listener: (report: SharedFileCrashReport) => void): () => void;
  /** Detaches (attached) or shuts down (booted), deletes the remote, closes the memory file. */
  close(): Promise<void>;
}

/**
 * Creates a remote processor that is another process sharing a memory file: attached to when
 * no `firmware` is given (call `rproc.boot()`, which attaches), booted otherwise.
 *
 * @example
 * // OpenAMP's Linux-machine rpmsg-echo runs already (it serves /tmp/openamp.event.0):
 * const remote = createSharedFileRemoteproc(OPENAMP_LINUX_MACHINE);
 * const host = new Promise<RpmsgHost>((resolve) => remote.onRpmsg(resolve));
 * await remote.rproc.boot(); // attach: table read from the file, DRIVER_OK written
 * const svc = await (await host).waitForService("rpmsg-openamp-demo-channel", { timeoutMs: 5000 });
 *
 * @throws the errors of {@link SharedFileDriver}'s constructor (ERR_NO_MEMORY_FILE when attaching
 *   to a file that does not exist); TypeError when booting without `regions`.
 */
export function createSharedFileRemoteproc(options: SharedFileRemoteprocOptions): SharedFileRemoteproc {
  const {
    name = "shared-file",
    firmware,
    recovery = "disabled",
    coredump = "disabled",
    coredumpSink,
    rpmsg: rpmsgOptions,
    ...driverOptions
  } = options;
  if (firmware !== undefined && driverOptions.regions === undefined) {
    throw new TypeError(
      "booting a shared-file remote needs `regions`: the firmware image's own memory is in no resource table, so a pool cannot be derived",
    );
  }
  // Attaching never creates the memory file: the remote made it, and a file made here would
  // never receive a table (a missing one is ERR_NO_MEMORY_FILE at once).
  const driver = new SharedFileDriver(
    firmware === undefined ? { ...driverOptions, createMemory: false } : driverOptions,
  );
  const firmwareName = `rproc-${name}-fw`;
  const rproc = createRemoteproc({
    name,
    driver,
    regions: driver.regions,
    initialState: firmware === undefined ? "detached" : "offline",
    recovery,
    coredump,
    ...(coredumpSink === undefined ? {} : { coredumpSink }),
    ...(firmware === undefined
      ? {}
      : {
          firmware: firmwareName,
          firmwareSource: createMemoryFirmwareSource({ [firmwareName]: new Uint8Array(firmware) }),
          loader: createElfLoader(),
        }),
  });
  const crashListeners = new Set<(r: SharedFileCrashReport) => void>();
  driver.onInterrupt = (id) => {
    deliverInterrupt(rproc, id);
  };
  driver.onCrash = (report) => {
    for (const l of [...crashListeners]) l(report);
    void rproc.reportCrash(CrashType.FATAL_ERROR, report.message);
  };
  const rpmsg = rpmsgOptions === false ? undefined : trackRpmsgHosts(rproc, rpmsgOptions ?? {});
  return {
    rproc,
    driver,
    get rpmsg() {
      return rpmsg?.current;
    },
    onRpmsg(listener) {
      return rpmsg?.onHost(listener) ?? (() => undefined);
    },
    onCrash(listener) {
      crashListeners.add(listener);
      return () => {
        crashListeners.delete(listener);
      };
    },
    async close() {
      try {
        if (rproc.state !== "deleted") await rproc.delete().catch(() => undefined);
      } finally {
        await driver.dispose();
      }
    },
  };
}
