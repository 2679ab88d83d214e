// The host played by hand against a remote under test (RpmsgRemote or LeanRemote in a pair):
// reset, features, both queues in the legacy layout at RINGS_ADDR, and the host's own views of
// vring 0 (its rx, where it posts buffers) and vring 1 (its tx, where it offers messages). The
// test posts rx buffers and sets DRIVER_OK itself, so it can offer the remote anything.
import { SplitVirtqueueDriver, legacyQueueAddresses, type AddressSpace } from "@amp/virtio-ring";
import { RINGS_ADDR } from "./pair.ts";
import { ringsBytes } from "./ring-bytes.ts";
import type { SharedTransport } from "./shared-transport.ts";

export interface HandHost {
  /** vring 0: the host's rx ring. */
  readonly rx: SplitVirtqueueDriver<number>;
  /** vring 1: the host's tx ring. */
  readonly tx: SplitVirtqueueDriver<number>;
}

/** Resets the transport, accepts the name service (bit 0) and sets up both queues, not yet DRIVER_OK. */
export function handHost(
  p: { readonly hostTransport: SharedTransport; readonly space: AddressSpace },
  num: number,
  align: number,
): HandHost {
  const t = p.hostTransport;
  t.setStatus(0);
  t.setDriverFeatures(1n);
  const stride = ringsBytes(num, align) / 2;
  for (const i of [0, 1])
    t.setQueue(i, { ...legacyQueueAddresses(RINGS_ADDR + i * stride, num, align), align, ready: true });
  const ring = (i: number): SplitVirtqueueDriver<number> =>
    new SplitVirtqueueDriver<number>({
      size: num,
      space: p.space,
      ...legacyQueueAddresses(RINGS_ADDR + i * stride, num, align),
    });
  return { rx: ring(0), tx: ring(1) };
}
