import { describe, expect, it } from "vitest";
import {
  InMemoryTransport,
  LocalDoorbell,
  VIRTIO_CONFIG_S_FEATURES_OK,
  VIRTIO_CONFIG_S_NEEDS_RESET,
  VIRTIO_F_RING_PACKED,
  VIRTIO_F_VERSION_1,
  VIRTIO_RING_F_EVENT_IDX,
  deviceAcceptedFeatures,
  deviceNeedsReset,
  deviceWaitDriverOk,
  describeStatus,
  driverNegotiate,
  driverReady,
  featureBit,
  hasFeature,
  isDriverOk,
} from "@amp/virtio-ring";
import type { Scheduler } from "@amp/virtio-ring";

const scheduler: Scheduler = {
  setTimeout: (f, ms) => setTimeout(f, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};
const NS = 1n; // VIRTIO_RPMSG_F_NS

describe("handshake", () => {
  it("legacy (Linux remoteproc): 32-bit features, no FEATURES_OK, final status 0x07", () => {
    const statuses: number[] = [];
    const t = new InMemoryTransport({
      deviceId: 7,
      deviceFeatures: NS | featureBit(VIRTIO_RING_F_EVENT_IDX) | featureBit(VIRTIO_F_RING_PACKED),
      legacy: true,
      queues: [256, 256],
      onStatus: (s) => statuses.push(s),
    });
    const f = driverNegotiate(t, { features: NS | featureBit(VIRTIO_F_RING_PACKED) });
    expect(f).toBe(NS);
    driverReady(t);
    expect(t.getStatus()).toBe(0x07);
    expect(statuses).toEqual([0, 1, 3, 7]);
    expect(describeStatus(t.getStatus())).toBe("ACKNOWLEDGE|DRIVER|DRIVER_OK");
    expect(deviceAcceptedFeatures(t)).toBe(NS);
    expect(isDriverOk(t.getStatus())).toBe(true);
    expect(() => t.setDriverFeatures(featureBit(32))).toThrow(RangeError);
  });

  it("modern: VERSION_1 and FEATURES_OK, final status 0x0f", () => {
    const t = new InMemoryTransport({
      deviceId: 34,
      deviceFeatures: featureBit(VIRTIO_F_VERSION_1) | featureBit(VIRTIO_F_RING_PACKED) | 1n,
      queues: [64],
    });
    const f = driverNegotiate(t, { features: featureBit(VIRTIO_F_RING_PACKED) });
    expect(hasFeature(f, VIRTIO_F_VERSION_1)).toBe(true);
    expect(hasFeature(f, VIRTIO_F_RING_PACKED)).toBe(true);
    expect(hasFeature(f, 0)).toBe(false);
    driverReady(t);
    expect(t.getStatus()).toBe(0x0f);
  });

  it("a device that refuses FEATURES_OK fails the driver with ERR_FEATURES", () => {
    const t = new InMemoryTransport({
      deviceId: 1,
      deviceFeatures: featureBit(VIRTIO_F_VERSION_1),
      queues: [8],
      onStatus: (s, tr) => {
        if (s & VIRTIO_CONFIG_S_FEATURES_OK) tr.setStatus(s & ~VIRTIO_CONFIG_S_FEATURES_OK);
      },
    });
    expect(() => driverNegotiate(t, { features: 0n })).toThrow(expect.objectContaining({ code: "ERR_FEATURES" }));
    expect(describeStatus(t.getStatus())).toContain("FAILED");
  });

  it("device side checks what the driver accepted and can ask for a reset", async () => {
    const t = new InMemoryTransport({ deviceId: 7, deviceFeatures: NS, legacy: true, queues: [4] });
    t.setDriverFeatures(3n);
    expect(() => deviceAcceptedFeatures(t)).toThrow(expect.objectContaining({ code: "ERR_FEATURES" }));
    t.setDriverFeatures(NS);
    const waiting = deviceWaitDriverOk(t, { scheduler });
    t.setStatus(7);
    expect(await waiting).toBe(NS);
    deviceNeedsReset(t);
    expect(t.getStatus() & VIRTIO_CONFIG_S_NEEDS_RESET).not.toBe(0);
    expect(isDriverOk(t.getStatus())).toBe(false);
    expect(() => driverReady(t)).toThrow(expect.objectContaining({ code: "ERR_STATUS" }));
    await expect(
      deviceWaitDriverOk(new InMemoryTransport({ deviceId: 7, deviceFeatures: 0n, queues: [] }), {
        scheduler,
        timeoutMs: 3,
      }),
    ).rejects.toMatchObject({ code: "ERR_TIMEOUT" });
  });

  it("device side: a modern transport owns VIRTIO_F_VERSION_1, so a driver that accepts it is right", () => {
    // The device type offers only its own bits (rpmsg: NS); Linux over vhost-user accepts NS and VERSION_1.
    const modern = new InMemoryTransport({ deviceId: 7, deviceFeatures: NS, queues: [4] });
    modern.setDriverFeatures(NS | featureBit(VIRTIO_F_VERSION_1));
    expect(deviceAcceptedFeatures(modern)).toBe(NS | featureBit(VIRTIO_F_VERSION_1));
    modern.setDriverFeatures(NS | featureBit(VIRTIO_RING_F_EVENT_IDX));
    expect(() => deviceAcceptedFeatures(modern)).toThrow(
      expect.objectContaining({ code: "ERR_FEATURES", message: expect.stringContaining("0x20000000") }),
    );
    // A legacy transport has no bit 32 at all.
    const legacy = new InMemoryTransport({ deviceId: 7, deviceFeatures: NS, legacy: true, queues: [4] });
    legacy.setDriverFeatures(NS);
    expect(deviceAcceptedFeatures(legacy)).toBe(NS);
  });

  it("in-memory transport: config space, queues, notify, reset", () => {
    const bell = new LocalDoorbell();
    const t = new InMemoryTransport({
      deviceId: 3,
      deviceFeatures: 0n,
      config: new Uint8Array([1, 2, 3, 4]),
      queues: [16, 8],
      doorbell: bell,
    });
    expect([...t.readConfig(1, 2)]).toEqual([2, 3]);
    t.writeConfig(2, new Uint8Array([9, 9]));
    expect([...t.readConfig(0, 4)]).toEqual([1, 2, 9, 9]);
    expect(() => t.readConfig(3, 2)).toThrow(RangeError);
    expect(() => t.writeConfig(0xfffffff0, new Uint8Array(0x20))).toThrow(RangeError);
    t.setQueue(1, { size: 4, descAddr: 0x1000, ready: true });
    expect(t.getQueue(1)).toMatchObject({ size: 4, maxSize: 8, descAddr: 0x1000, ready: true, notifyId: 1 });
    expect(() => t.setQueue(1, { size: 16 })).toThrow(RangeError);
    expect(() => t.getQueue(2)).toThrow(RangeError);
    t.notify(1);
    const got: number[] = [];
    bell.poll((q) => got.push(q));
    expect(got).toEqual([1]);
    t.setStatus(0);
    expect(t.getQueue(1).ready).toBe(false);
  });
});
