// An endpoint of the lean remote: address, name, bound peer, callback, and the send calls. The
// work happens in LeanRemote; this is the handle the application holds.
import { RPMSG_ADDR_ANY } from "../constants.js";
import type { AmpError } from "../errors.js";
import type { LeanRemote } from "./remote.js";

/** A received message. `data` is a view of the shared rx buffer, valid until the callback returns. */
export interface LeanMessage {
  /** Sender address (`hdr.src`). */
  readonly src: number;
  /** Receiver address (`hdr.dst`): this endpoint's address. */
  readonly dst: number;
  /** The payload, exactly `hdr.len` bytes (a copy on memory that lends no views). */
  readonly data: Uint8Array;
}

/** Options of {@link LeanRemote.createEndpoint}. */
export interface LeanEndpointOptions {
  /** Service name (at most 31 UTF-8 bytes); announced, and matched exactly against host announcements. */
  readonly name?: string;
  /** Local address; default RPMSG_ADDR_ANY: the lowest free dynamic address from 1024. */
  readonly addr?: number;
  /** Peer address; default ANY: bound by a host announcement of the same name or by the first message. */
  readonly dst?: number;
  /** Receive callback, run inside `process()`. */
  readonly onMessage: (message: LeanMessage, endpoint: LeanEndpoint) => void;
  /** Send NS CREATE (and DESTROY when it goes away). Default: true for a named endpoint without `dst`. */
  readonly announce?: boolean;
}

/** A local endpoint of a {@link LeanRemote} (made by `createEndpoint`). */
export class LeanEndpoint {
  /** Local address (`src` of what it sends). */
  readonly addr: number;
  /** Service name ("" for an anonymous endpoint). */
  readonly name: string;
  /** True when it announces itself through the name service. */
  readonly announce: boolean;
  /** Bound peer address, RPMSG_ADDR_ANY while unbound (set by a host announcement, the first message, or you). */
  dst: number;
  /** Why it closed (`destroy()`: ERR_CLOSED; link down: ERR_LINK_DOWN or ERR_PROTOCOL); undefined while open. */
  closeReason: AmpError | undefined;
  /** @internal */
  readonly onMessage: LeanEndpointOptions["onMessage"];
  private readonly remote: LeanRemote;

  /** @internal */
  constructor(remote: LeanRemote, addr: number, name: string, announce: boolean, o: LeanEndpointOptions) {
    this.remote = remote;
    this.addr = addr;
    this.name = name;
    this.announce = announce;
    this.dst = o.dst ?? RPMSG_ADDR_ANY;
    this.onMessage = o.onMessage;
  }

  /**
   * Sends to the bound peer now: false when no tx buffer is free (or others wait for one).
   * @throws AmpError ERR_NOT_BOUND, ERR_MSG_SIZE, ERR_CLOSED, ERR_LINK_DOWN
   */
  trySend(data: Uint8Array): boolean {
    return this.remote.trySendRaw(this, this.dst, data, false);
  }

  /** `trySend` to `dst`. @throws AmpError ERR_BAD_ADDRESS (ANY or not a u32), else as `trySend`. */
  trySendTo(dst: number, data: Uint8Array): boolean {
    return this.remote.trySendRaw(this, dst, data, true);
  }

  /**
   * Sends to the bound peer, waiting (FIFO) for a tx buffer; something must keep calling
   * `process()`. Rejects with AmpError ERR_NOT_BOUND, ERR_MSG_SIZE, ERR_CLOSED, ERR_LINK_DOWN.
   */
  send(data: Uint8Array): Promise<void> {
    return this.remote.sendRaw(this, this.dst, data, false);
  }

  /** `send` to `dst`. Rejects with ERR_BAD_ADDRESS for ANY or not a u32, else as `send`. */
  sendTo(dst: number, data: Uint8Array): Promise<void> {
    return this.remote.sendRaw(this, dst, data, true);
  }

  /** Closes it: NS DESTROY if it announced itself, its address freed, waiting sends rejected (ERR_CLOSED). Idempotent. */
  destroy(): void {
    this.remote.destroyEndpoint(this);
  }
}
