// A 24Cxx-style I2C EEPROM model: an address pointer set by the first byte(s) of a write, page
// writes that wrap inside the page, sequential reads that wrap at the end of the memory, and a
// "current address read" that continues from where the last access stopped. Small parts
// (24C04..24C16) have one address byte and take the high address bits from the low bits of the
// device address, so they answer at several consecutive bus addresses.
import type { I2cBusServer, I2cTarget } from "./i2c-server.js";

/** Options of {@link I2cEeprom}. */
export interface I2cEepromOptions {
  /** Memory size in bytes, a power of two (e.g. 256 for 24C02, 2048 for 24C16, 32768 for 24C256). */
  readonly size: number;
  /** Page size in bytes, a power of two (8 for 24C02, 16 for 24C16, 64 for 24C256). */
  readonly pageSize: number;
  /** Address bytes after the device address: 1 (≤ 2 KiB parts) or 2. Default: 1 up to 2 KiB, else 2. */
  readonly addressBytes?: 1 | 2;
  /** Initial contents (copied); default all 0xff, like an erased part. */
  readonly initial?: Uint8Array;
}

/**
 * An I2C EEPROM with 24Cxx paging and address-pointer behaviour.
 * @example const eeprom = new I2cEeprom({ size: 256, pageSize: 8 }); eeprom.attachTo(bus, 0x50);
 */
export class I2cEeprom {
  /** The memory contents (live; tests and simulations may inspect or preset it). */
  readonly memory: Uint8Array;
  readonly pageSize: number;
  readonly addressBytes: 1 | 2;
  private pointer = 0;

  constructor(options: I2cEepromOptions) {
    const { size, pageSize } = options;
    if (!isPow2(size) || size > 1 << 17)
      throw new RangeError(`EEPROM size must be a power of two ≤ 128 KiB, got ${String(size)}`);
    if (!isPow2(pageSize) || pageSize > size)
      throw new RangeError(`EEPROM page size must be a power of two ≤ size, got ${String(pageSize)}`);
    this.addressBytes = options.addressBytes ?? (size <= 2048 ? 1 : 2);
    const span = this.addressBytes === 1 ? 256 : 65536;
    if (size > span * 8) throw new RangeError(`EEPROM of ${size} bytes needs more than 3 block bits`);
    this.memory = new Uint8Array(size).fill(0xff);
    if (options.initial !== undefined) this.memory.set(options.initial.subarray(0, size));
    this.pageSize = pageSize;
  }

  /** Number of bus addresses the part occupies (block bits taken from the device address). */
  get blocks(): number {
    const span = this.addressBytes === 1 ? 256 : 65536;
    return Math.max(1, this.memory.length / span);
  }

  /** The I2C target for block `block` (the device address's low bits). */
  target(block = 0): I2cTarget {
    if (!Number.isInteger(block) || block < 0 || block >= this.blocks)
      throw new RangeError(`block must be in 0..${this.blocks - 1}`);
    const span = this.addressBytes === 1 ? 256 : 65536;
    return {
      write: (data) => {
        this.write(block * span, data);
        return true;
      },
      read: (length) => this.read(block * span, length),
    };
  }

  /** Attaches every block of the part to `bus`, at `baseAddress` + block. */
  attachTo(bus: I2cBusServer, baseAddress: number): void {
    for (let b = 0; b < this.blocks; b++) bus.attach(baseAddress + b, this.target(b));
  }

  private write(blockBase: number, data: Uint8Array): void {
    const mask = this.memory.length - 1;
    if (data.length < this.addressBytes) {
      // a zero-length write is an address probe (ACK only); a partial address is ignored
      return;
    }
    let word = 0;
    for (let i = 0; i < this.addressBytes; i++) word = (word << 8) | (data[i] ?? 0);
    this.pointer = (blockBase + word) & mask;
    const pageStart = this.pointer & ~(this.pageSize - 1);
    let col = this.pointer - pageStart;
    for (let i = this.addressBytes; i < data.length; i++) {
      // writing past the end of a page wraps to the start of the same page (the 24Cxx roll-over)
      this.memory[pageStart + col] = data[i] ?? 0;
      col = (col + 1) & (this.pageSize - 1);
    }
    if (data.length > this.addressBytes) this.pointer = pageStart + col;
  }

  private read(blockBase: number, length: number): Uint8Array {
    const mask = this.memory.length - 1;
    // a current-address read in another block moves to that block, like the real part
    if (this.addressBytes === 1 && (this.pointer & ~0xff) !== blockBase)
      this.pointer = blockBase | (this.pointer & 0xff);
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) {
      out[i] = this.memory[this.pointer] ?? 0xff;
      this.pointer = (this.pointer + 1) & mask;
    }
    return out;
  }
}

function isPow2(n: number): boolean {
  return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
}
