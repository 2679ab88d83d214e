// Error codes of the vhost-user backend. AmpError is the stack's one error shape; these codes
// are for what comes from outside: the frontend's messages, its memory, the native relay.
import { AmpError } from "@amp/virtio-ring";

/**
 * Stable codes of `AmpError<VhostUserErrorCode>` thrown or reported by the vhost-user backend.
 * Caller misuse throws TypeError/RangeError instead.
 */
export type VhostUserErrorCode =
  | "ERR_RELAY" // the descriptor relay could not be built or started (needs a C compiler once)
  | "ERR_SOCKET" // the socket path is too long, in use, or cannot be created
  | "ERR_TRUNCATED" // a message payload is shorter than its request needs
  | "ERR_MALFORMED" // a message is wrong: bad version, oversized payload, impossible values
  | "ERR_PROTOCOL" // a well-formed message out of order or unsupported (a ring before memory, ...)
  | "ERR_MEMORY" // guest memory could not be opened, or an address is outside every region
  | "ERR_CLOSED"; // the backend was closed

/** An AmpError with a vhost-user code. */
export function vhostError(
  code: VhostUserErrorCode,
  message: string,
  options?: { cause?: unknown },
): AmpError<VhostUserErrorCode> {
  return new AmpError<VhostUserErrorCode>(code, message, options);
}
