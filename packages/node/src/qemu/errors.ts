// Error codes of the QEMU remote. AmpError itself comes from @amp/resource-table (one shape for
// the whole stack); these codes are for failures that come from outside: the QEMU process, its
// sockets, the firmware's shared memory.

/**
 * Stable codes of errors thrown by the QEMU pieces of @amp/node (`AmpError<QemuErrorCode>`).
 * Caller misuse throws TypeError/RangeError instead.
 */
export type QemuErrorCode =
  | "ERR_TIMEOUT" // QEMU or the firmware did not answer in time
  | "ERR_QEMU_SPAWN" // qemu-system-arm could not be started (missing, bad arguments)
  | "ERR_QEMU_EXITED" // the QEMU process ended (on its own or killed)
  | "ERR_QEMU_CLOSED" // a socket to QEMU closed
  | "ERR_QMP" // QEMU answered a QMP command with an error
  | "ERR_MALFORMED" // bytes from the firmware or QEMU are wrong (registers text, crash record, image)
  | "ERR_RANGE"; // an address outside the remote's RAM
