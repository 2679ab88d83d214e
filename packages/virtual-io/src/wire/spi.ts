// virtio-spi (device ID 45): struct virtio_spi_config, struct spi_transfer_head and the result
// byte; docs/wire-formats.md, "Virtio devices" (the virtio spec's device-types/spi). Debian's linux-libc-dev does not
// ship <linux/virtio_spi.h> yet, so the conformance test checks these against that section by hand.
import { LE, need, room } from "../internal/bytes.js";

/** VIRTIO_ID_SPI. */
export const VIRTIO_ID_SPI = 45;
/** Result byte: VIRTIO_SPI_TRANS_OK. */
export const VIRTIO_SPI_TRANS_OK = 0;
/** Result byte: VIRTIO_SPI_PARAM_ERR (bad parameters, also a tx/rx length mismatch). */
export const VIRTIO_SPI_PARAM_ERR = 1;
/** Result byte: VIRTIO_SPI_TRANS_ERR (the transfer failed). */
export const VIRTIO_SPI_TRANS_ERR = 2;
/** Transfer head `mode` bits. */
export const VirtioSpiMode = { CPHA: 1, CPOL: 2, CS_HIGH: 4, LSB_FIRST: 8, LOOP: 16 } as const;

/** sizeof(struct virtio_spi_config). */
export const VIRTIO_SPI_CONFIG_SIZE = 32;
const OFF_CS_MAX = 0,
  OFF_CS_CHANGE_SUPPORTED = 1,
  OFF_TX_NBITS_SUP = 2,
  OFF_RX_NBITS_SUP = 3;
const OFF_BPW_MASK = 4,
  OFF_MODE_FUNC = 8,
  OFF_MAX_FREQ = 12,
  OFF_MAX_WORD_DELAY = 16;
const OFF_MAX_CS_SETUP = 20,
  OFF_MAX_CS_HOLD = 24,
  OFF_MAX_CS_INACTIVE = 28;

/** struct virtio_spi_config (read-only config space). */
export interface SpiConfig {
  /** `cs_max_number`: number of chip selects. */
  readonly csMaxNumber: number;
  /** `cs_change_supported`. */
  readonly csChangeSupported: number;
  /** `tx_nbits_supported`: bit0 DUAL, bit1 QUAD, bit2 OCTAL. */
  readonly txNbitsSupported: number;
  /** `rx_nbits_supported`. */
  readonly rxNbitsSupported: number;
  /** `bits_per_word_mask`: bit n ⇒ n+1 bits per word; 0 = any. */
  readonly bitsPerWordMask: number;
  /** `mode_func_supported`. */
  readonly modeFuncSupported: number;
  /** `max_freq_hz`, 0 = no limit. */
  readonly maxFreqHz: number;
  /** `max_word_delay_ns`. */
  readonly maxWordDelayNs: number;
  /** `max_cs_setup_ns`. */
  readonly maxCsSetupNs: number;
  /** `max_cs_hold_ns`. */
  readonly maxCsHoldNs: number;
  /** `max_cs_inactive_ns`. */
  readonly maxCsInactiveNs: number;
}

/** Decodes struct virtio_spi_config. @throws AmpError ERR_TRUNCATED. */
export function decodeSpiConfig(view: DataView, offset: number): SpiConfig {
  need(view, offset, VIRTIO_SPI_CONFIG_SIZE, "virtio_spi_config");
  return {
    csMaxNumber: view.getUint8(offset + OFF_CS_MAX),
    csChangeSupported: view.getUint8(offset + OFF_CS_CHANGE_SUPPORTED),
    txNbitsSupported: view.getUint8(offset + OFF_TX_NBITS_SUP),
    rxNbitsSupported: view.getUint8(offset + OFF_RX_NBITS_SUP),
    bitsPerWordMask: view.getUint32(offset + OFF_BPW_MASK, LE),
    modeFuncSupported: view.getUint32(offset + OFF_MODE_FUNC, LE),
    maxFreqHz: view.getUint32(offset + OFF_MAX_FREQ, LE),
    maxWordDelayNs: view.getUint32(offset + OFF_MAX_WORD_DELAY, LE),
    maxCsSetupNs: view.getUint32(offset + OFF_MAX_CS_SETUP, LE),
    maxCsHoldNs: view.getUint32(offset + OFF_MAX_CS_HOLD, LE),
    maxCsInactiveNs: view.getUint32(offset + OFF_MAX_CS_INACTIVE, LE),
  };
}

