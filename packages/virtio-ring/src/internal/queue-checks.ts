// The checks the split and the packed queue share: the options both ring formats take, the
// arguments of addChain/pushUsed (caller misuse: RangeError) and the checks on each descriptor
// the peer wrote (AmpError through the queue's `fail`, which also marks the queue broken).
import type { AmpError } from "../errors.js";
import type { VirtioErrorCode } from "../errors.js";
import type { AddressSpaceLike } from "../address-space.js";
import type { Doorbell } from "../doorbell.js";
import type { Memory } from "../memory.js";
import { VIRTIO_RING_F_EVENT_IDX, VIRTIO_RING_F_INDIRECT_DESC, hasFeature } from "../constants.js";
import type { BufferSegment, DescriptorChain, VirtqueueOptions } from "../virtqueue.js";
import { checkInt } from "./check.js";
import { checkSegment } from "./ring-area.js";

/** Records a peer violation on the queue and returns the error to throw. */
export type Fail = (code: VirtioErrorCode, message: string, offset: number) => AmpError;

/** The options both formats read the same way. */
export interface QueueBasics {
  eventIdx: boolean;
  indirect: boolean;
  doorbell: Doorbell | undefined;
  notifyId: number;
  maxChain: number;
}

/** Reads and checks the format-independent options (`size` is checked by the caller first). */
export function queueBasics(o: VirtqueueOptions): QueueBasics {
  const features = o.features ?? 0n;
  const maxChain = o.maxChain ?? o.size;
  checkInt(maxChain, 1, o.size, "maxChain");
  const notifyId = o.notifyId ?? 0;
  checkInt(notifyId, 0, 0xffffffff, "notifyId");
  return {
    eventIdx: hasFeature(features, VIRTIO_RING_F_EVENT_IDX),
    indirect: hasFeature(features, VIRTIO_RING_F_INDIRECT_DESC),
    doorbell: o.doorbell,
    notifyId,
    maxChain,
  };
}

/** Checks addChain's segments; returns their count and the writable bytes offered. */
export function checkChainArgs(
  readable: readonly BufferSegment[],
  writable: readonly BufferSegment[],
  maxChain: number,
): { n: number; offeredBytes: number } {
  const n = readable.length + writable.length;
  if (n === 0) throw new RangeError("a chain needs at least one segment");
  if (n > maxChain) throw new RangeError(`chain of ${n} segments exceeds maxChain ${maxChain}`);
  let offeredBytes = 0;
  for (const s of readable) checkSegment(s.addr, s.len);
  for (const s of writable) {
    checkSegment(s.addr, s.len);
    offeredBytes += s.len;
  }
  return { n, offeredBytes };
}

/** Checks that `id` names a chain in flight (caller misuse otherwise: RangeError). */
export function checkInFlight(id: number, size: number, live: Uint8Array): void {
  if (!(Number.isInteger(id) && id >= 0 && id < size && live[id] === 1))
    throw new RangeError(`${id} is not a chain in flight`);
}

/** Checks pushUsed's arguments against the chains in flight (`live`) and their writable bytes. */
export function checkPushUsed(id: number, len: number, size: number, live: Uint8Array, writable: Float64Array): void {
  checkInFlight(id, size, live);
  if (!(Number.isInteger(len) && len >= 0 && len <= 0xffffffff && len <= (writable[id] ?? 0))) {
    throw new RangeError(`used len ${len} exceeds the ${writable[id] ?? 0} writable bytes of chain ${id}`);
  }
}

/**
 * Appends one peer-written descriptor to `chain` after checking the chain length, the direction
 * order (no readable part after a writable one) and that the buffer lies in one mapped range.
 * `d` is the descriptor's offset (its address field is at `d`), `flagsAt` its flags field's.
 */
export function appendSegment(
  chain: DescriptorChain,
  space: AddressSpaceLike,
  maxChain: number,
  addr: number,
  len: number,
  writable: boolean,
  d: number,
  flagsAt: number,
  fail: Fail,
): void {
  if (chain.count >= maxChain) throw fail("ERR_LIMIT", `chain longer than ${maxChain} descriptors`, d);
  if (!writable && chain.count > chain.readable)
    throw fail("ERR_BAD_CHAIN", "device-readable descriptor after a device-writable one", flagsAt);
  const r = addr < 0 ? undefined : space.find(addr, len);
  if (r === undefined)
    throw fail(
      "ERR_BAD_ADDRESS",
      `buffer 0x${addr < 0 ? "(>2^53)" : addr.toString(16)} +${len} is not inside one mapped range`,
      d,
    );
  chain.push(addr, len, writable, r.memory, r.offset + (addr - r.da));
}

/**
 * Resolves the indirect table a descriptor at `d` points to: its length must be a non-zero
 * multiple of 16, at most `maxIndirect` entries, and inside one mapped range.
 */
export function indirectTable(
  space: AddressSpaceLike,
  addr: number,
  len: number,
  maxIndirect: number,
  d: number,
  lenAt: number,
  fail: Fail,
): { memory: Memory; base: number; n: number } {
  if (len === 0 || len % 16 !== 0)
    throw fail("ERR_BAD_CHAIN", `indirect table length ${len} is not a non-zero multiple of 16`, lenAt);
  const n = len / 16;
  if (n > maxIndirect) throw fail("ERR_LIMIT", `indirect table of ${n} descriptors exceeds ${maxIndirect}`, lenAt);
  const r = addr < 0 ? undefined : space.find(addr, len);
  if (r === undefined)
    throw fail(
      "ERR_BAD_ADDRESS",
      `indirect table at 0x${addr < 0 ? "(>2^53)" : addr.toString(16)} +${len} is not mapped`,
      d,
    );
  return { memory: r.memory, base: r.offset + (addr - r.da), n };
}
