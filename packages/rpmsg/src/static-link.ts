// rpmsg-only mode: a host and a remote that agree on a fixed layout in shared memory, with no
// life-cycle manager and no resource table (the rpmsg-lite way; docs/wire-formats.md,
// "rpmsg-only mode: static layouts"): vring 0 at the base, vring 1 at the next `align` boundary
// after it, then the buffer pool (the host's rx half first, then its tx half). The host is up as
// soon as it has posted its rx buffers; the remote comes up when it sees them (vring 0's avail.idx
// moves), as rpmsg-lite's remote comes up on the first kick.
import {
  featureBit,
  legacyQueueAddresses,
  splitRingLayout,
  VIRTIO_CONFIG_S_ACKNOWLEDGE,
  VIRTIO_CONFIG_S_DRIVER,
  VIRTIO_CONFIG_S_DRIVER_OK,
  VIRTIO_CONFIG_S_NEEDS_RESET,
  type AddressSpaceLike,
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
  /**
   * Distance from vring 0 to vring 1 (rpmsg-lite's VRING_SIZE, a per-platform constant); the
   * buffer pool starts at base + 2 × vringStride. Default: vring 0's size rounded up to `align`.
   * Must be at least the ring's size, or the rings would overlap.
   */
  readonly vringStride?: number;
  /** rpmsg-lite link id: the doorbell is rung with notify id `(linkId << 1) | vring`. Default 0. */
  readonly linkId?: number;
}

/** The agreed layout; both sides must compute it from the same options. */
export interface StaticLinkLayout {
  readonly base: number;
  readonly numBuffers: number;
  readonly bufferSize: number;
  readonly align: number;
  /** Distance from vring 0 to vring 1. */
  readonly vringStride: number;
  readonly linkId: number;
  /** Device addresses of vring 0 (host rx), vring 1 (host tx) and the pool. */
  readonly vring0: number;
  readonly vring1: number;
  readonly pool: number;
  /** Notify ids of vring 0 and vring 1 on the doorbell: `(linkId << 1) | vring`. */
  readonly notifyIds: readonly [number, number];
  /** Total bytes from `base`. */
  readonly size: number;
}

/** Highest rpmsg-lite link id whose notify ids fit its 16-bit vq id (`link_id << 1 | 1`). */
const MAX_LINK_ID = 0x7fff;

/**
 * Computes the fixed layout of an rpmsg-only link.
 * @throws RangeError unless numBuffers and align are powers of two, bufferSize fits, and
 *   vringStride leaves room for a whole ring.
 * @example staticLinkLayout({ base: 0, numBuffers: 16, align: 16 }).pool // 896
 */
export function staticLinkLayout(options: StaticLinkLayoutOptions): StaticLinkLayout {
  const num = options.numBuffers ?? 256;
  const align = options.align ?? 4096;
  const bufferSize = options.bufferSize ?? RPMSG_BUF_SIZE;
  const linkId = options.linkId ?? 0;
  if (!Number.isInteger(bufferSize) || bufferSize <= RPMSG_HDR_SIZE || bufferSize > RPMSG_MAX_BUF_SIZE)
    throw new RangeError(`bufferSize must be in (16, ${RPMSG_MAX_BUF_SIZE}], got ${bufferSize}`);
  if (!Number.isSafeInteger(options.base) || options.base < 0) throw new RangeError("base must be a device address");
  if (!Number.isInteger(linkId) || linkId < 0 || linkId > MAX_LINK_ID)
    throw new RangeError(`linkId must be in [0, ${MAX_LINK_ID}], got ${linkId}`);
  const l = splitRingLayout(num, align); // checks num and align
  const stride = options.vringStride ?? Math.ceil(l.size / align) * align;
  if (!Number.isSafeInteger(stride) || stride < l.size || stride % align !== 0) {
    throw new RangeError(
      `vringStride 0x${stride.toString(16)} must be a multiple of align 0x${align.toString(16)} and hold a ${num}-entry ring (0x${l.size.toString(16)} bytes)`,
    );
  }
  // rpmsg-lite word-aligns the pool start (RL_WORD_ALIGN_UP); every stride here already is.
  const pool = options.base + 2 * stride;
  return {
    base: options.base,
    numBuffers: num,
    bufferSize,
    align,
    vringStride: stride,
    linkId,
    vring0: options.base,
    vring1: options.base + stride,
    pool,
    notifyIds: [linkId << 1, (linkId << 1) | 1],
    size: 2 * stride + 2 * num * bufferSize,
  };
}

