// rpmsg-only mode: a host and a remote that agree on a fixed layout in shared memory, with no
// life-cycle manager and no resource table (the rpmsg-lite way; wire-formats.md §7.3): vring 0
// at the base, vring 1 at the next `align` boundary after it, then the buffer pool (the host's
// rx half first, then its tx half). The host is up as soon as it has posted its rx buffers;
// the remote comes up when it sees them (vring 0's avail.idx moves), as rpmsg-lite's remote
// comes up on the first kick.
import {
  featureBit,
  legacyQueueAddresses,
  splitRingLayout,
  VIRTIO_CONFIG_S_ACKNOWLEDGE,
  VIRTIO_CONFIG_S_DRIVER,
  VIRTIO_CONFIG_S_DRIVER_OK,
  type AddressSpace,
  type Doorbell,
  type QueueConfig,
  type VirtioTransport,
} from "@amp/virtio-ring";
import { RPMSG_BUF_SIZE, RPMSG_HDR_SIZE, RPMSG_MAX_BUF_SIZE, VIRTIO_ID_RPMSG, VIRTIO_RPMSG_F_NS } from "./constants.js";
import type { RpmsgDeviceOptions } from "./device.js";
import { RpmsgHost } from "./host.js";
import { RpmsgRemote } from "./remote.js";

/** Options of {@link staticLinkLayout}. */
export interface StaticLinkLayoutOptions {
  /** Device address of the shared block (vring 0 starts here). */
  readonly base: number;
  /** Buffers per direction = vring size; a power of two. Default 256. */
  readonly numBuffers?: number;
  /** Buffer size (header included). Default 512. */
  readonly bufferSize?: number;
  /** vring alignment (rpmsg-lite VRING_ALIGN: 0x1000 on i.MX, 0x10 on some MCUs). Default 4096. */
  readonly align?: number;
}

/** The agreed layout; both sides must compute it from the same options. */
export interface StaticLinkLayout {
  readonly base: number;
  readonly numBuffers: number;
  readonly bufferSize: number;
  readonly align: number;
  /** Device addresses of vring 0 (host rx), vring 1 (host tx) and the pool. */
  readonly vring0: number;
  readonly vring1: number;
  readonly pool: number;
  /** Total bytes from `base`. */
  readonly size: number;
}

/**
 * Computes the fixed layout of an rpmsg-only link.
 * @throws RangeError unless numBuffers and align are powers of two and bufferSize fits.
 * @example staticLinkLayout({ base: 0, numBuffers: 16, align: 16 }).pool // 896
 */
export function staticLinkLayout(options: StaticLinkLayoutOptions): StaticLinkLayout {
  const num = options.numBuffers ?? 256;
  const align = options.align ?? 4096;
  const bufferSize = options.bufferSize ?? RPMSG_BUF_SIZE;
  if (!Number.isInteger(bufferSize) || bufferSize <= RPMSG_HDR_SIZE || bufferSize > RPMSG_MAX_BUF_SIZE) throw new RangeError(`bufferSize must be in (16, ${RPMSG_MAX_BUF_SIZE}], got ${bufferSize}`);
  if (!Number.isSafeInteger(options.base) || options.base < 0) throw new RangeError("base must be a device address");
  const l = splitRingLayout(num, align); // checks num and align
  const stride = Math.ceil(l.size / align) * align;
  const pool = options.base + 2 * stride;
  return { base: options.base, numBuffers: num, bufferSize, align, vring0: options.base, vring1: options.base + stride, pool, size: 2 * stride + 2 * num * bufferSize };
}

/** A transport that exists only in the two sides' agreement: fixed queues, fixed features. */
class StaticTransport implements VirtioTransport {
  readonly deviceId = VIRTIO_ID_RPMSG;
  readonly legacy = true;
  readonly configLength = 0;
  readonly queueCount = 2;
  private status = 0;
  private readonly features: bigint;
  private readonly queues: QueueConfig[];
  private readonly doorbell: Doorbell | undefined;
  /** Remote side: reads the host's avail.idx of vring 0 to learn that the host is up. */
  private readonly hostUp: (() => boolean) | undefined;

