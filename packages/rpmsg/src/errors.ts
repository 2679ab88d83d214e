// Errors of @amp/rpmsg: the AmpError class of @amp (virtio-ring's, re-exported), with rpmsg's
// own stable codes. Caller misuse throws TypeError/RangeError instead.
import { AmpError, isAmpError } from "@amp/virtio-ring";

// The AmpError class of @amp, re-exported: `instanceof` holds whichever package threw (one class
// per layer-0 package, same text, same identity). This package's codes are `AmpError<RpmsgErrorCode>`.
export { AmpError, isAmpError };

/** Stable error codes of @amp/rpmsg (switch on `error.code`). */
export type RpmsgErrorCode =
  | "ERR_MALFORMED" // bytes from the peer are wrong (e.g. an NS message that is not 40 bytes)
  | "ERR_MSG_SIZE" // payload larger than the buffer can carry (Linux: -EMSGSIZE); never truncated
  | "ERR_TIMEOUT" // a blocking call ran out of time (per-call timeoutMs)
  | "ERR_ABORTED" // the caller's AbortSignal fired (reason in `cause`)
  | "ERR_LINK_DOWN" // the virtio link is not up, or went down (device reset, NEEDS_RESET, remote gone)
  | "ERR_CLOSED" // the endpoint was destroyed
  | "ERR_NOT_BOUND" // no destination: the peer has not announced or sent to this endpoint yet
  | "ERR_BAD_ADDRESS" // a send to or from RPMSG_ADDR_ANY or a non-u32 address (Linux: -EINVAL), e.g. replying to a message whose src is ANY
  | "ERR_ADDR_IN_USE" // an explicit endpoint address is taken
  | "ERR_LIMIT" // a configured limit was reached (endpoints, queued messages)
  | "ERR_LAYOUT" // rpmsg-only mode: the two sides disagree on the shared-memory layout (see the message)
  | "ERR_PROTOCOL"; // the peer broke the ring or transport protocol; the link is taken down

/** Builds an AmpError with an rpmsg code. */
export function rpmsgError(
  code: RpmsgErrorCode,
  message: string,
  options?: { offset?: number; cause?: unknown },
): AmpError<RpmsgErrorCode> {
  return new AmpError<RpmsgErrorCode>(code, message, options);
}

/**
 * The error for sending to or from `addr` when it is RPMSG_ADDR_ANY (0xffffffff, "no address":
 * a message may arrive with it as src, but nothing can be sent to it) or not a u32.
 */
export function badAddressError(addr: unknown): AmpError<RpmsgErrorCode> {
  const shown =
    typeof addr === "number" && Number.isInteger(addr) && addr >= 0 ? `0x${addr.toString(16)}` : String(addr);
  return rpmsgError(
    "ERR_BAD_ADDRESS",
    `cannot send to or from address ${shown}: it must be a u32 other than RPMSG_ADDR_ANY (0xffffffff); a message whose src is ANY cannot be replied to`,
  );
}
