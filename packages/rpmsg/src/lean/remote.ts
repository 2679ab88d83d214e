// The lean remote (@amp/rpmsg/remote): the virtio rpmsg device role, as RpmsgRemote plays it,
// in a fraction of the code, for small engines and tight flash. Same wire behaviour and the same
// checks on what the host wrote (docs/wire-formats.md, "Who writes what, and when", "rpmsg"): wait for DRIVER_OK, never
// re-initialise the rings, send in buffers the host posted on vring 0, receive on vring 1 and
// return each buffer with its descriptor length as used.len, a host reset takes the link down.
// Why a second implementation of the remote: RpmsgRemote shares a core with the host role and
// carries zero-copy tx, held rx buffers, iterators, timeouts, per-reason statistics and
// rpmsg-only mode; together ~13 kB gzipped. This one keeps what a remote needs (README,
// "Lean remote") and reuses the shared codecs, constants, address allocator and ring helpers.
import {
  deviceAcceptedFeatures,
  deviceNeedsReset,
  featureBit,
  hasFeature,
  isAmpError,
  isDriverOk,
  VIRTIO_RING_F_EVENT_IDX,
  VIRTIO_RING_F_INDIRECT_DESC,
  type AddressSpaceLike,
  type Doorbell,
  type Memory,
  type VirtioTransport,
} from "@amp/virtio-ring";
import { LeanSplitDevice, type LeanChain } from "@amp/virtio-ring/device";
import {
  RPMSG_ADDR_ANY,
  RPMSG_BUF_SIZE,
  RPMSG_HDR_SIZE,
  RPMSG_MAX_BUF_SIZE,
  RPMSG_NAME_SIZE,
  RPMSG_NS_ADDR,
  RPMSG_NS_MSG_SIZE,
  RPMSG_VRING_HOST_RX,
  RPMSG_VRING_HOST_TX,
  RpmsgNsFlags,
  VIRTIO_RPMSG_F_NS,
} from "../constants.js";
import { rpmsgError, type AmpError } from "../errors.js";
import { RpmsgHdrOffsets as H } from "../header.js";
import { AddressAllocator } from "../internal/addresses.js";
import { checkInt, isU32 } from "../internal/util.js";
import { nameBytes } from "../name.js";
import { encodeRpmsgNsMessage, isNsDestroy, RpmsgNsOffsets as N } from "../ns-message.js";
import { LeanEndpoint, type LeanEndpointOptions } from "./endpoint.js";

/** Options of {@link LeanRemote}. */
export interface LeanRemoteOptions {
  /** The virtio device as the remote sees it (status and queue addresses written by the host). */
  readonly transport: VirtioTransport;
  /** Device addresses → memory: every descriptor's buffer is bounds-checked here. */
  readonly space: AddressSpaceLike;
  /** Rung with a vring's notifyId to interrupt the host. */
  readonly doorbell?: Doorbell;
  /** Write the offered features (`dfeatures`) at construction. Default true; false when a resource table fixes them. */
  readonly setDeviceFeatures?: boolean;
  /** Offer the name service (VIRTIO_RPMSG_F_NS). Default true. */
  readonly nameService?: boolean;
  /** Largest buffer (header included) read or filled; the MTU is this − 16. Default 512 (Linux, OpenAMP). */
  readonly maxBufferSize?: number;
  /** Most rx messages per `process()` call. Default 1024. */
  readonly maxBatch?: number;
  /** Gets an exception thrown by a callback; without it `process()` rethrows it (the buffer went back first). */
  readonly onError?: (error: unknown) => void;
}

