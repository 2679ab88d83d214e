// Split virtqueue, both roles. Offsets and rules: docs/wire-formats.md, "Split virtqueue" (struct vring_desc,
// vring_avail, vring_used; the event-index rule; barrier points). Everything the peer wrote is
// read once into a local, checked, then used: no index or length from shared memory is trusted.
import { AmpError } from "./errors.js";
import type { VirtioErrorCode } from "./errors.js";
import type { AddressSpaceLike } from "./address-space.js";
import type { Memory } from "./memory.js";
import {
  VRING_AVAIL_F_NO_INTERRUPT,
  VRING_DESC_F_INDIRECT,
  VRING_DESC_F_NEXT,
  VRING_DESC_F_WRITE,
  VRING_USED_F_NO_NOTIFY,
} from "./constants.js";
import { splitRingAreaSizes, splitRingLayout, vringNeedEvent, VRING_DESC_SIZE } from "./split-layout.js";
import { DescriptorChain } from "./virtqueue.js";
import type {
  BufferSegment,
  DriverQueueOptions,
  UsedBuffer,
  VirtqueueDevice,
  VirtqueueDriver,
  VirtqueueOptions,
} from "./virtqueue.js";
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

// struct vring_desc and the avail/used headers
import { D_ADDR, D_FLAGS, D_LEN, D_NEXT, R_FLAGS, R_IDX, R_RING } from "./internal/split-offsets.js";

/**
 * Device addresses of the three parts of a legacy contiguous vring at `da` (Linux remoteproc,
 * OpenAMP, rpmsg-lite), for {@link VirtqueueOptions}.
 * @throws RangeError unless num and align are powers of two.
 */
export function legacyQueueAddresses(
  da: number,
  num: number,
  align: number,
): { descAddr: number; driverAddr: number; deviceAddr: number } {
  const l = splitRingLayout(num, align);
  return { descAddr: da + l.desc, driverAddr: da + l.avail, deviceAddr: da + l.used };
}

interface Common extends QueueBasics {
  size: number;
  mask: number;
  desc: Area;
  avail: Area;
  used: Area;
}

function common(o: VirtqueueOptions): Common {
  const size = o.size;
  const sizes = splitRingAreaSizes(size); // checks: power of two <= 32768
  const basics = queueBasics(o);
  return {
    ...basics,
    size,
    mask: size - 1,
    desc: resolveArea(o.space, o.descAddr, sizes.desc, 16, "descriptor table"),
    avail: resolveArea(o.space, o.driverAddr, sizes.driver, 2, "available ring"),
    used: resolveArea(o.space, o.deviceAddr, sizes.device, 4, "used ring"),
  };
}

/**
 * Split virtqueue, driver role: the side that offers buffers (the Linux host for rpmsg).
 *
 * @example
 * const q = new SplitVirtqueueDriver<number>({ size: 256, space, ...legacyQueueAddresses(da, 256, 4096) });
 * q.addBuffer(bufDa, 512, true, 0); q.kick();
 * @see docs/wire-formats.md, "Split virtqueue"
 */
export class SplitVirtqueueDriver<T> implements VirtqueueDriver<T> {
  readonly size: number;
  private readonly c: Common;
  private readonly descMem: Memory;
  private readonly descOff: number;
  private readonly availMem: Memory;
  private readonly availOff: number;
  private readonly usedMem: Memory;
  private readonly usedOff: number;
  private readonly indirectArea: Area | undefined;
  private readonly indirectMax: number;
  private readonly indirectDa: number;
  /** Private free list and chain links: the device can scribble on the table, not on these. */
  private readonly link: Uint16Array;
  private readonly chainLen: Uint16Array;
  private readonly offered: Float64Array;
  private readonly live: Uint8Array;
  private readonly tokens: (T | undefined)[];
  private freeHead = 0;
  private free: number;
  private outstandingCount = 0;
  private readonly batchAvail: boolean;
  private availIdx = 0;
  /** avail.idx as last stored to ring memory (lags `availIdx` inside a batch with `batchAvailIdx`). */
  private publishedAvail = 0;
  private lastUsed = 0;
  /**
   * used.idx as last loaded, already checked against the buffers outstanding: entries up to it
   * are consumed without loading the index again (a line the device keeps writing, a cache miss
   * per load on another core). Loaded again only once `lastUsed` has caught up with it.
   */
  private seenUsed = 0;
  private added = 0;
  private interruptsOn = true;
  private overruns = 0;
  private fault: AmpError | undefined;