  constructor(layout: StaticLinkLayout, features: bigint, doorbell: Doorbell | undefined, hostUp: (() => boolean) | undefined) {
    this.features = features;
    this.doorbell = doorbell;
    this.hostUp = hostUp;
    this.queues = [layout.vring0, layout.vring1].map((da, i) => ({
      size: layout.numBuffers, maxSize: layout.numBuffers, ...legacyQueueAddresses(da, layout.numBuffers, layout.align),
      align: layout.align, ready: true, notifyId: i,
    }));
  }
  getStatus(): number {
    if (this.hostUp === undefined) return this.status;
    return this.hostUp() ? VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_DRIVER_OK : 0;
  }
  setStatus(status: number): void {
    this.status = status;
  }
  getDeviceFeatures(): bigint {
    return this.features;
  }
  setDeviceFeatures(): void {
    // fixed by the agreement
  }
  getDriverFeatures(): bigint {
    return this.features;
  }
  setDriverFeatures(): void {
    // fixed by the agreement
  }
  readConfig(offset: number, length: number): Uint8Array {
    throw new RangeError(`no config space (read at ${offset} +${length})`);
  }
  writeConfig(offset: number): void {
    throw new RangeError(`no config space (write at ${offset})`);
  }
  getQueue(index: number): QueueConfig {
    const q = this.queues[index];
    if (q === undefined) throw new RangeError(`queue ${index} of 2`);
    return q;
  }
  setQueue(): void {
    // fixed by the agreement
  }
  notify(index: number): void {
    this.doorbell?.notify(index);
  }
}

/** Options of the rpmsg-only factories. */
export interface StaticLinkOptions extends RpmsgDeviceOptions {
  /** The agreed layout (same on both sides). */
  readonly layout: StaticLinkLayout;
  /** Device addresses → memory; must map the whole layout. */
  readonly space: AddressSpace;
  /** Rings the peer: with 0 or 1 (the vring index). */
  readonly doorbell?: Doorbell;
  /** Use the name service (both sides must agree). Default true. */
  readonly nameService?: boolean;
}

/**
 * An rpmsg-only host over a fixed layout. Call `start()` (zeroes the rings, posts the rx
 * buffers) and then `process()` as usual.
 */
export function createStaticHost(options: StaticLinkOptions): RpmsgHost {
  const features = (options.nameService ?? true) ? featureBit(VIRTIO_RPMSG_F_NS) : 0n;
  const transport = new StaticTransport(options.layout, features, options.doorbell, undefined);
  return new RpmsgHost({
    ...options, transport, poolAddr: options.layout.pool, bufferSize: options.layout.bufferSize, numBuffers: options.layout.numBuffers,
    eventIdx: false,
  });
}

/**
 * An rpmsg-only remote over a fixed layout. It comes up in `process()` once the host has posted
 * its rx buffers. It cannot see a host restart (rpmsg-lite cannot either): there is no status.
 */
export function createStaticRemote(options: StaticLinkOptions): RpmsgRemote {
  const features = (options.nameService ?? true) ? featureBit(VIRTIO_RPMSG_F_NS) : 0n;
  const l = splitRingLayout(options.layout.numBuffers, options.layout.align);
  const availIdx = options.layout.vring0 + l.avail + 2;
  const space = options.space;
  const hostUp = (): boolean => {
    const r = space.find(availIdx, 2);
    return r !== undefined && r.memory.getU16Acquire(r.offset + (availIdx - r.da)) !== 0;
  };
  const transport = new StaticTransport(options.layout, features, undefined, hostUp);
  return new RpmsgRemote({
    ...options, transport, setDeviceFeatures: false, maxBufferSize: options.layout.bufferSize,
  });
}