/** Counters of a {@link LeanRemote} (a live object). Drop reasons are named as in RpmsgStats. */
export interface LeanRemoteStats {
  rxMessages: number;
  txMessages: number;
  /** Ring or transport violations by the host (each took the link down with NEEDS_RESET). */
  protocolErrors: number;
  callbackErrors: number;
  linkUps: number;
  linkDowns: number;
  readonly dropped: {
    /** Rx descriptor shorter than the 16-byte header. */
    short: number;
    /** Rx descriptor longer than `maxBufferSize`. */
    oversize: number;
    /** hdr.len larger than the descriptor minus the header. */
    badLength: number;
    /** No endpoint at hdr.dst. */
    noRecipient: number;
    /** A chained or wrong-direction buffer (handed back unused), or one too small for an NS message. */
    badBuffer: number;
    /** An NS message that is not 40 bytes or names address ANY or 53. */
    nsMalformed: number;
  };
}

/** A message waiting for a tx buffer: a sender (`done` set) or a queued NS message. */
interface Pending {
  readonly ep: LeanEndpoint;
  readonly dst: number;
  readonly data: Uint8Array;
  /** NS CREATE or DESTROY; -1 for a user message. */
  readonly ns: number;
  readonly done?: (error?: AmpError) => void;
}

/**
 * True when the NUL-padded name field at `at` holds exactly `name` (UTF-8): the same bytes,
 * then a NUL, or 31 bytes (Linux cuts an unterminated name there). This compares bytes in
 * shared memory instead of decoding the field (decodeRpmsgNsMessage): the UTF-8 decoder would
 * be a tenth of this bundle. The one difference: a field with invalid UTF-8 that the decoder
 * would turn into U+FFFD never matches here.
 */
function sameName(mem: Memory, at: number, name: Uint8Array): boolean {
  for (let i = 0; i < name.length; i++) if (mem.getU8(at + i) !== name[i]) return false;
  return name.length === RPMSG_NAME_SIZE - 1 || mem.getU8(at + name.length) === 0;
}

/** ERR_LINK_DOWN, with what took the link down as its cause. */
function linkDownError(cause?: unknown): AmpError {
  return rpmsgError("ERR_LINK_DOWN", "link down", { cause });
}

function newChain(): LeanChain {
  // `memory` is set by every successful `next()` before anything reads it.
  return { id: 0, count: 0, da: 0, len: 0, writable: false, memory: undefined as unknown as Memory, offset: 0 };
}

/**
 * The rpmsg remote (virtio device role) in its small form. Call `process()` from the main loop
 * or the doorbell handler: it notices DRIVER_OK (link up, endpoints announced) and resets (link
 * down, endpoints closed), and delivers what arrived.
 *
 * @example
 * const remote = new LeanRemote({ transport, space, doorbell });
 * remote.createEndpoint({ name: "rpmsg-echo", onMessage: (m, ep) => void ep.trySendTo(m.src, m.data) });
 * // loop: remote.process();
 */
export class LeanRemote {
  /** Counters. */
  readonly stats: LeanRemoteStats = {
    rxMessages: 0,
    txMessages: 0,
    protocolErrors: 0,
    callbackErrors: 0,
    linkUps: 0,
    linkDowns: 0,
    dropped: { short: 0, oversize: 0, badLength: 0, noRecipient: 0, badBuffer: 0, nsMalformed: 0 },
  };
  private readonly o: LeanRemoteOptions;
  private readonly maxBuf: number;
  private readonly maxBatch: number;
  private readonly eps = new Map<number, LeanEndpoint>();
  private readonly addrs = new AddressAllocator();
  private readonly pending: Pending[] = [];
  private readonly listeners: ((up: boolean, reason: AmpError | undefined) => void)[] = [];
  /** The current link's queues (undefined while down): vring 0 is our tx, vring 1 our rx. */
  private txq: LeanSplitDevice | undefined;
  private rxq: LeanSplitDevice | undefined;
  private ns = false;
  private readonly tc = newChain();
  private readonly rc = newChain();
  /** `tc` holds a tx buffer taken but not used (too small for the message at hand): used first. */
  private spare = false;

