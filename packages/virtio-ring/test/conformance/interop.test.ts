// Interop on the same bytes: a C peer built only on <linux/virtio_ring.h> (vring-peer.c) plays
// the device on a memory image our driver wrote, and the driver for our device; the image goes
// through a file. Each side checks the other's result: the device rule is "write fnv1a32 of the
// readable bytes, then those bytes reversed, as far as the writable part goes".
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { compileC, makeTempDir, requireTools, run } from "@amp/test-utils";
import {
  AddressSpace,
  ArrayBufferMemory,
  VIRTIO_RING_F_EVENT_IDX,
  VIRTIO_RING_F_INDIRECT_DESC,
  PackedVirtqueueDevice,
  PackedVirtqueueDriver,
  SplitVirtqueueDevice,
  SplitVirtqueueDriver,
  featureBit,
  legacyQueueAddresses,
  packedRingLayout,
  splitRingLayout,
} from "@amp/virtio-ring";
import type { BufferSegment, DescriptorChainLike, VirtqueueDevice, VirtqueueDriver } from "@amp/virtio-ring";

const IMG_SIZE = 1 << 20;
const IND_BASE = 0x40000;
const BUF_BASE = 0x80000;
const missing = requireTools("gcc");

function fnv1a(bytes: Uint8Array): number {
  let h = 2166136261;
  for (const b of bytes) h = Math.imul(h ^ b, 16777619) >>> 0;
  return h >>> 0;
}

/** The device rule, as the C peer implements it. */
function expectedOutput(readable: Uint8Array, writableBytes: number): Uint8Array {
  const w = new Uint8Array(4 + readable.length);
  new DataView(w.buffer).setUint32(0, fnv1a(readable), true);
  for (let i = 0; i < readable.length; i++) w[4 + i] = readable[readable.length - 1 - i]!;
  return w.subarray(0, Math.min(w.length, writableBytes));
}

function serve(chain: DescriptorChainLike): number {
  const out = expectedOutput(chain.readAll(), chain.writableBytes);
  return chain.scatter(out);
}

let seed = 7;
function rnd(n: number): number {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return (seed >>> 8) % n;
}

