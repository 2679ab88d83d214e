import { describe, expect, it } from "vitest";
import { toHex } from "@amp/test-utils";
import {
  I2cBusServer,
  I2cClient,
  I2cEeprom,
  I2cTemperatureSensor,
  VIRTIO_I2C_FLAGS_FAIL_NEXT,
  VIRTIO_I2C_FLAGS_M_RD,
  createDirectChannel,
  decodeI2cAddress,
  decodeI2cOutHdr,
  decodeTemperature,
  encodeI2cAddress,
  encodeI2cOutHdr,
  isAmpError,
} from "@amp/virtual-io";

function setup() {
  const bus = new I2cBusServer();
  const i2c = new I2cClient(createDirectChannel(bus));
  return { bus, i2c };
}

describe("virtio-i2c codec", () => {
  it("encodes out_hdr as le16 addr, le16 padding, le32 flags", () => {
    const b = new Uint8Array(8);
    encodeI2cOutHdr(
      { addr: encodeI2cAddress(0x50), flags: VIRTIO_I2C_FLAGS_M_RD | VIRTIO_I2C_FLAGS_FAIL_NEXT },
      new DataView(b.buffer),
      0,
    );
    expect(toHex(b)).toBe("a000000003000000");
    expect(decodeI2cOutHdr(new DataView(b.buffer), 0)).toEqual({ addr: 0xa0, flags: 3 });
  });
  it("rejects nonzero padding and unknown flag bits", () => {
    const b = Uint8Array.from([0xa0, 0, 1, 0, 0, 0, 0, 0]);
    expect(() => decodeI2cOutHdr(new DataView(b.buffer), 0)).toThrow(
      expect.objectContaining({ code: "ERR_MALFORMED", offset: 2 }),
    );
    const c = Uint8Array.from([0xa0, 0, 0, 0, 4, 0, 0, 0]);
    expect(() => decodeI2cOutHdr(new DataView(c.buffer), 0)).toThrow(
      expect.objectContaining({ code: "ERR_MALFORMED", offset: 4 }),
    );
  });
  it("encodes 10-bit addresses as the spec lays them out", () => {
    // A7..A0 in bits 15..8, 11110b in bits 7..3, A9..A8 in bits 2..1
    expect(encodeI2cAddress(0x2a5, true)).toBe(0xa5f4);
    expect(decodeI2cAddress(0xa5f4)).toEqual({ address: 0x2a5, tenBit: true });
    expect(decodeI2cAddress(0x90)).toEqual({ address: 0x48, tenBit: false });
    expect(() => encodeI2cAddress(0x78)).toThrow(RangeError);
    expect(() => encodeI2cAddress(0x80)).toThrow(RangeError);
  });
});

describe("24Cxx EEPROM", () => {
  it("writes within a page, wrapping at the page boundary", async () => {
    const { bus, i2c } = setup();
    const e = new I2cEeprom({ size: 256, pageSize: 8 });
    e.attachTo(bus, 0x50);
    await i2c.write(0x50, Uint8Array.of(0x06, 1, 2, 3, 4));
    // bytes 3 and 4 rolled over to the start of page 0..7
    expect([...e.memory.subarray(0, 8)]).toEqual([3, 4, 0xff, 0xff, 0xff, 0xff, 1, 2]);
    expect(e.memory[8]).toBe(0xff);
  });
  it("reads sequentially across pages from the pointer and continues with a current-address read", async () => {
    const { bus, i2c } = setup();
    const e = new I2cEeprom({ size: 256, pageSize: 8, initial: Uint8Array.from({ length: 256 }, (_, i) => i) });
    e.attachTo(bus, 0x50);
    expect([...(await i2c.writeRead(0x50, Uint8Array.of(0xfe), 4))]).toEqual([0xfe, 0xff, 0, 1]); // wraps at the end
    expect([...(await i2c.read(0x50, 2))]).toEqual([2, 3]); // current address read
  });
  it("takes the high address bits from the device address on a 24C16", async () => {
    const { bus, i2c } = setup();
    const e = new I2cEeprom({ size: 2048, pageSize: 16 });
    e.attachTo(bus, 0x50);
    await i2c.write(0x53, Uint8Array.of(0x10, 0xaa, 0xbb));
    expect(e.memory[3 * 256 + 0x10]).toBe(0xaa);
    expect([...(await i2c.writeRead(0x53, Uint8Array.of(0x10), 2))]).toEqual([0xaa, 0xbb]);
  });
  it("uses two address bytes on a 24C256", async () => {
    const { bus, i2c } = setup();
    const e = new I2cEeprom({ size: 32768, pageSize: 64 });
    e.attachTo(bus, 0x50);
    await i2c.write(0x50, Uint8Array.of(0x12, 0x34, 9));
    expect(e.memory[0x1234]).toBe(9);
  });
});