  /** @throws RangeError for bad options. */
  constructor(options: LeanRemoteOptions) {
    this.o = options;
    this.maxBuf = checkInt(
      options.maxBufferSize,
      RPMSG_HDR_SIZE + 1,
      RPMSG_MAX_BUF_SIZE,
      "maxBufferSize",
      RPMSG_BUF_SIZE,
    );
    this.maxBatch = checkInt(options.maxBatch, 1, 1 << 24, "maxBatch", 1024);
    if (options.setDeviceFeatures ?? true)
      options.transport.setDeviceFeatures((options.nameService ?? true) ? featureBit(VIRTIO_RPMSG_F_NS) : 0n);
  }

  /** True while the link is up. */
  get isLinkUp(): boolean {
    return this.txq !== undefined;
  }

  /** Largest payload per message (0 while the link is down). */
  get mtu(): number {
    return this.txq === undefined ? 0 : this.maxBuf - RPMSG_HDR_SIZE;
  }

  /** Calls `listener(up, reason)` on every link change; returns the function that removes it. */
  onLinkChange(listener: (up: boolean, reason: AmpError | undefined) => void): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  /**
   * Handles link changes, then at most `maxBatch` received messages, then waiting sends.
   * Returns the number of rx buffers handled.
   * @throws what a callback or link listener threw, when no `onError` option is set.
   */
  process(): number {
    const t = this.o.transport;
    const s = t.getStatus();
    const q = this.rxq;
    if (q !== undefined && this.txq !== undefined) {
      if (!isDriverOk(s)) this.linkDown(rpmsgError("ERR_LINK_DOWN", "link down: host reset"));
      // A reset and DRIVER_OK again between two polls leaves the status as it was, but the
      // host zeroed the rings: our used.idx is gone. Come up on the new rings instead.
      else if (!this.txq.usedIdxIntact() || !q.usedIdxIntact())
        this.linkDown(rpmsgError("ERR_LINK_DOWN", "link down: rings re-initialised"));
    }
    if (this.rxq === undefined && isDriverOk(s)) this.linkUp(t);
    const rxq = this.rxq;
    if (rxq === undefined) return 0;
    let n = 0;
    let failure: { e: unknown } | undefined;
    try {
      for (; n < this.maxBatch && failure === undefined && this.rxq === rxq; n++) {
        const c = rxq.next(this.rc);
        if (c === null) break;
        failure = this.receive(rxq, c);
      }
      if (this.rxq === rxq) {
        rxq.interrupt();
        this.pump();
      }
    } catch (e) {
      this.ringFailure(e);
    }
    if (failure !== undefined) throw failure.e;
    return n;
  }

  /** One rx buffer: every length checked before use, then the name service or an endpoint. */
  private receive(q: LeanSplitDevice, c: LeanChain): { e: unknown } | undefined {
    const d = this.stats.dropped;
    const len = c.len;
    const mem = c.memory;
    const o = c.offset;
    let failure: { e: unknown } | undefined;
    if (c.count !== 1 || c.writable) {
      d.badBuffer++;
      q.push(c.id, 0); // not an rpmsg buffer: back unused
      return undefined;
    }
    if (len < RPMSG_HDR_SIZE) d.short++;
    else if (len > this.maxBuf) d.oversize++;
    else {
      // hdr.len decides the payload size, never the descriptor length (OpenAMP hosts send 512).
      const size = mem.getU16(o + H.LEN);
      const src = mem.getU32(o + H.SRC);
      const dst = mem.getU32(o + H.DST);
      const ep = this.eps.get(dst);
      if (size > len - RPMSG_HDR_SIZE) d.badLength++;
      else if (dst === RPMSG_NS_ADDR && this.ns) {
        this.stats.rxMessages++;
        this.receiveNs(mem, o + RPMSG_HDR_SIZE, size);
      } else if (ep === undefined) d.noRecipient++;
      else {
        this.stats.rxMessages++;
        // OpenAMP: an unbound endpoint learns its peer from the first message (never from ANY).
        if (ep.dst === RPMSG_ADDR_ANY && src !== RPMSG_ADDR_ANY) ep.dst = src;
        const data = mem.zeroCopy ? mem.view(o + RPMSG_HDR_SIZE, size) : mem.read(o + RPMSG_HDR_SIZE, size);
        try {
          ep.onMessage({ src, dst, data }, ep);
        } catch (e) {
          this.stats.callbackErrors++;
          const h = this.o.onError;
          try {
            if (h === undefined) throw e;
            h(e);
          } catch (e2) {
            failure = { e: e2 };
          }
        }
      }
    }
    // OpenAMP's and rpmsg-lite's hosts take used.len as the recycled buffer's capacity: give
    // back the descriptor length. Not if a callback took the link down (the ring is gone).
    if (this.rxq === q) q.push(c.id, len);
    return failure;
  }

