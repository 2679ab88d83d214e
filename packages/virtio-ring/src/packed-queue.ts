// Packed virtqueue (VIRTIO_F_RING_PACKED), both roles. docs/wire-formats.md, "Packed virtqueue": one descriptor ring
// that both sides write, AVAIL/USED flag bits against per-side wrap counters, buffer IDs, and
// two 4-byte event suppression structures. Not for Linux remoteproc (its feature words are
// 32-bit): use it between two @amp sides or a modern virtio transport.
import { AmpError } from "./errors.js";
import type { VirtioErrorCode } from "./errors.js";
import type { AddressSpaceLike } from "./address-space.js";
import type { Memory } from "./memory.js";
import {
  VRING_DESC_F_INDIRECT,
  VRING_DESC_F_NEXT,
  VRING_DESC_F_WRITE,
  VRING_PACKED_DESC_F_AVAIL,
  VRING_PACKED_DESC_F_USED,
  VRING_PACKED_EVENT_FLAG_DESC,
  VRING_PACKED_EVENT_FLAG_DISABLE,
  VRING_PACKED_EVENT_FLAG_ENABLE,
} from "./constants.js";
import { VRING_DESC_SIZE, checkPackedSize, vringNeedEvent } from "./split-layout.js";
import { DescriptorChain } from "./virtqueue.js";
import type {
  BufferSegment,
  DriverQueueOptions,
  UsedBuffer,
  VirtqueueDevice,
  VirtqueueDriver,
  VirtqueueOptions,
} from "./virtqueue.js";
import type { DeviceQueueOptions } from "./split-queue.js";
import { checkInt } from "./internal/check.js";
import { checkSegment, getAddr, resolveArea, setAddr } from "./internal/ring-area.js";
import type { Area } from "./internal/ring-area.js";
import {
  appendSegment,
  checkChainArgs,
  checkInFlight,
  checkPushUsed,
  indirectTable,
  queueBasics,
} from "./internal/queue-checks.js";
import type { Fail, QueueBasics } from "./internal/queue-checks.js";

// struct vring_packed_desc
const P_ADDR = 0;
const P_LEN = 8;
const P_ID = 12;
const P_FLAGS = 14;
// struct vring_packed_desc_event
// off_wrap u16 at 0, flags u16 at 2: both are read and written as one LE u32 (flags << 16).
const E_OFF_WRAP = 0;
const WRAP_BIT = 0x8000;
const AVAIL_USED = VRING_PACKED_DESC_F_AVAIL | VRING_PACKED_DESC_F_USED;

/** Byte offsets of a contiguous packed ring (our own convention: desc ring, driver area, device area). */
export interface PackedRingLayout {
  readonly size: number;
  /** Descriptor ring, 16 * size bytes. */
  readonly desc: number;
  /** Driver event suppression (4 bytes, written by the driver). */
  readonly driver: number;
  /** Device event suppression (4 bytes, written by the device). */
  readonly device: number;
  /** Total bytes. */
  readonly byteLength: number;
}

/**
 * Offsets of a packed ring laid out contiguously (16 * size descriptor bytes, then the two 4-byte
 * event suppression areas). The spec lets each area live anywhere; this is one valid choice.
 * @throws RangeError unless 1 <= size <= 32768.
 */
export function packedRingLayout(size: number): PackedRingLayout {
  checkPackedSize(size);
  const driver = VRING_DESC_SIZE * size;
  return { size, desc: 0, driver, device: driver + 4, byteLength: driver + 8 };
}

interface Common extends QueueBasics {
  size: number;
  desc: Area;
  driverArea: Area;
  deviceArea: Area;
}

function common(o: VirtqueueOptions): Common {
  checkPackedSize(o.size);
  const basics = queueBasics(o);
  return {
    ...basics,
    size: o.size,
    desc: resolveArea(o.space, o.descAddr, VRING_DESC_SIZE * o.size, 16, "descriptor ring"),
    driverArea: resolveArea(o.space, o.driverAddr, 4, 4, "driver event suppression"),
    deviceArea: resolveArea(o.space, o.deviceAddr, 4, 4, "device event suppression"),
  };
}

/**
 * Whether publishing ring positions `old..new` (a span of `added` slots ending at `next` with
 * wrap counter `wrap`) passes the peer's event suppression word `ev` (off_wrap | flags << 16).
 */
