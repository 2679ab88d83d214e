// The glue between remoteproc-core and @amp/rpmsg that every platform needs: an rpmsg host
// (Linux's virtio_rpmsg_bus role) on a started rpmsg vdev. Linux does the same in
// rpmsg_probe once remoteproc registered the virtio device (docs/wire-formats.md, "rpmsg").
import type { RprocVdevLike, VirtioDriver } from "@amp/remoteproc-core";
import { RPMSG_BUF_SIZE, RpmsgHost, VIRTIO_ID_RPMSG, type RpmsgHostOptions } from "@amp/rpmsg";

/**
 * A listener for each new rpmsg host and the vdev it runs on. The vdev is typed structurally
 * (`RprocVdevLike`), so a vdev of another installed copy of @amp/remoteproc-core fits; the
 * listener is declared as a method so that its parameters are compared bivariantly, and a
 * callback annotated with the `RprocVdev` class (what the core really passes) is accepted too.
 */
export type RpmsgHostListener = { bivariant(host: RpmsgHost, vdev: RprocVdevLike): void }["bivariant"];

/**
 * The `VirtioDriver` that {@link rpmsgHostDriver} returns, with `probe` typed structurally so
 * that it registers on a `Remoteproc` of any installed copy of @amp/remoteproc-core.
 */
export interface RpmsgHostVirtioDriver extends Omit<VirtioDriver, "probe"> {
  probe(vdev: RprocVdevLike): RpmsgVdevBinding;
}

/** Options of {@link bindRpmsgHost}: the rpmsg host's, without what the vdev provides. */
export interface RpmsgVdevOptions extends Pick<
  RpmsgHostOptions,
  | "bufferSize"
  | "numBuffers"
  | "negotiateBufferSize"
  | "eventIdx"
  | "nameService"
  | "scheduler"
  | "maxEndpoints"
  | "maxPendingAnnouncements"
  | "maxBatch"
  | "onError"
> {
  /**
   * Called with the new host once its link is up (DRIVER_OK set, rx buffers posted) and before
   * it has looked at any message: subscribe to the name service here to see every announcement.
   */
  readonly onHost?: RpmsgHostListener;
}

/** What {@link bindRpmsgHost} returns: the host, and how to take it down (a `VirtioDriverBinding`). */
export interface RpmsgVdevBinding {
  readonly host: RpmsgHost;
  readonly vdev: RprocVdevLike;
  /**
   * Takes the link down and stops listening to the vdev's interrupts. `crashed`: the remote
   * crashed, so the device is not reset (its memory may be garbage); otherwise status 0 is written.
   */
  remove(crashed: boolean): void;
}

/** Node's timers, for per-call timeouts (`send(..., { timeoutMs })`, `waitForService`). */
const NODE_SCHEDULER = {
  setTimeout: (cb: () => void, ms: number): unknown => setTimeout(cb, ms),
  clearTimeout: (h: unknown): void => {
    clearTimeout(h as ReturnType<typeof setTimeout>);
  },
};

/**
 * Binds an rpmsg host to a started rpmsg vdev (virtio id 7): allocates the buffer pool, starts
 * the link in Linux's order (features, rx buffers on vring 0, DRIVER_OK, kick) and runs
 * `host.process()` on every interrupt of the vdev. Use it in a `VirtioDriver.probe` of your own,
 * or register {@link rpmsgHostDriver} to get it for every rpmsg vdev.
 *
 * The buffer pool (`2 × numBuffers × bufferSize` bytes, rx half first) is the platform's
 * `vdev<N>buffer` region when that is large enough, else an allocation from the platform's pool
 * regions (Linux: the vdev's named carveout, else DMA memory). Defaults: one 512-byte buffer per
 * vring entry, at most 256 per direction (Linux's MAX_RPMSG_NUM_BUFS / 2).
 *
 * @throws AmpError ERR_NO_MEMORY when no pool region has room; the errors of `RpmsgHost.start`
 *   (features refused, a vring not mapped).
 * @example
 * rproc.registerVirtioDriver({
 *   deviceIds: [VIRTIO_ID_RPMSG],
 *   probe: (vdev) => bindRpmsgHost(vdev, { onHost: (host) => host.onNameService((e) => console.log(e.name)) }),
 * });
 */
export function bindRpmsgHost(vdev: RprocVdevLike, options: RpmsgVdevOptions = {}): RpmsgVdevBinding {
  const { onHost, ...hostOptions } = options;
  const numBuffers = options.numBuffers ?? Math.min(vdev.vrings[0]?.num ?? 256, 256);
  const bufferSize = options.bufferSize ?? RPMSG_BUF_SIZE;
  const poolSize = 2 * numBuffers * bufferSize;
  const pool = vdev.buffer !== undefined && vdev.buffer.size >= poolSize ? vdev.buffer : vdev.allocate(poolSize, 4096);
  const host = new RpmsgHost({
    scheduler: NODE_SCHEDULER,
    ...hostOptions,
    numBuffers,
    bufferSize,
    transport: vdev.transport,
    space: vdev.addressSpace,
    poolAddr: pool.da,
  });
  const off = vdev.onInterrupt(() => {
    host.process();
  });
  try {
    host.start();
  } catch (e) {
    off();
    throw e;
  }
  try {
    onHost?.(host, vdev);
    // Whatever the remote did between DRIVER_OK and now (an early announcement) is picked up
    // here rather than at its next interrupt.
    host.process();
  } catch (e) {
    off();
    host.stop("binding the rpmsg host failed");
    throw e;
  }
  return {
    host,
    vdev,
    remove(crashed: boolean) {
      off();
      host.stop(crashed ? "the remote crashed" : "the remote is shutting down", { reset: !crashed });
    },
  };
}

/**
 * A `VirtioDriver` that runs {@link bindRpmsgHost} on every rpmsg vdev (virtio id 7):
 * `rproc.registerVirtioDriver(rpmsgHostDriver({ onHost }))`.
 */
export function rpmsgHostDriver(options: RpmsgVdevOptions = {}): RpmsgHostVirtioDriver {
  return {
    name: "rpmsg-host",
    deviceIds: [VIRTIO_ID_RPMSG],
    probe: (vdev) => bindRpmsgHost(vdev, options),
  };
}
