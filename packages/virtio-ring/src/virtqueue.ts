// What both ring formats (split and packed) offer each role, so that rpmsg and virtual-io can
// drive either, and the descriptor chain that the device side walks.
import { AmpError } from "./errors.js";
import type { AddressSpaceLike } from "./address-space.js";
import type { Doorbell } from "./doorbell.js";
import type { Memory } from "./memory.js";
import { checkInt } from "./internal/check.js";

/** One buffer of a chain: `len` bytes at device address `addr`. */
export interface BufferSegment {
  readonly addr: number;
  readonly len: number;
}

/** A buffer the device has returned. Pass one to `getUsed(out)` to avoid an allocation. */
export interface UsedBuffer<T> {
  /** Head descriptor index (split) or buffer ID (packed). */
  id: number;
  /**
   * Bytes the device wrote into the device-writable part, bounded by what was offered: the
   * smaller of `declaredLen` and the writable bytes, so it is always safe to read that many.
   */
  len: number;
  /**
   * The used length exactly as the device wrote it. Real devices disagree with the spec here:
   * OpenAMP and rpmsg-lite remotes report the descriptor length of buffers they only read (the
   * spec says 0), so a larger value is not a protocol violation (Linux's virtio core accepts it
   * too); the queue clamps `len` and counts it in `usedLenOverruns`.
   */
  declaredLen: number;
  /** What the driver passed when it added the buffer. */
  token: T;
}

/** Where a queue lives and what was negotiated; addresses are device addresses. */
export interface VirtqueueOptions {
  /** Queue size: a power of two <= 32768 for split rings, 1..32768 for packed. */
  size: number;
  /** Translates the ring areas and every buffer address (an {@link AddressSpace}, or anything with its lookups). */
  space: AddressSpaceLike;
  /** Descriptor table (split, 16-aligned) / descriptor ring (packed, 16-aligned). */
  descAddr: number;
  /** Available ring (split, 2-aligned) / driver event suppression (packed, 4-aligned). */
  driverAddr: number;
  /** Used ring (split, 4-aligned) / device event suppression (packed, 4-aligned). */
  deviceAddr: number;
  /**
   * Negotiated features; the ring looks at VIRTIO_RING_F_EVENT_IDX, VIRTIO_RING_F_INDIRECT_DESC
   * (and the factories at VIRTIO_F_RING_PACKED). Default 0n.
   */
  features?: bigint;
  /** Rung with `notifyId` when a kick (driver) or interrupt (device) is needed. */
  doorbell?: Doorbell;
  /** Default 0. */
  notifyId?: number;
  /** Most descriptors in one chain, indirect ones included (default and maximum: `size`). */
  maxChain?: number;
}

/** Driver-role options: where indirect tables go, when VIRTIO_RING_F_INDIRECT_DESC is on. */
export interface DriverQueueOptions extends VirtqueueOptions {
  /**
   * Device address of `size` indirect tables of `indirectMax` descriptors each (16 bytes per
   * descriptor; table i serves chain i). Without it the driver never uses indirect descriptors.
   */
  indirectAddr?: number;
  /** Descriptors per indirect table (default min(16, size)). */
  indirectMax?: number;
  /**
   * Publish avail.idx once per batch instead of after every buffer (split rings): adds only
   * write the ring entries, and `kickPrepare` / `kick` (or `publishAvail`) store the index once.
   * The device may see a batch's buffers only then, so the caller must end every batch with one
   * of them. Default false.
   */
  batchAvailIdx?: boolean;
}

/** Virtqueue, driver role: offers buffers, takes them back used. */
export interface VirtqueueDriver<T> {
  readonly size: number;
  /** Free descriptors (an add of n segments needs n, or 1 with an indirect table). */
  readonly numFree: number;
  /** Buffers offered and not yet returned. */
  readonly outstanding: number;
  /** The first violation the device committed; set, the queue refuses work until `reset()`. */
  readonly error: Error | undefined;
  /**
   * Offers one buffer (device-readable, or device-writable when `writable`). Allocation-free.
   * @returns the buffer's id, or -1 when the ring is full.
   * @throws AmpError ERR_NEEDS_RESET after a violation; RangeError for a bad segment.
   */
  addBuffer(addr: number, len: number, writable: boolean, token: T): number;
  /**
   * Offers a chain: `readable` segments (device reads) then `writable` ones (device writes).
   * Uses an indirect table when negotiated, configured and the chain has > 1 segment.
   * @returns the buffer's id, or -1 when the ring is full.
   */
  addChain(readable: readonly BufferSegment[], writable: readonly BufferSegment[], token: T): number;
  /** Whether the device must be kicked for buffers added since the last decision (flags / EVENT_IDX). */
  kickPrepare(): boolean;
  /** `kickPrepare()` and ring the doorbell if needed; returns whether it rang. */
  kick(): boolean;
  /** True when the device has returned a buffer that `getUsed` would take. */
  hasUsed(): boolean;
  /** Used buffers whose declared length exceeded the writable bytes offered (then clamped). */
  readonly usedLenOverruns: number;
  /**
   * Takes the next used buffer, filling `out` when given (allocation-free), or null. A used
   * length beyond the writable bytes offered is clamped (see {@link UsedBuffer.declaredLen}).
   * @throws AmpError ERR_BAD_USED (id not outstanding), ERR_BAD_INDEX (used idx ran ahead),
   *   ERR_NEEDS_RESET (an earlier violation).
   */
  getUsed(out?: UsedBuffer<T>): UsedBuffer<T> | null;
  /** Asks for interrupts again; returns true when used buffers arrived meanwhile (poll again). */
  enableInterrupts(): boolean;
  /** Asks the device not to interrupt (a hint). */
  disableInterrupts(): void;
  /** Forgets every buffer, zeroes the ring memory, returns the tokens of the outstanding ones. */
  reset(): T[];
}