function needEvent(ev: number, next: number, wrap: number, added: number, size: number, eventIdx: boolean): boolean {
  const flags = ev >>> 16;
  if (flags === VRING_PACKED_EVENT_FLAG_DISABLE) return false;
  if (flags !== VRING_PACKED_EVENT_FLAG_DESC || !eventIdx) return true; // ENABLE (and reserved 3: be safe)
  const offWrap = ev & 0xffff;
  let event = offWrap & ~WRAP_BIT;
  // An event in the previous lap of the ring sits `size` positions back.
  if ((offWrap & WRAP_BIT ? 1 : 0) !== wrap) event -= size;
  return vringNeedEvent(event & 0xffff, next, (next - added) & 0xffff);
}

/**
 * Packed virtqueue, driver role.
 *
 * @example
 * const l = packedRingLayout(64);
 * const q = new PackedVirtqueueDriver<number>({ size: 64, space, descAddr: da, driverAddr: da + l.driver, deviceAddr: da + l.device });
 * @see docs/wire-formats.md, "Packed virtqueue"
 */
export class PackedVirtqueueDriver<T> implements VirtqueueDriver<T> {
  readonly size: number;
  private readonly c: Common;
  private readonly ring: Memory;
  private readonly ringOff: number;
  private readonly indirectArea: Area | undefined;
  private readonly indirectDa: number;
  private readonly indirectMax: number;
  private readonly freeIds: Uint16Array;
  private freeTop = 0;
  private readonly slotCount: Uint16Array;
  private readonly offered: Float64Array;
  private readonly live: Uint8Array;
  private readonly tokens: (T | undefined)[];
  private free = 0;
  private outstandingCount = 0;
  private nextAvail = 0;
  private availWrap = 1;
  private lastUsed = 0;
  private usedWrap = 1;
  private added = 0;
  private interruptsOn = true;
  private overruns = 0;
  private fault: AmpError | undefined;

  /** @throws RangeError for bad options; AmpError ERR_BAD_ADDRESS when a ring area is not mapped. */
  constructor(options: DriverQueueOptions) {
    this.c = common(options);
    this.size = this.c.size;
    this.ring = this.c.desc.mem;
    this.ringOff = this.c.desc.off;
    this.indirectMax = options.indirectMax ?? Math.min(16, this.size);
    checkInt(this.indirectMax, 1, this.size, "indirectMax");
    this.indirectArea =
      options.indirectAddr === undefined || !this.c.indirect
        ? undefined
        : resolveArea(
            options.space,
            options.indirectAddr,
            this.size * this.indirectMax * VRING_DESC_SIZE,
            16,
            "indirect tables",
          );
    this.indirectDa = options.indirectAddr ?? 0;
    this.freeIds = new Uint16Array(this.size);
    this.slotCount = new Uint16Array(this.size);
    this.offered = new Float64Array(this.size);
    this.live = new Uint8Array(this.size);
    this.tokens = new Array<T | undefined>(this.size).fill(undefined);
    this.initState();
  }

  get numFree(): number {
    return this.free;
  }
  get outstanding(): number {
    return this.outstandingCount;
  }
  get error(): Error | undefined {
    return this.fault;
  }
  get usedLenOverruns(): number {
    return this.overruns;
  }

  addBuffer(addr: number, len: number, writable: boolean, token: T): number {
    this.checkUsable();
    checkSegment(addr, len);
    if (this.free === 0 || this.freeTop === 0) return -1;
    const id = this.freeIds[--this.freeTop] ?? 0;
    const d = this.ringOff + this.nextAvail * VRING_DESC_SIZE;
    setAddr(this.ring, d + P_ADDR, addr);
    this.ring.setU32(d + P_LEN, len);
    this.ring.setU16(d + P_ID, id);
    const flags = (writable ? VRING_DESC_F_WRITE : 0) | this.availFlags();
    this.advance();
    this.ring.setU16Release(d + P_FLAGS, flags);
    this.track(id, 1, writable ? len : 0, token);
    return id;
  }

