// Smoke test of the installed @amp/virtual-io: a lent I2C temperature sensor read through a regmap.
import assert from "node:assert/strict";
import {
  I2cBusServer,
  I2cClient,
  I2cTemperatureSensor,
  Regmap,
  createDirectChannel,
  createI2cRegmapBus,
  decodeTemperature,
} from "@amp/virtual-io";

const bus = new I2cBusServer();
bus.attach(0x48, new I2cTemperatureSensor(21.5).target);
const i2c = new I2cClient(createDirectChannel(bus));
const sensor = new Regmap(createI2cRegmapBus(i2c, 0x48, { valueBits: 16, autoIncrement: false }), {
  valueBits: 16,
  volatile: [{ from: 0, to: 0 }],
});
assert.equal(decodeTemperature(await sensor.read(0)), 21.5);
assert.equal(await i2c.read(0x51, 1).catch((e) => e.code), "ERR_NACK");
console.log("@amp/virtual-io: I2C sensor at 0x48 reads 21.5 °C, 0x51 NACKs");