/** Virtqueue, device role: takes offered chains, returns them used. */
export interface VirtqueueDevice {
  readonly size: number;
  /** The first violation the driver committed; set, the queue refuses work until `reset()`. */
  readonly error: Error | undefined;
  /** Chains taken and not yet returned. */
  readonly inFlight: number;
  /** True when the driver has offered a chain that `getAvail` would take. */
  hasAvail(): boolean;
  /**
   * Takes the next offered chain, walked and checked: every index, flag, direction, address and
   * length. Fills `out` when given (allocation-free; capacity >= maxChain), or null when none.
   * `out` must be a {@link DescriptorChain} (from any installed copy of this package): the
   * queues refill it through its own methods. Typed by the interface so that a queue from one
   * copy satisfies this interface of another.
   * @throws AmpError ERR_BAD_INDEX, ERR_BAD_CHAIN, ERR_BAD_ADDRESS, ERR_LIMIT; ERR_NEEDS_RESET
   *   after an earlier violation.
   */
  getAvail(out?: DescriptorChainLike): DescriptorChainLike | null;
  /**
   * Returns a chain as used with `len` bytes written to its writable part.
   * @throws RangeError when `id` is not in flight or `len` exceeds the writable bytes.
   */
  pushUsed(id: number, len: number): void;
  /**
   * Returns a chain as used with used.len = its whole descriptor length (readable + writable
   * bytes, capped at 2^32 - 1), for buffers the device consumed without writing. The spec says
   * 0 there; OpenAMP and rpmsg-lite drivers read this number back as the recycled buffer's
   * capacity, and Linux ignores it, so this is what works with all three.
   * @throws RangeError when `id` is not in flight.
   */
  pushConsumed(id: number): void;
  /** Whether the driver must be interrupted for buffers used since the last decision. */
  interruptPrepare(): boolean;
  /** `interruptPrepare()` and ring the doorbell if needed; returns whether it rang. */
  interrupt(): boolean;
  /** Asks for kicks again; returns true when chains arrived meanwhile (poll again). */
  enableNotifications(): boolean;
  /** Asks the driver not to kick (a hint). */
  disableNotifications(): void;
  /** Forgets every chain in flight and starts over from index 0. */
  reset(): void;
}

/**
 * The public face of a {@link DescriptorChain}, what {@link VirtqueueDevice.getAvail} returns.
 * An interface, not the class, so that queues and chains from two installed copies of this
 * package still type-check together (a class with private members matches only itself).
 */
export interface DescriptorChainLike {
  /** Head index (split) or buffer ID (packed): pass it to `pushUsed`. */
  readonly id: number;
  /** Number of segments. */
  readonly count: number;
  /** Number of leading device-readable segments. */
  readonly readable: number;
  readonly readableBytes: number;
  readonly writableBytes: number;
  /** Ring slots the chain used (packed: how far the used index moves). */
  readonly slots: number;
  readonly capacity: number;
  /** Device address of segment i. */
  addr(i: number): number;
  /** Length of segment i. */
  len(i: number): number;
  /** Whether segment i is device-writable. */
  isWritable(i: number): boolean;
  /** Memory that holds segment i. */
  memory(i: number): Memory;
  /** Offset of segment i in `memory(i)`. */
  offset(i: number): number;
  /** Segment i's bytes, zero-copy when the memory allows. */
  view(i: number): Uint8Array;
  /** Copies the readable part, from byte `from`, into `target`; returns the bytes copied. */
  gather(target: Uint8Array, from?: number): number;
  /**
   * The whole readable part as one new array.
   * @throws AmpError ERR_LIMIT when an array of `readableBytes` cannot be allocated.
   */
  readAll(): Uint8Array;
  /** Copies `bytes` into the writable part, from byte `from` of it; returns the bytes copied. */
  scatter(bytes: Uint8Array, from?: number): number;
}

/**
 * A descriptor chain as the device sees it, resolved to memory: segments `0 .. readable-1` are
 * device-readable, the rest device-writable. Reusable: `getAvail(chain)` refills it.
 */
