// The remote role: the virtio device, as OpenAMP and rpmsg-lite remotes are. It waits for
// DRIVER_OK before touching the rings, never re-initialises them, sends by filling buffers the
// host posted on vring 0 and receives on vring 1. docs/wire-formats.md, "Who writes what, and when", "rpmsg".
import {
  deviceAcceptedFeatures,
  deviceNeedsReset,
  DescriptorChain,
  featureBit,
  hasFeature,
  isAmpError,
  isDriverOk,
  SplitVirtqueueDevice,
  VIRTIO_CONFIG_S_NEEDS_RESET,
  VIRTIO_RING_F_EVENT_IDX,
  VRING_AVAIL_F_NO_INTERRUPT,
  type AddressSpaceLike,
  type Doorbell,
  type Memory,
  type VirtioTransport,
} from "@amp/virtio-ring";
import {
  RPMSG_BUF_SIZE,
  RPMSG_CONFIG_MAX_BUF_SIZE_OFFSET,
  RPMSG_HDR_SIZE,
  RPMSG_MAX_BUF_SIZE,
  RPMSG_VRING_HOST_RX,
  RPMSG_VRING_HOST_TX,
  VIRTIO_RPMSG_F_AMP_BUFSZ,
  VIRTIO_RPMSG_F_NS,
} from "./constants.js";
import { RpmsgDevice, type RpmsgDeviceOptions } from "./device.js";
import { rpmsgError } from "./errors.js";
import type { RxPort, Slot, TxPort } from "./internal/ports.js";
import type { RpmsgStats } from "./stats.js";

/** Options of {@link RpmsgRemote}. */
export interface RpmsgRemoteOptions extends RpmsgDeviceOptions {
  /** The virtio device as the remote sees it (status and queue addresses written by the host). */
  readonly transport: VirtioTransport;
  /** Device addresses → memory: every descriptor address is translated and bounds-checked here. */
  readonly space: AddressSpaceLike;
  /** Rung with a vring's notifyId to interrupt the host (used buffers on vring 0 or 1). */
  readonly doorbell?: Doorbell;
  /**
   * Write the offered features into the transport at construction (`dfeatures`): name service,
   * plus the options below. Default true; false when the feature word is fixed elsewhere
   * (a resource table built into the firmware).
   */
  readonly setDeviceFeatures?: boolean;
  /** Offer the name service (VIRTIO_RPMSG_F_NS). Default true. */
  readonly nameService?: boolean;
  /** Offer VIRTIO_RING_F_EVENT_IDX. Default false. */
  readonly eventIdx?: boolean;
  /**
   * Largest buffer (header included) this side reads or fills; the MTU is this − 16. Default
   * 512 (Linux, OpenAMP). Larger only with `offerBigBuffers` or when the host is known to use
   * larger buffers (e.g. OpenAMP built with a bigger RPMSG_BUFFER_SIZE).
   */
  readonly maxBufferSize?: number;
  /**
   * Offer @amp big buffers (VIRTIO_RPMSG_F_AMP_BUFSZ) and publish `maxBufferSize` in config
   * space (needs 4 bytes of it). Default false: Linux and OpenAMP hosts use 512 regardless.
   */
  readonly offerBigBuffers?: boolean;
  /**
   * Where every buffer the host posts must lie (device addresses). A buffer outside is a layout
   * disagreement (ERR_LAYOUT) and takes the link down, instead of messages vanishing into memory
   * the host never reads. rpmsg-only mode sets it from the agreed layout; with a resource table
   * the host places its pool where it likes, so the default is no check.
   */
  readonly bufferPool?: BufferPool;
  /**
   * Accept what the rpmsg-lite master does on the wire (rpmsg-only mode sets it): tx
   * descriptors flagged device-writable on vring 1, vring 1's used ring pre-loaded by the master
   * (used.idx continues from memory), and VRING_AVAIL_F_NO_INTERRUPT set although it waits for
   * interrupts (recognised per link: vring 0's flag is set as the link comes up; a host that
   * leaves it clear has its suppression honoured). None of these reach memory outside the
   * buffers offered. Default false: a Linux or OpenAMP host gets the strict checks.
   */
  readonly rpmsgLiteMaster?: boolean;
}

/** Where the host's buffers must lie (see `RpmsgRemoteOptions.bufferPool`). */
export interface BufferPool {
  readonly da: number;
  readonly size: number;
  /**
   * The first buffer taken from vring 0 on a link must be the pool's first one. rpmsg-lite's
   * master and @amp's static host both post the pool in order from its start, so a first buffer
   * elsewhere, even inside the pool, means the two sides placed the pool differently.
   */
  readonly startsAtFirstBuffer?: boolean;
}

