// The "amp-clock" service of a JS firmware: the remote's half of the clock exchange of
// @amp/rpmsg, answering with this processor's own clock (by default the one its trace records
// carry), so that the host can put both on one timeline. Runtime-agnostic: bundled into firmware.
import { serveClock, type ClockResponder, type RpmsgRemote } from "@amp/rpmsg";

/** Options of {@link serveFirmwareClock} and `Firmware.serveClock`. */
export interface FirmwareClockOptions {
  /**
   * The clock to answer with, in µs (default: the firmware's `clockUs`, µs since it started).
   * A test that wants a remote with an offset or a drifting clock passes one here.
   */
  readonly now?: () => number;
  /** Service name (default "amp-clock"). */
  readonly name?: string;
  /** Explicit endpoint address (default: the next dynamic one). */
  readonly addr?: number;
}

/**
 * Announces "amp-clock" on `remote` and answers clock requests with `now()`. Create it after
 * the firmware's own endpoints when their addresses matter (dynamic addresses go in order).
 * @throws TypeError when no clock is given and none is passed by the runtime.
 */
export function serveFirmwareClock(
  remote: RpmsgRemote,
  options: FirmwareClockOptions & { readonly now: () => number },
): ClockResponder {
  const { now, name, addr } = options;
  return serveClock(remote, { now, ...(name === undefined ? {} : { name }), ...(addr === undefined ? {} : { addr }) });
}
