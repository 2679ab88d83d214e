// requestGroup on the virtqueue channel: one settlement per group, answers in order, the first
// failure in order, and the buffer region and ring tokens handed back whatever happens.
import { describe, expect, it } from "vitest";
import { toHex } from "@amp/test-utils";
import type { DeviceServer, ReplyFn } from "@amp/virtual-io";
import { I2cBusServer, I2cClient, I2cEeprom } from "@amp/virtual-io";
import { LINK_BYTES, QSIZE, deviceSide, driverSide, inThreadLink, publishDevice } from "../helpers/vq-link.ts";

/** Echoes each request's out bytes back (cut to what the driver offered), reversed. */
class Reverser implements DeviceServer {
  readonly deviceId = 0x7e;
  readonly numQueues = 1;
  readonly features = 0n;
  readonly config = new Uint8Array(0);
  handled = 0;
  handle(_queue: number, out: Uint8Array, inLength: number, reply: ReplyFn): void {
    this.handled++;
    reply(out.slice().reverse().subarray(0, inLength));
  }
}

describe("VirtqueueChannel.requestGroup", () => {
  it("answers every part in order, once, and the region stays usable for many groups", async () => {
    const server = new Reverser();
    const ch = inThreadLink(server);
    for (let round = 0; round < 200; round++) {
      const outs = [Uint8Array.of(1, 2, round & 0xff), Uint8Array.of(4, 5), Uint8Array.of(6)];
      const answers = await ch.requestGroup(0, outs, [3, 2, 1]);
      expect(answers.map((a) => toHex(a))).toEqual([
        `${(round & 0xff).toString(16).padStart(2, "0")}0201`,
        "0504",
        "06",
      ]);
    }
    expect(server.handled).toBe(600);
    // singles still work beside groups, and a group larger than the ring waits for it to drain
    const many = Array.from({ length: QSIZE * 2 + 3 }, (_, i) => Uint8Array.of(i));
    const answers = await ch.requestGroup(
      0,
      many,
      many.map(() => 1),
    );
    expect(answers.map((a) => a[0])).toEqual(many.map((m) => m[0]));
    expect(toHex(await ch.request(0, Uint8Array.of(9, 8), 2))).toBe("0809");
  });

  it("rejects misuse before anything is offered", async () => {
    const server = new Reverser();
    const ch = inThreadLink(server);
    await expect(ch.requestGroup(0, [Uint8Array.of(1)], [])).rejects.toBeInstanceOf(RangeError);
    await expect(ch.requestGroup(1, [Uint8Array.of(1)], [1])).rejects.toBeInstanceOf(RangeError);
    await expect(ch.requestGroup(0, [Uint8Array.of(1), new Uint8Array(0)], [1, 0])).rejects.toBeInstanceOf(RangeError);
    expect(await ch.requestGroup(0, [], [])).toEqual([]);
    await new Promise((r) => setTimeout(r, 0));
    expect(server.handled).toBe(0);
  });

  it("a part too big for the region fails the group with ERR_LIMIT after the others were answered", async () => {
    const server = new Reverser();
    const ch = inThreadLink(server);
    const huge = new Uint8Array(LINK_BYTES); // more than the whole buffer region
    await expect(ch.requestGroup(0, [Uint8Array.of(1), huge, Uint8Array.of(2)], [1, 1, 1])).rejects.toMatchObject({
      code: "ERR_LIMIT",
    });
    // the parts that fit went through; nothing leaked: a full-size round still fits afterwards
    expect(server.handled).toBe(2);
    expect(toHex(await ch.request(0, Uint8Array.of(3, 4), 2))).toBe("0403");
  });

  it("close rejects a group whose answers are still out, with ERR_CLOSED", async () => {
    const sab = new SharedArrayBuffer(LINK_BYTES);
    const server = new Reverser();
    publishDevice(sab, server);
    const ch = driverSide(sab, { notify: () => undefined }); // nobody serves the kicks
    deviceSide(sab, server, { notify: () => undefined });
    const p = ch.requestGroup(0, [Uint8Array.of(1), Uint8Array.of(2)], [1, 1]);
    ch.close();
    await expect(p).rejects.toMatchObject({ code: "ERR_CLOSED" });
    await expect(ch.requestGroup(0, [Uint8Array.of(1)], [1])).rejects.toMatchObject({ code: "ERR_CLOSED" });
  });

  it("the caller may reuse its out bytes as soon as request returns", async () => {
    const server = new Reverser();
    const ch = inThreadLink(server);
    const out = Uint8Array.of(1, 2, 3);
    const a = ch.request(0, out, 3);
    out.fill(0xee);
    const b = ch.requestGroup(0, [out], [3]);
    out.fill(0);
    expect(toHex(await a)).toBe("030201");
    expect((await b).map((x) => toHex(x))).toEqual(["eeeeee"]);
  });

  it("I2C groups through it: a NACK in the middle fails the rest (FAIL_NEXT) and reports that message", async () => {
    const bus = new I2cBusServer();
    new I2cEeprom({ size: 256, pageSize: 16 }).attachTo(bus, 0x50);
    const i2c = new I2cClient(inThreadLink(bus));
    await i2c.write(0x50, Uint8Array.of(0, 0xaa, 0xbb));
    await expect(
      i2c.transfer([
        { address: 0x50, write: Uint8Array.of(0) },
        { address: 0x51, read: 1 },
        { address: 0x50, read: 2 },
      ]),
    ).rejects.toMatchObject({ code: "ERR_NACK", message: expect.stringContaining("message 1") as unknown });
    expect(toHex(await i2c.writeRead(0x50, Uint8Array.of(0), 2))).toBe("aabb");
  });
});
