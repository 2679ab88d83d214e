// Driver side of virtio-spi: transfers on a chip select of a controller owned by the other side.
// A transfer() call is one command: every part but the last keeps chip select asserted
// (cs_change = 0), the last releases it (cs_change = 1). docs/wire-formats.md, "Virtio devices".
import type { RequestChannel } from "../channel.js";
import { vioError } from "../errors.js";
import { requestAll } from "../internal/group.js";
import { viewOf } from "../internal/bytes.js";
import type { SpiConfig } from "../wire/spi.js";
import {
  VIRTIO_SPI_CONFIG_SIZE,
  VIRTIO_SPI_PARAM_ERR,
  VIRTIO_SPI_TRANSFER_HEAD_SIZE,
  VIRTIO_SPI_TRANSFER_RESULT_SIZE,
  VIRTIO_SPI_TRANS_OK,
  decodeSpiConfig,
  putSpiTransferHead,
} from "../wire/spi.js";

/** One part of an SPI command: bytes to send, bytes to receive, or both (full duplex, equal lengths). */
export interface SpiTransfer {
  readonly tx?: Uint8Array;
  readonly rxLength?: number;
}

/** Per-command settings. */
export interface SpiSettings {
  /** SPI mode bits (VirtioSpiMode: CPHA 1, CPOL 2, CS_HIGH 4, LOOP 16); default 0 (mode 0). */
  readonly mode?: number;
  /** Clock in Hz (default 0: the controller's choice). */
  readonly freqHz?: number;
  /** Word size (default 8). */
  readonly bitsPerWord?: number;
}

/** An SPI controller owned by the other side. */
export class SpiClient {
  /** The controller's config space, or undefined when the transport has none. */
  readonly config: SpiConfig | undefined;
  private readonly channel: RequestChannel;

  constructor(channel: RequestChannel) {
    this.channel = channel;
    this.config =
      channel.config.length >= VIRTIO_SPI_CONFIG_SIZE ? decodeSpiConfig(viewOf(channel.config), 0) : undefined;
  }

  /**
   * Runs `transfers` as one command on `chipSelect`; resolves with the bytes received per part
   * (empty for a tx-only part).
   * @throws AmpError ERR_UNSUPPORTED (device answered PARAM_ERR), ERR_IO (TRANS_ERR),
   *   ERR_MALFORMED (short answer), ERR_TIMEOUT / ERR_CLOSED.
   * @throws RangeError for mismatched tx/rx lengths or a bad chip select.
   */
  async transfer(
    chipSelect: number,
    transfers: readonly SpiTransfer[],
    settings: SpiSettings = {},
  ): Promise<Uint8Array[]> {
    if (!Number.isInteger(chipSelect) || chipSelect < 0 || chipSelect > 255)
      throw new RangeError("chipSelect must be in 0..255");
    const n = transfers.length;
    const bitsPerWord = settings.bitsPerWord ?? 8;
    const mode = settings.mode ?? 0;
    const freq = settings.freqHz ?? 0;
    const outs: Uint8Array[] = new Array<Uint8Array>(n);
    const inLengths: number[] = new Array<number>(n);
    for (let i = 0; i < n; i++) {
      const t = transfers[i] as SpiTransfer;
      const txLen = t.tx?.length ?? 0;
      const rxLen = t.rxLength ?? 0;
      if (!Number.isInteger(rxLen) || rxLen < 0) throw new RangeError("rxLength must be a non-negative integer");
      if (txLen > 0 && rxLen > 0 && txLen !== rxLen)
        throw new RangeError(`full-duplex transfer ${i} needs tx and rx of equal length`);
      const out = new Uint8Array(VIRTIO_SPI_TRANSFER_HEAD_SIZE + txLen);
      // single-wire, no delays; every part but the last keeps chip select asserted
      putSpiTransferHead(out, chipSelect, bitsPerWord, i === n - 1 ? 1 : 0, mode, freq);
      if (t.tx !== undefined) out.set(t.tx, VIRTIO_SPI_TRANSFER_HEAD_SIZE);
      outs[i] = out;
      inLengths[i] = rxLen + VIRTIO_SPI_TRANSFER_RESULT_SIZE;
    }
    // one array of answers (ours: the channel made it), replaced in place by the bytes received
    const results = n === 0 ? [] : await requestAll(this.channel, 0, outs, inLengths);
    for (let i = 0; i < n; i++) {
      const w = results[i] as Uint8Array;
      const rxLen = (inLengths[i] as number) - VIRTIO_SPI_TRANSFER_RESULT_SIZE;
      if (w.length !== rxLen + VIRTIO_SPI_TRANSFER_RESULT_SIZE)
        throw vioError(
          "ERR_MALFORMED",
          `virtio-spi device wrote ${w.length} bytes for transfer ${i}, expected ${rxLen + 1}`,
        );
      const result = w[rxLen];
      if (result === VIRTIO_SPI_PARAM_ERR)
        throw vioError(
          "ERR_UNSUPPORTED",
          `SPI transfer ${i} on chip select ${chipSelect}: the controller rejected the parameters`,
        );
      if (result !== VIRTIO_SPI_TRANS_OK)
        throw vioError("ERR_IO", `SPI transfer ${i} on chip select ${chipSelect} failed (result ${String(result)})`);
      results[i] = w.slice(0, rxLen);
    }
    return results;
  }

  /** Full-duplex exchange of `tx` in one command; resolves with as many bytes received. */
  async exchange(chipSelect: number, tx: Uint8Array, settings: SpiSettings = {}): Promise<Uint8Array> {
    const [rx] = await this.transfer(chipSelect, [{ tx, rxLength: tx.length }], settings);
    return rx ?? new Uint8Array(0);
  }

  /** Sends `tx`, then reads `length` bytes, chip select held between (e.g. a flash read command). */
  async writeThenRead(
    chipSelect: number,
    tx: Uint8Array,
    length: number,
    settings: SpiSettings = {},
  ): Promise<Uint8Array> {
    const r = await this.transfer(chipSelect, [{ tx }, { rxLength: length }], settings);
    return r[1] ?? new Uint8Array(0);
  }
}
