import type { MemoryWindow } from "./memory.js";

/** Where a running remote keeps its resource table (attach), or where to install one. */
export interface TableLocation {
  /** Device address of the table (any integer below 2^53: a 64-bit remote's table may lie above 4 GiB). */
  readonly da: number;
  /** Size in bytes. */
  readonly size: number;
}

/** What a vendor resource handler answers (Linux `RSC_HANDLED` / `RSC_IGNORED`); throw to abort. */
export type VendorResourceResult = "handled" | "ignored";

/** A vendor resource entry (types 128..512) handed to {@link RemoteprocDriver.handleResource}. */
export interface VendorResource {
  /** Resource type (128..512). */
  readonly type: number;
  /** Offset of the entry (its type word) inside the table. */
  readonly offset: number;
  /** The entry's bytes from its type word to the end of the table (a copy). */
  readonly bytes: Uint8Array;
}

/** A `devmem` entry the driver is asked to map (Linux needs an IOMMU for it). */
export interface DevmemRequest {
  readonly name: string;
  readonly da: number;
  readonly pa: number;
  readonly len: number;
  readonly flags: number;
}

/**
 * The platform driver: everything that differs between a worker thread, a QEMU machine and real
 * silicon (Linux `struct rproc_ops`, behaviour-and-features.md §1.13). Every hook may return a
 * promise. The core calls them in the documented order, one operation at a time, and never calls
 * `stop`/`detach`/`unprepare` for something that did not succeed.
 *
 * Required: `start` to boot, `stop` to shut down, `attach` to take over a running remote, `kick`
 * when the firmware has virtio devices. Everything else is optional.
 */
export interface RemoteprocDriver {
  /** Power up / take out of low power, before anything is parsed (boot, attach). */
  prepare?(): void | Promise<void>;
  /** Undo `prepare` (after stop/detach, and on every error path after a successful prepare). */
  unprepare?(): void | Promise<void>;
  /** Release the remote from reset at `bootAddr` (ELF `e_entry`). */
  start?(bootAddr: bigint): void | Promise<void>;
  /** Halt the remote (shutdown, recovery, failed attach). */
  stop?(): void | Promise<void>;
  /** Take over a remote that someone else booted (from state `detached`). */
  attach?(): void | Promise<void>;
  /** Let go of an attached remote and leave it running. Its presence makes the core keep a clean table copy. */
  detach?(): void | Promise<void>;
  /** Ring the remote's doorbell for vring `notifyId` (host -> remote). Must not block. */
  kick?(notifyId: number): void;
  /**
   * Translates a device address range to memory (Linux `da_to_va`). Tried before the core's own
   * regions; return undefined to fall through to them.
   */
  translate?(da: number, length: number): MemoryWindow | undefined;
  /** Attach: where the running remote's resource table is, or undefined for "no table" (accepted). */
  getLoadedResourceTable?(): TableLocation | undefined | Promise<TableLocation | undefined>;
  /**
   * Resource-less firmware: the device address where the core installs the table it generates
   * from registered resources (`size` bytes). Undefined: do not install one.
   */
  resourceTableLocation?(size: number): number | undefined;
  /** Vendor resources (types 128..512). Without this hook they are ignored. */
  handleResource?(resource: VendorResource): VendorResourceResult | Promise<VendorResourceResult>;
  /** Map a `devmem` entry. Without this hook a table with devmem fails (as Linux without an IOMMU). */
  mapDevmem?(request: DevmemRequest): void | Promise<void>;
  /** Undo `mapDevmem` on release. */
  unmapDevmem?(request: DevmemRequest): void | Promise<void>;
  /** The host is going down: let the remote flush. Returns how many ms the platform should wait. */
  panic?(): number | undefined;
}
