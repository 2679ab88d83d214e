// Device side of virtio-i2c: takes requests (out_hdr [+ write buffer] | [read buffer +] in_hdr),
// validates them, and runs them against the I2C targets attached at each address: simulated
// models or hooks into a real bus. docs/wire-formats.md, "Virtio devices".
import type { DeviceServer, ReplyFn } from "../channel.js";
import {
  VIRTIO_I2C_F_ZERO_LENGTH_REQUEST,
  VIRTIO_I2C_FLAGS_FAIL_NEXT,
  VIRTIO_I2C_FLAGS_M_RD,
  VIRTIO_I2C_IN_HDR_SIZE,
  VIRTIO_I2C_MSG_ERR,
  VIRTIO_I2C_MSG_OK,
  VIRTIO_I2C_OUT_HDR_SIZE,
  VIRTIO_ID_I2C_ADAPTER,
  i2cOutHdrFlags,
  i2cTargetKey,
} from "../wire/i2c.js";

/**
 * One device on the simulated (or real) bus. A write or read that returns false/undefined is a
 * NACK. `stop()` is called at the end of each request group (a STOP condition on the bus).
 */
export interface I2cTarget {
  /** A write of `data` (empty for a zero-length probe). Return false to NACK. */
  write(data: Uint8Array): boolean;
  /** A read of `length` bytes; return exactly `length` bytes, or undefined to NACK. */
  read(length: number): Uint8Array | undefined;
  /** End of a transaction (optional). */
  stop?(): void;
}

/** Options of {@link I2cBusServer}. */
export interface I2cBusServerOptions {
  /** Largest read or write buffer accepted (default 4096); larger requests get MSG_ERR. */
  readonly maxTransferSize?: number;
}

/** A virtio-i2c device: an I2C bus with targets attached at 7-bit or 10-bit addresses. */
export class I2cBusServer implements DeviceServer {
  readonly deviceId: number = VIRTIO_ID_I2C_ADAPTER;
  readonly numQueues: number = 1;
  readonly features: bigint = 1n << BigInt(VIRTIO_I2C_F_ZERO_LENGTH_REQUEST);
  private readonly targets = new Map<number, I2cTarget>();
  private readonly maxTransferSize: number;
  private failingGroup = false;
  private lastTarget: I2cTarget | undefined;

  constructor(options: I2cBusServerOptions = {}) {
    this.maxTransferSize = options.maxTransferSize ?? 4096;
  }

  /** virtio-i2c has no config space. */
  get config(): Uint8Array {
    return new Uint8Array(0);
  }

  /**
   * Attaches `target` at `address` (7-bit unless `tenBit`).
   * @throws RangeError for a bad address or one already in use.
   */
  attach(address: number, target: I2cTarget, tenBit = false): void {
    const key = keyOf(address, tenBit);
    if (this.targets.has(key)) throw new RangeError(`I2C address 0x${address.toString(16)} is already in use`);
    this.targets.set(key, target);
  }

  /** Removes the target at `address`; later requests to it get NACKed. */
  detach(address: number, tenBit = false): void {
    this.targets.delete(keyOf(address, tenBit));
  }

  handle(queue: number, out: Uint8Array, inLength: number, reply: ReplyFn): void {
    if (queue !== 0 || inLength < VIRTIO_I2C_IN_HDR_SIZE) {
      reply(new Uint8Array(0)); // no room for a status: nothing we can say
      return;
    }
    const answer = new Uint8Array(inLength);
    const ok = this.run(out, answer);
    answer[inLength - 1] = ok ? VIRTIO_I2C_MSG_OK : VIRTIO_I2C_MSG_ERR;
    reply(answer);
  }

  reset(): void {
    this.failingGroup = false;
    this.endGroup();
  }

  // Runs one request; true = OK. `answer` holds the read buffer (all but its last byte).
  private run(out: Uint8Array, answer: Uint8Array): boolean {
    // the header rules of decodeI2cOutHdr / decodeI2cAddress, read straight from the bytes
    const flags = i2cOutHdrFlags(out);
    const key = flags < 0 ? -1 : i2cTargetKey(out);
    if (key < 0) {
      this.failingGroup = false;
      this.endGroup();
      return false;
    }
    const target = this.targets.get(key);
    const failNext = (flags & VIRTIO_I2C_FLAGS_FAIL_NEXT) !== 0;
    const ok = !this.failingGroup && this.transfer(flags, target, out, answer);
    // FAIL_NEXT links this request with the next one: after a failure, the rest of the group fails
    this.failingGroup = !ok && failNext;
    if (!failNext) this.endGroup();
    return ok;
  }

  private transfer(flags: number, target: I2cTarget | undefined, out: Uint8Array, answer: Uint8Array): boolean {
    const readLength = answer.length - VIRTIO_I2C_IN_HDR_SIZE;
    if (target === undefined) return false;
    if (target !== this.lastTarget) this.endGroup();
    this.lastTarget = target;
    // A target model or hardware hook that throws is a failed transfer (MSG_ERR), never a crash
    // of the server loop.
    if ((flags & VIRTIO_I2C_FLAGS_M_RD) !== 0) {
      // a read carries no write buffer: anything after out_hdr is malformed
      if (out.length !== VIRTIO_I2C_OUT_HDR_SIZE || readLength > this.maxTransferSize) return false;
      let data: Uint8Array | undefined;
      try {
        data = target.read(readLength);
      } catch {
        return false;
      }
      if (data?.length !== readLength) return false;
      answer.set(data, 0);
      return true;
    }
    if (readLength !== 0 || out.length - VIRTIO_I2C_OUT_HDR_SIZE > this.maxTransferSize) return false;
    try {
      // only a real `true` acknowledges (a JavaScript hook may return anything)
      const acked: unknown = target.write(out.subarray(VIRTIO_I2C_OUT_HDR_SIZE));
      return acked === true;
    } catch {
      return false;
    }
  }

  private endGroup(): void {
    const t = this.lastTarget;
    this.lastTarget = undefined;
    if (t?.stop !== undefined)
      safeCall(() => {
        t.stop?.();
      });
  }
}

function keyOf(address: number, tenBit: boolean): number {
  const max = tenBit ? 0x3ff : 0x7f;
  if (!Number.isInteger(address) || address < 0 || address > max)
    throw new RangeError(`I2C address must be in 0..0x${max.toString(16)}, got ${String(address)}`);
  return tenBit ? 0x400 | address : address;
}

// A target model or hardware hook that throws is a failed transfer (MSG_ERR), never a crash of
// the server loop.
function safeCall<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch {
    return undefined;
  }
}