/** Encodes struct virtio_spi_config. */
export function encodeSpiConfig(value: SpiConfig, view: DataView, offset: number): void {
  room(view, offset, VIRTIO_SPI_CONFIG_SIZE, "virtio_spi_config");
  view.setUint8(offset + OFF_CS_MAX, value.csMaxNumber);
  view.setUint8(offset + OFF_CS_CHANGE_SUPPORTED, value.csChangeSupported);
  view.setUint8(offset + OFF_TX_NBITS_SUP, value.txNbitsSupported);
  view.setUint8(offset + OFF_RX_NBITS_SUP, value.rxNbitsSupported);
  view.setUint32(offset + OFF_BPW_MASK, value.bitsPerWordMask >>> 0, LE);
  view.setUint32(offset + OFF_MODE_FUNC, value.modeFuncSupported >>> 0, LE);
  view.setUint32(offset + OFF_MAX_FREQ, value.maxFreqHz >>> 0, LE);
  view.setUint32(offset + OFF_MAX_WORD_DELAY, value.maxWordDelayNs >>> 0, LE);
  view.setUint32(offset + OFF_MAX_CS_SETUP, value.maxCsSetupNs >>> 0, LE);
  view.setUint32(offset + OFF_MAX_CS_HOLD, value.maxCsHoldNs >>> 0, LE);
  view.setUint32(offset + OFF_MAX_CS_INACTIVE, value.maxCsInactiveNs >>> 0, LE);
}

/** sizeof(struct spi_transfer_head). */
export const VIRTIO_SPI_TRANSFER_HEAD_SIZE = 32;
const OFF_CHIP_SELECT_ID = 0,
  OFF_BITS_PER_WORD = 1,
  OFF_CS_CHANGE = 2,
  OFF_TX_NBITS = 3,
  OFF_RX_NBITS = 4;
const OFF_RESERVED = 5; // u8 reserved[3]
const OFF_MODE = 8,
  OFF_FREQ = 12,
  OFF_WORD_DELAY = 16,
  OFF_CS_SETUP = 20,
  OFF_CS_HOLD = 24,
  OFF_CS_INACTIVE = 28;

/** struct spi_transfer_head (device-readable, first part of every request). */
export interface SpiTransferHead {
  /** `chip_select_id`. */
  readonly chipSelectId: number;
  /** `bits_per_word` (0 is treated as 8 by our device side). */
  readonly bitsPerWord: number;
  /** `cs_change`: 1 = deselect the device before the next transfer. */
  readonly csChange: number;
  /** `tx_nbits`: 0/1 single, 2 dual, 4 quad, 8 octal. */
  readonly txNbits: number;
  /** `rx_nbits`. */
  readonly rxNbits: number;
  /** `mode`: {@link VirtioSpiMode} bits. */
  readonly mode: number;
  /** `freq` in Hz. */
  readonly freq: number;
  /** `word_delay_ns`. */
  readonly wordDelayNs: number;
  /** `cs_setup_ns`. */
  readonly csSetupNs: number;
  /** `cs_delay_hold_ns`. */
  readonly csDelayHoldNs: number;
  /** `cs_change_delay_inactive_ns`. */
  readonly csChangeDelayInactiveNs: number;
}