  /** @throws RangeError for bad options; AmpError ERR_BAD_ADDRESS when a ring area is not mapped. */
  constructor(options: DriverQueueOptions) {
    this.c = common(options);
    this.size = this.c.size;
    this.descMem = this.c.desc.mem;
    this.descOff = this.c.desc.off;
    this.availMem = this.c.avail.mem;
    this.availOff = this.c.avail.off;
    this.usedMem = this.c.used.mem;
    this.usedOff = this.c.used.off;
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
    this.link = new Uint16Array(this.size);
    this.chainLen = new Uint16Array(this.size);
    this.offered = new Float64Array(this.size);
    this.live = new Uint8Array(this.size);
    this.tokens = new Array<T | undefined>(this.size).fill(undefined);
    this.batchAvail = options.batchAvailIdx ?? false;
    this.free = this.size;
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
    if (this.free === 0) return -1;
    const head = this.freeHead;
    this.freeHead = this.link[head] ?? 0;
    this.free--;
    this.writeDesc(this.descOff + head * VRING_DESC_SIZE, addr, len, writable ? VRING_DESC_F_WRITE : 0, 0);
    this.chainLen[head] = 1;
    this.publish(head, writable ? len : 0, token);
    return head;
  }

  addChain(readable: readonly BufferSegment[], writable: readonly BufferSegment[], token: T): number {
    this.checkUsable();
    const { n, offeredBytes } = checkChainArgs(readable, writable, this.c.maxChain);
    const ind = this.indirectArea;
    if (ind !== undefined && n > 1 && n <= this.indirectMax) {
      if (this.free === 0) return -1;
      const head = this.freeHead;
      this.freeHead = this.link[head] ?? 0;
      this.free--;
      const tableOff = ind.off + head * this.indirectMax * VRING_DESC_SIZE;
      for (let i = 0; i < n; i++) {
        const w = i >= readable.length;
        const s = (w ? writable[i - readable.length] : readable[i]) as BufferSegment;
        const d = tableOff + i * VRING_DESC_SIZE;
        setAddr(ind.mem, d + D_ADDR, s.addr);
        ind.mem.setU32(d + D_LEN, s.len);
        ind.mem.setU16(d + D_FLAGS, (w ? VRING_DESC_F_WRITE : 0) | (i + 1 < n ? VRING_DESC_F_NEXT : 0));
        ind.mem.setU16(d + D_NEXT, i + 1 < n ? i + 1 : 0);
      }
      const tableDa = this.indirectDa + head * this.indirectMax * VRING_DESC_SIZE;
      this.writeDesc(this.descOff + head * VRING_DESC_SIZE, tableDa, n * VRING_DESC_SIZE, VRING_DESC_F_INDIRECT, 0);
      this.chainLen[head] = 1;
      this.publish(head, offeredBytes, token);
      return head;
    }
    if (n > this.free) return -1;
    const head = this.freeHead;
    let idx = head;
    for (let i = 0; i < n; i++) {
      const w = i >= readable.length;
      const s = (w ? writable[i - readable.length] : readable[i]) as BufferSegment;
      const next = this.link[idx] ?? 0;
      this.writeDesc(
        this.descOff + idx * VRING_DESC_SIZE,
        s.addr,
        s.len,
        (w ? VRING_DESC_F_WRITE : 0) | (i + 1 < n ? VRING_DESC_F_NEXT : 0),
        i + 1 < n ? next : 0,
      );
      if (i + 1 < n) idx = next;
      else this.freeHead = next;
    }
    this.free -= n;
    this.chainLen[head] = n;
    this.publish(head, offeredBytes, token);
    return head;
  }

  /** Stores avail.idx if buffers were added since it was last stored (see `batchAvailIdx`). */
  publishAvail(): void {
    if (this.publishedAvail !== this.availIdx)
      this.availMem.setU16Release(this.availOff + R_IDX, (this.publishedAvail = this.availIdx));
  }