  addChain(readable: readonly BufferSegment[], writable: readonly BufferSegment[], token: T): number {
    this.checkUsable();
    const { n, offeredBytes } = checkChainArgs(readable, writable, this.c.maxChain);
    const ind = this.indirectArea;
    const useIndirect = ind !== undefined && n > 1 && n <= this.indirectMax;
    const slots = useIndirect ? 1 : n;
    if (slots > this.free || this.freeTop === 0) return -1;
    const id = this.freeIds[--this.freeTop] ?? 0;
    const first = this.ringOff + this.nextAvail * VRING_DESC_SIZE;
    let firstFlags: number;
    if (useIndirect) {
      const table = ind.off + id * this.indirectMax * VRING_DESC_SIZE;
      for (let i = 0; i < n; i++) {
        const w = i >= readable.length;
        const s = (w ? writable[i - readable.length] : readable[i]) as BufferSegment;
        const e = table + i * VRING_DESC_SIZE;
        setAddr(ind.mem, e + P_ADDR, s.addr);
        ind.mem.setU32(e + P_LEN, s.len);
        ind.mem.setU16(e + P_ID, 0);
        ind.mem.setU16(e + P_FLAGS, w ? VRING_DESC_F_WRITE : 0);
      }
      setAddr(this.ring, first + P_ADDR, this.indirectDa + id * this.indirectMax * VRING_DESC_SIZE);
      this.ring.setU32(first + P_LEN, n * VRING_DESC_SIZE);
      this.ring.setU16(first + P_ID, id);
      firstFlags = VRING_DESC_F_INDIRECT | this.availFlags();
      this.advance();
    } else {
      firstFlags = 0;
      for (let i = 0; i < n; i++) {
        const w = i >= readable.length;
        const s = (w ? writable[i - readable.length] : readable[i]) as BufferSegment;
        const d = this.ringOff + this.nextAvail * VRING_DESC_SIZE;
        setAddr(this.ring, d + P_ADDR, s.addr);
        this.ring.setU32(d + P_LEN, s.len);
        this.ring.setU16(d + P_ID, id);
        const flags = (w ? VRING_DESC_F_WRITE : 0) | (i + 1 < n ? VRING_DESC_F_NEXT : 0) | this.availFlags();
        if (i === 0) firstFlags = flags;
        else this.ring.setU16(d + P_FLAGS, flags);
        this.advance();
      }
    }
    // The first descriptor's flags publish the whole chain (written last, with release).
    this.ring.setU16Release(first + P_FLAGS, firstFlags);
    this.track(id, slots, offeredBytes, token);
    return id;
  }

  kickPrepare(): boolean {
    if (this.added === 0) return false;
    const added = this.added;
    this.added = 0;
    if (added >= 0xffff) return true;
    const ev = this.c.deviceArea.mem.getU32Acquire(this.c.deviceArea.off);
    return needEvent(ev, this.nextAvail, this.availWrap, added, this.size, this.c.eventIdx);
  }

  kick(): boolean {
    if (!this.kickPrepare()) return false;
    this.c.doorbell?.notify(this.c.notifyId);
    return true;
  }

  hasUsed(): boolean {
    const flags = this.ring.getU16Acquire(this.ringOff + this.lastUsed * VRING_DESC_SIZE + P_FLAGS);
    return this.isUsed(flags);
  }

  getUsed(out?: UsedBuffer<T>): UsedBuffer<T> | null {
    this.checkUsable();
    const d = this.ringOff + this.lastUsed * VRING_DESC_SIZE;
    const flags = this.ring.getU16Acquire(d + P_FLAGS);
    if (!this.isUsed(flags)) return null;
    const id = this.ring.getU16(d + P_ID);
    const declaredLen = this.ring.getU32(d + P_LEN);
    if (id >= this.size || this.live[id] !== 1)
      throw this.fail("ERR_BAD_USED", `used buffer id ${id} is not outstanding`, d + P_ID);
    const offered = this.offered[id] ?? 0;
    let len = declaredLen;
    if (len > offered) {
      len = offered;
      this.overruns++;
    }
    const slots = this.slotCount[id] ?? 1;
    this.lastUsed += slots;
    if (this.lastUsed >= this.size) {
      this.lastUsed -= this.size;
      this.usedWrap ^= 1;
    }
    const token = this.tokens[id] as T;
    this.free += slots;
    this.live[id] = 0;
    this.tokens[id] = undefined;
    this.freeIds[this.freeTop++] = id;
    this.outstandingCount--;
    if (this.c.eventIdx && this.interruptsOn) this.writeDriverEvent(VRING_PACKED_EVENT_FLAG_DESC);
    const r = out ?? { id, len, declaredLen, token };
    r.id = id;
    r.len = len;
    r.declaredLen = declaredLen;
    r.token = token;
    return r;
  }

