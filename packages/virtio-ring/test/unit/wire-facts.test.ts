// Focused tests for the facts of docs/wire-formats.md,
// "Where Linux, OpenAMP and rpmsg-lite differ, and what @amp does" and behaviour-and-features.md §6
// inputs that concern the rings, one per fact, written against the raw ring bytes.
import { describe, expect, it } from "vitest";
import {
  AddressSpace,
  ArrayBufferMemory,
  InMemoryTransport,
  SplitVirtqueueDevice,
  SplitVirtqueueDriver,
  VIRTIO_RING_F_EVENT_IDX,
  VRING_AVAIL_F_NO_INTERRUPT,
  VRING_USED_F_NO_NOTIFY,
  deviceWaitDriverOk,
  featureBit,
  isAmpError,
  legacyQueueAddresses,
  splitRingLayout,
} from "@amp/virtio-ring";
import type { Memory, Scheduler } from "@amp/virtio-ring";

const N = 8;
const BUF = 0x10000;
const L = splitRingLayout(N, 16);
const EVENT_IDX = featureBit(VIRTIO_RING_F_EVENT_IDX);
const scheduler: Scheduler = {
  setTimeout: (f, ms) => setTimeout(f, ms),
  clearTimeout: (h) => {
    clearTimeout(h as ReturnType<typeof setTimeout>);
  },
};

function env(features = 0n) {
  const ring = new ArrayBufferMemory(new ArrayBuffer(4096));
  const bufs = new ArrayBufferMemory(new ArrayBuffer(4096));
  const space = new AddressSpace().map(0, ring).map(BUF, bufs);
  const opts = { size: N, space, ...legacyQueueAddresses(0, N, 16), features };
  return { ring, space, opts };
}

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    if (isAmpError(e)) return e.code;
    throw e;
  }
  return undefined;
}

describe("the remote must not reinitialise rings the host already filled", () => {
  it("building the device queue over posted buffers writes nothing and finds them", () => {
    const { ring, opts } = env();
    const drv = new SplitVirtqueueDriver<number>(opts);
    drv.addBuffer(BUF, 64, true, 1);
    drv.addBuffer(BUF + 64, 64, true, 2);
    const before = ring.read(0, L.size);
    const dev = new SplitVirtqueueDevice(opts);
    expect(ring.read(0, L.size)).toEqual(before);
    expect(dev.getAvail()?.writableBytes).toBe(64);
    expect(dev.getAvail()?.id).toBe(1);
  });
});

describe("with EVENT_IDX the flags words are ignored; each side reads the other's event index", () => {
  it("the driver kicks by avail_event (after used.ring[num]) even when used.flags says NO_NOTIFY", () => {
    const { ring, opts } = env(EVENT_IDX);
    const drv = new SplitVirtqueueDriver<number>(opts);
    ring.setU16(L.used, VRING_USED_F_NO_NOTIFY);
    ring.setU16(L.availEvent, 0); // "notify me when avail.idx passes 0"
    drv.addBuffer(BUF, 8, true, 0);
    expect(drv.kickPrepare()).toBe(true);
    ring.setU16(L.availEvent, 5); // far ahead: no kick for entry 1
    drv.addBuffer(BUF, 8, true, 1);
    expect(drv.kickPrepare()).toBe(false);
  });

  it("without EVENT_IDX the driver honours used.flags and ignores avail_event", () => {
    const { ring, opts } = env();
    const drv = new SplitVirtqueueDriver<number>(opts);
    ring.setU16(L.used, VRING_USED_F_NO_NOTIFY);
    ring.setU16(L.availEvent, 0);
    drv.addBuffer(BUF, 8, true, 0);
    expect(drv.kickPrepare()).toBe(false);
  });

  it("the device interrupts by used_event (after avail.ring[num]) even when avail.flags says NO_INTERRUPT", () => {
    const { ring, opts } = env(EVENT_IDX);
    const drv = new SplitVirtqueueDriver<number>(opts);
    const dev = new SplitVirtqueueDevice(opts);
    drv.addBuffer(BUF, 8, true, 0);
    drv.addBuffer(BUF, 8, true, 1);
    ring.setU16(L.avail, VRING_AVAIL_F_NO_INTERRUPT);
    ring.setU16(L.usedEvent, 0);
    dev.pushUsed(dev.getAvail()?.id ?? -1, 0);
    expect(dev.interruptPrepare()).toBe(true);
    ring.setU16(L.usedEvent, 0); // already passed: the next used entry is not asked for
    dev.pushUsed(dev.getAvail()?.id ?? -1, 0);
    expect(dev.interruptPrepare()).toBe(false);
  });

  it("with EVENT_IDX the driver keeps avail.flags at 0 when it suppresses interrupts", () => {
    const { ring, opts } = env(EVENT_IDX);
    const drv = new SplitVirtqueueDriver<number>(opts);
    drv.disableInterrupts();
    expect(ring.getU16(L.avail)).toBe(0);
    const plain = env();
    new SplitVirtqueueDriver<number>(plain.opts).disableInterrupts();
    expect(plain.ring.getU16(L.avail)).toBe(VRING_AVAIL_F_NO_INTERRUPT);
  });
});

