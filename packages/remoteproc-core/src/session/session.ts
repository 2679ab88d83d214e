// What one boot or attach holds, from the first step to the release. The record itself is fixed
// once created: the resource lists (filled while the table is registered, never replaced), the
// table and the subdevice chain; what changes is the small `state` and each resource's
// allocation, which comes and goes with the memory.
import type { DevmemRequest } from "../driver.js";
import type { LoadedFirmware } from "../loader.js";
import type { CrashTypeName } from "../state.js";
import type { TraceBuffer } from "../trace.js";
import type { RprocVdev, VirtioDriverBinding } from "../vdev/rproc-vdev.js";
import type { Allocation } from "../internal/allocator.js";
import { SubdevChain } from "./subdevs.js";
import { SessionTable } from "./table.js";

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
  /** The da the table asked for (undefined: FW_RSC_ADDR_ANY), parsed once at registration. */
  readonly reqDa: number | undefined;
  readonly notifyId: number;
  /** Where the host put the ring: the one source of its da from allocation on. */
  alloc?: Allocation | undefined;
}

export interface VdevState {
  readonly index: number;
  readonly id: number;
  readonly entryOffset: number;
  readonly configLen: number;
  readonly vrings: readonly VringState[];
  buffer?: Allocation | undefined;
  /** The buffer is a firmware carveout named `vdev<N>buffer`, owned (freed, dumped) by that carveout. */
  bufferShared?: boolean;
  live?: RprocVdev | undefined;
  binding?: VirtioDriverBinding | undefined;
  extra: Allocation[];
}

/** The resources one session registered, in table order then platform order. */
export interface SessionResources {
  readonly carveouts: CarveoutState[];
  readonly traces: TraceState[];
  readonly vdevs: VdevState[];
  readonly devmems: DevmemRequest[];
}

/** A vdev allocation kept after a crash until the crash coredump holds it. */
export interface RetiredAllocation {
  readonly vdev: number;
  readonly alloc: Allocation;
}

/** What changes while a session lives. */
export interface SessionState {
  /** How the remote was taken: booted by this host, or attached to (a recovery reboots it). */
  mode: "boot" | "attach";
  firmware: LoadedFirmware | undefined;
  /** e_entry of the image last loaded (0 for an attached remote). */
  bootAddr: bigint;
  /** driver.prepare ran and driver.unprepare has not. */
  prepared: boolean;
  /** Memory is allocated (traces read live). */
  held: boolean;
  /** The driver started or attached the remote and has not stopped or detached it. */
  running: boolean;
  crashType: CrashTypeName | undefined;
}

/** One boot or attach. */
export interface Session {
  readonly resources: SessionResources;
  readonly table: SessionTable;
  readonly subdevs: SubdevChain;
  /** Devmem the driver mapped, unmapped in reverse on release. */
  readonly mapped: DevmemRequest[];
  /**
   * Vdev allocations (e.g. rpmsg buffers) of vdevs stopped by a crash: held until the crash
   * coredump has been taken (or the session is released), so the dump still holds them.
   */
  readonly retired: RetiredAllocation[];
  readonly state: SessionState;
}

export function newSession(mode: "boot" | "attach"): Session {
  return {
    resources: { carveouts: [], traces: [], vdevs: [], devmems: [] },
    table: new SessionTable(),
    subdevs: new SubdevChain(),
    mapped: [],
    retired: [],
    state: {
      mode,
      firmware: undefined,
      bootAddr: 0n,
      prepared: false,
      held: false,
      running: false,
      crashType: undefined,
    },
  };
}
