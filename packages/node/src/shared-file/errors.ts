// Error codes of the shared-file platform (a remote that is another process: its memory is a
// file both map, its doorbell a UNIX socket or polling). AmpError itself is the stack's one
// error shape (from @amp/resource-table); these codes are for what comes from outside.

/**
 * Stable codes of `AmpError<SharedFileErrorCode>` thrown by the shared-file driver and the
 * UNIX-socket doorbell. Caller misuse throws TypeError/RangeError instead.
 */
export type SharedFileErrorCode =
  | "ERR_TIMEOUT" // the peer did not connect, or its resource table did not appear, in time
  | "ERR_ABORTED" // an AbortSignal ended the wait
  | "ERR_DOORBELL" // the doorbell socket could not be opened, or it failed
  | "ERR_DOORBELL_REFUSED" // the doorbell's socket file exists but nothing accepts connections on it
  | "ERR_NO_MEMORY_FILE" // attach: the remote's memory file does not exist (attaching never creates it)
  | "ERR_NO_REGIONS" // no regions were given and none could be derived from the resource table
  | "ERR_SPAWN" // the remote's process could not be started
  | "ERR_MALFORMED"; // what the remote wrote is wrong (no resource table where it should be)