  kickPrepare(): boolean {
    this.publishAvail();
    if (this.added === 0) return false;
    const added = this.added;
    this.added = 0;
    if (added >= 0xffff) return true; // the u16 window cannot tell; kick to be safe
    // The release store of avail.idx and this load are both sequentially consistent on shared
    // memory: the full barrier of docs/wire-formats.md, "Memory ordering".
    if (this.c.eventIdx) {
      const event = this.usedMem.getU16Acquire(this.usedOff + R_RING + 8 * this.size);
      return vringNeedEvent(event, this.availIdx, (this.availIdx - added) & 0xffff);
    }
    return (this.usedMem.getU16Acquire(this.usedOff + R_FLAGS) & VRING_USED_F_NO_NOTIFY) === 0;
  }

  kick(): boolean {
    if (!this.kickPrepare()) return false;
    this.c.doorbell?.notify(this.c.notifyId);
    return true;
  }

  hasUsed(): boolean {
    return this.seenUsed !== this.lastUsed || this.usedMem.getU16Acquire(this.usedOff + R_IDX) !== this.lastUsed;
  }

  /**
   * `seenOnly`: only buffers covered by the used.idx this queue last loaded (no look at ring
   * memory; null once they are taken), for the later calls of one batch. Without EVENT_IDX only:
   * with it the index is always read (see below).
   */
  getUsed(out?: UsedBuffer<T>, seenOnly = false): UsedBuffer<T> | null {
    this.checkUsable();
    if (this.seenUsed === this.lastUsed) {
      // With EVENT_IDX the device decides to interrupt from used_event, which the entries just
      // taken moved: a device that published meanwhile may have read it before it moved and not
      // interrupt, so the index is looked at again (virtio's enable_cb rule).
      if (seenOnly && !this.c.eventIdx) return null;
      const usedIdx = this.usedMem.getU16Acquire(this.usedOff + R_IDX);
      if (usedIdx === this.lastUsed) return null;
      if (((usedIdx - this.lastUsed) & 0xffff) > this.outstandingCount) {
        throw this.fail(
          "ERR_BAD_INDEX",
          `used.idx ${usedIdx} runs ${(usedIdx - this.lastUsed) & 0xffff} ahead with ${this.outstandingCount} buffers outstanding`,
          this.usedOff + R_IDX,
        );
      }
      this.seenUsed = usedIdx;
    }
    const e = this.usedOff + R_RING + 8 * (this.lastUsed & this.c.mask);
    const id = this.usedMem.getU32(e);
    const declaredLen = this.usedMem.getU32(e + 4);
    if (id >= this.size || this.live[id] !== 1)
      throw this.fail("ERR_BAD_USED", `used id ${id} is not an outstanding buffer`, e);
    const offered = this.offered[id] ?? 0;
    let len = declaredLen;
    if (len > offered) {
      len = offered;
      this.overruns++;
    }
    this.lastUsed = (this.lastUsed + 1) & 0xffff;
    const token = this.tokens[id] as T;
    this.release(id);
    if (this.c.eventIdx && this.interruptsOn)
      this.availMem.setU16Release(this.availOff + R_RING + 2 * this.size, this.lastUsed);
    const r = out ?? { id, len, declaredLen, token };
    r.id = id;
    r.len = len;
    r.declaredLen = declaredLen;
    r.token = token;
    return r;
  }

  enableInterrupts(): boolean {
    this.interruptsOn = true;
    if (this.c.eventIdx) this.availMem.setU16Release(this.availOff + R_RING + 2 * this.size, this.lastUsed);
    else this.availMem.setU16Release(this.availOff + R_FLAGS, 0);
    return this.hasUsed();
  }

  disableInterrupts(): void {
    this.interruptsOn = false;
    // With EVENT_IDX avail.flags must stay 0; an event index just behind us is never crossed
    // (the device can run at most `size` <= 32768 entries ahead).
    if (this.c.eventIdx)
      this.availMem.setU16Release(this.availOff + R_RING + 2 * this.size, (this.lastUsed - 1) & 0xffff);
    else this.availMem.setU16Release(this.availOff + R_FLAGS, VRING_AVAIL_F_NO_INTERRUPT);
  }

