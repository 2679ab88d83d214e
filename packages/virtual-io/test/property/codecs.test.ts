// Every codec: encode → decode is the identity, and decoding arbitrary bytes either succeeds or
// fails with an AmpError (never a TypeError/RangeError from deep inside, never out of bounds).
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { fcParams } from "@amp/test-utils";
import * as vio from "@amp/virtual-io";

const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const dv = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);

function roundTrip<T>(
  arb: fc.Arbitrary<T>,
  size: number,
  enc: (v: T, d: DataView, o: number) => void,
  dec: (d: DataView, o: number) => T,
) {
  fc.assert(
    fc.property(arb, fc.integer({ min: 0, max: 7 }), (v, pad) => {
      const b = new Uint8Array(size + pad);
      enc(v, dv(b), pad);
      expect(dec(dv(b), pad)).toEqual(v);
    }),
    fcParams(),
  );
}

function onlyAmpErrors(decode: (b: Uint8Array) => unknown) {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
      try {
        decode(b);
      } catch (e) {
        return vio.isAmpError(e);
      }
      return true;
    }),
    fcParams(),
  );
}

describe("codec round trips", () => {
  it("virtio_i2c_out_hdr and addresses", () => {
    roundTrip(
      fc.record({ addr: u16, flags: fc.integer({ min: 0, max: 3 }) }),
      8,
      vio.encodeI2cOutHdr,
      vio.decodeI2cOutHdr,
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0x7f }).filter((a) => (a & 0x7c) !== 0x78),
        (a) => {
          expect(vio.decodeI2cAddress(vio.encodeI2cAddress(a))).toEqual({ address: a, tenBit: false });
        },
      ),
      fcParams(),
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0x3ff }), (a) => {
        expect(vio.decodeI2cAddress(vio.encodeI2cAddress(a, true))).toEqual({ address: a, tenBit: true });
      }),
      fcParams(),
    );
  });
  it("virtio-gpio structs and names", () => {
    roundTrip(fc.record({ ngpio: u16, gpioNamesSize: u32 }), 8, vio.encodeGpioConfig, vio.decodeGpioConfig);
    roundTrip(fc.record({ type: u16, gpio: u16, value: u32 }), 8, vio.encodeGpioRequest, vio.decodeGpioRequest);
    roundTrip(fc.record({ status: u8, value: u8 }), 2, vio.encodeGpioResponse, vio.decodeGpioResponse);
    roundTrip(u16, 2, vio.encodeGpioIrqRequest, vio.decodeGpioIrqRequest);
    const name = fc.string({
      unit: fc.integer({ min: 1, max: 0x7f }).map((c) => String.fromCharCode(c)),
      maxLength: 8,
    });
    fc.assert(
      fc.property(fc.array(name, { minLength: 1, maxLength: 16 }), (names) => {
        expect(vio.decodeGpioNames(vio.encodeGpioNames(names), names.length)).toEqual(names);
      }),
      fcParams(),
    );
  });
  it("virtio-spi structs", () => {
    roundTrip(
      fc.record({
        chipSelectId: u8,
        bitsPerWord: u8,
        csChange: u8,
        txNbits: u8,
        rxNbits: u8,
        mode: u32,
        freq: u32,
        wordDelayNs: u32,
        csSetupNs: u32,
        csDelayHoldNs: u32,
        csChangeDelayInactiveNs: u32,
      }),
      32,
      vio.encodeSpiTransferHead,
      vio.decodeSpiTransferHead,
    );
    roundTrip(
      fc.record({
        csMaxNumber: u8,
        csChangeSupported: u8,
        txNbitsSupported: u8,
        rxNbitsSupported: u8,
        bitsPerWordMask: u32,
        modeFuncSupported: u32,
        maxFreqHz: u32,
        maxWordDelayNs: u32,
        maxCsSetupNs: u32,
        maxCsHoldNs: u32,
        maxCsInactiveNs: u32,
      }),
      32,
      vio.encodeSpiConfig,
      vio.decodeSpiConfig,
    );
  });
  it("virtio-console structs", () => {
    roundTrip(
      fc.record({ cols: u16, rows: u16, maxNrPorts: u32, emergWr: u32 }),
      12,
      vio.encodeConsoleConfig,
      vio.decodeConsoleConfig,
    );
    roundTrip(fc.record({ id: u32, event: u16, value: u16 }), 8, vio.encodeConsoleControl, vio.decodeConsoleControl);
  });
  it("vio frames", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3 }),
        u8,
        u32,
        fc.uint8Array({ maxLength: 64 }),
        u32,
        (kind, queue, tag, body, length) => {
          const f =
            kind === 2
              ? { kind, queue, tag, length: body.length, body }
              : kind === 3
                ? { kind, queue, tag, length: 0, body: new Uint8Array(0) }
                : { kind, queue, tag, length, body };
          const d = vio.decodeVioFrame(vio.encodeVioFrame(f));
          expect({ ...d, body: [...d.body] }).toEqual({ ...f, body: [...f.body] });
        },
      ),
      fcParams(),
    );
  });
});

describe("decoding arbitrary bytes fails only with AmpError", () => {
  const at = (fn: (d: DataView, o: number) => unknown) => (b: Uint8Array) => fn(dv(b), 0);
  it.each([
    ["virtio_i2c_out_hdr", at(vio.decodeI2cOutHdr)],
    ["i2c addr", (b: Uint8Array) => vio.decodeI2cAddress(b.length >= 2 ? b[0]! | (b[1]! << 8) : 0)],
    ["virtio_gpio_config", at(vio.decodeGpioConfig)],
    ["virtio_gpio_request", at(vio.decodeGpioRequest)],
    ["virtio_gpio_response", at(vio.decodeGpioResponse)],
    ["virtio_gpio_irq_request", at(vio.decodeGpioIrqRequest)],
    ["gpio names", (b: Uint8Array) => vio.decodeGpioNames(b, b.length === 0 ? 0 : b[0]! % 8)],
    ["spi_transfer_head", at(vio.decodeSpiTransferHead)],
    ["virtio_spi_config", at(vio.decodeSpiConfig)],
    ["virtio_console_config", at(vio.decodeConsoleConfig)],
    ["virtio_console_control", at(vio.decodeConsoleControl)],
    ["vio frame", vio.decodeVioFrame],
  ] as const)("%s", (_name, decode) => {
    onlyAmpErrors(decode);
  });
});
