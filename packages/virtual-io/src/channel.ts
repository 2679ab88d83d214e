// The small request/response seam between the typed driver APIs (I2cClient, GpioClient, ...) and
// the transports (virtqueues, an rpmsg endpoint, or a direct in-process call). A request is one
// virtio descriptor chain, linearised: the device-readable bytes, and how many device-writable
// bytes the driver offers; the answer is the bytes the device wrote (at most that many).

/**
 * Driver side of a transport: submits chains and resolves with what the device wrote.
 * Implemented by {@link createDirectChannel}, the virtqueue transport and the rpmsg transport.
 */
export interface RequestChannel {
  /**
   * Submits one request on virtqueue `queue`: `out` is what the device reads, `inLength` the
   * number of bytes the device may write. Resolves with the bytes written (length ≤ inLength).
   * Rejects with AmpError ERR_CLOSED when the channel closes first, ERR_TIMEOUT on timeout.
   */
  request(queue: number, out: Uint8Array, inLength: number): Promise<Uint8Array>;
  /**
   * Optional: submits `outs.length` requests on `queue` back to back (request i reads `outs[i]`
   * and may write `inLengths[i]` bytes) and settles once, when all are answered: with the
   * answers in order, or with the first failure in order. What the clients' multi-request
   * operations (an I2C group, an SPI command) use when the transport offers it: one promise
   * per operation instead of one per request. Without it they call {@link request} per part.
   * @example const [w, r] = await channel.requestGroup?.(0, [hdrWrite, hdrRead], [1, 3]) ?? [];
   */
  requestGroup?(queue: number, outs: readonly Uint8Array[], inLengths: readonly number[]): Promise<Uint8Array[]>;
  /** Device feature bits (bit n = feature n) as the transport learned them. */
  readonly features: bigint;
  /** Device config space bytes (empty when the device has none). */
  readonly config: Uint8Array;
  /** Rejects every pending request with ERR_CLOSED and stops the transport. Idempotent. */
  close(): void;
}

/** Called by a server exactly once per request with the bytes it wrote (possibly later). */
export type ReplyFn = (written: Uint8Array) => void;

/**
 * Device side of a transport: a server for one virtio device type. Transports call
 * {@link DeviceServer.handle} for each chain they take from the driver; the server validates
 * everything (bytes come from the far side) and always replies, even to garbage.
 */
export interface DeviceServer {
  /** virtio device ID (34 i2c, 41 gpio, 45 spi, 3 console). */
  readonly deviceId: number;
  /** Number of virtqueues the device uses. */
  readonly numQueues: number;
  /** Feature bits the device offers. */
  readonly features: bigint;
  /** Config space bytes (a fresh copy on each read). */
  readonly config: Uint8Array;
  /** Handles one chain; must call `reply` exactly once, now or later. Never throws for bad bytes. */
  handle(queue: number, out: Uint8Array, inLength: number, reply: ReplyFn): void;
  /** Drops all deferred requests (e.g. pending GPIO interrupt pairs) when the link goes down. */
  reset?(): void;
}
