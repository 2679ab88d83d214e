// Notification suppression never loses a wake-up: random interleavings of a driver and a device
// in one thread, where each side "sleeps" only after re-arming notifications and seeing nothing
// pending. Then the next publish by the other side must decide to notify (kick / interrupt).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fcParams } from "@amp/test-utils";
import {
  AddressSpace,
  ArrayBufferMemory,
  VIRTIO_F_RING_PACKED,
  VIRTIO_RING_F_EVENT_IDX,
  createDeviceQueue,
  createDriverQueue,
  featureBit,
  legacyQueueAddresses,
  packedRingLayout,
  vringSize,
} from "@amp/virtio-ring";
import type { DescriptorChainLike } from "@amp/virtio-ring";

const variants: [string, boolean, boolean][] = [
  ["split", false, false],
  ["split+event_idx", false, true],
  ["packed", true, false],
  ["packed+event_idx", true, true],
];

describe.each(variants)("%s", (_name, packed, eventIdx) => {
  it("no lost kick or interrupt in any interleaving", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3 }),
        fc.array(fc.integer({ min: 0, max: 9 }), { maxLength: 400 }),
        (sizeLog, ops) => {
          const size = packed ? 2 + sizeLog : 1 << sizeLog; // packed sizes need not be powers of two
          const ring = new ArrayBufferMemory(new ArrayBuffer(vringSize(8, 16)));
          const bufs = new ArrayBufferMemory(new ArrayBuffer(4096));
          const space = new AddressSpace().map(0, ring).map(0x10000, bufs);
          const features =
            (packed ? featureBit(VIRTIO_F_RING_PACKED) : 0n) | (eventIdx ? featureBit(VIRTIO_RING_F_EVENT_IDX) : 0n);
          const addrs = packed
            ? { descAddr: 0, driverAddr: packedRingLayout(size).driver, deviceAddr: packedRingLayout(size).device }
            : legacyQueueAddresses(0, size, 16);
          const drv = createDriverQueue<number>({ size, space, ...addrs, features });
          const dev = createDeviceQueue({ size, space, ...addrs, features });
          const held: DescriptorChainLike[] = [];
          let devAsleep = false;
          let drvAsleep = false;
          let addedWhileAsleep = 0;
          let usedWhileAsleep = 0;
          let seq = 0;
          let nextUsed = 0;
          for (const op of ops) {
            switch (op) {
              case 0:
              case 1:
                if (drvAsleep) break;
                if (drv.addBuffer(0x10000 + (seq % 64) * 16, 8, true, seq) >= 0) {
                  seq++;
                  if (devAsleep) addedWhileAsleep++;
                }
                break;
              case 2: {
                if (drvAsleep) break;
                const k = drv.kick();
                if (devAsleep && addedWhileAsleep > 0) expect(k).toBe(true);
                if (k) {
                  devAsleep = false;
                  addedWhileAsleep = 0;
                }
                break;
              }
              case 3:
                if (devAsleep) break;
                for (let c = dev.getAvail(); c !== null; c = dev.getAvail()) held.push(c);
                break;
              case 4: {
                if (devAsleep) break;
                const c = held.shift();
                if (c !== undefined) {
                  dev.pushUsed(c.id, 4);
                  if (drvAsleep) usedWhileAsleep++;
                }
                break;
              }
              case 5: {
                if (devAsleep) break;
                const i = dev.interrupt();
                if (drvAsleep && usedWhileAsleep > 0) expect(i).toBe(true);
                if (i) {
                  drvAsleep = false;
                  usedWhileAsleep = 0;
                }
                break;
              }
              case 6:
                if (!devAsleep) {
                  if (!dev.enableNotifications()) devAsleep = true;
                }
                break;
              case 7:
                if (!devAsleep) dev.disableNotifications();
                break;
              case 8:
                if (drvAsleep) break;
                for (let u = drv.getUsed(); u !== null; u = drv.getUsed()) expect(u.token).toBe(nextUsed++);
                if (!drv.enableInterrupts()) drvAsleep = true;
                break;
              case 9:
                if (!drvAsleep) drv.disableInterrupts();
                break;
            }
          }
          expect(drv.error).toBeUndefined();
          expect(dev.error).toBeUndefined();
        },
      ),
      fcParams(300),
    );
  });
});
