// The device status handshake and feature negotiation (virtio "Device Initialization"), for the
// driver and the device role, legacy (Linux remoteproc: no FEATURES_OK, final status 0x07) and
// modern. docs/wire-formats.md, "Status and features".
import { AmpError } from "./errors.js";
import type { VirtioTransport } from "./transport.js";
import type { WaitOptions } from "./doorbell.js";
import {
  VIRTIO_CONFIG_S_ACKNOWLEDGE,
  VIRTIO_CONFIG_S_DRIVER,
  VIRTIO_CONFIG_S_DRIVER_OK,
  VIRTIO_CONFIG_S_FAILED,
  VIRTIO_CONFIG_S_FEATURES_OK,
  VIRTIO_CONFIG_S_NEEDS_RESET,
  VIRTIO_F_VERSION_1,
  featureBit,
} from "./constants.js";

const LOW32 = 0xffffffffn;

/** Options of {@link driverNegotiate}. */
export interface DriverNegotiateOptions {
  /** Every feature the driver supports; the result is this AND what the device offers. */
  features: bigint;
  /** Write 0 (reset) first (default true). False attaches to a device already set up. */
  reset?: boolean;
}

/**
 * Driver role, up to the queue setup: reset, ACKNOWLEDGE, DRIVER, read the device features,
 * write the negotiated ones and (modern only) set FEATURES_OK and check that the device kept it.
 * A modern transport also offers VIRTIO_F_VERSION_1 on the driver's behalf. Set up the queues
 * next, then call {@link driverReady}.
 * @returns the negotiated features.
 * @throws AmpError ERR_FEATURES (status FAILED is set) when the device refused the features or
 *   a legacy device offers nothing the driver can take in 32 bits; ERR_STATUS when the device
 *   reports NEEDS_RESET.
 */
export function driverNegotiate(t: VirtioTransport, options: DriverNegotiateOptions): bigint {
  if (options.reset ?? true) t.setStatus(0);
  t.setStatus(t.getStatus() | VIRTIO_CONFIG_S_ACKNOWLEDGE);
  t.setStatus(t.getStatus() | VIRTIO_CONFIG_S_DRIVER);
  const supported = t.legacy ? options.features & LOW32 : options.features | featureBit(VIRTIO_F_VERSION_1);
  const negotiated = t.getDeviceFeatures() & supported;
  t.setDriverFeatures(negotiated);
  if (!t.legacy) {
    t.setStatus(t.getStatus() | VIRTIO_CONFIG_S_FEATURES_OK);
    if ((t.getStatus() & VIRTIO_CONFIG_S_FEATURES_OK) === 0) {
      driverFail(t);
      throw new AmpError("ERR_FEATURES", `device refused features 0x${negotiated.toString(16)}`);
    }
  }
  checkNotBroken(t.getStatus());
  return negotiated;
}

/**
 * Driver role: the queues are set up, set DRIVER_OK (final status 0x07 legacy, 0x0f modern).
 * @throws AmpError ERR_STATUS when the device reports NEEDS_RESET or FAILED is set.
 */
export function driverReady(t: VirtioTransport): void {
  checkNotBroken(t.getStatus());
  t.setStatus(t.getStatus() | VIRTIO_CONFIG_S_DRIVER_OK);
}

/** Driver role: give up on the device (sets FAILED). */
export function driverFail(t: VirtioTransport): void {
  t.setStatus(t.getStatus() | VIRTIO_CONFIG_S_FAILED);
}

/**
 * Device role: the features the driver accepted, checked against the offer. On a modern
 * transport VIRTIO_F_VERSION_1 counts as offered whatever the device type set: the transport
 * owns that bit (it offers it, as {@link driverNegotiate} accepts it for the driver), so a
 * driver that accepts it is right.
 * @throws AmpError ERR_FEATURES when the driver accepted a bit the device did not offer, or a
 *   bit above 31 on a legacy transport.
 */
export function deviceAcceptedFeatures(t: VirtioTransport): bigint {
  const offered = t.getDeviceFeatures() | (t.legacy ? 0n : featureBit(VIRTIO_F_VERSION_1));
  const accepted = t.getDriverFeatures();
  if ((accepted & ~offered) !== 0n) {
    throw new AmpError(
      "ERR_FEATURES",
      `driver accepted features 0x${(accepted & ~offered).toString(16)} that were not offered`,
    );
  }
  if (t.legacy && accepted > LOW32) throw new AmpError("ERR_FEATURES", "legacy driver features above bit 31");
  return accepted;
}