describe("I2C bus errors", () => {
  it("NACKs an absent address with ERR_NACK and probes", async () => {
    const { bus, i2c } = setup();
    bus.attach(0x48, new I2cTemperatureSensor().target);
    await expect(i2c.read(0x49, 2)).rejects.toMatchObject({ name: "AmpError", code: "ERR_NACK" });
    expect(await i2c.probe(0x48)).toBe(true);
    expect(await i2c.probe(0x49)).toBe(false);
  });
  it("fails the rest of a FAIL_NEXT group after a failure", async () => {
    const { bus, i2c } = setup();
    const reads: number[] = [];
    bus.attach(0x10, { write: () => false, read: (n) => new Uint8Array(n) });
    bus.attach(0x11, { write: () => true, read: (n) => (reads.push(n), new Uint8Array(n)) });
    const err = await i2c
      .transfer([
        { address: 0x10, write: Uint8Array.of(1) },
        { address: 0x11, read: 1 },
      ])
      .catch((e: unknown) => e);
    expect(isAmpError(err) && err.code).toBe("ERR_NACK");
    expect(reads).toEqual([]); // the second message never reached the target
    expect([...(await i2c.read(0x11, 1))]).toEqual([0]); // the next group is independent
  });
  it("turns a throwing target into a NACK, not a crash", async () => {
    const { bus, i2c } = setup();
    bus.attach(0x20, {
      write: () => {
        throw new Error("boom");
      },
      read: () => {
        throw new Error("boom");
      },
    });
    await expect(i2c.write(0x20, Uint8Array.of(1))).rejects.toMatchObject({ code: "ERR_NACK" });
  });
  it("refuses a device without VIRTIO_I2C_F_ZERO_LENGTH_REQUEST", () => {
    const bus = new I2cBusServer();
    const ch = { ...createDirectChannel(bus), features: 0n };
    expect(() => new I2cClient(ch)).toThrow(expect.objectContaining({ code: "ERR_UNSUPPORTED" }));
  });
});

describe("temperature sensor", () => {
  it("reports the temperature in TMP102 format over I2C", async () => {
    const { bus, i2c } = setup();
    const t = new I2cTemperatureSensor(21.5);
    bus.attach(0x48, t.target);
    const raw = await i2c.writeRead(0x48, Uint8Array.of(0), 2);
    expect(toHex(raw)).toBe("1580");
    expect(decodeTemperature((raw[0]! << 8) | raw[1]!)).toBe(21.5);
    t.celsius = -10.25;
    const r2 = await i2c.writeRead(0x48, Uint8Array.of(0), 2);
    expect(decodeTemperature((r2[0]! << 8) | r2[1]!)).toBe(-10.25);
    await expect(i2c.write(0x48, Uint8Array.of(0, 1, 2))).rejects.toMatchObject({ code: "ERR_NACK" }); // read-only
    await expect(i2c.write(0x48, Uint8Array.of(9))).rejects.toMatchObject({ code: "ERR_NACK" }); // no register 9
  });
});
