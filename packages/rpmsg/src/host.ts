// The host role: the virtio driver, as Linux's virtio_rpmsg_bus is. It owns the buffer pool
// (one region: rx buffers first, tx buffers after), posts every rx buffer on vring 0 before
// DRIVER_OK, and sends on vring 1. docs/wire-formats.md, "rpmsg"; behaviour §1.17.
import {
  driverNegotiate,
  driverReady,
  featureBit,
  hasFeature,
  isAmpError,
  legacyQueueAddresses,
  splitRingLayout,
  SplitVirtqueueDriver,
  VIRTIO_CONFIG_S_DRIVER_OK,
  VIRTIO_CONFIG_S_FAILED,
  VIRTIO_CONFIG_S_NEEDS_RESET,
  VIRTIO_RING_F_EVENT_IDX,
  type AddressSpaceLike,
  type UsedBuffer,
  type VirtioTransport,
} from "@amp/virtio-ring";
import {
  RPMSG_BUF_SIZE,
  RPMSG_CONFIG_MAX_BUF_SIZE_OFFSET,
  RPMSG_DEFAULT_NUM_BUFS,
  RPMSG_HDR_SIZE,
  RPMSG_MAX_BUF_SIZE,
  RPMSG_VRING_HOST_RX,
  RPMSG_VRING_HOST_TX,
  VIRTIO_RPMSG_F_AMP_BUFSZ,
  VIRTIO_RPMSG_F_NS,
} from "./constants.js";
import { alignUp } from "@amp/virtio-ring";
import { RpmsgDevice, type RpmsgDeviceOptions } from "./device.js";
import { rpmsgError } from "./errors.js";
import type { RxPort, Slot, TxPort } from "./internal/ports.js";
import type { RpmsgStats } from "./stats.js";

/** Options of {@link RpmsgHost}. */
export interface RpmsgHostOptions extends RpmsgDeviceOptions {
  /** The virtio device (status, features, config, queues, notify): a resource-table vdev, a fixed layout, ... */
  readonly transport: VirtioTransport;
  /** Device addresses → memory, for the vrings and the buffer pool. */
  readonly space: AddressSpaceLike;
  /** Device address of the buffer pool: `2 × numBuffers × bufferSize` bytes (rx half first, then tx). */
  readonly poolAddr: number;
  /**
   * Where to place the two vrings (legacy contiguous layout, vring 1 right after vring 0 at the
   * next `align` boundary) when the transport has no queue addresses yet. Default: use the
   * addresses the transport already holds (a resource-table vdev whose vrings were allocated).
   */
  readonly rings?: { readonly addr: number; readonly align?: number };
  /** Buffer size in bytes (header included). Default 512, what Linux and OpenAMP use. */
  readonly bufferSize?: number;
  /** Buffers per direction; at most the vring size. Default 256 (Linux: min(vring num, 256)). */
  readonly numBuffers?: number;
  /**
   * Opt-in big buffers between two @amp peers: `bufferSize` is used only when the device offers
   * VIRTIO_RPMSG_F_AMP_BUFSZ (capped at the size it publishes); otherwise 512. Default false,
   * which uses `bufferSize` as given (both sides must agree out of band, as OpenAMP's compile option).
   */
  readonly negotiateBufferSize?: boolean;
  /** Accept VIRTIO_RING_F_EVENT_IDX when the device offers it. Default true. */
  readonly eventIdx?: boolean;
  /** Accept the name service (VIRTIO_RPMSG_F_NS) when offered. Default true. */
  readonly nameService?: boolean;
}

/** The pool geometry chosen at `start()`. */
export interface RpmsgHostGeometry {
  readonly bufferSize: number;
  readonly numRxBuffers: number;
  readonly numTxBuffers: number;
  /** Device address of the first rx buffer (= poolAddr) and of the first tx buffer. */
  readonly rxAddr: number;
  readonly txAddr: number;
  readonly features: bigint;
}