export class DescriptorChain implements DescriptorChainLike {
  /** Head index (split) or buffer ID (packed): pass it to `pushUsed`. */
  id = 0;
  /** Number of segments. */
  count = 0;
  /** Number of leading device-readable segments. */
  readable = 0;
  readableBytes = 0;
  writableBytes = 0;
  /** Ring slots the chain used (packed: how far the used index moves). */
  slots = 0;
  readonly capacity: number;
  private readonly addrs: Float64Array;
  private readonly lens: Uint32Array;
  private readonly offs: Float64Array;
  private readonly mems: (Memory | undefined)[];

  constructor(capacity: number) {
    checkInt(capacity, 1, 1 << 16, "chain capacity");
    this.capacity = capacity;
    this.addrs = new Float64Array(capacity);
    this.lens = new Uint32Array(capacity);
    this.offs = new Float64Array(capacity);
    this.mems = new Array<Memory | undefined>(capacity).fill(undefined);
  }
  /** Device address of segment i. */
  addr(i: number): number {
    return this.addrs[this.at(i)] ?? 0;
  }
  /** Length of segment i. */
  len(i: number): number {
    return this.lens[this.at(i)] ?? 0;
  }
  /** Whether segment i is device-writable. */
  isWritable(i: number): boolean {
    return this.at(i) >= this.readable;
  }
  /** Memory that holds segment i. */
  memory(i: number): Memory {
    return this.mems[this.at(i)] as Memory;
  }
  /** Offset of segment i in `memory(i)`. */
  offset(i: number): number {
    return this.offs[this.at(i)] ?? 0;
  }
  /** Segment i's bytes, zero-copy when the memory allows (see Memory.view). */
  view(i: number): Uint8Array {
    return this.memory(i).view(this.offset(i), this.len(i));
  }
  /**
   * Copies the readable part, from byte `from`, into `target`; returns the bytes copied
   * (min of target length and what is there).
   */
  gather(target: Uint8Array, from = 0): number {
    let skip = from;
    let n = 0;
    for (let i = 0; i < this.readable && n < target.length; i++) {
      const l = this.lens[i] ?? 0;
      if (skip >= l) {
        skip -= l;
        continue;
      }
      const take = Math.min(l - skip, target.length - n);
      (this.mems[i] as Memory).readInto((this.offs[i] ?? 0) + skip, target.subarray(n, n + take));
      n += take;
      skip = 0;
    }
    return n;
  }
  /**
   * The whole readable part as one new array. The peer chooses `readableBytes` (several
   * descriptors may point at the same large buffer): check it against a limit of your own
   * first, or use {@link gather} into a buffer you own.
   * @throws AmpError ERR_LIMIT when an array of `readableBytes` cannot be allocated.
   */
  readAll(): Uint8Array {
    let out: Uint8Array;
    try {
      out = new Uint8Array(this.readableBytes);
    } catch (e) {
      throw new AmpError("ERR_LIMIT", `chain ${this.id}: cannot allocate its ${this.readableBytes} readable bytes`, {
        cause: e,
      });
    }
    this.gather(out);
    return out;
  }
  /**
   * Copies `bytes` into the writable part, from byte `from` of it; returns the bytes copied
   * (stops at the end of the writable part, never past it).
   */
  scatter(bytes: Uint8Array, from = 0): number {
    let skip = from;
    let n = 0;
    for (let i = this.readable; i < this.count && n < bytes.length; i++) {
      const l = this.lens[i] ?? 0;
      if (skip >= l) {
        skip -= l;
        continue;
      }
      const put = Math.min(l - skip, bytes.length - n);
      (this.mems[i] as Memory).write((this.offs[i] ?? 0) + skip, bytes.subarray(n, n + put));
      n += put;
      skip = 0;
    }
    return n;
  }
  /** @internal used by the queues: starts a fresh walk. */
  clear(): void {
    this.count = 0;
    this.readable = 0;
    this.readableBytes = 0;
    this.writableBytes = 0;
    this.slots = 0;
  }
  /** @internal used by the queues: appends a resolved segment (capacity checked by the caller). */
  push(addr: number, len: number, writable: boolean, memory: Memory, offset: number): void {
    const i = this.count++;
    this.addrs[i] = addr;
    this.lens[i] = len;
    this.mems[i] = memory;
    this.offs[i] = offset;
    if (writable) this.writableBytes += len;
    else {
      this.readable++;
      this.readableBytes += len;
    }
  }
  /** @internal a copy of exactly `count` segments. */
  copy(): DescriptorChain {
    const c = new DescriptorChain(Math.max(1, this.count));
    c.id = this.id;
    c.slots = this.slots;
    for (let i = 0; i < this.count; i++)
      c.push(this.addrs[i] ?? 0, this.lens[i] ?? 0, i >= this.readable, this.mems[i] as Memory, this.offs[i] ?? 0);
    return c;
  }
  private at(i: number): number {
    if (!(i >= 0 && i < this.count)) throw new RangeError(`segment ${i} of a chain of ${this.count}`);
    return i;
  }
}
