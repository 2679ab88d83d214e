// A register map in the spirit of Linux's regmap: registers of one width (8, 16 or 32 bits) on
// some bus, a write-through cache that skips volatile ranges, read-modify-write (updateBits) and
// bulk access. Buses: I2C across the link (createI2cRegmapBus, the regmap-i2c convention) or a
// local RegisterBank on the device side (createRegisterBankBus).
import type { RegisterBank, RegisterWidth } from "../devices/register-bank.js";
import { vioError } from "../errors.js";
import { getUintN, putUintN } from "../internal/bytes.js";
import type { I2cClient } from "./i2c-client.js";

/** Where register values come from. Values are unsigned integers of the map's width. */
export interface RegmapBus {
  /** Reads `count` consecutive registers starting at `reg`. */
  read(reg: number, count: number): Promise<number[]>;
  /** Writes consecutive registers starting at `reg`. */
  write(reg: number, values: readonly number[]): Promise<void>;
}

/** An inclusive register range. */
export interface RegisterRange {
  readonly from: number;
  readonly to: number;
}

/** Options of {@link Regmap}. */
export interface RegmapOptions {
  /** Register width in bits. */
  readonly valueBits: RegisterWidth;
  /** Highest valid register (default 0xff). */
  readonly maxRegister?: number;
  /** Cache values (default true). Volatile registers are never cached. */
  readonly cache?: boolean;
  /** Ranges that change on their own (status, data): always read from the bus. */
  readonly volatile?: readonly RegisterRange[];
}

/**
 * A register map over a {@link RegmapBus}.
 * @example const rm = new Regmap(createI2cRegmapBus(i2c, 0x48, { valueBits: 16 }), { valueBits: 16, volatile: [{ from: 0, to: 0 }] });
 */
export class Regmap {
  readonly valueBits: RegisterWidth;
  private readonly bus: RegmapBus;
  private readonly maxRegister: number;
  private readonly useCache: boolean;
  private readonly volatileRanges: readonly RegisterRange[];
  private readonly cache = new Map<number, number>();

  constructor(bus: RegmapBus, options: RegmapOptions) {
    if (![8, 16, 32].includes(options.valueBits)) throw new RangeError("valueBits must be 8, 16 or 32");
    this.bus = bus;
    this.valueBits = options.valueBits;
    this.maxRegister = options.maxRegister ?? 0xff;
    this.useCache = options.cache ?? true;
    this.volatileRanges = options.volatile ?? [];
  }

  /** True when `reg` is in a volatile range (never cached). */
  isVolatile(reg: number): boolean {
    return this.volatileRanges.some((r) => reg >= r.from && reg <= r.to);
  }

  /** Reads one register (from the cache unless volatile). */
  async read(reg: number): Promise<number> {
    const [v] = await this.bulkRead(reg, 1);
    return v ?? 0;
  }

  /** Writes one register (write-through: the cache is updated after the bus accepts it). */
  async write(reg: number, value: number): Promise<void> {
    await this.bulkWrite(reg, [value]);
  }

  /**
   * Read-modify-write: sets the bits of `mask` to those of `value`. Skips the bus write when
   * nothing changes; resolves with whether the register changed.
   */
  async updateBits(reg: number, mask: number, value: number): Promise<boolean> {
    this.checkValue(mask, "mask");
    this.checkValue(value, "value");
    const old = await this.read(reg);
    const next = ((old & ~mask) | (value & mask)) >>> 0;
    if (next === old) return false;
    await this.write(reg, next);
    return true;
  }

  /** Reads `count` consecutive registers; one bus read unless all are cached. */
  async bulkRead(reg: number, count: number): Promise<number[]> {
    this.checkRange(reg, count);
    const cached: number[] = [];
    for (let i = 0; i < count && this.useCache; i++) {
      const v = this.isVolatile(reg + i) ? undefined : this.cache.get(reg + i);
      if (v === undefined) break;
      cached.push(v);
    }
    if (cached.length === count) return cached;
    const values = await this.bus.read(reg, count);
    if (values.length !== count)
      throw vioError("ERR_IO", `register bus returned ${values.length} values, expected ${count}`);
    values.forEach((v, i) => {
      this.store(reg + i, v);
    });
    return values;
  }

  /** Writes consecutive registers in one bus write. */
  async bulkWrite(reg: number, values: readonly number[]): Promise<void> {
    this.checkRange(reg, values.length);
    for (const v of values) this.checkValue(v, "value");
    await this.bus.write(reg, values);
    values.forEach((v, i) => {
      this.store(reg + i, v);
    });
  }