  enableInterrupts(): boolean {
    this.interruptsOn = true;
    this.writeDriverEvent(this.c.eventIdx ? VRING_PACKED_EVENT_FLAG_DESC : VRING_PACKED_EVENT_FLAG_ENABLE);
    return this.hasUsed();
  }

  disableInterrupts(): void {
    this.interruptsOn = false;
    this.writeDriverEvent(VRING_PACKED_EVENT_FLAG_DISABLE);
  }

  reset(): T[] {
    const tokens: T[] = [];
    for (let i = 0; i < this.size; i++) if (this.live[i] === 1) tokens.push(this.tokens[i] as T);
    this.ring.fill(this.ringOff, this.size * VRING_DESC_SIZE, 0);
    this.c.driverArea.mem.setU32Release(this.c.driverArea.off, 0);
    this.c.deviceArea.mem.setU32Release(this.c.deviceArea.off, 0);
    this.live.fill(0);
    this.tokens.fill(undefined);
    this.initState();
    return tokens;
  }

  private initState(): void {
    for (let i = 0; i < this.size; i++) this.freeIds[i] = this.size - 1 - i;
    this.freeTop = this.size;
    this.free = this.size;
    this.outstandingCount = 0;
    this.nextAvail = 0;
    this.availWrap = 1;
    this.lastUsed = 0;
    this.usedWrap = 1;
    this.added = 0;
    this.interruptsOn = true;
    this.fault = undefined;
  }

  /** AVAIL = wrap counter, USED = its inverse. */
  private availFlags(): number {
    return this.availWrap === 1 ? VRING_PACKED_DESC_F_AVAIL : VRING_PACKED_DESC_F_USED;
  }
  private advance(): void {
    if (++this.nextAvail === this.size) {
      this.nextAvail = 0;
      this.availWrap ^= 1;
    }
  }
  private isUsed(flags: number): boolean {
    const bits = flags & AVAIL_USED;
    return this.usedWrap === 1 ? bits === AVAIL_USED : bits === 0;
  }
  private track(id: number, slots: number, offeredBytes: number, token: T): void {
    this.slotCount[id] = slots;
    this.offered[id] = offeredBytes;
    this.tokens[id] = token;
    this.live[id] = 1;
    this.free -= slots;
    this.outstandingCount++;
    this.added += slots;
  }
  private writeDriverEvent(flags: number): void {
    const a = this.c.driverArea;
    a.mem.setU32Release(a.off + E_OFF_WRAP, this.lastUsed | (this.usedWrap << 15) | (flags << 16));
  }
  private checkUsable(): void {
    if (this.fault !== undefined)
      throw new AmpError("ERR_NEEDS_RESET", `queue is broken: ${this.fault.message}`, { cause: this.fault });
  }
  private fail(code: VirtioErrorCode, message: string, offset: number): AmpError {
    this.fault = new AmpError(code, message, { offset });
    return this.fault;
  }
}

/**
 * Packed virtqueue, device role; the driver is hostile (see {@link SplitVirtqueueDevice}).
 * Buffer IDs must be below the queue size (as Linux and this package's driver use them).
 * @see docs/wire-formats.md, "Packed virtqueue"
 */
export class PackedVirtqueueDevice implements VirtqueueDevice {
  readonly size: number;
  private readonly c: Common;
  private readonly space: AddressSpaceLike;
  private readonly ring: Memory;
  private readonly ringOff: number;
  private readonly maxIndirect: number;
  private readonly scratch: DescriptorChain;
  private readonly live: Uint8Array;
  private readonly slotCount: Uint16Array;
  private readonly writable: Float64Array;
  /** Whole descriptor length of each buffer in flight (for `pushConsumed`). */
  private readonly total: Float64Array;
  private nextAvail = 0;
  private availWrap = 1;
  private nextUsed = 0;
  private usedWrap = 1;
  private added = 0;
  private inFlightCount = 0;
  private notificationsOn = true;
  private fault: AmpError | undefined;
  private readonly failFn: Fail = (code, message, offset) => this.fail(code, message, offset);

