// Errors of @amp/remoteproc-core: the AmpError class of @amp (virtio-ring's, re-exported), this
// package's stable codes, and StepError for a failed life-cycle step.
import { AmpError, isAmpError } from "@amp/virtio-ring";

// The AmpError class of @amp, re-exported: `instanceof` holds whichever package threw (one class
// per layer-0 package, same text, same identity). This package's codes are `AmpError<RemoteprocErrorCode>`.
export { AmpError, isAmpError };

/**
 * Stable error codes of @amp/remoteproc-core. Caller misuse (a bad argument) throws a standard
 * TypeError/RangeError instead; AmpError is for states, firmware, tables and platform failures.
 */
export type RemoteprocErrorCode =
  | "ERR_STATE" // the call is not allowed in the current state; nothing was changed
  | "ERR_STEP" // a life-cycle step failed; `step` names it, `cause` holds the original error
  | "ERR_NO_FIRMWARE" // the firmware source does not have the requested image
  | "ERR_AUTH" // the image failed authentication (bad signature, wrong key, tampered bytes)
  | "ERR_MALFORMED" // firmware, signed container or resource table bytes are wrong
  | "ERR_UNSUPPORTED" // the driver or runtime lacks what the operation needs
  | "ERR_RESOURCE_CONFLICT" // a platform resource contradicts the firmware's (size, type, address)
  | "ERR_NO_MEMORY" // no memory region can hold an allocation
  | "ERR_TRANSLATE" // a device address is not backed by any region
  | "ERR_LIMIT" // a configured limit was exceeded
  | "ERR_ABORTED"; // a wait was aborted through the caller's signal

/** Life-cycle steps named by an `ERR_STEP` error (see {@link StepError}). */
export type LifecycleStep =
  | "firmware" // obtaining the image from the firmware source
  | "loadAndVerify" // loader.loadAndVerify (parse, authenticate)
  | "prepare" // driver.prepare
  | "resource table" // reading / validating the resource table
  | "register resources" // turning table entries into host-side resources
  | "amend resources" // merging platform resources
  | "allocate" // carveouts, vrings, trace buffers
  | "install table" // writing the table into device memory
  | "load segments" // loader image loadSegments
  | "prepare subdevices"
  | "start" // driver.start
  | "attach" // driver.attach
  | "start subdevices"
  | "stop subdevices"
  | "stop" // driver.stop
  | "detach" // driver.detach
  | "coredump"
  | "unprepare subdevices"
  | "release"; // releasing resources, loader.release, driver.unprepare

/**
 * The error a life-cycle operation (boot, shutdown, recover, attach, detach) throws when one of
 * its steps fails: `code` is `ERR_STEP`, `step` names the step, `operation` the call, `cause` the
 * original error. By the time it is thrown every resource the operation acquired is released.
 */
export class StepError extends AmpError<RemoteprocErrorCode> {
  /** The step that failed. */
  readonly step: LifecycleStep;
  /** The operation that ran it: "boot", "shutdown", "recover", "attach", "detach", "delete". */
  readonly operation: string;
  constructor(operation: string, step: LifecycleStep, cause: unknown) {
    super("ERR_STEP", `${operation}: step "${step}" failed: ${describe(cause)}`, { cause });
    this.step = step;
    this.operation = operation;
  }
}

/** True for a {@link StepError} from any copy of this package (checks the shape, not `instanceof`). */
export function isStepError(e: unknown): e is StepError {
  return isAmpError(e) && e.code === "ERR_STEP" && typeof (e as { step?: unknown }).step === "string";
}

function describe(e: unknown): string {
  if (e instanceof Error) return isAmpError(e) ? `${e.code}: ${e.message}` : `${e.name}: ${e.message}`;
  return String(e);
}