  /** Forgets cached values (e.g. after the device was reset). */
  invalidate(): void {
    this.cache.clear();
  }

  private store(reg: number, v: number): void {
    if (this.useCache && !this.isVolatile(reg)) this.cache.set(reg, v);
  }

  private checkRange(reg: number, count: number): void {
    if (
      !Number.isInteger(reg) ||
      reg < 0 ||
      !Number.isInteger(count) ||
      count < 1 ||
      reg + count - 1 > this.maxRegister
    ) {
      throw new RangeError(`registers ${String(reg)}..+${String(count)} out of 0..${this.maxRegister}`);
    }
  }

  private checkValue(v: number, what: string): void {
    if (!Number.isInteger(v) || v < 0 || v > 2 ** this.valueBits - 1)
      throw new RangeError(`${what} must fit in ${this.valueBits} bits`);
  }
}

/** Layout of registers on I2C (the regmap-i2c convention). */
export interface I2cRegmapFormat {
  /** Register width. */
  readonly valueBits: RegisterWidth;
  /** Register-address bytes: 8 or 16 bits (default 8). */
  readonly regBits?: 8 | 16;
  /** Byte order of values (default "big"). */
  readonly endian?: "big" | "little";
  /** The device advances its register pointer per value (default true); if not, bulk access loops. */
  readonly autoIncrement?: boolean;
  /** TenBit addressing. */
  readonly tenBit?: boolean;
}

/**
 * A RegmapBus on an I2C device across the link: a write is [reg, values...], a read is a write
 * of [reg] then a read, as one group (repeated start).
 * @throws via the returned bus: AmpError ERR_NACK from the device.
 */
export function createI2cRegmapBus(i2c: I2cClient, address: number, format: I2cRegmapFormat): RegmapBus {
  const regBytes = (format.regBits ?? 8) / 8;
  const valBytes = format.valueBits / 8;
  const big = (format.endian ?? "big") === "big";
  const autoInc = format.autoIncrement ?? true;
  const tenBit = format.tenBit ?? false;
  const regBuf = (reg: number): Uint8Array =>
    regBytes === 1 ? Uint8Array.of(reg & 0xff) : Uint8Array.of((reg >> 8) & 0xff, reg & 0xff);
  const readRun = async (reg: number, count: number): Promise<number[]> => {
    const [, data] = await i2c.transfer([
      { address, tenBit, write: regBuf(reg) },
      { address, tenBit, read: count * valBytes },
    ]);
    const out: number[] = [];
    for (let i = 0; i < count; i++) out.push(getUintN(data ?? new Uint8Array(0), i * valBytes, valBytes, big));
    return out;
  };
  const writeRun = async (reg: number, values: readonly number[]): Promise<void> => {
    const buf = new Uint8Array(regBytes + values.length * valBytes);
    buf.set(regBuf(reg), 0);
    values.forEach((v, i) => {
      putUintN(buf, regBytes + i * valBytes, valBytes, big, v);
    });
    await i2c.write(address, buf);
  };
  return {
    async read(reg, count) {
      if (autoInc) return readRun(reg, count);
      const out: number[] = [];
      for (let i = 0; i < count; i++) out.push(...(await readRun(reg + i, 1)));
      return out;
    },
    async write(reg, values) {
      if (autoInc) {
        await writeRun(reg, values);
        return;
      }
      for (let i = 0; i < values.length; i++) await writeRun(reg + i, [values[i] ?? 0]);
    },
  };
}

/**
 * A RegmapBus over a local RegisterBank (device-side code using the same Regmap API).
 * @throws via the returned bus: AmpError ERR_IO for a missing or read-only register.
 */
export function createRegisterBankBus(bank: RegisterBank): RegmapBus {
  return {
    read(reg, count) {
      const out: number[] = [];
      for (let i = 0; i < count; i++) {
        const v = bank.read(reg + i);
        if (v === undefined) return Promise.reject(vioError("ERR_IO", `no register ${reg + i}`));
        out.push(v);
      }
      return Promise.resolve(out);
    },
    write(reg, values) {
      for (let i = 0; i < values.length; i++) {
        if (!bank.write(reg + i, values[i] ?? 0))
          return Promise.reject(vioError("ERR_IO", `register ${reg + i} refused the write`));
      }
      return Promise.resolve();
    },
  };
}