  reset(): T[] {
    const tokens: T[] = [];
    for (let i = 0; i < this.size; i++) if (this.live[i] === 1) tokens.push(this.tokens[i] as T);
    this.descMem.fill(this.descOff, this.size * VRING_DESC_SIZE, 0);
    const sizes = splitRingAreaSizes(this.size);
    this.availMem.fill(this.availOff, sizes.driver, 0);
    this.usedMem.fill(this.usedOff, sizes.device, 0);
    this.live.fill(0);
    this.tokens.fill(undefined);
    this.initState();
    return tokens;
  }

  private initState(): void {
    for (let i = 0; i < this.size; i++) this.link[i] = i + 1 < this.size ? i + 1 : 0;
    this.freeHead = 0;
    this.free = this.size;
    this.outstandingCount = 0;
    this.availIdx = 0;
    this.publishedAvail = 0;
    this.lastUsed = 0;
    this.seenUsed = 0;
    this.added = 0;
    this.interruptsOn = true;
    this.fault = undefined;
  }

  /**
   * Makes the descriptor at `d` say addr, len, flags, next. Checked whole on every offer, even
   * when the same buffer comes back: devices write into descriptors they were offered
   * (rpmsg-lite's remote stores the message length in desc.len), and a stale entry would shrink
   * the buffer the device sees next time. Only the fields that differ are stored: a field
   * rewritten with its own value still takes the line away from the device's cache, so an
   * unchanged descriptor (a buffer re-posted as it was) costs the device no miss when it reads
   * it. Skipping a store is no trust in the device: memory already holds what the store would
   * write, and was published by an earlier avail.idx release.
   */
  private writeDesc(d: number, addr: number, len: number, flags: number, next: number): void {
    const m = this.descMem;
    if (getAddr(m, d + D_ADDR) !== addr) setAddr(m, d + D_ADDR, addr);
    if (m.getU32(d + D_LEN) !== len) m.setU32(d + D_LEN, len);
    // flags (le16 at 12) and next (le16 at 14) as one little-endian u32
    const fn = (flags | (next << 16)) >>> 0;
    if (m.getU32(d + D_FLAGS) !== fn) m.setU32(d + D_FLAGS, fn);
  }

  /** avail.ring[idx] = head, then publish idx (descriptors before index: release). */
  private publish(head: number, offeredBytes: number, token: T): void {
    this.live[head] = 1;
    this.offered[head] = offeredBytes;
    this.tokens[head] = token;
    this.outstandingCount++;
    // The same head in the same slot (a ring turned over with buffers re-posted in order) is not
    // stored again, for the reason given at writeDesc.
    const slot = this.availOff + R_RING + 2 * (this.availIdx & this.c.mask);
    if (this.availMem.getU16(slot) !== head) this.availMem.setU16(slot, head);
    this.availIdx = (this.availIdx + 1) & 0xffff;
    if (!this.batchAvail) this.publishAvail();
    this.added++;
  }

