// Driver side of virtio-i2c: typed transfers over any RequestChannel. One transfer() is one
// group of requests linked with FAIL_NEXT (a combined transaction with repeated starts), queued
// back to back so no other caller's request can come between them. docs/wire-formats.md, "Virtio devices".
import type { RequestChannel } from "../channel.js";
import { vioError } from "../errors.js";
import { requestAll } from "../internal/group.js";
import {
  VIRTIO_I2C_F_ZERO_LENGTH_REQUEST,
  VIRTIO_I2C_FLAGS_FAIL_NEXT,
  VIRTIO_I2C_FLAGS_M_RD,
  VIRTIO_I2C_IN_HDR_SIZE,
  VIRTIO_I2C_MSG_OK,
  VIRTIO_I2C_OUT_HDR_SIZE,
  encodeI2cAddress,
  putI2cOutHdr,
} from "../wire/i2c.js";

/** One message of an I2C transfer: a write of bytes, or a read of a number of bytes. */
export type I2cMessage =
  | { readonly address: number; readonly tenBit?: boolean; readonly write: Uint8Array }
  | { readonly address: number; readonly tenBit?: boolean; readonly read: number };

/** Options of {@link I2cClient}. */
export interface I2cClientOptions {
  /** Largest read or write in one message (default 4096). Larger throws RangeError. */
  readonly maxTransferSize?: number;
}

/**
 * An I2C bus owned by the other side.
 * @example const [id] = await i2c.transfer([{ address: 0x50, write: Uint8Array.of(0) }, { address: 0x50, read: 1 }]).then((r) => r.slice(1));
 */
export class I2cClient {
  private readonly channel: RequestChannel;
  private readonly maxTransferSize: number;

  /**
   * @throws AmpError ERR_UNSUPPORTED when the device does not offer
   *   VIRTIO_I2C_F_ZERO_LENGTH_REQUEST (the spec tells drivers to refuse such a device).
   */
  constructor(channel: RequestChannel, options: I2cClientOptions = {}) {
    if ((channel.features & (1n << BigInt(VIRTIO_I2C_F_ZERO_LENGTH_REQUEST))) === 0n) {
      throw vioError("ERR_UNSUPPORTED", "virtio-i2c device does not offer VIRTIO_I2C_F_ZERO_LENGTH_REQUEST");
    }
    this.channel = channel;
    this.maxTransferSize = options.maxTransferSize ?? 4096;
  }

  /**
   * Runs `messages` as one group. Resolves with one entry per message: the bytes read, or an
   * empty array for a write.
   * @throws AmpError ERR_NACK when the device fails a message (NACK or bus error); the message's
   *   index is in the error message. ERR_TIMEOUT / ERR_CLOSED from the channel.
   * @throws RangeError for a bad address or length (caller misuse).
   */
  async transfer(messages: readonly I2cMessage[]): Promise<Uint8Array[]> {
    const n = messages.length;
    if (n === 0) return [];
    // Encode and submit every request before awaiting any: the group reaches the device back
    // to back. A bad message throws before anything is submitted.
    const outs: Uint8Array[] = new Array<Uint8Array>(n);
    const inLengths: number[] = new Array<number>(n);
    for (let i = 0; i < n; i++) {
      const m = messages[i] as I2cMessage;
      const flags = i === n - 1 ? 0 : VIRTIO_I2C_FLAGS_FAIL_NEXT;
      const addr = encodeI2cAddress(m.address, m.tenBit ?? false);
      if ("write" in m) {
        if (m.write.length > this.maxTransferSize)
          throw new RangeError(`I2C write of ${m.write.length} bytes exceeds maxTransferSize ${this.maxTransferSize}`);
        const out = new Uint8Array(VIRTIO_I2C_OUT_HDR_SIZE + m.write.length);
        putI2cOutHdr(out, addr, flags);
        out.set(m.write, VIRTIO_I2C_OUT_HDR_SIZE);
        outs[i] = out;
        inLengths[i] = VIRTIO_I2C_IN_HDR_SIZE;
      } else {
        if (!Number.isInteger(m.read) || m.read < 0 || m.read > this.maxTransferSize)
          throw new RangeError(`I2C read length must be in 0..${this.maxTransferSize}`);
        const out = new Uint8Array(VIRTIO_I2C_OUT_HDR_SIZE);
        putI2cOutHdr(out, addr, flags | VIRTIO_I2C_FLAGS_M_RD);
        outs[i] = out;
        inLengths[i] = m.read + VIRTIO_I2C_IN_HDR_SIZE;
      }
    }
    // one array of answers (ours: the channel made it), replaced in place by the bytes read
    const results = await requestAll(this.channel, 0, outs, inLengths);
    for (let i = 0; i < n; i++) {
      const written = results[i] as Uint8Array;
      const readLength = (inLengths[i] as number) - VIRTIO_I2C_IN_HDR_SIZE;
      if (written.length !== readLength + VIRTIO_I2C_IN_HDR_SIZE) {
        throw vioError(
          "ERR_MALFORMED",
          `virtio-i2c device wrote ${written.length} bytes for message ${i}, expected ${readLength + VIRTIO_I2C_IN_HDR_SIZE}`,
        );
      }
      if (written[readLength] !== VIRTIO_I2C_MSG_OK) {
        const m = messages[i];
        throw vioError(
          "ERR_NACK",
          `I2C message ${i} to 0x${(m?.address ?? 0).toString(16)} failed (NACK or bus error)`,
        );
      }
      results[i] = written.slice(0, readLength);
    }
    return results;
  }

  /** Writes `bytes` to `address`. @throws AmpError ERR_NACK. */
  async write(address: number, bytes: Uint8Array): Promise<void> {
    await this.transfer([{ address, write: bytes }]);
  }

  /** Reads `length` bytes from `address`. @throws AmpError ERR_NACK. */
  async read(address: number, length: number): Promise<Uint8Array> {
    const [r] = await this.transfer([{ address, read: length }]);
    return r ?? new Uint8Array(0);
  }

  /** Writes `bytes` then reads `length` bytes, with a repeated start (one group). @throws AmpError ERR_NACK. */
  async writeRead(address: number, bytes: Uint8Array, length: number): Promise<Uint8Array> {
    const r = await this.transfer([
      { address, write: bytes },
      { address, read: length },
    ]);
    return r[1] ?? new Uint8Array(0);
  }

  /** True when a device acknowledges `address` (a zero-length write, like i2cdetect -q). */
  async probe(address: number): Promise<boolean> {
    try {
      await this.transfer([{ address, write: new Uint8Array(0) }]);
      return true;
    } catch (e) {
      if ((e as { code?: unknown }).code === "ERR_NACK") return false;
      throw e;
    }
  }
}