describe.skipIf(missing !== undefined)("interop with a C peer on <linux/virtio_ring.h>", () => {
  const exe = compileC(readFileSync(join(import.meta.dirname, "vring-peer.c"), "utf8"), { name: "vring-peer" });
  const dir = makeTempDir("amp-vring-interop-");

  const cases: { name: string; packed: boolean; num: number; align: number; features: bigint }[] = [];
  for (const packed of [false, true]) {
    for (const num of [4, 16, 256]) {
      for (const f of [0n, featureBit(VIRTIO_RING_F_EVENT_IDX), featureBit(VIRTIO_RING_F_INDIRECT_DESC)]) {
        for (const align of packed ? [16] : [16, 4096])
          cases.push({
            name: `${packed ? "packed" : "split"} num=${num} align=${align} f=0x${f.toString(16)}`,
            packed,
            num,
            align,
            features: f,
          });
      }
    }
  }

  function setup(c: (typeof cases)[number]) {
    const buf = new ArrayBuffer(IMG_SIZE);
    const mem = new ArrayBufferMemory(buf);
    const space = new AddressSpace().map(0, mem);
    const addrs = c.packed
      ? { descAddr: 0, driverAddr: packedRingLayout(c.num).driver, deviceAddr: packedRingLayout(c.num).device }
      : legacyQueueAddresses(0, c.num, c.align);
    const file = join(dir, `${c.name.replace(/[^a-z0-9]/gi, "_")}.img`);
    const sync = (): void => {
      writeFileSync(file, new Uint8Array(buf));
    };
    const load = (): void => {
      new Uint8Array(buf).set(readFileSync(file));
    };
    return { mem, space, addrs, file, sync, load };
  }

  it.each(cases)("our driver, C device: $name", (c) => {
    const { mem, space, addrs, file, sync, load } = setup(c);
    const opts = { size: c.num, space, ...addrs, features: c.features, indirectAddr: IND_BASE, indirectMax: 4 };
    const drv: VirtqueueDriver<{ readable: Uint8Array; writable: BufferSegment[]; writableBytes: number }> = c.packed
      ? new PackedVirtqueueDriver(opts)
      : new SplitVirtqueueDriver(opts);
    let total = 0;
    for (let round = 0; round < 3; round++) {
      let next = BUF_BASE;
      let posted = 0;
      for (;;) {
        const nr = rnd(3);
        const nw = nr === 0 ? 1 + rnd(2) : rnd(3);
        const readable: BufferSegment[] = [];
        const writable: BufferSegment[] = [];
        const bytes: number[] = [];
        for (let k = 0; k < nr; k++) {
          const len = 1 + rnd(64);
          for (let j = 0; j < len; j++) {
            const b = rnd(256);
            bytes.push(b);
            mem.setU8(next + j, b);
          }
          readable.push({ addr: next, len });
          next += len;
        }
        let wb = 0;
        for (let k = 0; k < nw; k++) {
          const len = 1 + rnd(64);
          mem.fill(next, len, 0);
          writable.push({ addr: next, len });
          wb += len;
          next += len;
        }
        if (drv.addChain(readable, writable, { readable: Uint8Array.from(bytes), writable, writableBytes: wb }) < 0)
          break;
        posted++;
      }
      expect(posted).toBeGreaterThan(0);
      sync();
      expect(
        run(
          exe,
          c.packed ? ["packed-device", file, String(c.num)] : ["split-device", file, String(c.num), String(c.align)],
        ).trim(),
      ).toBe(`served ${posted}`);
      load();
      let got = 0;
      for (;;) {
        const u = drv.getUsed();
        if (u === null) break;
        got++;
        const want = expectedOutput(u.token.readable, u.token.writableBytes);
        expect(u.len).toBe(want.length);
        const seen: number[] = [];
        for (const s of u.token.writable)
          for (let j = 0; j < s.len && seen.length < u.len; j++) seen.push(mem.getU8(s.addr + j));
        expect(seen).toEqual([...want]);
      }
      expect(got).toBe(posted);
      total += posted;
      if (c.features === featureBit(VIRTIO_RING_F_EVENT_IDX) && !c.packed) {
        // The C device wrote avail_event = its last avail index: no kick needed for what it saw.
        expect(mem.getU16(splitRingLayout(c.num, c.align).availEvent)).toBe(total & 0xffff);
        // ... and our driver agrees: nothing it published since was unseen.
        expect(drv.kickPrepare()).toBe(false);
      }
    }
  });

  it.each(cases)("C driver, our device: $name", (c) => {
    const { space, addrs, file, sync, load } = setup(c);
    const ind = (c.features & featureBit(VIRTIO_RING_F_INDIRECT_DESC)) !== 0n ? "1" : "0";
    const s = String(1000 + c.num);
    sync();
    const posted = Number(
      /posted (\d+)/.exec(
        run(
          exe,
          c.packed
            ? ["packed-post", file, String(c.num), s, ind]
            : ["split-post", file, String(c.num), String(c.align), s, ind],
        ),
      )![1],
    );
    load();
    const dev: VirtqueueDevice = c.packed
      ? new PackedVirtqueueDevice({ size: c.num, space, ...addrs, features: c.features })
      : new SplitVirtqueueDevice({ size: c.num, space, ...addrs, features: c.features });
    let served = 0;
    for (;;) {
      const chain = dev.getAvail();
      if (chain === null) break;
      dev.pushUsed(chain.id, serve(chain));
      served++;
    }
    expect(served).toBe(posted);
    sync();
    expect(
      run(
        exe,
        c.packed
          ? ["packed-check", file, String(c.num), s, ind]
          : ["split-check", file, String(c.num), String(c.align), s, ind],
      ).trim(),
    ).toBe(`checked ${posted}`);
  });
});