  /** @throws RangeError for bad options; AmpError ERR_BAD_ADDRESS when a ring area is not mapped. */
  constructor(options: DeviceQueueOptions) {
    this.c = common(options);
    this.size = this.c.size;
    this.space = options.space;
    this.ring = this.c.desc.mem;
    this.ringOff = this.c.desc.off;
    this.maxIndirect = options.maxIndirect ?? this.c.maxChain;
    checkInt(this.maxIndirect, 1, this.c.maxChain, "maxIndirect");
    this.scratch = new DescriptorChain(this.c.maxChain);
    this.live = new Uint8Array(this.size);
    this.slotCount = new Uint16Array(this.size);
    this.writable = new Float64Array(this.size);
    this.total = new Float64Array(this.size);
  }

  get error(): Error | undefined {
    return this.fault;
  }
  get inFlight(): number {
    return this.inFlightCount;
  }

  hasAvail(): boolean {
    return this.isAvail(
      this.ring.getU16Acquire(this.ringOff + this.nextAvail * VRING_DESC_SIZE + P_FLAGS),
      this.availWrap,
    );
  }

  getAvail(out?: DescriptorChain): DescriptorChain | null {
    if (this.fault !== undefined)
      throw new AmpError("ERR_NEEDS_RESET", `queue is broken: ${this.fault.message}`, { cause: this.fault });
    if (out !== undefined && out.capacity < this.c.maxChain)
      throw new RangeError(`chain capacity ${out.capacity} < maxChain ${this.c.maxChain}`);
    const firstOff = this.ringOff + this.nextAvail * VRING_DESC_SIZE;
    const firstFlags = this.ring.getU16Acquire(firstOff + P_FLAGS);
    if (!this.isAvail(firstFlags, this.availWrap)) return null;
    const chain = out ?? this.scratch;
    chain.clear();
    let slot = this.nextAvail;
    let wrap = this.availWrap;
    let slots = 0;
    let id: number;
    for (;;) {
      const d = this.ringOff + slot * VRING_DESC_SIZE;
      if (slots >= this.size)
        throw this.fail("ERR_BAD_CHAIN", `chain longer than the ring (${this.size})`, d + P_FLAGS);
      const flags = slots === 0 ? firstFlags : this.ring.getU16(d + P_FLAGS);
      if (slots > 0 && !this.isAvail(flags, wrap))
        throw this.fail("ERR_BAD_CHAIN", "a chain descriptor is not marked available", d + P_FLAGS);
      const addr = getAddr(this.ring, d + P_ADDR);
      const len = this.ring.getU32(d + P_LEN);
      id = this.ring.getU16(d + P_ID);
      slots++;
      if (++slot === this.size) {
        slot = 0;
        wrap ^= 1;
      }
      if ((flags & VRING_DESC_F_INDIRECT) !== 0) {
        if (!this.c.indirect)
          throw this.fail("ERR_BAD_CHAIN", "indirect descriptor without VIRTIO_RING_F_INDIRECT_DESC", d + P_FLAGS);
        if (slots > 1 || (flags & VRING_DESC_F_NEXT) !== 0)
          throw this.fail("ERR_BAD_CHAIN", "an indirect descriptor inside a chain", d + P_FLAGS);
        this.walkIndirect(addr, len, d, chain);
        break;
      }
      appendSegment(
        chain,
        this.space,
        this.c.maxChain,
        addr,
        len,
        (flags & VRING_DESC_F_WRITE) !== 0,
        d,
        d + P_FLAGS,
        this.failFn,
      );
      if ((flags & VRING_DESC_F_NEXT) === 0) break;
    }
    if (id >= this.size)
      throw this.fail("ERR_BAD_INDEX", `buffer id ${id} >= queue size ${this.size}`, firstOff + P_ID);
    if (this.live[id] === 1)
      throw this.fail("ERR_BAD_CHAIN", `buffer id ${id} offered again while in flight`, firstOff + P_ID);
    chain.id = id;
    chain.slots = slots;
    this.nextAvail = slot;
    this.availWrap = wrap;
    this.live[id] = 1;
    this.slotCount[id] = slots;
    this.writable[id] = chain.writableBytes;
    this.total[id] = chain.readableBytes + chain.writableBytes;
    this.inFlightCount++;
    if (this.c.eventIdx && this.notificationsOn) this.writeDeviceEvent(VRING_PACKED_EVENT_FLAG_DESC);
    return out ?? chain.copy();
  }