/**
 * The rpmsg host (virtio driver role).
 *
 * @example
 * const host = new RpmsgHost({ transport, space, poolAddr: 0x10000, rings: { addr: 0 } });
 * host.start(); // posts rx buffers, sets DRIVER_OK
 * const svc = await host.waitForService("rpmsg-tty"); // keep calling host.process() on interrupts
 */
export class RpmsgHost extends RpmsgDevice {
  protected readonly announceByDefault = false;
  private readonly opts: RpmsgHostOptions;
  private geo: RpmsgHostGeometry | undefined;
  private started = false;
  /** cork() depth, shared with every link's tx port (a restart keeps it). */
  private readonly corks: Cork = { depth: 0 };
  private hostTx: HostTx | undefined;

  /** @throws RangeError/TypeError for bad options. Nothing touches the device before `start()`. */
  constructor(options: RpmsgHostOptions) {
    super(options);
    const bs = options.bufferSize ?? RPMSG_BUF_SIZE;
    if (!Number.isInteger(bs) || bs <= RPMSG_HDR_SIZE || bs > RPMSG_MAX_BUF_SIZE)
      throw new RangeError(`bufferSize must be in (16, ${RPMSG_MAX_BUF_SIZE}], got ${bs}`);
    const nb = options.numBuffers ?? RPMSG_DEFAULT_NUM_BUFS;
    if (!Number.isInteger(nb) || nb < 1 || nb > 32768)
      throw new RangeError(`numBuffers must be in [1, 32768], got ${nb}`);
    if (!Number.isSafeInteger(options.poolAddr) || options.poolAddr < 0)
      throw new RangeError("poolAddr must be a device address");
    this.opts = options;
  }

  /**
   * Holds back the publication of the sends that follow, until the matching {@link uncork}: each
   * send still writes its message, descriptor and avail ring entry at once (and keeps its order
   * and every check), but avail.idx is stored and the remote kicked once per part of the burst
   * instead of once per message: every eighth of the tx buffers (32 of 256), so that the remote
   * drains one part while the host fills the next. What is held goes out early whenever it
   * must: when a send finds no free tx buffer (the remote can only return what it has seen) and
   * at the end of every `process()`. Calls nest; zero-copy sends are corked too.
   *
   * A remote sees a corked message only after that point: cork a burst, not a request whose
   * reply you wait for without calling `process()`.
   *
   * @example
   * host.cork();
   * try {
   *   for (const m of batch) while (!ep.trySend(m)) host.process();
   * } finally {
   *   host.uncork(); // one avail.idx store and at most one kick for the batch
   * }
   */
  cork(): void {
    this.corks.depth++;
  }

  /**
   * Ends one {@link cork}; the outermost publishes what the burst held back (one avail.idx store,
   * one kick unless the remote suppressed it). Extra calls do nothing.
   */
  uncork(): void {
    if (this.corks.depth === 0) return;
    if (--this.corks.depth === 0) this.publishTx();
  }

  /** Drains as {@link RpmsgDevice.process} does, then publishes sends held back by {@link cork}. */
  override process(): number {
    const n = super.process();
    if (this.corks.depth > 0) this.publishTx();
    return n;
  }

  /** Pool geometry of the current link (undefined before `start()`). */
  get geometry(): RpmsgHostGeometry | undefined {
    return this.geo;
  }

