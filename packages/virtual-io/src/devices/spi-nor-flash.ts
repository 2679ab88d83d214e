// An SPI NOR flash model with the common command set: JEDEC ID, read, fast read, write
// enable/disable, read status (WIP, WEL), page program, 4 KiB sector erase, 64 KiB block erase
// and chip erase. Programming can only clear bits (1 → 0); erasing sets them back to 0xff.
// Program and erase run when chip select is released, as on real parts, and leave WIP set for a
// configurable number of status reads so that a driver's polling loop is exercised.
import type { SpiTarget } from "./spi-server.js";

/** Command opcodes understood by {@link SpiNorFlash}. */
export const SpiNorCmd = {
  WRITE_STATUS: 0x01,
  PAGE_PROGRAM: 0x02,
  READ: 0x03,
  WRITE_DISABLE: 0x04,
  READ_STATUS: 0x05,
  WRITE_ENABLE: 0x06,
  FAST_READ: 0x0b,
  SECTOR_ERASE_4K: 0x20,
  CHIP_ERASE: 0xc7,
  CHIP_ERASE_ALT: 0x60,
  READ_JEDEC_ID: 0x9f,
  BLOCK_ERASE_64K: 0xd8,
} as const;
/** Status register bits. */
export const SpiNorStatus = { WIP: 0x01, WEL: 0x02 } as const;

/** Options of {@link SpiNorFlash}. */
export interface SpiNorFlashOptions {
  /** Size in bytes: a power of two, 64 KiB .. 16 MiB (3-byte addressing). Default 1 MiB. */
  readonly size?: number;
  /** JEDEC ID bytes (manufacturer, type, capacity); default a Winbond-style EF 40 14 for 1 MiB. */
  readonly jedecId?: readonly [number, number, number];
  /** Status reads that still show WIP after a program or erase (default 1). */
  readonly busyPolls?: number;
}

const PAGE = 256,
  SECTOR = 4096,
  BLOCK = 65536;

/** A simulated SPI NOR flash; attach it with `spiBus.attach(cs, flash)`. */
export class SpiNorFlash implements SpiTarget {
  /** The array contents (live). */
  readonly memory: Uint8Array;
  readonly jedecId: readonly [number, number, number];
  private readonly busyPolls: number;
  private busy = 0;
  private wel = false;
  // per-command state, reset on select
  private cmd = -1;
  private addr = 0;
  private addrBytes = 0;
  private dummy = 0;
  private idIndex = 0;
  private readonly pageBuffer = new Uint8Array(PAGE);
  private column = 0;
  private programmed = false;

  constructor(options: SpiNorFlashOptions = {}) {
    const size = options.size ?? 1 << 20;
    if (!Number.isInteger(size) || size < BLOCK || size > 1 << 24 || (size & (size - 1)) !== 0)
      throw new RangeError("flash size must be a power of two in 64 KiB..16 MiB");
    this.memory = new Uint8Array(size).fill(0xff);
    this.jedecId = options.jedecId ?? [0xef, 0x40, Math.log2(size)];
    this.busyPolls = options.busyPolls ?? 1;
    if (!Number.isInteger(this.busyPolls) || this.busyPolls < 0)
      throw new RangeError("busyPolls must be a non-negative integer");
  }

  /** The status register (bit 0 WIP, bit 1 WEL). */
  get status(): number {
    return (this.busy > 0 ? SpiNorStatus.WIP : 0) | (this.wel ? SpiNorStatus.WEL : 0);
  }

  select(): void {
    this.cmd = -1;
    this.addr = 0;
    this.addrBytes = 0;
    this.dummy = 0;
    this.idIndex = 0;
    this.pageBuffer.fill(0xff);
    this.programmed = false;
  }

  exchange(tx: Uint8Array, length: number): Uint8Array {
    const rx = new Uint8Array(length);
    for (let i = 0; i < length; i++) rx[i] = this.step(tx[i] ?? 0);
    return rx;
  }

