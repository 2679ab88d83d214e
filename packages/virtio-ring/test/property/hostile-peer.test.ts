// Both roles against a peer that writes random bytes into the shared ring memory: every call
// either returns something that is valid (inside mapped memory, an outstanding buffer, a length
// within what was offered) or throws an AmpError; never another exception, never a hang.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fcParams } from "@amp/test-utils";
import {
  AddressSpace,
  ArrayBufferMemory,
  DescriptorChain,
  type DescriptorChainLike,
  VIRTIO_F_RING_PACKED,
  VIRTIO_RING_F_EVENT_IDX,
  VIRTIO_RING_F_INDIRECT_DESC,
  createDeviceQueue,
  createDriverQueue,
  featureBit,
  isAmpError,
  legacyQueueAddresses,
  packedRingLayout,
  vringSize,
} from "@amp/virtio-ring";

const SIZE = 8;
const RING_DA = 0x1000;
const BUF_DA = 0x10000;
const BUF_LEN = 0x1000;
const IND_DA = 0x20000;

function build(packed: boolean, extra: bigint) {
  const features = (packed ? featureBit(VIRTIO_F_RING_PACKED) : 0n) | extra;
  const ring = new ArrayBufferMemory(new ArrayBuffer(vringSize(SIZE, 16) + 64));
  const bufs = new ArrayBufferMemory(new ArrayBuffer(BUF_LEN));
  const ind = new ArrayBufferMemory(new ArrayBuffer(SIZE * 4 * 16));
  const space = new AddressSpace().map(RING_DA, ring).map(BUF_DA, bufs).map(IND_DA, ind);
  const addrs = packed
    ? {
        descAddr: RING_DA,
        driverAddr: RING_DA + packedRingLayout(SIZE).driver,
        deviceAddr: RING_DA + packedRingLayout(SIZE).device,
      }
    : legacyQueueAddresses(RING_DA, SIZE, 16);
  const opts = { size: SIZE, space, ...addrs, features, indirectAddr: IND_DA, indirectMax: 4 };
  return { ring, ind, space, opts, ringBytes: packed ? packedRingLayout(SIZE).byteLength : vringSize(SIZE, 16) };
}

const patches = fc.array(fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }), { maxLength: 64 });
const variants: [string, boolean, bigint][] = [
  ["split", false, 0n],
  ["split+event_idx+indirect", false, featureBit(VIRTIO_RING_F_EVENT_IDX) | featureBit(VIRTIO_RING_F_INDIRECT_DESC)],
  ["packed", true, 0n],
  ["packed+event_idx+indirect", true, featureBit(VIRTIO_RING_F_EVENT_IDX) | featureBit(VIRTIO_RING_F_INDIRECT_DESC)],
];

function expectAmp(f: () => void): boolean {
  try {
    f();
    return true;
  } catch (e) {
    if (!isAmpError(e)) throw e;
    return false;
  }
}

describe.each(variants)("%s", (_name, packed, extra) => {
  it("device side: random ring bytes yield valid chains or AmpError", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 0, maxLength: 400 }),
        patches,
        fc.integer({ min: 0, max: 6 }),
        (random, patch, legit) => {
          const { ring, ind, space, opts, ringBytes } = build(packed, extra);
          // A legitimate driver first (so that some state is plausible), then the scribbles.
          const drv = createDriverQueue<number>(opts);
          for (let i = 0; i < legit; i++)
            drv.addChain([{ addr: BUF_DA + i * 64, len: 16 }], i % 2 ? [{ addr: BUF_DA + 0x800, len: 32 }] : [], i);
          ring.write(0, random.subarray(0, Math.min(random.length, ringBytes)));
          for (const p of patch) {
            if (p.at % 5 === 0) ind.setU8(p.at % ind.byteLength, p.value);
            else ring.setU8(p.at % ringBytes, p.value);
          }
          const dev = createDeviceQueue(opts);
          const chain = new DescriptorChain(SIZE);
          for (let step = 0; step < 3 * SIZE; step++) {
            const box: { c: DescriptorChainLike | null } = { c: null };
            if (!expectAmp(() => (box.c = dev.getAvail(chain)))) {
              expect(dev.error).toBeDefined();
              break;
            }
            if (box.c === null) break;
            const got = box.c;
            expect(got.count).toBeLessThanOrEqual(SIZE);
            for (let i = 0; i < got.count; i++) {
              expect(space.find(got.addr(i), got.len(i))).toBeDefined();
              if (i < got.readable) expect(got.isWritable(i)).toBe(false);
              got.view(i); // in bounds by construction: would throw RangeError otherwise
            }
            dev.pushUsed(got.id, Math.min(got.writableBytes, 1));
            expectAmp(() => dev.interruptPrepare());
          }
        },
      ),
      fcParams(300),
    );
  });

  it("driver side: random used bytes yield outstanding buffers or AmpError", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 0, maxLength: 400 }),
        patches,
        fc.integer({ min: 1, max: SIZE }),
        (random, patch, n) => {
          const { ring, opts, ringBytes } = build(packed, extra);
          const drv = createDriverQueue<number>(opts);
          const offered = new Map<number, number>();
          for (let i = 0; i < n; i++) {
            const w = (i % 3) * 8;
            if (
              drv.addChain(
                [{ addr: BUF_DA + i * 64, len: 8 }],
                w ? [{ addr: BUF_DA + 0x800 + i * 64, len: w }] : [],
                i,
              ) >= 0
            )
              offered.set(i, w);
          }
          // A device that answers some properly, then scribbles.
          const dev = createDeviceQueue(opts);
          for (let i = 0; i < n / 2; i++) {
            const c = dev.getAvail();
            if (c === null) break;
            dev.pushUsed(c.id, c.writableBytes);
          }
          const start = packed ? 0 : legacyQueueAddresses(0, SIZE, 16).deviceAddr;
          const region = packed ? ringBytes : ringBytes - start;
          for (let i = 0; i < random.length && i < region; i++) if (random[i]! & 1) ring.setU8(start + i, random[i]!);
          for (const p of patch) ring.setU8(start + (p.at % region), p.value);
          const returned = new Set<number>();
          for (let step = 0; step < 3 * SIZE; step++) {
            const box: { u: ReturnType<typeof drv.getUsed> } = { u: null };
            if (!expectAmp(() => (box.u = drv.getUsed()))) {
              expect(drv.error).toBeDefined();
              expect(() => drv.getUsed()).toThrow(expect.objectContaining({ code: "ERR_NEEDS_RESET" }));
              break;
            }
            if (box.u === null) break;
            const got = box.u;
            expect(offered.has(got.token)).toBe(true);
            expect(returned.has(got.token)).toBe(false);
            expect(got.len).toBeLessThanOrEqual(offered.get(got.token)!);
            returned.add(got.token);
          }
          expectAmp(() => drv.kickPrepare());
          expect(drv.outstanding + returned.size).toBe(offered.size);
          // After a reset the queue works again.
          drv.reset();
          expect(drv.numFree).toBe(SIZE);
        },
      ),
      fcParams(300),
    );
  });
});
