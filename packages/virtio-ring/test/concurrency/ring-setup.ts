// Shared layout of the SharedArrayBuffer used by the two-agent tests and the benchmark: both
// sides build their own queue objects over the same bytes.
import {
  AddressSpace,
  AtomicsDoorbell,
  SharedMemory,
  VIRTIO_F_RING_PACKED,
  VIRTIO_RING_F_EVENT_IDX,
  featureBit,
  legacyQueueAddresses,
  packedRingLayout,
} from "@amp/virtio-ring";

export const SAB_SIZE = 1 << 17;
export const KICK_AT = 0;
export const IRQ_AT = 64;
export const STOP_AT = 128;
export const RING_AT = 4096;
export const BUF_AT = 65536;
export const SLOT = 128;
export const QUEUE_SIZE = 256;

export interface Variant {
  packed: boolean;
  eventIdx: boolean;
}

export function features(v: Variant): bigint {
  return (v.packed ? featureBit(VIRTIO_F_RING_PACKED) : 0n) | (v.eventIdx ? featureBit(VIRTIO_RING_F_EVENT_IDX) : 0n);
}

export function open(sab: SharedArrayBuffer, v: Variant) {
  const mem = new SharedMemory(sab);
  const space = new AddressSpace().map(0, mem);
  const addrs = v.packed
    ? {
        descAddr: RING_AT,
        driverAddr: RING_AT + packedRingLayout(QUEUE_SIZE).driver,
        deviceAddr: RING_AT + packedRingLayout(QUEUE_SIZE).device,
      }
    : legacyQueueAddresses(RING_AT, QUEUE_SIZE, 4096);
  const kick = new AtomicsDoorbell(sab, KICK_AT, { queues: 1 });
  const irq = new AtomicsDoorbell(sab, IRQ_AT, { queues: 1 });
  const stop = new Int32Array(sab, STOP_AT, 1);
  return { mem, space, addrs, kick, irq, stop, features: features(v), size: QUEUE_SIZE };
}

/** Payload byte j of the buffer with sequence number `seq` (after its 4-byte header). */
export function patternByte(seq: number, j: number): number {
  return (Math.imul(seq, 31) + j * 7 + 3) & 0xff;
}
