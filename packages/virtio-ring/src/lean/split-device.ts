// The device role of a split virtqueue, cut to what an rpmsg remote needs (@amp/virtio-ring/device).
// Why a second implementation next to SplitVirtqueueDevice: that one serves every device
// (indirect tables, event index, chains of any length, copies of chains, both fill modes) and
// bundles to ~9 kB minified with its helpers; an rpmsg remote only ever takes one-descriptor
// buffers and negotiates neither INDIRECT_DESC nor EVENT_IDX. The checks on what the driver
// wrote are the same ones (docs/wire-formats.md, "Split virtqueue"): avail.idx run-ahead, head and next indices
// in range, a head not offered twice, chains bounded (so loops end), no INDIRECT, no readable
// descriptor after a writable one, every buffer inside one mapped range. Ring areas are resolved
// and checked by the same helpers as the full queue (internal/ring-area.ts, split-layout.ts).
import type { AddressSpaceLike } from "../address-space.js";
import {
  VRING_AVAIL_F_NO_INTERRUPT,
  VRING_DESC_F_INDIRECT,
  VRING_DESC_F_NEXT,
  VRING_DESC_F_WRITE,
} from "../constants.js";
import type { Doorbell } from "../doorbell.js";
import { AmpError } from "../errors.js";
import { getAddr, resolveArea } from "../internal/ring-area.js";
import type { Memory } from "../memory.js";
import { splitRingAreaSizes, VRING_DESC_SIZE } from "../split-layout.js";
import { D_FLAGS, D_LEN, D_NEXT, R_FLAGS, R_IDX, R_RING } from "../internal/split-offsets.js";

/** Where the driver put the queue (a transport's QueueConfig has these fields). */
export interface LeanQueueConfig {
  /** Queue size (a power of two, at most 32768). */
  readonly size: number;
  readonly descAddr: number;
  readonly driverAddr: number;
  readonly deviceAddr: number;
  /** Passed to the doorbell when used buffers need an interrupt. */
  readonly notifyId: number;
}

/** Longest chain accepted; longer ones, and so every loop, are ERR_LIMIT (rpmsg buffers have one descriptor). */
const MAX_CHAIN = 4;

/**
 * One available chain as {@link LeanSplitDevice.next} reports it: its head, how many
 * descriptors it has, and where its first descriptor's buffer lies. Reused between calls.
 */
export interface LeanChain {
  /** Head index: pass it to `push`. */
  id: number;
  /** Number of descriptors (an rpmsg buffer has exactly one). */
  count: number;
  /** First descriptor: device address, length, direction, and its bytes in `memory` at `offset`. */
  da: number;
  len: number;
  writable: boolean;
  memory: Memory;
  offset: number;
}

function fail(code: "ERR_BAD_INDEX" | "ERR_BAD_CHAIN" | "ERR_LIMIT" | "ERR_BAD_ADDRESS", offset: number): AmpError {
  // Short message: the code says what, `offset` (in the ring's memory) says where.
  return new AmpError(code, `vring ${code}`, { offset });
}

/**
 * Split virtqueue, device role, for one-descriptor buffers without INDIRECT_DESC or EVENT_IDX
 * (an rpmsg remote). After it throws an AmpError the queue must be dropped (the caller resets
 * the link); it keeps no broken state of its own.
 *
 * @example
 * const q = new LeanSplitDevice({ size: 16, notifyId: 0, ...legacyQueueAddresses(da, 16, 4096) }, space, doorbell);
 * const c = q.next(chain); if (c !== null) { q.push(c.id, 0); q.interrupt(); }
 * @see docs/wire-formats.md, "Split virtqueue"
 */
export class LeanSplitDevice {
  readonly size: number;
  private readonly space: AddressSpaceLike;
  private readonly descMem: Memory;
  private readonly descOff: number;
  private readonly availMem: Memory;
  private readonly availOff: number;
  private readonly usedMem: Memory;
  private readonly usedOff: number;
  private readonly doorbell: Doorbell | undefined;
  private readonly notifyId: number;
  /** Heads handed out and not yet pushed back (a head offered twice is refused). */
  private readonly live: Uint8Array;
  private lastAvail = 0;
  private usedIdx = 0;
  private added = 0;