  /**
   * Brings the link up, in Linux's order: reset, ACKNOWLEDGE|DRIVER, features, vrings (zeroed),
   * every rx buffer posted on vring 0, tx-complete interrupts off, DRIVER_OK, then a kick.
   * Calling it again restarts the link (after a stop, a reset or a peer crash).
   * @throws AmpError (from @amp/virtio-ring) when the device refuses the features or a ring is
   *   not mapped; RangeError when the pool does not fit the address space.
   */
  start(): void {
    this.stop("restarting");
    const t = this.opts.transport;
    const wanted =
      (featureBit(VIRTIO_RPMSG_F_NS) * ((this.opts.nameService ?? true) ? 1n : 0n)) |
      ((this.opts.eventIdx ?? true) ? featureBit(VIRTIO_RING_F_EVENT_IDX) : 0n) |
      ((this.opts.negotiateBufferSize ?? false) ? featureBit(VIRTIO_RPMSG_F_AMP_BUFSZ) : 0n);
    const features = driverNegotiate(t, { features: wanted });
    let bufferSize = this.opts.bufferSize ?? RPMSG_BUF_SIZE;
    if (this.opts.negotiateBufferSize === true) {
      if (hasFeature(features, VIRTIO_RPMSG_F_AMP_BUFSZ) && t.configLength >= RPMSG_CONFIG_MAX_BUF_SIZE_OFFSET + 4) {
        const c = t.readConfig(RPMSG_CONFIG_MAX_BUF_SIZE_OFFSET, 4);
        const devMax = ((c[0] ?? 0) | ((c[1] ?? 0) << 8) | ((c[2] ?? 0) << 16) | ((c[3] ?? 0) << 24)) >>> 0;
        bufferSize = Math.max(RPMSG_BUF_SIZE, Math.min(bufferSize, devMax, RPMSG_MAX_BUF_SIZE));
      } else {
        bufferSize = RPMSG_BUF_SIZE;
      }
    }
    const space = this.opts.space;
    // Each queue rings the transport with its own index (the queue's notify id here): one call
    // per kick, no id-to-index lookup. The transport maps the index to what the device expects.
    const doorbell = {
      notify: (i: number) => {
        t.notify(i);
      },
    };
    const queues = [RPMSG_VRING_HOST_RX, RPMSG_VRING_HOST_TX].map((i) => {
      let q = t.getQueue(i);
      if (this.opts.rings !== undefined) {
        const align = this.opts.rings.align ?? 4096;
        // vring 1 starts at the next `align` boundary after vring 0 (Linux PAGE_ALIGNs each).
        const addr =
          this.opts.rings.addr + (i === 0 ? 0 : alignUp(splitRingLayout(t.getQueue(0).size, align).size, align));
        t.setQueue(i, { ...legacyQueueAddresses(addr, q.size, align), align, ready: true });
        q = t.getQueue(i);
      }
      const vq = new SplitVirtqueueDriver<number>({
        size: q.size,
        space,
        descAddr: q.descAddr,
        driverAddr: q.driverAddr,
        deviceAddr: q.deviceAddr,
        features,
        doorbell,
        notifyId: i,
        maxChain: 1,
        // avail.idx is stored once per batch, at the kick that ends every send, process() and
        // release (a remote that polls avail.idx, as rpmsg-lite's does, sees every message by the
        // time a host call returns; re-posted rx buffers may wait, see HostRx). The echo once
        // lost against rpmsg-lite under load was a send overtaking a waiting one (tx-path.ts
        // acquireSlot), not this.
        batchAvailIdx: true,
      });
      vq.reset(); // the driver owns the rings: zero them, as Linux's allocation does
      return vq;
    });
    const rxq = queues[0] as SplitVirtqueueDriver<number>;
    const txq = queues[1] as SplitVirtqueueDriver<number>;
    const n = this.opts.numBuffers ?? RPMSG_DEFAULT_NUM_BUFS;
    const numRx = Math.min(n, rxq.size);
    const numTx = Math.min(n, txq.size);
    const pool = this.opts.poolAddr;
    const txAddr = pool + numRx * bufferSize;
    const rxSlots = makeSlots(space, pool, numRx, bufferSize);
    const txSlots = makeSlots(space, txAddr, numTx, bufferSize);
    this.geo = { bufferSize, numRxBuffers: numRx, numTxBuffers: numTx, rxAddr: pool, txAddr, features };
    const rx = new HostRx(rxq, rxSlots, bufferSize);
    for (const s of rxSlots) rx.post(s);
    const tx = new HostTx(txq, txSlots, this.stats, this.corks);
    this.hostTx = tx;
    txq.disableInterrupts(); // Linux: tx-complete callbacks only while a sender waits
    const kick = rxq.kickPrepare();
    driverReady(t);
    this.started = true;
    this.linkUp(tx, rx, bufferSize, bufferSize - RPMSG_HDR_SIZE, hasFeature(features, VIRTIO_RPMSG_F_NS));
    if (kick) t.notify(RPMSG_VRING_HOST_RX);
  }

