// @amp/virtio-ring/device: the lean split device against the full SplitVirtqueueDevice. On any
// bytes a hostile driver writes, both must agree: the same chain (head, first buffer, number of
// descriptors) or an AmpError with the same code, never anything else.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fcParams } from "@amp/test-utils";
import {
  AddressSpace,
  ArrayBufferMemory,
  DescriptorChain,
  SplitVirtqueueDevice,
  SplitVirtqueueDriver,
  isAmpError,
  legacyQueueAddresses,
  vringSize,
} from "@amp/virtio-ring";
import { LeanSplitDevice, type LeanChain } from "@amp/virtio-ring/device";

const SIZE = 8;
const RING_DA = 0x1000;
const BUF_DA = 0x10000;

function setup(): {
  ring: ArrayBufferMemory;
  space: AddressSpace;
  cfg: { size: number; notifyId: number; descAddr: number; driverAddr: number; deviceAddr: number };
} {
  const ring = new ArrayBufferMemory(new ArrayBuffer(vringSize(SIZE, 16)));
  const space = new AddressSpace().map(RING_DA, ring).map(BUF_DA, new ArrayBufferMemory(new ArrayBuffer(0x1000)));
  return { ring, space, cfg: { size: SIZE, notifyId: 3, ...legacyQueueAddresses(RING_DA, SIZE, 16) } };
}

/** Per descriptor: null (random bytes stay) or fields that are often valid. */
const descriptors = fc.array(
  fc.option(
    fc.record({
      addr: fc.oneof(fc.integer({ min: BUF_DA, max: BUF_DA + 0x1000 }), fc.nat()),
      len: fc.oneof(fc.nat(0x1001), fc.nat()),
      flags: fc.nat(7),
      next: fc.nat(SIZE),
      head: fc.nat(SIZE),
    }),
  ),
  { minLength: SIZE, maxLength: SIZE },
);

const chain = (): LeanChain => ({
  id: 0,
  count: 0,
  da: 0,
  len: 0,
  writable: false,
  memory: new ArrayBufferMemory(new ArrayBuffer(0)),
  offset: 0,
});

function outcome(f: () => unknown): unknown {
  try {
    return f();
  } catch (e) {
    return isAmpError(e) ? `AmpError ${e.code}` : `other: ${String(e)}`;
  }
}