  /** @throws RangeError for a bad size; AmpError ERR_BAD_ADDRESS when a ring area is not mapped or aligned. */
  constructor(o: LeanQueueConfig, space: AddressSpaceLike, doorbell?: Doorbell) {
    const sizes = splitRingAreaSizes(o.size); // checks: a power of two <= 32768
    this.size = o.size;
    this.space = space;
    const desc = resolveArea(space, o.descAddr, sizes.desc, 16, "descriptor table");
    const avail = resolveArea(space, o.driverAddr, sizes.driver, 2, "available ring");
    const used = resolveArea(space, o.deviceAddr, sizes.device, 4, "used ring");
    this.descMem = desc.mem;
    this.descOff = desc.off;
    this.availMem = avail.mem;
    this.availOff = avail.off;
    this.usedMem = used.mem;
    this.usedOff = used.off;
    this.doorbell = doorbell;
    this.notifyId = o.notifyId;
    this.live = new Uint8Array(o.size);
  }

  /**
   * The next available chain, checked, into `out`; null when none is available.
   * @throws AmpError ERR_BAD_INDEX, ERR_BAD_CHAIN, ERR_LIMIT, ERR_BAD_ADDRESS for what the driver wrote.
   */
  next(out: LeanChain): LeanChain | null {
    const idxAt = this.availOff + R_IDX;
    const availIdx = this.availMem.getU16Acquire(idxAt);
    if (availIdx === this.lastAvail) return null;
    if (((availIdx - this.lastAvail) & 0xffff) > this.size) throw fail("ERR_BAD_INDEX", idxAt);
    const slot = this.availOff + R_RING + 2 * (this.lastAvail & (this.size - 1));
    const head = this.availMem.getU16(slot);
    if (head >= this.size) throw fail("ERR_BAD_INDEX", slot);
    if (this.live[head] === 1) throw fail("ERR_BAD_CHAIN", slot);
    const mem = this.descMem;
    let i = head;
    let n = 0;
    let writable = false;
    for (;;) {
      const d = this.descOff + i * VRING_DESC_SIZE;
      const addr = getAddr(mem, d);
      const len = mem.getU32(d + D_LEN);
      const flags = mem.getU16(d + D_FLAGS);
      const w = (flags & VRING_DESC_F_WRITE) !== 0;
      // In the full queue's order, so that both report the same code for the same bytes.
      if ((flags & VRING_DESC_F_INDIRECT) !== 0) throw fail("ERR_BAD_CHAIN", d + D_FLAGS);
      if (n >= MAX_CHAIN) throw fail("ERR_LIMIT", d); // also ends any loop
      if (writable && !w) throw fail("ERR_BAD_CHAIN", d + D_FLAGS);
      const r = addr < 0 ? undefined : this.space.find(addr, len);
      if (r === undefined) throw fail("ERR_BAD_ADDRESS", d);
      if (n++ === 0) {
        out.da = addr;
        out.len = len;
        out.writable = w;
        out.memory = r.memory;
        out.offset = r.offset + (addr - r.da);
      }
      writable = w;
      if ((flags & VRING_DESC_F_NEXT) === 0) break;
      i = mem.getU16(d + D_NEXT);
      if (i >= this.size) throw fail("ERR_BAD_INDEX", d + D_NEXT);
    }
    out.id = head;
    out.count = n;
    this.lastAvail = (this.lastAvail + 1) & 0xffff;
    this.live[head] = 1;
    return out;
  }

  /** Returns chain `id` (from `next`) with `len` as used.len. The interrupt waits for `interrupt()`. */
  push(id: number, len: number): void {
    const e = this.usedOff + R_RING + 8 * (this.usedIdx & (this.size - 1));
    this.usedMem.setU32(e, id);
    this.usedMem.setU32(e + 4, len);
    this.usedIdx = (this.usedIdx + 1) & 0xffff;
    // Release: the element is visible before the index that publishes it (docs/wire-formats.md, "Memory ordering").
    this.usedMem.setU16Release(this.usedOff + R_IDX, this.usedIdx);
    this.live[id] = 0;
    this.added++;
  }

  /** Rings the doorbell when buffers were pushed since the last call and the driver did not set NO_INTERRUPT. */
  interrupt(): void {
    if (this.added === 0) return;
    this.added = 0;
    if ((this.availMem.getU16Acquire(this.availOff + R_FLAGS) & VRING_AVAIL_F_NO_INTERRUPT) === 0)
      this.doorbell?.notify(this.notifyId);
  }

  /**
   * False when used.idx in memory is not what this device last wrote: the driver re-initialised
   * the rings (a reset that happened between two looks at the status byte).
   */
  usedIdxIntact(): boolean {
    return this.usedMem.getU16Acquire(this.usedOff + R_IDX) === this.usedIdx;
  }
}