  /**
   * Takes the link down: every endpoint closes with ERR_LINK_DOWN (`reason`), pending sends
   * fail. With `reset` (default true) the device is reset (status 0); pass false when the remote
   * is already gone (crash) and the transport must not be touched. `start()` brings it back.
   */
  stop(reason = "stopped by the host", options: { reset?: boolean } = {}): void {
    if (!this.started) return;
    this.started = false;
    if (options.reset ?? true) this.opts.transport.setStatus(0);
    this.linkDown(rpmsgError("ERR_LINK_DOWN", `rpmsg link down: ${reason}`));
  }

  private publishTx(): void {
    if (this.started) this.hostTx?.publish();
  }

  protected poll(): void {
    if (!this.started) return;
    let s: number;
    try {
      s = this.opts.transport.getStatus();
    } catch (e) {
      // The transport is gone (e.g. a remoteproc vdev that was stopped): link down, not a throw.
      if (!isAmpError(e)) throw e;
      this.stop(`the transport failed: ${e.message}`, { reset: false });
      return;
    }
    if ((s & VIRTIO_CONFIG_S_NEEDS_RESET) !== 0) this.stop("the device needs a reset (NEEDS_RESET)", { reset: false });
    else if ((s & VIRTIO_CONFIG_S_FAILED) !== 0) this.stop("the device status is FAILED", { reset: false });
    else if ((s & VIRTIO_CONFIG_S_DRIVER_OK) === 0) this.stop("the device was reset", { reset: false });
  }

  protected override onProtocolError(): void {
    this.started = false; // the link goes down; the next start() resets the device
  }
}

function makeSlots(space: AddressSpaceLike, base: number, n: number, size: number): Slot[] {
  const out: Slot[] = [];
  for (let i = 0; i < n; i++) {
    const da = base + i * size;
    const r = space.find(da, size);
    if (r === undefined)
      throw new RangeError(`buffer pool: 0x${da.toString(16)} +${size} is not inside one mapped range`);
    out.push({
      head: i,
      da,
      memory: r.memory,
      offset: r.offset + (da - r.da),
      length: size,
      txView: undefined,
      rxMessage: undefined,
    });
  }
  return out;
}

/**
 * Host rx: vring 0, every buffer posted device-writable with len = bufferSize.
 *
 * Re-posted buffers are published (avail.idx stored, remote kicked if it asked) once an eighth of
 * the ring has come back, or at once when the remote holds fewer than half of them (it may be
 * running short: buffers held by the application, a burst not yet collected). Not after every
 * buffer, as Linux, OpenAMP and rpmsg-lite store it: each store takes the avail line from the
 * remote's cache and its next interrupt decision (avail.flags, same line) misses on it, two
 * transfers per round trip between cores (measured: polled echo p50 2.2 -> 1.9 µs, 15% less). A
 * remote can never starve: buffers wait only while it has at least half of the ring (unused, or
 * filled and not yet collected), and each one the host collects brings one of the two bounds
 * closer.
 *
 * A used length larger than the buffer is a message to drop, not a reason to take the link down
 * (Linux drops it as "inbound msg too big"; it also leaks the buffer, which we do not). The
 * queue clamps it to what was offered and keeps the declared value: the slot carries the
 * declared length so that the core counts the message as `oversize` and re-posts the buffer.
 * Every other violation (bad id, used.idx running ahead) is still caught by the queue.
 */