/** Decodes struct spi_transfer_head (reserved bytes are ignored, as the spec asks of devices). @throws AmpError ERR_TRUNCATED. */
export function decodeSpiTransferHead(view: DataView, offset: number): SpiTransferHead {
  need(view, offset, VIRTIO_SPI_TRANSFER_HEAD_SIZE, "spi_transfer_head");
  return {
    chipSelectId: view.getUint8(offset + OFF_CHIP_SELECT_ID),
    bitsPerWord: view.getUint8(offset + OFF_BITS_PER_WORD),
    csChange: view.getUint8(offset + OFF_CS_CHANGE),
    txNbits: view.getUint8(offset + OFF_TX_NBITS),
    rxNbits: view.getUint8(offset + OFF_RX_NBITS),
    mode: view.getUint32(offset + OFF_MODE, LE),
    freq: view.getUint32(offset + OFF_FREQ, LE),
    wordDelayNs: view.getUint32(offset + OFF_WORD_DELAY, LE),
    csSetupNs: view.getUint32(offset + OFF_CS_SETUP, LE),
    csDelayHoldNs: view.getUint32(offset + OFF_CS_HOLD, LE),
    csChangeDelayInactiveNs: view.getUint32(offset + OFF_CS_INACTIVE, LE),
  };
}

/** Encodes struct spi_transfer_head (reserved bytes written as 0). */
export function encodeSpiTransferHead(value: SpiTransferHead, view: DataView, offset: number): void {
  room(view, offset, VIRTIO_SPI_TRANSFER_HEAD_SIZE, "spi_transfer_head");
  view.setUint8(offset + OFF_CHIP_SELECT_ID, value.chipSelectId);
  view.setUint8(offset + OFF_BITS_PER_WORD, value.bitsPerWord);
  view.setUint8(offset + OFF_CS_CHANGE, value.csChange);
  view.setUint8(offset + OFF_TX_NBITS, value.txNbits);
  view.setUint8(offset + OFF_RX_NBITS, value.rxNbits);
  for (let i = 0; i < 3; i++) view.setUint8(offset + OFF_RESERVED + i, 0);
  view.setUint32(offset + OFF_MODE, value.mode >>> 0, LE);
  view.setUint32(offset + OFF_FREQ, value.freq >>> 0, LE);
  view.setUint32(offset + OFF_WORD_DELAY, value.wordDelayNs >>> 0, LE);
  view.setUint32(offset + OFF_CS_SETUP, value.csSetupNs >>> 0, LE);
  view.setUint32(offset + OFF_CS_HOLD, value.csDelayHoldNs >>> 0, LE);
  view.setUint32(offset + OFF_CS_INACTIVE, value.csChangeDelayInactiveNs >>> 0, LE);
}

/**
 * Writes struct spi_transfer_head at the start of `out` (at least 32 bytes, all zero on entry)
 * for a single-wire transfer with no delays: the hot path's form of {@link encodeSpiTransferHead},
 * without a DataView or a head object per request.
 */
export function putSpiTransferHead(
  out: Uint8Array,
  chipSelectId: number,
  bitsPerWord: number,
  csChange: number,
  mode: number,
  freq: number,
): void {
  if (out.length < VIRTIO_SPI_TRANSFER_HEAD_SIZE) throw new RangeError("spi_transfer_head needs 32 bytes");
  out[OFF_CHIP_SELECT_ID] = chipSelectId;
  out[OFF_BITS_PER_WORD] = bitsPerWord;
  out[OFF_CS_CHANGE] = csChange;
  out[OFF_TX_NBITS] = 1;
  out[OFF_RX_NBITS] = 1;
  putU32(out, OFF_MODE, mode);
  putU32(out, OFF_FREQ, freq);
}

function putU32(out: Uint8Array, at: number, v: number): void {
  out[at] = v & 0xff;
  out[at + 1] = (v >>> 8) & 0xff;
  out[at + 2] = (v >>> 16) & 0xff;
  out[at + 3] = (v >>> 24) & 0xff;
}

/** sizeof(struct spi_transfer_result): `u8 result`. */
export const VIRTIO_SPI_TRANSFER_RESULT_SIZE = 1;
