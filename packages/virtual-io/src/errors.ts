// Errors of @amp/virtual-io. The class itself is the AmpError of @amp (virtio-ring's,
// re-exported); this package only adds its own stable codes.
import { AmpError, isAmpError } from "@amp/virtio-ring";

// The AmpError class of @amp, re-exported: `instanceof` holds whichever package threw (one class
// per layer-0 package, same text, same identity). This package's codes are `AmpError<VirtualIoErrorCode>`.
export { AmpError, isAmpError };

/**
 * Stable error codes of @amp/virtual-io. Misuse by the caller (a bad argument) throws a
 * standard TypeError/RangeError instead; AmpError is for what came from the far side.
 */
export type VirtualIoErrorCode =
  | "ERR_TRUNCATED" // not enough bytes for the structure
  | "ERR_MALFORMED" // the bytes are wrong (bad layout, bad segment count, reserved bits set)
  | "ERR_UNSUPPORTED" // well-formed, but the far side does not implement it (SPI PARAM_ERR, unknown type)
  | "ERR_LIMIT" // a configured limit was exceeded (message size, pending requests)
  | "ERR_NACK" // I2C: the device answered VIRTIO_I2C_MSG_ERR (no acknowledge, or a failed group)
  | "ERR_BAD_LINE" // GPIO: the device answered VIRTIO_GPIO_STATUS_ERR for a line/request
  | "ERR_IO" // the device reported a transfer error (SPI TRANS_ERR, register bus failure)
  | "ERR_TIMEOUT" // no answer within the configured time
  | "ERR_CLOSED"; // the channel was closed while the request was pending

/** Shorthand used inside the package. */
export function vioError(
  code: VirtualIoErrorCode,
  message: string,
  options?: { offset?: number; cause?: unknown },
): AmpError<VirtualIoErrorCode> {
  return new AmpError<VirtualIoErrorCode>(code, message, options);
}
