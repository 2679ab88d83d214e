// What one boot or attach holds, from the first step to the release.
import { ArrayBufferMemory } from "@amp/virtio-ring";
import type { DevmemRequest, TableLocation } from "../driver.js";
import type { LifecycleStep } from "../errors.js";
import type { LoadedFirmware } from "../loader.js";
import type { CrashTypeName } from "../state.js";
import type { Subdevice } from "../subdevice.js";
import type { TraceBuffer } from "../trace.js";
import type { RprocVdev, VirtioDriverBinding } from "../vdev.js";
import type { Allocation } from "./allocator.js";
import { TableWindow } from "./table.js";

export interface CarveoutState {
  readonly name: string;
  readonly entryOffset: number | undefined;
  reqDa: number | undefined;
  readonly len: number;
  alloc?: Allocation | undefined;
}

export interface TraceState {
  readonly name: string;
  readonly entryOffset: number | undefined;
  reqDa: number | undefined;
  readonly len: number;
  alloc?: Allocation | undefined;
  buffer?: TraceBuffer;
}

export interface VringState {
  readonly index: number;
  readonly num: number;
  readonly align: number;
  readonly reqDa: number | undefined;
  readonly notifyId: number;
  alloc?: Allocation | undefined;
}

export interface VdevState {
  readonly index: number;
  readonly id: number;
  readonly entryOffset: number;
  readonly configLen: number;
  readonly vrings: VringState[];
  buffer?: Allocation | undefined;
  /** The buffer is a firmware carveout named `vdev<N>buffer`, owned (freed, dumped) by that carveout. */
  bufferShared?: boolean;
  live?: RprocVdev | undefined;
  binding?: VirtioDriverBinding | undefined;
  extra: Allocation[];
}

export interface Session {
  mode: "boot" | "attach";
  firmware?: LoadedFirmware | undefined;
  prepared: boolean;
  /** The cached table (Linux `cached_table`). */
  cached?: TableWindow | undefined;
  /** Where the table is installed in device memory. */
  location?: TableLocation | undefined;
  /** The installed table while `table_ptr` points at it. */
  live?: TableWindow | undefined;
  /** Attach: the table as found, restored on detach. */
  clean?: Uint8Array | undefined;
  generated: boolean;
  /** Memory is allocated (traces read live). */
  held: boolean;
  readonly carveouts: CarveoutState[];
  readonly traces: TraceState[];
  readonly vdevs: VdevState[];
  readonly devmems: DevmemRequest[];
  readonly mapped: DevmemRequest[];
  subdevs: Subdevice[];
  preparedSubdevs: number;
  startedSubdevs: number;
  running: boolean;
  /**
   * Vdev allocations (e.g. rpmsg buffers) of vdevs stopped by a crash: held until the crash
   * coredump has been taken (or the session is released), so the dump still holds them.
   */
  retired: { readonly vdev: number; readonly alloc: Allocation }[];
  bootAddr: bigint;
  crashType?: CrashTypeName;
}

/** Teardown failures, collected while the teardown goes on. */
export type Failures = { step: LifecycleStep; error: unknown }[];

export function newSession(mode: "boot" | "attach"): Session {
  return { mode, prepared: false, generated: false, held: false, carveouts: [], traces: [], vdevs: [], devmems: [], mapped: [], subdevs: [], preparedSubdevs: 0, startedSubdevs: 0, running: false, retired: [], bootAddr: 0n };
}

/**
 * A cached table: a private copy of `bytes` in an ArrayBuffer of its own. `new Uint8Array(view)`
 * always copies; `view.slice()` does not when the caller passed a Node Buffer (a view into a
 * shared pool whose offset 0 holds unrelated bytes).
 */
export function cachedWindow(bytes: Uint8Array): TableWindow {
  const copy = new Uint8Array(bytes);
  return new TableWindow(new ArrayBufferMemory(copy.buffer), 0, copy.length);
}