/**
 * rpmsg-lite's configuration, under its own macro names, so the numbers can be copied from a
 * project's `rpmsg_config.h` and `rpmsg_platform.h`.
 */
export interface RpmsgLiteConfig {
  /** Device address of the shared memory block passed to `rpmsg_lite_*_init` (word-aligned). */
  readonly base: number;
  /** Buffers per direction (also the vring size). rpmsg-lite's default is 2. */
  readonly RL_BUFFER_COUNT?: number;
  /** Payload bytes per buffer; the buffer is this + 16. rpmsg-lite's default is 496. */
  readonly RL_BUFFER_PAYLOAD_SIZE?: number;
  /** The platform's vring alignment: 0x1000 on i.MX application-processor platforms, 0x10 on MCUs. */
  readonly VRING_ALIGN: number;
  /**
   * The platform's VRING_SIZE when its header defines a constant (0x8000 on most i.MX headers).
   * Omitted: the formula of the MCU headers, three parts each rounded up to VRING_ALIGN (the
   * descriptors, the avail ring with its event word, the used ring with its event word).
   */
  readonly VRING_SIZE?: number;
  /** The link id given to `rpmsg_lite_*_init`. Default 0. */
  readonly linkId?: number;
}

/**
 * The layout rpmsg-lite itself computes for a configuration: vring 0 at `base`, vring 1 at
 * base + VRING_SIZE, the buffers at base + 2 × VRING_SIZE (the master's rx half first).
 * @throws RangeError for values rpmsg-lite would not accept (count not a power of two, a
 *   VRING_SIZE too small for the ring) or that @amp cannot lay out as it does (VRING_ALIGN < 16).
 * @example rpmsgLiteLayout({ base: 0x2000_0000, RL_BUFFER_COUNT: 16, VRING_ALIGN: 0x1000, VRING_SIZE: 0x8000 }).pool // 0x2001_0000
 */
