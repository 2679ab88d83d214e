// Device side of virtio-spi: a controller with targets on chip selects. Each request is one
// transfer: spi_transfer_head, then the tx bytes (readable) and rx bytes (writable), then the
// result byte. docs/wire-formats.md, "Virtio devices".
//
// Chip select: the head's cs_change says whether to deselect the device before the next transfer
// (the spec's wording). So cs_change = 1 ends the command after this transfer, and cs_change = 0
// keeps the device selected so the next transfer to it continues the same command. A transfer to
// another chip select always deselects the previous one.
import type { DeviceServer, ReplyFn } from "../channel.js";
import { viewOf } from "../internal/bytes.js";
import type { SpiConfig } from "../wire/spi.js";
import {
  VIRTIO_ID_SPI,
  VIRTIO_SPI_CONFIG_SIZE,
  VIRTIO_SPI_PARAM_ERR,
  VIRTIO_SPI_TRANSFER_HEAD_SIZE,
  VIRTIO_SPI_TRANSFER_RESULT_SIZE,
  VIRTIO_SPI_TRANS_ERR,
  VIRTIO_SPI_TRANS_OK,
  VirtioSpiMode,
  decodeSpiTransferHead,
  encodeSpiConfig,
} from "../wire/spi.js";

/** One device on a chip select. */
export interface SpiTarget {
  /** Chip select asserted (start of a command). */
  select?(): void;
  /**
   * Full-duplex exchange: the target receives `tx` (zeros when the driver only reads) and
   * returns `length` bytes it drives on MISO.
   */
  exchange(tx: Uint8Array, length: number): Uint8Array;
  /** Chip select released (end of a command: programming and erasing happen here). */
  deselect?(): void;
}

/** Options of {@link SpiBusServer}. */
export interface SpiBusServerOptions {
  /** Number of chip selects (cs_max_number, default 4). */
  readonly chipSelects?: number;
  /** Largest tx or rx buffer accepted (default 65536); larger transfers get PARAM_ERR. */
  readonly maxTransferSize?: number;
  /** max_freq_hz advertised and enforced (default 0 = no limit). */
  readonly maxFreqHz?: number;
}

/** A virtio-spi controller (8-bit words, single-wire, modes 0-3, loopback). */
export class SpiBusServer implements DeviceServer {
  readonly deviceId: number = VIRTIO_ID_SPI;
  readonly numQueues: number = 1;
  readonly features: bigint = 0n;
  private readonly targets = new Map<number, SpiTarget>();
  private readonly chipSelects: number;
  private readonly maxTransferSize: number;
  private readonly maxFreqHz: number;
  private selected: number | undefined;

  constructor(options: SpiBusServerOptions = {}) {
    this.chipSelects = options.chipSelects ?? 4;
    if (!Number.isInteger(this.chipSelects) || this.chipSelects < 1 || this.chipSelects > 255)
      throw new RangeError("chipSelects must be in 1..255");
    this.maxTransferSize = options.maxTransferSize ?? 65536;
    this.maxFreqHz = options.maxFreqHz ?? 0;
  }

  /** The SpiConfig this controller advertises. */
  get spiConfig(): SpiConfig {
    return {
      csMaxNumber: this.chipSelects,
      csChangeSupported: 1,
      txNbitsSupported: 0,
      rxNbitsSupported: 0,
      bitsPerWordMask: 1 << 7, // 8 bits per word only
      modeFuncSupported: 0b11 | (0b11 << 2) | (1 << 4) | (1 << 6), // CPHA 0/1, CPOL 0/1, CS_HIGH, LOOP
      maxFreqHz: this.maxFreqHz,
      maxWordDelayNs: 0,
      maxCsSetupNs: 0,
      maxCsHoldNs: 0,
      maxCsInactiveNs: 0,
    };
  }

  get config(): Uint8Array {
    const b = new Uint8Array(VIRTIO_SPI_CONFIG_SIZE);
    encodeSpiConfig(this.spiConfig, viewOf(b), 0);
    return b;
  }

  /** Puts `target` on chip select `cs`. @throws RangeError when `cs` is out of range or taken. */
  attach(cs: number, target: SpiTarget): void {
    if (!Number.isInteger(cs) || cs < 0 || cs >= this.chipSelects)
      throw new RangeError(`chip select must be in 0..${this.chipSelects - 1}`);
    if (this.targets.has(cs)) throw new RangeError(`chip select ${cs} is already in use`);
    this.targets.set(cs, target);
  }

  handle(queue: number, out: Uint8Array, inLength: number, reply: ReplyFn): void {
    if (queue !== 0 || inLength < VIRTIO_SPI_TRANSFER_RESULT_SIZE) {
      reply(new Uint8Array(0));
      return;
    }
    const answer = new Uint8Array(inLength);
    answer[inLength - 1] = this.run(out, answer.subarray(0, inLength - 1));
    reply(answer);
  }

  reset(): void {
    this.release();
  }

  private run(out: Uint8Array, rx: Uint8Array): number {
    if (out.length < VIRTIO_SPI_TRANSFER_HEAD_SIZE) return VIRTIO_SPI_PARAM_ERR;
    const head = decodeSpiTransferHead(viewOf(out), 0);
    const tx = out.subarray(VIRTIO_SPI_TRANSFER_HEAD_SIZE);
    if (head.chipSelectId >= this.chipSelects) return VIRTIO_SPI_PARAM_ERR;
    if (head.bitsPerWord !== 0 && head.bitsPerWord !== 8) return VIRTIO_SPI_PARAM_ERR;
    if (head.txNbits > 1 || head.rxNbits > 1) return VIRTIO_SPI_PARAM_ERR;
    if ((head.mode & ~0x1f) !== 0 || (head.mode & VirtioSpiMode.LSB_FIRST) !== 0) return VIRTIO_SPI_PARAM_ERR;
    if (head.csChange > 1) return VIRTIO_SPI_PARAM_ERR;
    if (this.maxFreqHz !== 0 && head.freq > this.maxFreqHz) return VIRTIO_SPI_PARAM_ERR;
    // full duplex needs tx and rx of equal length (the spec's PARAM_ERR case)
    if (tx.length > 0 && rx.length > 0 && tx.length !== rx.length) return VIRTIO_SPI_PARAM_ERR;
    const length = Math.max(tx.length, rx.length);
    if (length > this.maxTransferSize) return VIRTIO_SPI_PARAM_ERR;
    if ((head.mode & VirtioSpiMode.LOOP) !== 0) {
      rx.set(tx.subarray(0, rx.length));
      return VIRTIO_SPI_TRANS_OK;
    }
    const target = this.targets.get(head.chipSelectId);
    if (target === undefined) return VIRTIO_SPI_TRANS_ERR;
    try {
      if (this.selected !== head.chipSelectId) {
        this.release();
        target.select?.();
        this.selected = head.chipSelectId;
      }
      const txFull = tx.length === length ? tx : new Uint8Array(length);
      const got = target.exchange(txFull, length);
      if (got.length !== length) throw new RangeError("SPI target returned the wrong number of bytes");
      rx.set(got.subarray(0, rx.length));
      if (head.csChange === 1) this.release();
      return VIRTIO_SPI_TRANS_OK;
    } catch {
      // a model or hardware hook that throws fails the transfer, never the server
      this.release();
      return VIRTIO_SPI_TRANS_ERR;
    }
  }

  private release(): void {
    const cs = this.selected;
    this.selected = undefined;
    if (cs === undefined) return;
    try {
      this.targets.get(cs)?.deselect?.();
    } catch {
      // ignored: see run()
    }
  }
}
