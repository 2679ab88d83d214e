// The split virtqueue's memory layout, equal to <linux/virtio_ring.h> vring_init()/vring_size()
// (the legacy contiguous layout that Linux remoteproc, OpenAMP and rpmsg-lite use), and the
// event-index rule. docs/wire-formats.md, "Split virtqueue".
import { VIRTQUEUE_MAX_SIZE } from "./constants.js";
import { checkInt, isPowerOfTwo } from "./internal/check.js";

/** Bytes of one descriptor (struct vring_desc). */
export const VRING_DESC_SIZE = 16;
/** Bytes of one used element (struct vring_used_elem). */
export const VRING_USED_ELEM_SIZE = 8;

/** Byte offsets of the parts of a legacy contiguous vring, from its start. */
export interface SplitRingLayout {
  /** Queue size `num` (a power of two). */
  readonly num: number;
  /** `align` of the used ring (a power of two; 4096 on Linux remoteproc). */
  readonly align: number;
  /** Descriptor table (always 0). */
  readonly desc: number;
  /** struct vring_avail: flags, idx, ring[num], used_event. */
  readonly avail: number;
  /** used_event: `avail + 4 + 2*num`. */
  readonly usedEvent: number;
  /** struct vring_used: `align_up(avail + 6 + 2*num, align)`. */
  readonly used: number;
  /** avail_event: `used + 4 + 8*num`. */
  readonly availEvent: number;
  /** `vring_size(num, align)`: the tail is not rounded up to `align`. */
  readonly size: number;
}

function checkNum(num: number): void {
  if (!isPowerOfTwo(num) || num > VIRTQUEUE_MAX_SIZE)
    throw new RangeError(`split queue size must be a power of two <= ${VIRTQUEUE_MAX_SIZE}, got ${num}`);
}

function checkAlign(align: number): void {
  if (!isPowerOfTwo(align) || align > 0x10000000)
    throw new RangeError(`vring align must be a power of two, got ${align}`);
}

/**
 * `vring_size(num, align)` of <linux/virtio_ring.h>: `align_up(16*num + 2*(3+num), align) + 6 + 8*num`.
 * @throws RangeError unless num and align are powers of two (num <= 32768).
 * @example vringSize(256, 4096) // 10246
 */
export function vringSize(num: number, align: number): number {
  return splitRingLayout(num, align).size;
}

/**
 * Offsets of desc, avail, used_event, used and avail_event in a legacy contiguous vring.
 * @throws RangeError unless num and align are powers of two (num <= 32768).
 * @example splitRingLayout(16, 16).used // 304
 */
export function splitRingLayout(num: number, align: number): SplitRingLayout {
  checkNum(num);
  checkAlign(align);
  const avail = VRING_DESC_SIZE * num;
  const usedEvent = avail + 4 + 2 * num;
  const used = Math.ceil((usedEvent + 2) / align) * align;
  const availEvent = used + 4 + VRING_USED_ELEM_SIZE * num;
  return { num, align, desc: 0, avail, usedEvent, used, availEvent, size: availEvent + 2 };
}

/**
 * Sizes of the three split-ring areas for separately placed rings (virtio 1.x): the driver
 * area is `6 + 2*num`, the device area `6 + 8*num`; alignments 16, 2 and 4.
 */
export function splitRingAreaSizes(num: number): { desc: number; driver: number; device: number } {
  checkNum(num);
  return { desc: VRING_DESC_SIZE * num, driver: 6 + 2 * num, device: 6 + VRING_USED_ELEM_SIZE * num };
}

/**
 * `vring_need_event(event_idx, new_idx, old_idx)`: whether publishing `old..new` passed the
 * peer's event index, all modulo 2^16: `(u16)(new - event - 1) < (u16)(new - old)`.
 * @example vringNeedEvent(0, 1, 0) // true: used_event 0 asks for a notification after entry 0
 */
export function vringNeedEvent(eventIdx: number, newIdx: number, oldIdx: number): boolean {
  return ((newIdx - eventIdx - 1) & 0xffff) < ((newIdx - oldIdx) & 0xffff);
}

/** Checks a queue size for a packed ring (any size 1..32768). @throws RangeError */
export function checkPackedSize(size: number): void {
  checkInt(size, 1, VIRTQUEUE_MAX_SIZE, "packed queue size");
}