export function rpmsgLiteLayout(config: RpmsgLiteConfig): StaticLinkLayout {
  const num = config.RL_BUFFER_COUNT ?? 2;
  const payload = config.RL_BUFFER_PAYLOAD_SIZE ?? RPMSG_BUF_SIZE - RPMSG_HDR_SIZE;
  const align = config.VRING_ALIGN;
  if (!Number.isInteger(payload) || payload < 1)
    throw new RangeError(`RL_BUFFER_PAYLOAD_SIZE must be a positive integer, got ${payload}`);
  if (config.base % 4 !== 0)
    throw new RangeError(`base 0x${config.base.toString(16)} must be word-aligned (rpmsg-lite aligns it)`);
  splitRingLayout(num, align); // checks both are powers of two
  // rpmsg-lite's vring_init puts the used ring right after avail.ring[num], without the 2-byte
  // used_event that virtio (and splitRingLayout) leave there; the two agree for every power-of-two
  // count at an alignment of 16 or more, which every NXP platform uses.
  if (align < 16)
    throw new RangeError(
      `VRING_ALIGN 0x${align.toString(16)}: below 0x10 rpmsg-lite's used ring sits 2 bytes off the virtio layout`,
    );
  const up = (x: number): number => Math.ceil(x / align) * align;
  // The MCU headers' formula; their structs declare ring[1], so sizeof is 6 (avail) and 12 (used).
  const stride = config.VRING_SIZE ?? up(16 * num) + up(6 + 2 * num + 2) + up(12 + 8 * num + 2);
  return staticLinkLayout({
    base: config.base,
    numBuffers: num,
    bufferSize: RPMSG_HDR_SIZE + payload,
    align,
    vringStride: stride,
    ...(config.linkId === undefined ? {} : { linkId: config.linkId }),
  });
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

  constructor(
    layout: StaticLinkLayout,
    features: bigint,
    doorbell: Doorbell | undefined,
    hostUp: (() => boolean) | undefined,
  ) {
    this.features = features;
    this.doorbell = doorbell;
    this.hostUp = hostUp;
    this.queues = [layout.vring0, layout.vring1].map((da, i) => ({
      size: layout.numBuffers,
      maxSize: layout.numBuffers,
      ...legacyQueueAddresses(da, layout.numBuffers, layout.align),
      align: layout.align,
      ready: true,
      notifyId: layout.notifyIds[i] ?? i,
    }));
  }
  getStatus(): number {
    if (this.hostUp === undefined) return this.status;
    // After the remote reported NEEDS_RESET (a protocol error or a layout disagreement) it stays
    // down: rpmsg-lite has no reset to wait for, and coming up again would fail the same way.
    if ((this.status & VIRTIO_CONFIG_S_NEEDS_RESET) !== 0) return this.status;
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
    this.doorbell?.notify(this.getQueue(index).notifyId);
  }
}

/** Options of the rpmsg-only factories. */
export interface StaticLinkOptions extends RpmsgDeviceOptions {
  /** The agreed layout (same on both sides). */
  readonly layout: StaticLinkLayout;
  /** Device addresses → memory; must map the whole layout. */
  readonly space: AddressSpaceLike;
  /** Rings the peer with the layout's notify ids: `(linkId << 1) | vring`. */
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
    ...options,
    transport,
    poolAddr: options.layout.pool,
    bufferSize: options.layout.bufferSize,
    numBuffers: options.layout.numBuffers,
    eventIdx: false,
  });
}

/**
 * An rpmsg-only remote over a fixed layout. It comes up in `process()` once the host has posted
 * its rx buffers. It cannot see a host restart (rpmsg-lite cannot either): there is no status.
 * It accepts what an rpmsg-lite master does on the wire (see `RpmsgRemoteOptions.rpmsgLiteMaster`)
 * and takes the link down with ERR_LAYOUT when the host posts a buffer outside the layout's pool,
 * or a first buffer that is not the pool's first (both rpmsg-lite's master and `createStaticHost`
 * post the pool in order).
 */
export function createStaticRemote(options: StaticLinkOptions): RpmsgRemote {
  const features = (options.nameService ?? true) ? featureBit(VIRTIO_RPMSG_F_NS) : 0n;
  const l = splitRingLayout(options.layout.numBuffers, options.layout.align);
  const availIdx = options.layout.vring0 + l.avail + 2;
  const space = options.space;
  // Up for good once seen: avail.idx is a free-running u16, 0 again after every 65536 posted
  // buffers, which is no sign of a host going away (nothing here can see one). Once up, a poll
  // reads no memory for it.
  let up = false;
  const hostUp = (): boolean => {
    const r = up ? undefined : space.find(availIdx, 2);
    return (up ||= r !== undefined && r.memory.getU16Acquire(r.offset + (availIdx - r.da)) !== 0);
  };
  const transport = new StaticTransport(options.layout, features, undefined, hostUp);
  const lay = options.layout;
  return new RpmsgRemote({
    ...options,
    transport,
    setDeviceFeatures: false,
    maxBufferSize: lay.bufferSize,
    bufferPool: { da: lay.pool, size: 2 * lay.numBuffers * lay.bufferSize, startsAtFirstBuffer: true },
    rpmsgLiteMaster: true,
  });
}
