// Hostile requests against every device server: random queues, random readable bytes and random
// writable sizes, plus mutations of well-formed requests. A server must never throw, must reply
// exactly once, and must never write more than it was offered.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { fcParams } from "@amp/test-utils";
import {
  ConsoleServer,
  GpioBank,
  GpioServer,
  I2cBusServer,
  I2cEeprom,
  I2cTemperatureSensor,
  SpiBusServer,
  SpiNorFlash,
  createLoopbackUart,
  encodeGpioRequest,
  encodeI2cAddress,
  encodeI2cOutHdr,
  encodeSpiTransferHead,
} from "@amp/virtual-io";
import type { DeviceServer } from "@amp/virtual-io";

function servers(): [string, () => DeviceServer, fc.Arbitrary<Uint8Array>][] {
  const i2cHdr = fc
    .record({
      a: fc.integer({ min: 0, max: 0x77 }),
      flags: fc.integer({ min: 0, max: 7 }),
      tail: fc.uint8Array({ maxLength: 16 }),
    })
    .map(({ a, flags, tail }) => {
      const b = new Uint8Array(8 + tail.length);
      encodeI2cOutHdr({ addr: encodeI2cAddress(a & 0x77), flags }, new DataView(b.buffer), 0);
      b.set(tail, 8);
      return b;
    });
  const gpioReq = fc
    .record({
      type: fc.integer({ min: 0, max: 8 }),
      gpio: fc.integer({ min: 0, max: 10 }),
      value: fc.integer({ min: 0, max: 10 }),
    })
    .map((r) => {
      const b = new Uint8Array(8);
      encodeGpioRequest(r, new DataView(b.buffer), 0);
      return b;
    });
  const spiReq = fc
    .record({
      cs: fc.integer({ min: 0, max: 5 }),
      bpw: fc.constantFrom(0, 8, 16),
      csChange: fc.integer({ min: 0, max: 2 }),
      mode: fc.integer({ min: 0, max: 63 }),
      tx: fc.uint8Array({ maxLength: 16 }),
    })
    .map(({ cs, bpw, csChange, mode, tx }) => {
      const b = new Uint8Array(32 + tx.length);
      encodeSpiTransferHead(
        {
          chipSelectId: cs,
          bitsPerWord: bpw,
          csChange,
          txNbits: 0,
          rxNbits: 0,
          mode,
          freq: 0,
          wordDelayNs: 0,
          csSetupNs: 0,
          csDelayHoldNs: 0,
          csChangeDelayInactiveNs: 0,
        },
        new DataView(b.buffer),
        0,
      );
      b.set(tx, 32);
      return b;
    });
  return [
    [
      "i2c",
      () => {
        const bus = new I2cBusServer({ maxTransferSize: 64 });
        new I2cEeprom({ size: 2048, pageSize: 16 }).attachTo(bus, 0x50);
        bus.attach(0x48, new I2cTemperatureSensor().target);
        return bus;
      },
      i2cHdr,
    ],
    [
      "gpio",
      () => {
        const bank = new GpioBank({ ngpio: 8, names: ["a"] });
        return new GpioServer(bank);
      },
      gpioReq,
    ],
    [
      "spi",
      () => {
        const bus = new SpiBusServer({ maxTransferSize: 64 });
        bus.attach(0, new SpiNorFlash({ size: 1 << 16 }));
        return bus;
      },
      spiReq,
    ],
    ["console", () => new ConsoleServer(createLoopbackUart(), { maxBuffered: 64 }), fc.uint8Array({ maxLength: 16 })],
  ];
}

describe("device servers under hostile requests", () => {
  for (const [name, make, shaped] of servers()) {
    it(`${name}: never throws, replies at most once, never writes past the offer`, () => {
      const req = fc.record({
        queue: fc.integer({ min: 0, max: 4 }),
        out: fc.oneof(
          fc.uint8Array({ maxLength: 80 }),
          shaped,
          shaped.chain((b) => fc.integer({ min: 0, max: Math.max(0, b.length - 1) }).map((i) => b.subarray(0, i))),
        ),
        inLength: fc.oneof(fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 200 })),
      });
      fc.assert(
        fc.property(fc.array(req, { minLength: 1, maxLength: 20 }), (reqs) => {
          const server = make();
          const replies: number[] = [];
          for (const r of reqs) {
            let count = 0;
            server.handle(r.queue, r.out, r.inLength, (w) => {
              count++;
              expect(w.length).toBeLessThanOrEqual(r.inLength);
              expect(count).toBe(1);
            });
            replies.push(count);
          }
          // deferred replies (gpio eventq pairs, console rx buffers) come back on reset
          server.reset?.();
          return true;
        }),
        fcParams(100),
      );
    });
  }
});