  /** Returns a chain's descriptors to the private free list. */
  private release(head: number): void {
    const n = this.chainLen[head] ?? 1;
    let last = head;
    for (let i = 1; i < n; i++) last = this.link[last] ?? 0;
    this.link[last] = this.freeHead;
    this.freeHead = head;
    this.free += n;
    this.live[head] = 0;
    this.tokens[head] = undefined;
    this.outstandingCount--;
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

/** Device-role options. */
export interface DeviceQueueOptions extends VirtqueueOptions {
  /** Most descriptors in one indirect table (default: `maxChain`). */
  maxIndirect?: number;
  /**
   * Continue used.idx from the value in ring memory instead of a private counter (split rings).
   * The rpmsg-lite master writes its own tx ring's used ring at init (all tx buffers pre-loaded,
   * used.idx = their count) and its remote re-reads used.idx each time; a device that restarts
   * at 0 hides every recycled buffer from it. Only the driver is hurt if it scribbles on the
   * index: entries land inside the ring either way. Default false.
   */
  usedIdxFromMemory?: boolean;
  /**
   * Interrupt after every batch of used buffers, whatever the driver's suppression flags or
   * event index say. The rpmsg-lite master sets VRING_AVAIL_F_NO_INTERRUPT at init, never clears
   * it, and still waits for interrupts. Default false.
   */
  ignoreInterruptSuppression?: boolean;
  /**
   * Publish used.idx once per batch instead of after every used entry: `pushUsed` and
   * `pushConsumed` only write the entries, and `interruptPrepare` / `interrupt` store the index
   * once. The driver may see a batch's entries only then, so the caller must end every batch with
   * one of them. With `usedIdxFromMemory` the index is read from memory at the start of each
   * batch. Default false.
   */
  batchUsedIdx?: boolean;
}

/**
 * Split virtqueue, device role: the side that consumes buffers (the remote for rpmsg). Treats
 * the driver as hostile: every head and descriptor index, chain length, flag combination,
 * direction order, address and length is checked before a chain is handed out.
 *
 * @example
 * const q = new SplitVirtqueueDevice({ size: 256, space, ...legacyQueueAddresses(da, 256, 4096) });
 * const chain = q.getAvail();
 * if (chain) { const n = chain.scatter(reply); q.pushUsed(chain.id, n); q.interrupt(); }
 * @see docs/wire-formats.md, "Split virtqueue"
 */
export class SplitVirtqueueDevice implements VirtqueueDevice {
  readonly size: number;
  private readonly c: Common;
  private readonly space: AddressSpaceLike;
  private readonly descMem: Memory;
  private readonly descOff: number;
  private readonly availMem: Memory;
  private readonly availOff: number;
  private readonly usedMem: Memory;
  private readonly usedOff: number;
  private readonly maxIndirect: number;
  private readonly scratch: DescriptorChain;
  private readonly live: Uint8Array;
  private readonly writable: Float64Array;
  /** Whole descriptor length of each chain in flight (for `pushConsumed`). */
  private readonly total: Float64Array;
  private readonly usedIdxFromMemory: boolean;
  private readonly alwaysInterrupt: boolean;
  private readonly batch: boolean;
  private lastAvail = 0;
  /** avail.idx as last read: the chains up to it are taken without reading it again. */
  private seenAvail = 0;
  private usedIdx = 0;
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
    this.descMem = this.c.desc.mem;
    this.descOff = this.c.desc.off;
    this.availMem = this.c.avail.mem;
    this.availOff = this.c.avail.off;
    this.usedMem = this.c.used.mem;
    this.usedOff = this.c.used.off;
    this.maxIndirect = options.maxIndirect ?? this.c.maxChain;
    checkInt(this.maxIndirect, 1, this.c.maxChain, "maxIndirect");
    this.scratch = new DescriptorChain(this.c.maxChain);
    this.live = new Uint8Array(this.size);
    this.writable = new Float64Array(this.size);
    this.total = new Float64Array(this.size);
    this.usedIdxFromMemory = options.usedIdxFromMemory ?? false;
    this.alwaysInterrupt = options.ignoreInterruptSuppression ?? false;
    this.batch = options.batchUsedIdx === true;
  }

  get error(): Error | undefined {
    return this.fault;
  }
  get inFlight(): number {
    return this.inFlightCount;
  }

  hasAvail(): boolean {
    return this.availMem.getU16Acquire(this.availOff + R_IDX) !== this.lastAvail;
  }

  /**
   * False when used.idx in ring memory is not the value this device last published: someone else
   * rewrote the used ring, which a driver does when it re-initialises the rings (a reset that
   * happened between two looks at the status byte). Always true with `usedIdxFromMemory`.
   */
  usedIdxIntact(): boolean {
    // With batchUsedIdx the entries added since the last interruptPrepare are not published yet.
    return (
      this.usedIdxFromMemory ||
      this.usedMem.getU16Acquire(this.usedOff + R_IDX) === ((this.usedIdx - (this.batch ? this.added : 0)) & 0xffff)
    );
  }

  /**
   * `seenOnly`: only chains offered by the avail.idx this queue last read (no look at ring
   * memory; null once they are taken), for the later calls of one batch. Without EVENT_IDX only:
   * with it avail.idx is always read (see below).
   */
  getAvail(out?: DescriptorChain, seenOnly = false): DescriptorChain | null {
    if (this.fault !== undefined)
      throw new AmpError("ERR_NEEDS_RESET", `queue is broken: ${this.fault.message}`, { cause: this.fault });
    if (out !== undefined && out.capacity < this.c.maxChain)
      throw new RangeError(`chain capacity ${out.capacity} < maxChain ${this.c.maxChain}`);
    // One acquire load per run of offered chains (Linux's shadow avail index): the index read
    // last time already ordered every descriptor it covers, and was checked then.
    if (this.seenAvail === this.lastAvail) {
      // With EVENT_IDX the driver decides to kick from avail_event, which the chains just taken
      // moved: one it read before it moved saw no reason to kick, so avail.idx is read again.
      if (seenOnly && !this.c.eventIdx) return null;
      const availIdx = this.availMem.getU16Acquire(this.availOff + R_IDX);
      if (availIdx === this.lastAvail) return null;
      if (((availIdx - this.lastAvail) & 0xffff) > this.size) {
        throw this.fail(
          "ERR_BAD_INDEX",
          `avail.idx ${availIdx} runs more than ${this.size} ahead of ${this.lastAvail}`,
          this.availOff + R_IDX,
        );
      }
      this.seenAvail = availIdx;
    }
    const slotOff = this.availOff + R_RING + 2 * (this.lastAvail & this.c.mask);
    const head = this.availMem.getU16(slotOff);
    if (head >= this.size)
      throw this.fail("ERR_BAD_INDEX", `avail ring head ${head} >= queue size ${this.size}`, slotOff);
    if (this.live[head] === 1) throw this.fail("ERR_BAD_CHAIN", `head ${head} offered again while in flight`, slotOff);
    const chain = out ?? this.scratch;
    chain.clear();
    chain.id = head;
    this.walk(head, chain);
    chain.slots = 1;
    this.lastAvail = (this.lastAvail + 1) & 0xffff;
    this.live[head] = 1;
    this.writable[head] = chain.writableBytes;
    this.total[head] = chain.readableBytes + chain.writableBytes;
    this.inFlightCount++;
    if (this.c.eventIdx && this.notificationsOn)
      this.usedMem.setU16Release(this.usedOff + R_RING + 8 * this.size, this.lastAvail);
    return out ?? chain.copy();
  }

  pushUsed(id: number, len: number): void {
    checkPushUsed(id, len, this.size, this.live, this.writable);
    this.writeUsed(id, len);
  }

  pushConsumed(id: number): void {
    checkInFlight(id, this.size, this.live);
    this.writeUsed(id, Math.min(this.total[id] ?? 0, 0xffffffff));
  }

  private writeUsed(id: number, len: number): void {
    // The device's own index, rewritten by the driver only at its init: a plain load orders
    // nothing. Batched, it is read at the start of each batch (the driver cannot have written it
    // since: its init comes before it posts the buffers we push back).
    if (this.usedIdxFromMemory && (!this.batch || this.added === 0))
      this.usedIdx = this.usedMem.getU16(this.usedOff + R_IDX);
    const e = this.usedOff + R_RING + 8 * (this.usedIdx & this.c.mask);
    // An entry that already holds these values is not stored again: the store alone would take
    // the line from the driver's cache (see SplitVirtqueueDriver's writeDesc).
    if (this.usedMem.getU32(e) !== id) this.usedMem.setU32(e, id);
    if (this.usedMem.getU32(e + 4) !== len) this.usedMem.setU32(e + 4, len);
    this.usedIdx = (this.usedIdx + 1) & 0xffff;
    if (!this.batch) this.usedMem.setU16Release(this.usedOff + R_IDX, this.usedIdx);
    this.live[id] = 0;
    this.inFlightCount--;
    this.added++;
  }

  interruptPrepare(): boolean {
    if (this.added === 0) return false;
    const added = this.added;
    this.added = 0;
    // The batch's index before the suppression read: the full barrier of docs/wire-formats.md, "Memory ordering".
    if (this.batch) this.usedMem.setU16Release(this.usedOff + R_IDX, this.usedIdx);
    if (added >= 0xffff || this.alwaysInterrupt) return true;
    if (this.c.eventIdx) {
      const event = this.availMem.getU16Acquire(this.availOff + R_RING + 2 * this.size);
      return vringNeedEvent(event, this.usedIdx, (this.usedIdx - added) & 0xffff);
    }
    return (this.availMem.getU16Acquire(this.availOff + R_FLAGS) & VRING_AVAIL_F_NO_INTERRUPT) === 0;
  }

  interrupt(): boolean {
    if (!this.interruptPrepare()) return false;
    this.c.doorbell?.notify(this.c.notifyId);
    return true;
  }

  enableNotifications(): boolean {
    this.notificationsOn = true;
    if (this.c.eventIdx) this.usedMem.setU16Release(this.usedOff + R_RING + 8 * this.size, this.lastAvail);
    else this.usedMem.setU16Release(this.usedOff + R_FLAGS, 0);
    return this.hasAvail();
  }

  disableNotifications(): void {
    this.notificationsOn = false;
    if (this.c.eventIdx)
      this.usedMem.setU16Release(this.usedOff + R_RING + 8 * this.size, (this.lastAvail - 1) & 0xffff);
    else this.usedMem.setU16Release(this.usedOff + R_FLAGS, VRING_USED_F_NO_NOTIFY);
  }

  reset(): void {
    this.live.fill(0);
    this.lastAvail = 0;
    this.seenAvail = 0;
    this.usedIdx = 0;
    this.added = 0;
    this.inFlightCount = 0;
    this.notificationsOn = true;
    this.fault = undefined;
  }

  /**
   * Walks the chain at `head` into `chain`, checking everything; throws (and breaks) on a
   * violation. One loop serves the ring's table and an indirect table (`ind`: offset of the
   * INDIRECT descriptor that points to it, -1 in the ring's table); errors inside an indirect
   * table are reported at that descriptor.
   */
  private walk(head: number, chain: DescriptorChain): void {
    let mem = this.descMem;
    let base = this.descOff;
    let n = this.size;
    let ind = -1;
    let i = head;
    let seen = 0;
    for (;;) {
      const d = base + i * VRING_DESC_SIZE;
      const at = ind < 0 ? d : ind; // where this descriptor's errors are reported
      if (seen++ >= n)
        throw this.fail(
          "ERR_BAD_CHAIN",
          ind < 0 ? `descriptor chain at head ${head} loops` : "indirect chain loops",
          at + D_ADDR,
        );
      const addr = getAddr(mem, d); // addr is the first field (D_ADDR 0)
      const len = mem.getU32(d + D_LEN);
      const flags = mem.getU16(d + D_FLAGS);
      const next = mem.getU16(d + D_NEXT);
      if ((flags & VRING_DESC_F_INDIRECT) !== 0) {
        if (ind >= 0) throw this.fail("ERR_BAD_CHAIN", "INDIRECT inside an indirect table", ind + D_ADDR);
        if (!this.c.indirect)
          throw this.fail("ERR_BAD_CHAIN", "indirect descriptor without VIRTIO_RING_F_INDIRECT_DESC", d + D_FLAGS);
        if ((flags & VRING_DESC_F_NEXT) !== 0)
          throw this.fail("ERR_BAD_CHAIN", "descriptor sets both INDIRECT and NEXT", d + D_FLAGS);
        const t = indirectTable(this.space, addr, len, this.maxIndirect, d + D_ADDR, d + D_LEN, this.failFn);
        mem = t.memory;
        base = t.base;
        n = t.n;
        ind = d;
        i = 0;
        seen = 0;
        continue;
      }
      appendSegment(
        chain,
        this.space,
        this.c.maxChain,
        addr,
        len,
        (flags & VRING_DESC_F_WRITE) !== 0,
        at,
        at + D_FLAGS,
        this.failFn,
      );
      if ((flags & VRING_DESC_F_NEXT) === 0) return;
      if (next >= n)
        throw this.fail(
          "ERR_BAD_INDEX",
          ind < 0 ? `descriptor next ${next} >= queue size ${n}` : `indirect next ${next} >= table size ${n}`,
          ind < 0 ? d + D_NEXT : ind + D_ADDR,
        );
      i = next;
    }
  }

  private fail(code: VirtioErrorCode, message: string, offset: number): AmpError {
    this.fault = new AmpError(code, message, { offset });
    return this.fault;
  }
}
