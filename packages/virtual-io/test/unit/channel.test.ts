import { describe, expect, it } from "vitest";
import { toHex } from "@amp/test-utils";
import {
  GpioClient,
  I2cBusServer,
  I2cClient,
  VioFrameKind,
  createDirectChannel,
  decodeVioFrame,
  encodeVioFrame,
} from "@amp/virtual-io";
import type { DeviceServer } from "@amp/virtual-io";

function fakeScheduler() {
  const timers = new Map<number, () => void>();
  let next = 1;
  return {
    scheduler: {
      setTimeout: (fn: () => void) => (timers.set(next, fn), next++),
      clearTimeout: (h: unknown) => void timers.delete(h as number),
    },
    fire: () => {
      for (const [k, fn] of [...timers]) {
        timers.delete(k);
        fn();
      }
    },
    count: () => timers.size,
  };
}

const silent: DeviceServer = {
  deviceId: 34,
  numQueues: 1,
  features: 1n,
  config: new Uint8Array(0),
  handle: () => undefined,
};

describe("request channels", () => {
  it("times out through the injected scheduler with ERR_TIMEOUT", async () => {
    const s = fakeScheduler();
    const i2c = new I2cClient(createDirectChannel(silent, { timeoutMs: 100, scheduler: s.scheduler }));
    const p = i2c.read(0x50, 1);
    expect(s.count()).toBe(1);
    s.fire();
    await expect(p).rejects.toMatchObject({ name: "AmpError", code: "ERR_TIMEOUT" });
  });
  it("rejects pending requests with ERR_CLOSED on close and clears timers", async () => {
    const s = fakeScheduler();
    const ch = createDirectChannel(silent, { timeoutMs: 100, scheduler: s.scheduler });
    const p = new I2cClient(ch).read(0x50, 1);
    ch.close();
    await expect(p).rejects.toMatchObject({ code: "ERR_CLOSED" });
    expect(s.count()).toBe(0);
    await expect(ch.request(0, new Uint8Array(8), 1)).rejects.toMatchObject({ code: "ERR_CLOSED" });
  });
  it("limits requests in flight with ERR_LIMIT", async () => {
    const ch = createDirectChannel(silent, { maxPending: 1 });
    void ch.request(0, new Uint8Array(8), 1).catch(() => undefined);
    await expect(ch.request(0, new Uint8Array(8), 1)).rejects.toMatchObject({ code: "ERR_LIMIT" });
    ch.close();
  });
  it("needs a scheduler for a timeout (caller misuse)", () => {
    expect(() => createDirectChannel(new I2cBusServer(), { timeoutMs: 5 })).toThrow(TypeError);
  });
  it("never hands back more bytes than offered, even from a misbehaving server", async () => {
    const liar: DeviceServer = { ...silent, handle: (_q, _o, _n, reply) => reply(new Uint8Array(100)) };
    expect((await createDirectChannel(liar).request(0, new Uint8Array(1), 3)).length).toBe(3);
  });
  it("GpioClient refuses a channel without a gpio config", () => {
    expect(() => new GpioClient(createDirectChannel(silent))).toThrow(
      expect.objectContaining({ code: "ERR_TRUNCATED" }),
    );
  });
});

describe("vio frame (rpmsg framing)", () => {
  it("has the documented 12-byte header", () => {
    const f = encodeVioFrame({
      kind: VioFrameKind.REQUEST,
      queue: 1,
      tag: 0x01020304,
      length: 2,
      body: Uint8Array.of(0xaa),
    });
    expect(toHex(f)).toBe("0101010004030201" + "02000000" + "aa");
    expect(decodeVioFrame(f)).toMatchObject({ kind: 1, queue: 1, tag: 0x01020304, length: 2 });
  });
  it("rejects bad versions, kinds, reserved bytes and response lengths", () => {
    const good = encodeVioFrame({ kind: VioFrameKind.RESPONSE, queue: 0, tag: 1, length: 1, body: Uint8Array.of(5) });
    const bad = (i: number, v: number) => {
      const b = good.slice();
      b[i] = v;
      return b;
    };
    expect(() => decodeVioFrame(bad(0, 2))).toThrow(expect.objectContaining({ code: "ERR_MALFORMED", offset: 0 }));
    expect(() => decodeVioFrame(bad(1, 9))).toThrow(expect.objectContaining({ code: "ERR_MALFORMED", offset: 1 }));
    expect(() => decodeVioFrame(bad(3, 1))).toThrow(expect.objectContaining({ code: "ERR_MALFORMED", offset: 3 }));
    expect(() => decodeVioFrame(bad(8, 2))).toThrow(expect.objectContaining({ code: "ERR_TRUNCATED" }));
    expect(() => decodeVioFrame(bad(8, 0))).toThrow(expect.objectContaining({ code: "ERR_MALFORMED" }));
    expect(() => decodeVioFrame(good.subarray(0, 11))).toThrow(expect.objectContaining({ code: "ERR_TRUNCATED" }));
  });
});
