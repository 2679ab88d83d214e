// An I2C temperature sensor modelled on the TMP102 register map: 16-bit registers, big-endian on
// the bus, a pointer register that does not auto-increment. Temperature is 12-bit two's
// complement, left-justified, 0.0625 °C per LSB.
import { createI2cRegisterDevice } from "./i2c-register-device.js";
import type { I2cTarget } from "./i2c-server.js";
import { RegisterBank } from "./register-bank.js";

/** Register numbers of {@link I2cTemperatureSensor} (TMP102 layout). */
export const TempSensorReg = { TEMPERATURE: 0, CONFIG: 1, T_LOW: 2, T_HIGH: 3 } as const;

/** Encodes °C as the sensor's 16-bit register value (12-bit, 1/16 °C, left-justified). */
export function encodeTemperature(celsius: number): number {
  if (!Number.isFinite(celsius)) throw new RangeError("temperature must be finite");
  const counts = Math.max(-2048, Math.min(2047, Math.round(celsius * 16)));
  return (counts << 4) & 0xffff;
}

/** Decodes the sensor's 16-bit register value to °C. */
export function decodeTemperature(raw: number): number {
  const signed = (raw & 0x8000) !== 0 ? raw - 0x10000 : raw;
  return (signed >> 4) / 16;
}

/**
 * A simulated temperature sensor. Set the temperature with `celsius`; the driver side reads it
 * through I2C (register 0) or through a Regmap.
 * @example const t = new I2cTemperatureSensor(21.5); bus.attach(0x48, t.target);
 */
export class I2cTemperatureSensor {
  /** The current temperature in °C (what the next read of register 0 reports). */
  celsius: number;
  /** The register bank (for device-side code that wants to inspect or hook it). */
  readonly bank: RegisterBank;
  /** The I2C target to attach to a bus. */
  readonly target: I2cTarget;

  constructor(celsius = 25) {
    this.celsius = celsius;
    this.bank = new RegisterBank(16, {
      [TempSensorReg.TEMPERATURE]: { readOnly: true, onRead: () => encodeTemperature(this.celsius) },
      [TempSensorReg.CONFIG]: { reset: 0x60a0 },
      [TempSensorReg.T_LOW]: { reset: encodeTemperature(75) },
      [TempSensorReg.T_HIGH]: { reset: encodeTemperature(80) },
    });
    this.target = createI2cRegisterDevice(this.bank, { regBits: 8, endian: "big", autoIncrement: false });
  }
}
