import { describe, expect, it } from "vitest";
import {
  I2cBusServer,
  I2cClient,
  I2cTemperatureSensor,
  RegisterBank,
  Regmap,
  TempSensorReg,
  createDirectChannel,
  createI2cRegisterDevice,
  createI2cRegmapBus,
  createRegisterBankBus,
  decodeTemperature,
} from "@amp/virtual-io";
import type { RegmapBus } from "@amp/virtual-io";

function counting(bus: RegmapBus) {
  const ops = { reads: 0, writes: 0 };
  const b: RegmapBus = {
    read: (r, n) => (ops.reads++, bus.read(r, n)),
    write: (r, v) => (ops.writes++, bus.write(r, v)),
  };
  return { b, ops };
}

describe("Regmap over I2C", () => {
  it("reads a TMP102 sensor: volatile temperature, cached config, updateBits", async () => {
    const busServer = new I2cBusServer();
    const sensor = new I2cTemperatureSensor(30);
    busServer.attach(0x48, sensor.target);
    const i2c = new I2cClient(createDirectChannel(busServer));
    const { b, ops } = counting(createI2cRegmapBus(i2c, 0x48, { valueBits: 16, autoIncrement: false }));
    const rm = new Regmap(b, {
      valueBits: 16,
      maxRegister: 3,
      volatile: [{ from: TempSensorReg.TEMPERATURE, to: TempSensorReg.TEMPERATURE }],
    });
    expect(decodeTemperature(await rm.read(TempSensorReg.TEMPERATURE))).toBe(30);
    sensor.celsius = 31.5;
    expect(decodeTemperature(await rm.read(TempSensorReg.TEMPERATURE))).toBe(31.5); // volatile: not cached
    expect(await rm.read(TempSensorReg.CONFIG)).toBe(0x60a0);
    const before = ops.reads;
    expect(await rm.read(TempSensorReg.CONFIG)).toBe(0x60a0); // cached
    expect(ops.reads).toBe(before);
    expect(await rm.updateBits(TempSensorReg.CONFIG, 0x0001, 0x0001)).toBe(true); // shutdown bit
    expect(sensor.bank.peek(TempSensorReg.CONFIG)).toBe(0x60a1);
    const writes = ops.writes;
    expect(await rm.updateBits(TempSensorReg.CONFIG, 0x0001, 0x0001)).toBe(false); // no change: no write
    expect(ops.writes).toBe(writes);
    await expect(rm.write(TempSensorReg.TEMPERATURE, 1)).rejects.toMatchObject({ code: "ERR_NACK" }); // read-only
    expect(await rm.bulkRead(TempSensorReg.T_LOW, 2)).toEqual([0x4b00, 0x5000]); // looped (no auto-increment)
  });
  it("does bulk access in one transfer on an auto-incrementing 8-bit register device", async () => {
    const bank = new RegisterBank(8, { 0x10: {}, 0x11: {}, 0x12: { reset: 7 }, 0x13: {} });
    const busServer = new I2cBusServer();
    busServer.attach(0x20, createI2cRegisterDevice(bank));
    const i2c = new I2cClient(createDirectChannel(busServer));
    const { b, ops } = counting(createI2cRegmapBus(i2c, 0x20, { valueBits: 8 }));
    const rm = new Regmap(b, { valueBits: 8, cache: false });
    await rm.bulkWrite(0x10, [1, 2]);
    expect(await rm.bulkRead(0x10, 4)).toEqual([1, 2, 7, 0]);
    expect(ops).toEqual({ reads: 1, writes: 1 });
    await expect(rm.read(0x100)).rejects.toThrow(RangeError);
  });
});

describe("Regmap over a local RegisterBank", () => {
  it("supports 32-bit registers and refuses read-only writes", async () => {
    const bank = new RegisterBank(32, { 0: { reset: 0xdeadbeef }, 4: { readOnly: true, reset: 1 } });
    const rm = new Regmap(createRegisterBankBus(bank), { valueBits: 32 });
    expect(await rm.read(0)).toBe(0xdeadbeef);
    expect(await rm.updateBits(0, 0xffff0000, 0x12340000)).toBe(true);
    expect(bank.peek(0)).toBe(0x1234beef);
    await expect(rm.write(4, 2)).rejects.toMatchObject({ code: "ERR_IO" });
    await expect(rm.write(0, 2 ** 32)).rejects.toThrow(RangeError);
  });
});