  /** A host announcement binds an unbound endpoint of exactly that name; a withdrawal unbinds. */
  private receiveNs(mem: Memory, at: number, size: number): void {
    const addr = size === RPMSG_NS_MSG_SIZE ? mem.getU32(at + N.ADDR) : RPMSG_ADDR_ANY;
    if (addr === RPMSG_ADDR_ANY || addr === RPMSG_NS_ADDR) {
      this.stats.dropped.nsMalformed++;
      return;
    }
    const destroy = isNsDestroy(mem.getU32(at + N.FLAGS));
    for (const ep of this.eps.values()) {
      // Encoded here rather than kept per endpoint: announcements are rare, endpoints many.
      if (!sameName(mem, at + N.NAME, nameBytes(ep.name))) continue;
      if (destroy) {
        if (ep.dst === addr) ep.dst = RPMSG_ADDR_ANY; // re-bindable when the host comes back
      } else if (ep.dst === RPMSG_ADDR_ANY) {
        ep.dst = addr;
        return;
      }
    }
  }

  private linkUp(t: VirtioTransport): void {
    try {
      const f = deviceAcceptedFeatures(t);
      // Never offered by this remote; a resource table that offers them is refused.
      if (hasFeature(f, VIRTIO_RING_F_EVENT_IDX) || hasFeature(f, VIRTIO_RING_F_INDIRECT_DESC))
        throw rpmsgError("ERR_PROTOCOL", "EVENT_IDX / INDIRECT_DESC unsupported");
      // The host zeroed the rings and posted its rx buffers; the device only maps them.
      const mk = (i: number): LeanSplitDevice => new LeanSplitDevice(t.getQueue(i), this.o.space, this.o.doorbell);
      const txq = mk(RPMSG_VRING_HOST_RX); // the host's rx is our tx
      this.rxq = mk(RPMSG_VRING_HOST_TX);
      this.txq = txq;
      this.ns = hasFeature(f, VIRTIO_RPMSG_F_NS);
    } catch (e) {
      // Bad features or unmapped rings: report NEEDS_RESET and wait for the host's reset.
      if (!isAmpError(e)) throw e;
      this.rxq = undefined;
      this.stats.protocolErrors++;
      deviceNeedsReset(t);
      return;
    }
    this.spare = false;
    this.stats.linkUps++;
    // Endpoints created while the link was down announce themselves now.
    for (const ep of this.eps.values()) this.queueNs(ep, RpmsgNsFlags.CREATE);
    this.notify(true, undefined);
  }

  /** The link went down: waiting sends fail, every endpoint closes with `reason`, then the listeners run. */
  private linkDown(reason: AmpError): void {
    this.txq = this.rxq = undefined;
    this.stats.linkDowns++;
    const down = reason.code === "ERR_LINK_DOWN" ? reason : linkDownError(reason);
    for (const p of this.pending.splice(0)) p.done?.(down);
    for (const ep of this.eps.values()) ep.closeReason = reason;
    this.eps.clear();
    this.addrs.clear();
    this.notify(false, reason);
  }

  /** Runs the link listeners once the state is consistent; the first exception ends the round and escapes. */
  private notify(up: boolean, reason: AmpError | undefined): void {
    for (const l of this.listeners.slice()) l(up, reason);
  }