describe("behaviour §6 row 4: used ids at and past the queue size", () => {
  it.each([N, 0xffff, 0xffff_ffff])("used id %d is ERR_BAD_USED", (id) => {
    const { ring, opts } = env();
    const drv = new SplitVirtqueueDriver<number>(opts);
    drv.addBuffer(BUF, 16, true, 0);
    ring.setU32(L.used + 4, id);
    ring.setU32(L.used + 8, 0);
    ring.setU16(L.used + 2, 1);
    expect(codeOf(() => drv.getUsed())).toBe("ERR_BAD_USED");
  });
});

describe("behaviour §6 row 9: config access that would wrap", () => {
  it("offset 0xFFFFFFF0, len 0x20 is refused, reading and writing", () => {
    const t = new InMemoryTransport({ deviceId: 7, deviceFeatures: 0n, config: new Uint8Array(8), queues: [] });
    expect(() => t.readConfig(0xffff_fff0, 0x20)).toThrow(RangeError);
    expect(() => t.writeConfig(0xffff_fff0, new Uint8Array(0x20))).toThrow(RangeError);
  });
});

describe("hostile input never hangs or escapes as a non-AmpError", () => {
  it("deviceWaitDriverOk refuses an interval or deadline that could never expire", async () => {
    const t = new InMemoryTransport({ deviceId: 7, deviceFeatures: 0n, queues: [] });
    await expect(deviceWaitDriverOk(t, { scheduler, timeoutMs: 5, intervalMs: 0 })).rejects.toThrow(RangeError);
    await expect(deviceWaitDriverOk(t, { scheduler, timeoutMs: 5, intervalMs: -1 })).rejects.toThrow(RangeError);
    await expect(deviceWaitDriverOk(t, { scheduler, timeoutMs: Number.NaN })).rejects.toThrow(RangeError);
    await expect(deviceWaitDriverOk(t, { scheduler, timeoutMs: 2, intervalMs: 1 })).rejects.toMatchObject({
      code: "ERR_TIMEOUT",
    });
  });

  it("readAll of a chain whose descriptors all claim a huge buffer is ERR_LIMIT, not a RangeError", () => {
    // A 4 GiB window that is never touched: the device only maps and checks descriptors.
    const huge: Memory = { byteLength: 0xffff_ffff } as Memory;
    const { ring, space, opts } = env();
    space.map(0x1_0000_0000, huge);
    for (let i = 0; i < N; i++) {
      ring.setU64(16 * i, 0x1_0000_0000n);
      ring.setU32(16 * i + 8, 0xffff_ffff);
      ring.setU16(16 * i + 12, i + 1 < N ? 1 : 0);
      ring.setU16(16 * i + 14, i + 1);
    }
    ring.setU16(L.avail + 4, 0);
    ring.setU16(L.avail + 2, 1);
    const chain = new SplitVirtqueueDevice(opts).getAvail();
    expect(chain?.readableBytes).toBe(N * 0xffff_ffff);
    let caught: unknown;
    try {
      chain?.readAll();
    } catch (e) {
      caught = e;
    }
    expect(isAmpError(caught) && caught.code).toBe("ERR_LIMIT");
  });
});
