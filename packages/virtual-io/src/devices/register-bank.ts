// The device side of a regmap: a bank of registers of one width (8, 16 or 32 bits), each with a
// reset value, an optional read-only flag and optional hooks into a model or real hardware.
// Exposed to the other side by I2cRegisterDevice (the regmap-i2c convention) and read locally
// through createRegisterBankBus.

/** Register value width in bits. */
export type RegisterWidth = 8 | 16 | 32;

/** One register of a {@link RegisterBank}. */
export interface RegisterDef {
  /** Value after reset (default 0). */
  readonly reset?: number;
  /** Writes from the bus are refused (the value changes only through hooks or `poke`). */
  readonly readOnly?: boolean;
  /** Produces the value on each bus read (a live sensor); default the stored value. */
  readonly onRead?: () => number;
  /** Sees each accepted bus write, after it is stored. */
  readonly onWrite?: (value: number) => void;
}

/** A bank of registers addressed by number. */
export class RegisterBank {
  readonly valueBits: RegisterWidth;
  private readonly defs = new Map<number, RegisterDef>();
  private readonly values = new Map<number, number>();

  /**
   * @param valueBits width of every register
   * @param registers register number → definition
   * @throws RangeError for a bad width, number or reset value
   */
  constructor(valueBits: RegisterWidth, registers: Readonly<Record<number, RegisterDef>>) {
    if (![8, 16, 32].includes(valueBits))
      throw new RangeError(`register width must be 8, 16 or 32, got ${String(valueBits)}`);
    this.valueBits = valueBits;
    for (const [k, def] of Object.entries(registers)) {
      const reg = Number(k);
      if (!Number.isInteger(reg) || reg < 0 || reg > 0xffff)
        throw new RangeError(`register number ${k} out of 0..0xffff`);
      this.defs.set(reg, def);
      this.values.set(reg, this.fit(def.reset ?? 0, `reset of register ${k}`));
    }
  }

  /** True when register `reg` exists. */
  has(reg: number): boolean {
    return this.defs.has(reg);
  }

  /** Bus read: the value, or undefined for a register that does not exist. */
  read(reg: number): number | undefined {
    const def = this.defs.get(reg);
    if (def === undefined) return undefined;
    if (def.onRead !== undefined) {
      const v = def.onRead() >>> 0;
      return this.valueBits === 32 ? v : v & ((1 << this.valueBits) - 1);
    }
    return this.values.get(reg);
  }

  /** Bus write: false (refused) for a missing or read-only register. */
  write(reg: number, value: number): boolean {
    const def = this.defs.get(reg);
    if (def === undefined || def.readOnly === true) return false;
    const v = this.fit(value, `value of register ${reg}`);
    this.values.set(reg, v);
    def.onWrite?.(v);
    return true;
  }

  /** Device-internal update that ignores read-only (a model setting its own status bits). */
  poke(reg: number, value: number): void {
    if (!this.defs.has(reg)) throw new RangeError(`no register ${reg}`);
    this.values.set(reg, this.fit(value, `value of register ${reg}`));
  }

  /** Device-internal read of the stored value (no onRead hook). */
  peek(reg: number): number {
    const v = this.values.get(reg);
    if (v === undefined) throw new RangeError(`no register ${reg}`);
    return v;
  }

  private fit(value: number, what: string): number {
    const max = 2 ** this.valueBits - 1;
    if (!Number.isInteger(value) || value < 0 || value > max)
      throw new RangeError(`${what} must be in 0..0x${max.toString(16)}, got ${String(value)}`);
    return value;
  }
}