  pushUsed(id: number, len: number): void {
    checkPushUsed(id, len, this.size, this.live, this.writable);
    this.writeUsed(id, len, len > 0);
  }

  pushConsumed(id: number): void {
    checkInFlight(id, this.size, this.live);
    // Nothing was written, so no WRITE flag; len still reports the buffer's length (see the interface).
    this.writeUsed(id, Math.min(this.total[id] ?? 0, 0xffffffff), false);
  }

  private writeUsed(id: number, len: number, wrote: boolean): void {
    const d = this.ringOff + this.nextUsed * VRING_DESC_SIZE;
    this.ring.setU16(d + P_ID, id);
    this.ring.setU32(d + P_LEN, len);
    const flags = (this.usedWrap === 1 ? AVAIL_USED : 0) | (wrote ? VRING_DESC_F_WRITE : 0);
    const slots = this.slotCount[id] ?? 1;
    this.nextUsed += slots;
    if (this.nextUsed >= this.size) {
      this.nextUsed -= this.size;
      this.usedWrap ^= 1;
    }
    this.ring.setU16Release(d + P_FLAGS, flags);
    this.live[id] = 0;
    this.inFlightCount--;
    this.added += slots;
  }

  interruptPrepare(): boolean {
    if (this.added === 0) return false;
    const added = this.added;
    this.added = 0;
    if (added >= 0xffff) return true;
    const ev = this.c.driverArea.mem.getU32Acquire(this.c.driverArea.off);
    return needEvent(ev, this.nextUsed, this.usedWrap, added, this.size, this.c.eventIdx);
  }

  interrupt(): boolean {
    if (!this.interruptPrepare()) return false;
    this.c.doorbell?.notify(this.c.notifyId);
    return true;
  }

  enableNotifications(): boolean {
    this.notificationsOn = true;
    this.writeDeviceEvent(this.c.eventIdx ? VRING_PACKED_EVENT_FLAG_DESC : VRING_PACKED_EVENT_FLAG_ENABLE);
    return this.hasAvail();
  }

  disableNotifications(): void {
    this.notificationsOn = false;
    this.writeDeviceEvent(VRING_PACKED_EVENT_FLAG_DISABLE);
  }

  reset(): void {
    this.live.fill(0);
    this.nextAvail = 0;
    this.availWrap = 1;
    this.nextUsed = 0;
    this.usedWrap = 1;
    this.added = 0;
    this.inFlightCount = 0;
    this.notificationsOn = true;
    this.fault = undefined;
  }

  /** Available: AVAIL bit == wrap, USED bit != wrap. */
  private isAvail(flags: number, wrap: number): boolean {
    return (flags & AVAIL_USED) === (wrap === 1 ? VRING_PACKED_DESC_F_AVAIL : VRING_PACKED_DESC_F_USED);
  }

  private walkIndirect(addr: number, len: number, d: number, chain: DescriptorChain): void {
    const { memory, base, n } = indirectTable(
      this.space,
      addr,
      len,
      this.maxIndirect,
      d + P_ADDR,
      d + P_LEN,
      this.failFn,
    );
    for (let j = 0; j < n; j++) {
      const e = base + j * VRING_DESC_SIZE;
      const f = memory.getU16(e + P_FLAGS);
      if ((f & VRING_DESC_F_INDIRECT) !== 0)
        throw this.fail("ERR_BAD_CHAIN", "INDIRECT inside an indirect table", d + P_ADDR);
      appendSegment(
        chain,
        this.space,
        this.c.maxChain,
        getAddr(memory, e + P_ADDR),
        memory.getU32(e + P_LEN),
        (f & VRING_DESC_F_WRITE) !== 0,
        d,
        d + P_FLAGS,
        this.failFn,
      );
    }
  }

  private writeDeviceEvent(flags: number): void {
    const a = this.c.deviceArea;
    a.mem.setU32Release(a.off + E_OFF_WRAP, this.nextAvail | (this.availWrap << 15) | (flags << 16));
  }

  private fail(code: VirtioErrorCode, message: string, offset: number): AmpError {
    this.fault = new AmpError(code, message, { offset });
    return this.fault;
  }
}