  /** The host broke the ring protocol: NEEDS_RESET, link down (anything but an AmpError is rethrown). */
  private ringFailure(e: unknown): void {
    if (!isAmpError(e)) throw e;
    this.stats.protocolErrors++;
    deviceNeedsReset(this.o.transport);
    this.linkDown(rpmsgError("ERR_PROTOCOL", e.message, { cause: e }));
  }

  /**
   * Creates a local endpoint; a named one without `dst` is announced (now, or at link up).
   * @throws RangeError/TypeError for a bad name or address; AmpError ERR_ADDR_IN_USE, ERR_LIMIT.
   */
  createEndpoint(options: LeanEndpointOptions): LeanEndpoint {
    const name = options.name ?? "";
    nameBytes(name); // checks it
    const dst = options.dst ?? RPMSG_ADDR_ANY;
    let addr = options.addr ?? RPMSG_ADDR_ANY;
    if (!isU32(dst) || !isU32(addr)) throw new RangeError("addr and dst must be u32");
    const announce = options.announce ?? (name !== "" && dst === RPMSG_ADDR_ANY);
    if (announce && name === "") throw new TypeError("an announced endpoint needs a name");
    if (addr === RPMSG_ADDR_ANY) {
      const a = this.addrs.allocate();
      if (a === undefined) throw rpmsgError("ERR_LIMIT", "no free address");
      addr = a;
    } else if (addr === RPMSG_NS_ADDR || !this.addrs.claim(addr))
      throw rpmsgError("ERR_ADDR_IN_USE", `address ${addr} is in use`, { offset: addr });
    const ep = new LeanEndpoint(this, addr, name, announce, options);
    this.eps.set(addr, ep);
    if (this.txq !== undefined) {
      this.queueNs(ep, RpmsgNsFlags.CREATE);
      this.safePump();
    }
    return ep;
  }

  /** @internal LeanEndpoint.destroy */
  destroyEndpoint(ep: LeanEndpoint): void {
    if (this.eps.get(ep.addr) !== ep) return;
    this.eps.delete(ep.addr);
    this.addrs.release(ep.addr);
    const reason = rpmsgError("ERR_CLOSED", "endpoint destroyed", { offset: ep.addr });
    ep.closeReason = reason;
    let created = true; // the host heard of it, unless its CREATE is still queued
    for (let i = this.pending.length - 1; i >= 0; i--) {
      const p = this.pending[i] as Pending;
      if (p.ep !== ep) continue;
      if (p.ns === RpmsgNsFlags.CREATE) created = false;
      this.pending.splice(i, 1);
      p.done?.(reason);
    }
    if (created) {
      this.queueNs(ep, RpmsgNsFlags.DESTROY);
      this.safePump();
    }
  }

  /** Queues an NS message for `ep` when it announces and the name service is up. */
  private queueNs(ep: LeanEndpoint, flags: number): void {
    if (ep.announce && this.ns && this.txq !== undefined) {
      this.pending.push({
        ep,
        dst: RPMSG_NS_ADDR,
        data: encodeRpmsgNsMessage({ name: ep.name, addr: ep.addr, flags }),
        ns: flags,
      });
    }
  }

  /** Checks a send; returns the error to throw, or undefined. */
  private check(ep: LeanEndpoint, dst: number, data: Uint8Array, explicit: boolean): AmpError | undefined {
    if (explicit && (!isU32(dst) || dst === RPMSG_ADDR_ANY)) return rpmsgError("ERR_BAD_ADDRESS", "bad address");
    if (ep.closeReason !== undefined) return ep.closeReason; // as RpmsgEndpoint: the reason it closed
    if (this.txq === undefined) return linkDownError();
    if (dst === RPMSG_ADDR_ANY) return rpmsgError("ERR_NOT_BOUND", "no destination yet", { offset: ep.addr });
    if (data.length > this.mtu) return rpmsgError("ERR_MSG_SIZE", "payload > MTU", { offset: data.length });
    return undefined;
  }

