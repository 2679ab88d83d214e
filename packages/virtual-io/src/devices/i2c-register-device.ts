// Exposes a RegisterBank on the I2C bus the way most sensors (and Linux's regmap-i2c) do: a write
// starts with the register address (1 or 2 bytes, big-endian) and may carry values after it; a
// read returns values from the current register. With autoIncrement the pointer advances per
// value, otherwise repeated reads return the same register (TMP102/LM75 behaviour).
import { getUintN, putUintN } from "../internal/bytes.js";
import type { I2cTarget } from "./i2c-server.js";
import type { RegisterBank } from "./register-bank.js";

/** Layout of the register protocol on the bus. */
export interface I2cRegisterFormat {
  /** Register-address bytes: 8 or 16 bits (default 8). */
  readonly regBits?: 8 | 16;
  /** Byte order of values on the bus (default "big", as nearly every I2C sensor). */
  readonly endian?: "big" | "little";
  /** Advance the register pointer after each value (default true). */
  readonly autoIncrement?: boolean;
}

/**
 * Makes an I2C target out of `bank`. Writes to a missing or read-only register and reads of a
 * missing register NACK.
 */
export function createI2cRegisterDevice(bank: RegisterBank, format: I2cRegisterFormat = {}): I2cTarget {
  const regBytes = (format.regBits ?? 8) / 8;
  const valBytes = bank.valueBits / 8;
  const big = (format.endian ?? "big") === "big";
  const autoInc = format.autoIncrement ?? true;
  let pointer = 0;
  return {
    write(data: Uint8Array): boolean {
      if (data.length === 0) return true; // probe
      if (data.length < regBytes) return false;
      let reg = 0;
      for (let i = 0; i < regBytes; i++) reg = (reg << 8) | (data[i] ?? 0);
      if (!bank.has(reg)) return false;
      pointer = reg;
      const body = data.length - regBytes;
      if (body % valBytes !== 0) return false;
      for (let o = regBytes; o < data.length; o += valBytes) {
        if (!bank.write(pointer, getUintN(data, o, valBytes, big))) return false;
        if (autoInc) pointer = (pointer + 1) & (regBytes === 1 ? 0xff : 0xffff);
      }
      return true;
    },
    read(length: number): Uint8Array | undefined {
      const out = new Uint8Array(length);
      let reg = pointer;
      for (let o = 0; o < length; o += valBytes) {
        const v = bank.read(reg);
        if (v === undefined) return undefined;
        putUintN(out, o, valBytes, big, v);
        if (autoInc) reg = (reg + 1) & (regBytes === 1 ? 0xff : 0xffff);
      }
      if (autoInc) pointer = reg;
      return out;
    },
  };
}
