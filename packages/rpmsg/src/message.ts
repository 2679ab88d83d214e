// What receivers get. Callback mode hands out a view of the shared buffer that is valid until
// the callback returns, unless the callback holds it (OpenAMP rpmsg_hold_rx_buffer,
// rpmsg-lite RL_HOLD). The async iterator hands out copies: its buffers go back at once.

/** A received message, as the async iterator yields it (the payload is a private copy). */
export interface ReceivedMessage {
  /** Sender address (`hdr.src`). */
  readonly src: number;
  /** Receiver address (`hdr.dst`): this endpoint's address. */
  readonly dst: number;
  /** The payload, exactly `hdr.len` bytes. */
  readonly data: Uint8Array;
}

/**
 * A message delivered to an `onMessage` callback. Valid until the callback returns: the object
 * (and, on zero-copy memory, its `data` view) belongs to the rx buffer and is refilled when the
 * same buffer brings the next message, so nothing is allocated per message. Copy the fields you
 * keep, or `hold()` the buffer (a held buffer, and its message, is not reused before `release()`).
 */
export interface RpmsgMessage extends ReceivedMessage {
  /**
   * The payload. On zero-copy memory it is a view of the shared rx buffer, valid only until the
   * callback returns; call {@link RpmsgMessage.hold} to keep it longer.
   */
  readonly data: Uint8Array;
  /**
   * Keeps the rx buffer past the callback (only callable during it). The buffer is not given
   * back to the peer until `release()`; hold buffers briefly, the peer has few of them.
   * @throws TypeError when called after the callback returned.
   */
  hold(): RxHold;
}

/** A held rx buffer. */
export interface RxHold {
  /** The payload view; valid until `release()` (or until the link goes down). */
  readonly data: Uint8Array;
  /** Sender address. */
  readonly src: number;
  /** True after `release()`, or when the link went down (the buffer then belongs to nobody). */
  readonly released: boolean;
  /** Gives the buffer back to the peer. Idempotent. */
  release(): void;
}

/**
 * A tx buffer taken for zero-copy sending: fill `payload` in place, then `send(length)`. Each
 * acquisition is a new small handle (the payload view is reused per buffer), so that a handle
 * that was sent or released stays done for good.
 */
export interface TxBuffer {
  /**
   * Writable payload area (capacity minus the 16-byte header). On zero-copy memory it aliases the
   * shared buffer; on other memory it is a scratch array copied in by `send`.
   */
  readonly payload: Uint8Array;
  /** True after `send` or `release`. */
  readonly done: boolean;
  /**
   * Sends the first `length` payload bytes to `dst` (default: the endpoint's bound peer).
   * Ownership passes to the peer; on a thrown error the buffer stays yours (retry or release).
   * @throws AmpError ERR_MSG_SIZE when `length` exceeds `payload.length`; ERR_BAD_ADDRESS for a `dst` of RPMSG_ADDR_ANY or not a u32; ERR_NOT_BOUND, ERR_CLOSED, ERR_LINK_DOWN.
   */
  send(length: number, dst?: number): void;
  /** Gives the buffer back unsent. Idempotent. */
  release(): void;
}
