// Errors of @amp/virtio-ring: its stable codes, and the AmpError class of @amp (src/amp-error.ts).

/**
 * Stable error codes of @amp/virtio-ring. Misuse by the caller (a bad argument, calling a method
 * in the wrong state) throws a standard TypeError/RangeError instead; AmpError is for what came
 * from outside: ring memory the peer wrote, a transport's status and feature words.
 */
export type VirtioErrorCode =
  | "ERR_TRUNCATED" // not enough bytes (yet): a streaming reader may wait for more
  | "ERR_MALFORMED" // the bytes are wrong: drop or reject
  | "ERR_UNSUPPORTED" // well-formed but not something this version handles
  | "ERR_LIMIT" // a configured limit was exceeded (chain length, indirect table size)
  | "ERR_RANGE" // a value does not fit (e.g. a 64-bit address past 2^53)
  | "ERR_BAD_ADDRESS" // a device address + length is not inside one mapped range
  | "ERR_BAD_INDEX" // a ring index, head index or descriptor index from the peer is out of range
  | "ERR_BAD_CHAIN" // a descriptor chain is malformed: a loop, bad flags, wrong direction order
  | "ERR_BAD_USED" // a used entry names a buffer that is not outstanding, or claims too many bytes
  | "ERR_NEEDS_RESET" // the queue saw a violation earlier and refuses work until reset()
  | "ERR_FEATURES" // feature negotiation failed (device refused FEATURES_OK, bits not offered)
  | "ERR_STATUS" // the device status says FAILED / NEEDS_RESET, or the handshake is out of order
  | "ERR_ABORTED" // an AbortSignal fired while waiting
  | "ERR_TIMEOUT"; // a wait ran past its deadline

// The AmpError class of @amp, exported as the class itself (the packages above re-export it,
// and a subclass such as remoteproc-core's StepError extends it). Its code type is any string by
// default; this package's codes are `AmpError<VirtioErrorCode>`.
export { AmpError, isAmpError } from "./amp-error.js";