/** Chains longer than this are refused (rpmsg buffers are always one descriptor). */
const MAX_CHAIN = 4;

/**
 * The rpmsg remote (virtio device role). Call `process()` from its main loop or kick handler:
 * it notices DRIVER_OK (link up, endpoints announced), resets (link down) and messages.
 *
 * @example
 * const remote = new RpmsgRemote({ transport, space, doorbell });
 * const ep = remote.createEndpoint({ name: "rpmsg-tty", onMessage: (m, e) => void e.trySend(m.data) });
 * // loop: remote.process();
 */
export class RpmsgRemote extends RpmsgDevice {
  protected readonly announceByDefault = true;
  private readonly opts: RpmsgRemoteOptions;
  private readonly maxBuf: number;
  private up = false;
  /** The current link's queues: vring 0 (our tx) and vring 1 (our rx). */
  private txq: SplitVirtqueueDevice | undefined;
  private rxq: SplitVirtqueueDevice | undefined;
  /** Features the driver accepted on the current link. */
  private accepted = 0n;

  /** @throws RangeError for bad options. */
  constructor(options: RpmsgRemoteOptions) {
    super(options);
    this.opts = options;
    const mb = options.maxBufferSize ?? RPMSG_BUF_SIZE;
    if (!Number.isInteger(mb) || mb <= RPMSG_HDR_SIZE || mb > RPMSG_MAX_BUF_SIZE)
      throw new RangeError(`maxBufferSize must be in (16, ${RPMSG_MAX_BUF_SIZE}], got ${mb}`);
    this.maxBuf = mb;
    if (options.setDeviceFeatures ?? true) {
      const t = options.transport;
      let f = 0n;
      if (options.nameService ?? true) f |= featureBit(VIRTIO_RPMSG_F_NS);
      if (options.eventIdx ?? false) f |= featureBit(VIRTIO_RING_F_EVENT_IDX);
      if (options.offerBigBuffers ?? false) {
        if (t.configLength < RPMSG_CONFIG_MAX_BUF_SIZE_OFFSET + 4)
          throw new RangeError("offerBigBuffers needs 4 bytes of config space");
        t.writeConfig(
          RPMSG_CONFIG_MAX_BUF_SIZE_OFFSET,
          Uint8Array.of(mb & 0xff, (mb >>> 8) & 0xff, (mb >>> 16) & 0xff, mb >>> 24),
        );
        f |= featureBit(VIRTIO_RPMSG_F_AMP_BUFSZ);
      }
      t.setDeviceFeatures(f);
    }
  }

  /** Features the host accepted on the current link (0n while down). */
  get features(): bigint {
    return this.up ? this.accepted : 0n;
  }

  protected poll(): void {
    const t = this.opts.transport;
    const s = t.getStatus();
    if (this.up) {
      if (!isDriverOk(s)) {
        this.up = false;
        const why =
          s === 0
            ? "the host reset the device"
            : (s & VIRTIO_CONFIG_S_NEEDS_RESET) !== 0
              ? "the device needs a reset (NEEDS_RESET)"
              : `device status 0x${s.toString(16)}`;
        this.linkDown(rpmsgError("ERR_LINK_DOWN", `rpmsg link down: ${why}`));
        return;
      }
      // A host that resets and brings the device back up between two of our polls (status 0,
      // then DRIVER_OK again) leaves no trace in the status byte, but it zeroed the rings: our
      // used.idx is gone. Take the link down and come up on the new rings, instead of walking
      // the old indices into a protocol error.
      // Two reads per poll, no allocation: process() runs on every doorbell.
      if ((this.txq?.usedIdxIntact() ?? true) && (this.rxq?.usedIdxIntact() ?? true)) return;
      this.up = false;
      this.linkDown(
        rpmsgError("ERR_LINK_DOWN", "rpmsg link down: the host re-initialised the rings (a reset between two polls)"),
      );
    }
    if (isDriverOk(s)) this.comeUp(t);
  }