/** True when the driver has set DRIVER_OK and neither FAILED nor NEEDS_RESET is set. */
export function isDriverOk(status: number): boolean {
  return (
    (status & VIRTIO_CONFIG_S_DRIVER_OK) !== 0 &&
    (status & (VIRTIO_CONFIG_S_FAILED | VIRTIO_CONFIG_S_NEEDS_RESET)) === 0
  );
}

/** Device role: report that the device hit an error it cannot recover from (NEEDS_RESET). */
export function deviceNeedsReset(t: VirtioTransport): void {
  t.setStatus(t.getStatus() | VIRTIO_CONFIG_S_NEEDS_RESET);
}

/**
 * Device role: poll the status until the driver sets DRIVER_OK (the remote must not touch the
 * rings before: docs/wire-formats.md, "Who writes what, and when"), then return the accepted features.
 * @throws AmpError ERR_STATUS when the driver sets FAILED; ERR_FEATURES as
 *   {@link deviceAcceptedFeatures}; ERR_ABORTED / ERR_TIMEOUT from the options.
 * @throws RangeError for an `intervalMs` that is not positive or a `timeoutMs` that is negative / NaN.
 */
export async function deviceWaitDriverOk(
  t: VirtioTransport,
  options: WaitOptions & { intervalMs?: number },
): Promise<bigint> {
  const { scheduler, signal } = options;
  if (scheduler === undefined) throw new TypeError("deviceWaitDriverOk needs a scheduler to poll with");
  const deadline = options.timeoutMs;
  let waited = 0;
  const interval = options.intervalMs ?? 1;
  // A zero, negative or NaN interval (or a NaN deadline) would make the deadline unreachable.
  if (!(Number.isFinite(interval) && interval > 0))
    throw new RangeError(`intervalMs must be a positive number, got ${interval}`);
  if (deadline !== undefined && !(deadline >= 0))
    throw new RangeError(`timeoutMs must be a non-negative number, got ${deadline}`);
  for (;;) {
    const s = t.getStatus();
    if ((s & VIRTIO_CONFIG_S_FAILED) !== 0) throw new AmpError("ERR_STATUS", "driver set FAILED");
    if ((s & VIRTIO_CONFIG_S_DRIVER_OK) !== 0) return deviceAcceptedFeatures(t);
    if (signal?.aborted === true) throw new AmpError("ERR_ABORTED", "wait aborted", { cause: signal.reason });
    if (deadline !== undefined && waited >= deadline)
      throw new AmpError("ERR_TIMEOUT", `no DRIVER_OK within ${deadline} ms`);
    await new Promise<void>((resolve) => scheduler.setTimeout(resolve, interval));
    waited += interval;
  }
}

/** Names of the bits set in a status byte, e.g. "ACKNOWLEDGE|DRIVER|DRIVER_OK" (0 is "RESET"). */
export function describeStatus(status: number): string {
  if (status === 0) return "RESET";
  const names: string[] = [];
  const bits: [number, string][] = [
    [VIRTIO_CONFIG_S_ACKNOWLEDGE, "ACKNOWLEDGE"],
    [VIRTIO_CONFIG_S_DRIVER, "DRIVER"],
    [VIRTIO_CONFIG_S_FEATURES_OK, "FEATURES_OK"],
    [VIRTIO_CONFIG_S_DRIVER_OK, "DRIVER_OK"],
    [0x10, "SUSPEND"],
    [VIRTIO_CONFIG_S_NEEDS_RESET, "NEEDS_RESET"],
    [VIRTIO_CONFIG_S_FAILED, "FAILED"],
  ];
  let rest = status;
  for (const [bit, name] of bits) {
    if ((status & bit) !== 0) names.push(name);
    rest &= ~bit;
  }
  if (rest !== 0) names.push(`0x${rest.toString(16)}`);
  return names.join("|");
}

function checkNotBroken(status: number): void {
  if ((status & VIRTIO_CONFIG_S_NEEDS_RESET) !== 0) throw new AmpError("ERR_STATUS", "device needs reset");
  if ((status & VIRTIO_CONFIG_S_FAILED) !== 0) throw new AmpError("ERR_STATUS", "device status is FAILED");
}