class HostRx implements RxPort {
  private readonly used: UsedBuffer<number> = { id: 0, len: 0, declaredLen: 0, token: 0 };
  private readonly q: SplitVirtqueueDriver<number>;
  private readonly slots: Slot[];
  private readonly size: number;
  /** Buffers re-posted since avail.idx was last stored, how many may wait, and half the ring. */
  private reposted = 0;
  private readonly holdBack: number;
  private readonly half: number;
  constructor(q: SplitVirtqueueDriver<number>, slots: Slot[], size: number) {
    this.q = q;
    this.slots = slots;
    this.size = size;
    this.holdBack = slots.length >>> 3;
    this.half = slots.length >>> 1;
  }
  post(s: Slot): void {
    s.length = this.size;
    this.q.addBuffer(s.da, this.size, true, s.head);
  }
  next(again = false): Slot | undefined {
    // Later calls of a batch take only what the first one's used.idx load covered (the remote
    // interrupts, or the next process() looks, for anything newer): one atomic load per batch.
    const u = this.q.getUsed(this.used, again);
    if (u === null) return undefined;
    const s = this.slots[u.token] as Slot;
    s.length = u.declaredLen; // > size: dropped as oversize by the core, never read past size
    return s;
  }
  recycle(s: Slot): void {
    this.post(s);
    this.reposted++;
  }
  flush(): void {
    // outstanding counts the held-back buffers too: the remote can use the rest.
    if (this.reposted < this.holdBack && this.q.outstanding - this.reposted >= this.half) return;
    this.reposted = 0;
    this.q.kick();
  }
}

/**
 * A corked burst is published every tx-buffers >> CORK_SHIFT sends (32 of 256): the remote
 * drains the first part while the host fills the rest, instead of the two taking turns over the
 * whole ring (each side's cache misses on the buffers then overlap the other's work).
 */
const CORK_SHIFT = 3;

/** The host's cork() depth. */
interface Cork {
  depth: number;
}

/**
 * Host tx: vring 1; fresh buffers first (Linux last_sbuf), then ones the remote returned. While
 * the host is corked, `flush()` (the end of each send) leaves avail.idx and the kick for later.
 */
class HostTx implements TxPort {
  private readonly used: UsedBuffer<number> = { id: 0, len: 0, declaredLen: 0, token: 0 };
  private readonly q: SplitVirtqueueDriver<number>;
  private readonly slots: Slot[];
  private readonly stats: RpmsgStats;
  private readonly cork: Cork;
  private readonly free: number[] = [];
  private fresh = 0;
  private interrupts = false;
  /** Sends held back by cork() since avail.idx was last stored, and how many it may hold. */
  private held = 0;
  private readonly maxHeld: number;
  constructor(q: SplitVirtqueueDriver<number>, slots: Slot[], stats: RpmsgStats, cork: Cork) {
    this.q = q;
    this.slots = slots;
    this.stats = stats;
    this.cork = cork;
    this.maxHeld = Math.max(1, slots.length >>> CORK_SHIFT);
  }
  acquire(): Slot | undefined {
    let i = this.free.pop();
    if (i === undefined && this.fresh < this.slots.length) i = this.fresh++;
    if (i === undefined) {
      const u = this.q.getUsed(this.used);
      if (u !== null) {
        // OpenAMP and rpmsg-lite remotes write the descriptor length here; Linux ignores it, so do we.
        if (u.declaredLen !== 0) this.stats.usedLenIgnored++;
        i = u.token;
      }
    }
    if (i !== undefined) return this.slots[i];
    // Out of buffers: the remote returns only what it has seen, so nothing may stay held back.
    if (this.cork.depth > 0) this.publish();
    return undefined;
  }
  submit(s: Slot, length: number): void {
    this.q.addBuffer(s.da, length, false, s.head);
    this.held++;
  }
  giveBack(s: Slot): void {
    this.free.push(s.head);
  }
  wantCompletions(on: boolean): boolean {
    if (on === this.interrupts) return false;
    this.interrupts = on;
    if (on) return this.q.enableInterrupts();
    this.q.disableInterrupts();
    return false;
  }
  flush(): void {
    if (this.cork.depth === 0 || this.held >= this.maxHeld) this.publish();
  }
  /** Publishes and kicks whatever is held back, corked or not. */
  publish(): void {
    this.held = 0;
    this.q.kick();
  }
}