  /**
   * The host set DRIVER_OK: map its rings and bring the link up. A method of its own, so that the
   * queue factory's closure below captures nothing of `poll`: a captured local would make V8
   * allocate a context for every `poll()`, that is, on every `process()` (measured: 30-110
   * scavenges per 10^6 echoed messages in the remote's worker, none once split).
   */
  private comeUp(t: VirtioTransport): void {
    let tx: RemotePort;
    let rx: RemotePort;
    try {
      this.accepted = deviceAcceptedFeatures(t);
      const lite = this.opts.rpmsgLiteMaster ?? false;
      const alwaysInterrupt = lite && hostRxInterruptsOff(t, this.opts.space);
      const mk = (i: number): SplitVirtqueueDevice => {
        const q = t.getQueue(i);
        // The host zeroed the rings and posted rx buffers; the device only maps them.
        return new SplitVirtqueueDevice({
          size: q.size,
          space: this.opts.space,
          descAddr: q.descAddr,
          driverAddr: q.driverAddr,
          deviceAddr: q.deviceAddr,
          features: this.accepted,
          notifyId: q.notifyId,
          maxChain: Math.min(MAX_CHAIN, q.size),
          usedIdxFromMemory: lite,
          // used.idx once per batch: every push is followed by a flush (interrupt) at the end of
          // its send or process() batch; chains next() hands back unused wait at most for the next
          // process(), whose pump() flushes tx. The host never waits on an unpublished index.
          batchUsedIdx: true,
          ignoreInterruptSuppression: alwaysInterrupt,
          ...(this.opts.doorbell === undefined ? {} : { doorbell: this.opts.doorbell }),
        });
      };
      const txq = mk(RPMSG_VRING_HOST_RX); // the host's rx is our tx
      const rxq = mk(RPMSG_VRING_HOST_TX);
      // Buffers are as large as the host's descriptors say, capped at maxBufferSize (512 by
      // default: Linux's size; larger only with big buffers or an out-of-band agreement).
      const pool = this.opts.bufferPool;
      tx = new RemotePort(txq, RPMSG_VRING_HOST_RX, this.maxBuf, this.stats, pool, false);
      rx = new RemotePort(rxq, RPMSG_VRING_HOST_TX, Infinity, this.stats, pool, lite);
      this.txq = txq;
      this.rxq = rxq;
    } catch (e) {
      // Bad features or unmapped rings from the host: report NEEDS_RESET and wait for a reset.
      if (!isAmpError(e)) throw e;
      this.stats.protocolErrors++;
      deviceNeedsReset(t);
      return;
    }
    this.up = true;
    this.linkUp(tx, rx, this.maxBuf, this.maxBuf - RPMSG_HDR_SIZE, hasFeature(this.accepted, VIRTIO_RPMSG_F_NS));
  }

  protected override onProtocolError(): void {
    this.up = false;
    deviceNeedsReset(this.opts.transport);
  }
}

/**
 * Whether the host asks for no interrupts on vring 0 (its rx ring) as the link comes up. The
 * rpmsg-lite master sets VRING_AVAIL_F_NO_INTERRUPT on both rings at its init, before it posts
 * its rx buffers, never clears it, and still waits for interrupts: such a master is interrupted
 * after every batch whatever the flags say. A host that wants interrupts for what it receives
 * (`createStaticHost`, Linux) leaves vring 0's flag clear, and then both rings' suppression is
 * honoured (no interrupt for tx completions it turned off). Read once per link; an unmapped ring
 * counts as "off" (the queue then fails on its own).
 */
function hostRxInterruptsOff(t: VirtioTransport, space: AddressSpaceLike): boolean {
  const da = t.getQueue(RPMSG_VRING_HOST_RX).driverAddr; // avail.flags is the ring's first u16
  const r = space.find(da, 2);
  return r === undefined || (r.memory.getU16Acquire(r.offset + (da - r.da)) & VRING_AVAIL_F_NO_INTERRUPT) !== 0;
}

/**
 * The slot for the one-segment chain at `head` (its buffer already checked and resolved to
 * `memory` at `offset`). The slot the same head had last time is reused when the host posted exactly the
 * same buffer again, which it normally does (no allocation per message, and the rx view and
 * message cached on the slot are reused too); a pooled slot is never changed, so a duplicate head
 * from a hostile host cannot alter a slot someone still holds.
 */
function pooledSlot(
  pool: (Slot | undefined)[],
  head: number,
  da: number,
  memory: Memory,
  offset: number,
  length: number,
): Slot {
  const prev = pool[head];
  if (prev?.da === da && prev.memory === memory && prev.offset === offset && prev.length === length) return prev;
  const slot: Slot = { head, da, memory, offset, length, txView: undefined, rxMessage: undefined };
  pool[head] = slot;
  return slot;
}

const DISAGREE =
  "the two sides disagree on the shared-memory layout (compare base, VRING_ALIGN, VRING_SIZE and RL_BUFFER_COUNT)";

/**
 * Throws ERR_LAYOUT when a one-segment buffer (`da` +`len`) lies outside the agreed pool (see `bufferPool`), or
 * when it is the first buffer of a link and the pool must start with it.
 */
