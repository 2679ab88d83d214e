// The other direction and the framing: a device that answers garbage must surface as AmpErrors
// at the typed clients (never a TypeError, never a hang), and arbitrary rpmsg payloads sent to a
// served device must be answered with well-formed frames or dropped, never crash the lender.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { fcParams } from "@amp/test-utils";
import {
  GpioBank,
  GpioClient,
  GpioServer,
  I2cBusServer,
  I2cClient,
  I2cTemperatureSensor,
  SpiClient,
  VioFrameKind,
  createDirectChannel,
  decodeVioFrame,
  isAmpError,
  serveOverRpmsg,
} from "@amp/virtual-io";
import type { DeviceServer, RpmsgEndpointFactory, RpmsgMessageLike } from "@amp/virtual-io";

function liar(deviceId: number, features: bigint, config: Uint8Array, answers: Uint8Array[]): DeviceServer {
  let i = 0;
  return {
    deviceId,
    numQueues: 2,
    features,
    config,
    handle: (_q, _o, _n, reply) => reply(answers[i++ % answers.length] ?? new Uint8Array(0)),
  };
}

async function settlesWithAmpErrorOrValue(p: Promise<unknown>): Promise<boolean> {
  try {
    await p;
    return true;
  } catch (e) {
    return isAmpError(e);
  }
}

describe("clients against a lying device", () => {
  const answers = fc.array(fc.uint8Array({ maxLength: 12 }), { minLength: 1, maxLength: 4 });
  it("I2cClient", async () => {
    await fc.assert(
      fc.asyncProperty(answers, async (a) => {
        const i2c = new I2cClient(createDirectChannel(liar(34, 1n, new Uint8Array(0), a)));
        return (
          (await settlesWithAmpErrorOrValue(i2c.writeRead(0x50, Uint8Array.of(1), 3))) &&
          (await settlesWithAmpErrorOrValue(i2c.read(0x50, 0)))
        );
      }),
      fcParams(100),
    );
  });
  it("GpioClient", async () => {
    await fc.assert(
      fc.asyncProperty(
        answers,
        fc.uint8Array({ minLength: 8, maxLength: 8 }),
        fc.constantFrom(0, 0xff),
        async (a, cfg, top) => {
          cfg[0] = 4; // ngpio 4
          cfg[1] = 0;
          cfg[7] = top; // sometimes a names size near 4 GiB
          const gpio = new GpioClient(createDirectChannel(liar(41, 1n, cfg, a)));
          return (
            (await settlesWithAmpErrorOrValue(gpio.direction(1))) &&
            (await settlesWithAmpErrorOrValue(gpio.names())) &&
            (await settlesWithAmpErrorOrValue(gpio.get(0)))
          );
        },
      ),
      fcParams(100),
    );
  });
  it("SpiClient", async () => {
    await fc.assert(
      fc.asyncProperty(answers, async (a) => {
        const spi = new SpiClient(createDirectChannel(liar(45, 0n, new Uint8Array(0), a)));
        return settlesWithAmpErrorOrValue(spi.transfer(0, [{ tx: Uint8Array.of(1, 2) }, { rxLength: 2 }]));
      }),
      fcParams(100),
    );
  });
});

describe("served device against arbitrary rpmsg payloads", () => {
  for (const [name, make] of [
    [
      "i2c",
      () => {
        const bus = new I2cBusServer();
        bus.attach(0x48, new I2cTemperatureSensor().target);
        return bus;
      },
    ],
    ["gpio", () => new GpioServer(new GpioBank({ ngpio: 4 }))],
  ] as const) {
    it(`${name}: answers are well-formed frames, never larger than the MTU`, () => {
      fc.assert(
        fc.property(
          fc.array(
            fc.oneof(
              fc.uint8Array({ maxLength: 40 }),
              fc.uint8Array({ minLength: 12, maxLength: 40 }).map((b) => ((b[0] = 1), (b[1] = 1), (b[3] = 0), b)),
            ),
            { maxLength: 12 },
          ),
          (payloads) => {
            const sent: Uint8Array[] = [];
            let deliver: ((m: RpmsgMessageLike) => void) | undefined;
            const factory: RpmsgEndpointFactory = {
              createEndpoint: (o) => {
                deliver = o.onMessage;
                return {
                  dst: 1024,
                  mtu: 496,
                  sendTo: (_d, data) => (sent.push(data.slice()), Promise.resolve()),
                  waitBound: () => Promise.resolve(1024),
                  destroy: () => undefined,
                };
              },
            };
            const svc = serveOverRpmsg(factory, make(), { name: "x" });
            for (const p of payloads) deliver?.({ src: 1024, data: p });
            svc.close();
            for (const s of sent) {
              expect(s.length).toBeLessThanOrEqual(496);
              const f = decodeVioFrame(s);
              expect([VioFrameKind.RESPONSE, VioFrameKind.REJECT]).toContain(f.kind);
            }
            return true;
          },
        ),
        fcParams(150),
      );
    });
  }
});
