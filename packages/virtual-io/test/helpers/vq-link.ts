// A fixed shared-memory layout for carrying one virtio device over split virtqueues between a
// driver and a device (same thread or two workers). Both sides map the whole buffer at da 0.
//   0    le64 features, le32 numQueues, le32 configLength, config bytes (≤ 240)
//   256  doorbell: driver → device (kicks)
//   512  doorbell: device → driver (interrupts)
//   4096 rings, one 4 KiB slot per queue; then the driver's request buffer region
import {
  AddressSpace,
  AtomicsDoorbell,
  SharedMemory,
  SplitVirtqueueDevice,
  SplitVirtqueueDriver,
  legacyQueueAddresses,
} from "@amp/virtio-ring";
import type { Doorbell } from "@amp/virtio-ring";
import { VirtqueueChannel, VirtqueueDeviceRunner } from "@amp/virtual-io";
import type { DeviceServer } from "@amp/virtual-io";

export const QSIZE = 16;
const ALIGN = 16;
const RINGS = 4096;
const SLOT = 4096;
const MAX_QUEUES = 4;
const POOL = 32768;
export const LINK_BYTES = RINGS + MAX_QUEUES * SLOT + POOL;
export const KICK_BELL = 256;
export const IRQ_BELL = 512;

export function publishDevice(sab: SharedArrayBuffer, server: DeviceServer): void {
  const v = new DataView(sab);
  v.setBigUint64(0, server.features, true);
  v.setUint32(8, server.numQueues, true);
  const cfg = server.config;
  v.setUint32(12, cfg.length, true);
  new Uint8Array(sab, 16, cfg.length).set(cfg);
}

function space(sab: SharedArrayBuffer): AddressSpace {
  return new AddressSpace().map(0, new SharedMemory(sab));
}

function queueAddrs(i: number) {
  return legacyQueueAddresses(RINGS + i * SLOT, QSIZE, ALIGN);
}

export function driverSide(
  sab: SharedArrayBuffer,
  kick: Doorbell,
  options: {
    timeoutMs?: number;
    scheduler?: { setTimeout(f: () => void, ms: number): unknown; clearTimeout(h: unknown): void };
  } = {},
): VirtqueueChannel {
  const v = new DataView(sab);
  const numQueues = v.getUint32(8, true);
  const sp = space(sab);
  const queues = Array.from(
    { length: numQueues },
    (_, i) =>
      new SplitVirtqueueDriver<number>({ size: QSIZE, space: sp, ...queueAddrs(i), doorbell: kick, notifyId: i }),
  );
  return new VirtqueueChannel({
    queues,
    space: sp,
    bufferAddr: RINGS + MAX_QUEUES * SLOT,
    bufferSize: POOL,
    features: v.getBigUint64(0, true),
    config: new Uint8Array(sab, 16, v.getUint32(12, true)).slice(),
    ...options,
  });
}

export function deviceSide(
  sab: SharedArrayBuffer,
  server: DeviceServer,
  irq: Doorbell,
  onError?: (e: unknown) => void,
): VirtqueueDeviceRunner {
  const sp = space(sab);
  const queues = Array.from(
    { length: server.numQueues },
    (_, i) => new SplitVirtqueueDevice({ size: QSIZE, space: sp, ...queueAddrs(i), doorbell: irq, notifyId: i }),
  );
  return new VirtqueueDeviceRunner(server, { queues, ...(onError === undefined ? {} : { onError }) });
}

export function atomicsBells(sab: SharedArrayBuffer): { kick: AtomicsDoorbell; irq: AtomicsDoorbell } {
  return {
    kick: new AtomicsDoorbell(sab, KICK_BELL, { queues: 8 }),
    irq: new AtomicsDoorbell(sab, IRQ_BELL, { queues: 8 }),
  };
}

/** Both sides in one thread: kicks and interrupts run the other side on a microtask. */
export function inThreadLink(server: DeviceServer): VirtqueueChannel {
  const sab = new SharedArrayBuffer(LINK_BYTES);
  publishDevice(sab, server);
  const holder: { runner?: VirtqueueDeviceRunner; channel?: VirtqueueChannel } = {};
  const kick: Doorbell = { notify: () => queueMicrotask(() => holder.runner?.process()) };
  const irq: Doorbell = { notify: () => queueMicrotask(() => holder.channel?.process()) };
  holder.channel = driverSide(sab, kick);
  holder.runner = deviceSide(sab, server, irq);
  return holder.channel;
}