  /** @internal LeanEndpoint.trySend* */
  trySendRaw(ep: LeanEndpoint, dst: number, data: Uint8Array, explicit: boolean): boolean {
    const bad = this.check(ep, dst, data, explicit);
    if (bad !== undefined) throw bad;
    if (this.pending.length > 0) return false; // FIFO: those waiting go first
    let err: AmpError | undefined;
    try {
      const c = this.acquire();
      if (c === undefined) return false;
      err = this.fill(c, ep.addr, dst, data);
      this.txq?.interrupt();
    } catch (e) {
      this.ringFailure(e);
      err = linkDownError(e);
    }
    if (err !== undefined) throw err;
    return true;
  }

  /** @internal LeanEndpoint.send* */
  sendRaw(ep: LeanEndpoint, dst: number, data: Uint8Array, explicit: boolean): Promise<void> {
    // A throw in the executor (a failed check) rejects the promise.
    return new Promise((resolve, reject) => {
      if (this.trySendRaw(ep, dst, data, explicit)) resolve();
      else
        this.pending.push({
          ep,
          dst,
          data,
          ns: -1,
          done: (e) => {
            if (e === undefined) resolve();
            else reject(e);
          },
        });
    });
  }

  /**
   * A tx buffer the host posted on vring 0, or undefined. Buffers that are not one
   * device-writable descriptor of at least 16 bytes go straight back (at most a ring's worth
   * per call, so a host that keeps posting them cannot keep us here).
   */
  private acquire(): LeanChain | undefined {
    const q = this.txq;
    if (this.spare || q === undefined) {
      this.spare = false;
      return q && this.tc;
    }
    for (let i = 0; i < q.size; i++) {
      const c = q.next(this.tc);
      if (c === null) return undefined;
      if (c.count === 1 && c.writable && c.len >= RPMSG_HDR_SIZE) return c;
      this.stats.dropped.badBuffer++;
      q.push(c.id, 0);
    }
    return undefined;
  }

  /** Writes header + payload into `c` and hands it to the host; ERR_MSG_SIZE (buffer kept) when it does not fit. */
  private fill(c: LeanChain, src: number, dst: number, data: Uint8Array): AmpError | undefined {
    const m = c.memory;
    const o = c.offset;
    if (Math.min(c.len, this.maxBuf) - RPMSG_HDR_SIZE < data.length) {
      this.spare = true;
      return rpmsgError("ERR_MSG_SIZE", "payload > buffer", { offset: data.length });
    }
    m.setU32(o + H.SRC, src);
    m.setU32(o + H.DST, dst);
    m.setU32(o + H.RESERVED, 0);
    m.setU16(o + H.LEN, data.length);
    m.setU16(o + H.FLAGS, 0);
    m.write(o + RPMSG_HDR_SIZE, data);
    (this.txq as LeanSplitDevice).push(c.id, RPMSG_HDR_SIZE + data.length);
    this.stats.txMessages++;
    return undefined;
  }

  /** Serves queued NS messages and waiting senders in order, then interrupts the host once. */
  private pump(): void {
    const q = this.txq;
    if (q === undefined) return;
    for (;;) {
      const p = this.pending[0];
      if (p === undefined) break;
      const c = this.acquire();
      if (c === undefined) break;
      this.pending.shift();
      const err = this.fill(c, p.ep.addr, p.dst, p.data);
      // An NS message that does not fit is dropped and counted; the buffer serves the next send.
      if (err !== undefined && p.ns >= 0) this.stats.dropped.badBuffer++;
      p.done?.(err);
    }
    q.interrupt();
  }

  /** `pump()` outside `process()`: a ring violation takes the link down instead of escaping. */
  private safePump(): void {
    try {
      this.pump();
    } catch (e) {
      this.ringFailure(e);
    }
  }
}
