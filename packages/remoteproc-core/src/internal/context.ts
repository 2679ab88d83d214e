// What the life-cycle steps need of the manager: its fixed parts (driver, loader, regions,
// limits) and a few live settings read through functions. One object, built once by Remoteproc,
// so boot/, vdev/, crash/ and release/ take it instead of importing the class.
import type { CoredumpElfInfo, CoredumpSegmentSpec, CoredumpSink } from "../coredump.js";
import type { RemoteprocDriver } from "../driver.js";
import type { FirmwareSource } from "../firmware-source.js";
import type { FirmwareLoader } from "../loader.js";
import type { MemoryWindow } from "../memory.js";
import type { RemoteprocEvents } from "../options.js";
import type { ResolvedLimits } from "./settings.js";
import type { CoredumpMode } from "../state.js";
import type { Subdevice } from "../subdevice.js";
import type { VirtioDriver } from "../vdev/rproc-vdev.js";
import type { RegionSet } from "./allocator.js";
import type { Failures } from "../session/failures.js";
import type { Session } from "../session/session.js";

/** The manager as its steps see it. */
export interface CoreContext {
  readonly name: string;
  readonly driver: RemoteprocDriver;
  readonly loader: FirmwareLoader;
  readonly source: FirmwareSource | undefined;
  readonly regions: RegionSet;
  readonly limits: ResolvedLimits;
  /** Subdevices registered by the program (live list: additions count from the next boot). */
  readonly subdevices: readonly Subdevice[];
  /** Virtio drivers registered by the program (live list). */
  readonly virtioDrivers: readonly VirtioDriver[];
  readonly coredumpSink: CoredumpSink | undefined;
  readonly coredumpElf: CoredumpElfInfo | undefined;
  /** Extra coredump segments (live list). */
  readonly dumpSegments: readonly CoredumpSegmentSpec[];
  /** The firmware name now (sysfs `firmware` may change it while offline). */
  firmwareName(): string;
  /** The coredump mode now. */
  dumpMode(): CoredumpMode;
  /** The driver's translate, then the regions. */
  translate(da: number, length: number): MemoryWindow | undefined;
  /** Emits an event; a throwing listener is reported as "listener". */
  emit<K extends keyof RemoteprocEvents>(event: K, value: RemoteprocEvents[K]): void;
  /** A failure no caller can receive goes to the "error" event. */
  report(operation: string, error: unknown): void;
  /** Reports each collected failure as a StepError of `operation`. */
  reportAll(operation: string, failures: Failures): void;
  /** The session let go of all it held: the manager forgets it (keeping its trace snapshots). */
  released(s: Session): void;
}
