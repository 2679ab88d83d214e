// The one place that builds this package's AmpErrors, so every throw site reads as its code and
// message (and the class it builds is decided here, once).
import { AmpError, type RemoteprocErrorCode } from "../errors.js";

/** Where an error points, and what caused it. */
export interface RprocErrorDetails {
  /** Byte offset in the resource table (or image) of the field concerned. */
  readonly offset?: number;
  readonly cause?: unknown;
}

/** An AmpError with one of the stable codes of @amp/remoteproc-core. */
export function rprocError(code: RemoteprocErrorCode, message: string, details?: RprocErrorDetails): AmpError {
  return new AmpError(code, message, details);
}

/** ERR_STATE: the call is not allowed now; nothing changed. */
export function stateError(message: string): AmpError {
  return rprocError("ERR_STATE", message);
}