describe("LeanSplitDevice", () => {
  it("takes what a driver posts, returns it with the given used.len, interrupts unless NO_INTERRUPT", () => {
    const { space, cfg } = setup();
    const drv = new SplitVirtqueueDriver<number>({ size: SIZE, space, ...legacyQueueAddresses(RING_DA, SIZE, 16) });
    const rings: number[] = [];
    const dev = new LeanSplitDevice(cfg, space, {
      notify: (q) => {
        rings.push(q);
      },
    });
    const c = chain();
    expect(dev.next(c)).toBeNull();
    drv.addBuffer(BUF_DA + 512, 512, true, 7);
    drv.addChain([{ addr: BUF_DA, len: 16 }], [{ addr: BUF_DA + 16, len: 16 }], 8);
    expect(dev.next(c)).toMatchObject({ id: 0, count: 1, da: BUF_DA + 512, len: 512, writable: true, offset: 512 });
    dev.push(0, 100);
    expect(dev.next(c)).toMatchObject({ id: 1, count: 2, da: BUF_DA, len: 16, writable: false });
    dev.push(1, 0);
    expect(dev.usedIdxIntact()).toBe(true);
    dev.interrupt();
    dev.interrupt(); // nothing new: no second ring
    expect(rings).toEqual([3]);
    expect(drv.getUsed()).toMatchObject({ token: 7, declaredLen: 100 });
    expect(drv.getUsed()).toMatchObject({ token: 8, declaredLen: 0 });
    drv.disableInterrupts();
    drv.addBuffer(BUF_DA, 16, true, 9);
    dev.next(c);
    dev.push(2, 0);
    dev.interrupt();
    expect(rings).toEqual([3]);
    drv.reset(); // a driver re-initialising the rings
    expect(dev.usedIdxIntact()).toBe(false);
  });

  it("a head offered again while in flight is ERR_BAD_CHAIN; unmapped ring areas are ERR_BAD_ADDRESS", () => {
    const { ring, space, cfg } = setup();
    const drv = new SplitVirtqueueDriver<number>({ size: SIZE, space, ...legacyQueueAddresses(RING_DA, SIZE, 16) });
    const dev = new LeanSplitDevice(cfg, space);
    drv.addBuffer(BUF_DA, 16, true, 0);
    dev.next(chain());
    ring.setU16(cfg.driverAddr - RING_DA + 4 + 2, 0); // avail.ring[1] = head 0 again
    ring.setU16(cfg.driverAddr - RING_DA + 2, 2);
    expect(outcome(() => dev.next(chain()))).toBe("AmpError ERR_BAD_CHAIN");
    expect(outcome(() => new LeanSplitDevice({ ...cfg, descAddr: 0x9000_0000 }, space))).toBe(
      "AmpError ERR_BAD_ADDRESS",
    );
    expect(() => new LeanSplitDevice({ ...cfg, size: 6 }, space)).toThrow(RangeError);
  });

  it("on arbitrary ring bytes it agrees with SplitVirtqueueDevice (maxChain 4, no INDIRECT)", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: vringSize(SIZE, 16), maxLength: vringSize(SIZE, 16) }),
        fc.nat(SIZE + 1),
        descriptors,
        fc.array(fc.nat(SIZE), { maxLength: 3 }),
        (bytes, availIdx, descs, pushes) => {
          const a = setup();
          const b = setup();
          for (const r of [a.ring, b.ring]) {
            r.write(0, bytes);
            // Mostly plausible descriptors and a small avail.idx, so that walks get deep.
            descs.forEach((d, i) => {
              if (d === null) return;
              r.setU32(16 * i, d.addr);
              r.setU32(16 * i + 4, 0);
              r.setU32(16 * i + 8, d.len);
              r.setU16(16 * i + 12, d.flags);
              r.setU16(16 * i + 14, d.next);
            });
            r.setU16(a.cfg.driverAddr - RING_DA + 2, availIdx);
            for (let k = 0; k < SIZE; k++)
              r.setU16(
                a.cfg.driverAddr - RING_DA + 4 + 2 * k,
                descs[k]?.head ?? r.getU16(a.cfg.driverAddr - RING_DA + 4 + 2 * k),
              );
          }
          const full = new SplitVirtqueueDevice({
            size: SIZE,
            space: a.space,
            ...legacyQueueAddresses(RING_DA, SIZE, 16),
            maxChain: 4,
          });
          const lean = new LeanSplitDevice(b.cfg, b.space);
          const fc1 = new DescriptorChain(4);
          const lc = chain();
          for (let round = 0; round <= pushes.length; round++) {
            const x = outcome(() => {
              const c = full.getAvail(fc1);
              return c === null
                ? null
                : { id: c.id, count: c.count, da: c.addr(0), len: c.len(0), writable: c.isWritable(0) };
            });
            const y = outcome(() => {
              const c = lean.next(lc);
              return c === null ? null : { id: c.id, count: c.count, da: c.da, len: c.len, writable: c.writable };
            });
            expect(y).toEqual(x);
            if (x === null || typeof x === "string") return;
            const id = (x as { id: number }).id;
            full.pushUsed(id, 0);
            lean.push(id, 0);
            expect(toHexRing(b.ring)).toBe(toHexRing(a.ring));
          }
        },
      ),
      fcParams(300),
    );
  });
});

function toHexRing(m: ArrayBufferMemory): string {
  return Buffer.from(m.read(0, m.byteLength)).toString("hex");
}
