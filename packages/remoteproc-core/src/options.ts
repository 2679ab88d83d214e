// What a caller hands to createRemoteproc and what it gets back (events, the snapshot window),
// and the checks that turn options into the manager's settings.
import type { CoredumpElfInfo, CoredumpInfo, CoredumpSegmentSpec, CoredumpSink } from "./coredump.js";
import type { RemoteprocDriver } from "./driver.js";
import type { FirmwareSource } from "./firmware-source.js";
import type { FirmwareLoader } from "./loader.js";
import type { MemoryRegion, MemoryWindow } from "./memory.js";
import type { CarveoutInfo, ResourceRequest } from "./resources.js";
import type { CoredumpMode, CrashTypeName, RecoveryMode, RprocStateName } from "./state.js";
import type { TraceBuffer } from "./trace.js";
import type { RprocVdev } from "./vdev/rproc-vdev.js";

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
  /** Default: `createElfLoader()` (this package's ELF loader). */
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
