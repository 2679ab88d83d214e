// What the rpmsg core needs from the two vrings, independent of the role. The host implements
// these over a driver-role split virtqueue, the remote over a device-role one.
import type { Memory } from "@amp/virtio-ring";

/** A buffer in shared memory: `capacity` bytes at `offset` of `memory` (device address `da`). */
export interface Slot {
  /** Ring token: descriptor head (both roles). */
  readonly head: number;
  readonly da: number;
  readonly memory: Memory;
  readonly offset: number;
  /** Tx: bytes the buffer can hold. Rx: bytes the peer declared (used len / descriptor len). Set by the port. */
  length: number;
  /**
   * Tx: the payload view `makeTxBuffer` made for this buffer, reused while its length still fits
   * (one view per buffer, not one per message). Undefined until first used.
   */
  txView: Uint8Array | undefined;
  /**
   * Rx: the message object (and with it the payload view) the last delivery from this buffer
   * used, refilled by the next one (no allocation per received message). Undefined until used.
   */
  rxMessage: object | undefined;
}

/** Sending side of the link. */
export interface TxPort {
  /** A free buffer to fill, or undefined when none is available right now. */
  acquire(): Slot | undefined;
  /** Hands a filled buffer (`length` bytes: header + payload) to the peer. Notification is deferred to `flush`. */
  submit(slot: Slot, length: number): void;
  /** Takes back an acquired but unsent buffer; it is reused first. */
  giveBack(slot: Slot): void;
  /**
   * Ask (or stop asking) the peer to notify when it returns tx buffers (host only; Linux does
   * the same). Returns true when turning them on found buffers already returned: the peer saw
   * them suppressed and will not notify, so the caller must look again (virtio's enable_cb rule).
   */
  wantCompletions(on: boolean): boolean;
  /** Sends the notification that `submit` calls made necessary. */
  flush(): void;
  /**
   * Called after each `process()` batch: a port may take its next buffer now, so that the next
   * send finds it ready instead of reading the peer's ring on its own critical path.
   */
  prepare?(): void;
}

/** Receiving side of the link. */
export interface RxPort {
  /**
   * The next buffer the peer filled, or undefined. `again`: a later call of the same batch, which
   * may answer from what the first call read of the ring (the peer notifies for anything newer).
   */
  next(again?: boolean): Slot | undefined;
  /** Returns a consumed buffer to the peer. Notification is deferred to `flush`. */
  recycle(slot: Slot): void;
  flush(): void;
}