  deselect(): void {
    const complete = this.addrBytes === 3;
    const mask = this.memory.length - 1;
    if (this.busy === 0 && this.wel) {
      switch (this.cmd) {
        case SpiNorCmd.PAGE_PROGRAM:
          if (complete && this.programmed) {
            // the page buffer was filled with the address wrapping inside the page; bytes never
            // sent stay 0xff, which leaves the array unchanged (programming only clears bits)
            const pageStart = this.addr & ~(PAGE - 1) & mask;
            for (let i = 0; i < PAGE; i++)
              this.memory[pageStart + i] = (this.memory[pageStart + i] ?? 0xff) & (this.pageBuffer[i] ?? 0xff);
            this.finishWrite();
          }
          break;
        case SpiNorCmd.SECTOR_ERASE_4K:
          if (complete) this.erase(this.addr & mask & ~(SECTOR - 1), SECTOR);
          break;
        case SpiNorCmd.BLOCK_ERASE_64K:
          if (complete) this.erase(this.addr & mask & ~(BLOCK - 1), BLOCK);
          break;
        case SpiNorCmd.CHIP_ERASE:
        case SpiNorCmd.CHIP_ERASE_ALT:
          if (this.addrBytes === 0) this.erase(0, this.memory.length);
          break;
        default:
          break;
      }
    }
    this.cmd = -1;
  }

  private erase(start: number, len: number): void {
    this.memory.fill(0xff, start, start + len);
    this.finishWrite();
  }

  private finishWrite(): void {
    this.wel = false;
    this.busy = this.busyPolls;
  }

  private step(b: number): number {
    if (this.cmd === -1) {
      this.cmd = b;
      if (this.busy > 0 && b !== SpiNorCmd.READ_STATUS) {
        this.cmd = -2; // busy: everything but READ_STATUS is ignored until the operation ends
        return 0xff;
      }
      if (b === SpiNorCmd.WRITE_ENABLE) this.wel = true;
      if (b === SpiNorCmd.WRITE_DISABLE) this.wel = false;
      return 0xff;
    }
    switch (this.cmd) {
      case SpiNorCmd.READ_STATUS: {
        const s = this.status;
        if (this.busy > 0) this.busy--;
        return s;
      }
      case SpiNorCmd.READ_JEDEC_ID:
        return this.jedecId[this.idIndex++] ?? 0x00;
      case SpiNorCmd.READ:
      case SpiNorCmd.FAST_READ:
        if (this.addrBytes < 3) return this.takeAddr(b);
        if (this.cmd === SpiNorCmd.FAST_READ && this.dummy < 1) {
          this.dummy++;
          return 0xff;
        }
        return this.readByte();
      case SpiNorCmd.PAGE_PROGRAM:
        if (this.addrBytes < 3) {
          this.takeAddr(b);
          this.column = this.addr & (PAGE - 1);
          return 0xff;
        }
        this.pageBuffer[this.column] = b;
        this.column = (this.column + 1) & (PAGE - 1);
        this.programmed = true;
        return 0xff;
      case SpiNorCmd.SECTOR_ERASE_4K:
      case SpiNorCmd.BLOCK_ERASE_64K:
        if (this.addrBytes < 3) return this.takeAddr(b);
        return 0xff;
      default:
        if (this.cmd === SpiNorCmd.CHIP_ERASE || this.cmd === SpiNorCmd.CHIP_ERASE_ALT) this.addrBytes++; // extra bytes cancel it
        return 0xff;
    }
  }

  private takeAddr(b: number): number {
    this.addr = ((this.addr << 8) | b) & 0xffffff;
    this.addrBytes++;
    return 0xff;
  }

  private readByte(): number {
    const mask = this.memory.length - 1;
    const v = this.memory[this.addr & mask] ?? 0xff;
    this.addr = (this.addr + 1) & mask; // sequential reads wrap at the end of the array
    return v;
  }
}