function checkInPool(da: number, len: number, pool: BufferPool | undefined, vring: number, first: boolean): void {
  if (pool === undefined) return;
  if (first && pool.startsAtFirstBuffer === true && da !== pool.da) {
    throw rpmsgError(
      "ERR_LAYOUT",
      `vring ${vring}: the host's first buffer is at 0x${da.toString(16)}, the agreed pool starts at 0x${pool.da.toString(16)}: ${DISAGREE}`,
    );
  }
  if (da >= pool.da && da + len <= pool.da + pool.size) return;
  throw rpmsgError(
    "ERR_LAYOUT",
    `vring ${vring}: the host posted buffer 0x${da.toString(16)} +${len}, outside the agreed pool 0x${pool.da.toString(16)} +${pool.size}: ${DISAGREE}`,
  );
}

/**
 * One vring of the remote: its tx (vring 0: buffers the host posted, device-writable, capped at
 * maxBufferSize) or its rx (vring 1: buffers the host filled, device-readable; len = 16 + payload
 * from Linux, the whole buffer from OpenAMP; device-writable from the rpmsg-lite master, accepted
 * only with `rpmsgLiteMaster`). Rx buffers go back with their descriptor length as used.len
 * (`pushConsumed`): OpenAMP's and rpmsg-lite's hosts take that number as the buffer's capacity.
 * Any other chain is not an rpmsg buffer: counted and handed straight back unused, at most one
 * ring's worth per call, so a host that keeps posting them cannot keep us here.
 */
class RemotePort implements TxPort, RxPort {
  private readonly q: SplitVirtqueueDevice;
  private readonly vring: number;
  private readonly tx: boolean;
  private readonly cap: number;
  /** Counts chains that are not rpmsg buffers (`dropped.badBuffer`). */
  private readonly stats: RpmsgStats;
  private readonly pool: BufferPool | undefined;
  private readonly anyDirection: boolean;
  private readonly chain = new DescriptorChain(MAX_CHAIN);
  private readonly spare: Slot[] = [];
  /** The last slot seen for each descriptor head (see `pooledSlot`). */
  private readonly slots: (Slot | undefined)[] = [];
  /** Tx: the next buffer is the link's first (see `BufferPool.startsAtFirstBuffer`). */
  private first: boolean;
  /** Tx: whether the host is asked to kick vring 0 (the ring starts with kicks on). */
  private kicks = true;
  constructor(
    q: SplitVirtqueueDevice,
    vring: number,
    cap: number,
    stats: RpmsgStats,
    pool: BufferPool | undefined,
    anyDirection: boolean,
  ) {
    this.q = q;
    this.vring = vring;
    this.tx = vring === RPMSG_VRING_HOST_RX; // the host's rx is our tx
    this.cap = cap;
    this.stats = stats;
    this.pool = pool;
    this.anyDirection = anyDirection;
    this.first = this.tx;
  }
  acquire(): Slot | undefined {
    return this.spare.pop() ?? this.next();
  }
  next(again = false): Slot | undefined {
    for (let i = 0; i < this.q.size; i++) {
      const c = this.q.getAvail(this.chain, again);
      if (c === null) return undefined;
      if (c.count === 1 && (c.readable === 0 ? this.tx || this.anyDirection : !this.tx)) {
        const da = c.addr(0);
        const len = c.len(0);
        checkInPool(da, len, this.pool, this.vring, this.first);
        this.first = false;
        const slot = pooledSlot(this.slots, c.id, da, c.memory(0), c.offset(0), Math.min(len, this.cap));
        if (!this.tx || slot.length >= RPMSG_HDR_SIZE) return slot;
      }
      this.stats.dropped.badBuffer++;
      this.q.pushUsed(c.id, 0);
    }
    return undefined;
  }
  submit(s: Slot, length: number): void {
    this.q.pushUsed(s.head, length);
  }
  recycle(s: Slot): void {
    this.q.pushConsumed(s.head);
  }
  giveBack(s: Slot): void {
    this.spare.push(s);
  }
  prepare(): void {
    // One tx buffer taken ahead (its descriptor read now, not when a reply is due); a host
    // with none posted is asked again only after the next batch.
    const s = this.acquire();
    if (s !== undefined) this.giveBack(s);
  }
  wantCompletions(on: boolean): boolean {
    // Vring 0's kick only says "rx buffers re-posted", which matters only while a send waits for
    // one: asked for then, as the host asks for tx completions (Linux, OpenAMP and rpmsg-lite
    // hosts honour VRING_USED_F_NO_NOTIFY). A sleeping remote is not woken for nothing, and the
    // host's rx path makes no doorbell call. Turning it on re-checks the ring (enable_cb rule).
    if (on === this.kicks) return false;
    this.kicks = on;
    if (on) return this.q.enableNotifications();
    this.q.disableNotifications();
    return false;
  }
  flush(): void {
    this.q.interrupt();
  }
}
