// The backend side of vhost-user over a UNIX socket: answers the frontend's messages, opens its
// guest memory, turns its kicks into events and the device's interrupts into calls. One device
// per socket, one frontend at a time; a frontend that hangs up and comes back gets a fresh device.
// The descriptors vhost-user passes are held by amp-vhost-relay (relay.c), Node reaches guest
// memory through /proc/<relay>/fd/<n> (see guest-memory.ts).
//
// What the Linux 6.1 UML frontend (arch/um/drivers/virtio_uml.c) needs, and this code does:
// SLAVE_REQ offered (its interrupt setup depends on it), CONFIG offered when there is config
// space, replies with flags exactly 0x5, VIRTIO_F_VERSION_1 offered by the transport, no device
// status messages (readiness is synthesised, transport.ts), rings disabled at power-off (a reset).
import { rmSync } from "node:fs";
import type { AmpError } from "@amp/virtio-ring";
import {
  AddressSpace,
  LocalDoorbell,
  VIRTIO_CONFIG_S_NEEDS_RESET,
  VIRTIO_F_VERSION_1,
  featureBit,
  toSafeNumber,
  type Doorbell,
} from "@amp/virtio-ring";
import { FileMemory } from "../file-memory.js";
import { vhostError, type VhostUserErrorCode } from "./errors.js";
import { RevocableMemory } from "./guest-memory.js";
import {
  MessageReader,
  VHOST_USER_F_PROTOCOL_FEATURES,
  VHOST_USER_FLAG_NEED_REPLY,
  VHOST_USER_FLAG_REPLY,
  VHOST_USER_VERSION,
  VHOST_USER_VRING_INDEX_MASK,
  VHOST_USER_VRING_NOFD_MASK,
  VhostUserProtocolFeature,
  VhostUserRequest,
  VhostUserSlaveRequest,
  decodeConfigRequest,
  decodeMemTable,
  decodeU64,
  decodeVringAddr,
  decodeVringState,
  encodeMessage,
  encodeU64,
  encodeVringState,
  requestName,
  type MemRegion,
  type VhostUserMessage,
  type VringAddr,
} from "./protocol.js";
import { Relay } from "./relay.js";
import { VhostUserTransport } from "./transport.js";

/** When the device counts as ready (DRIVER_OK), since vhost-user in Linux 6.1 never says. */
export type VhostUserReadiness =
  /** Every ring the frontend set up is enabled (i2c, gpio, console: the device only answers). */
  | "enabled"
  /** As "enabled", plus the first kick on `readinessQueue` (rpmsg: Linux kicks vring 0 after DRIVER_OK). */
  | "first-kick";

/** Options of {@link VhostUserBackend.listen}. */
export interface VhostUserBackendOptions {
  /** UNIX socket path the frontend connects to (`virtio_uml.device=<path>:<id>`). A stale file is replaced. */
  readonly socketPath: string;
  /** virtio device ID (7 rpmsg, 34 i2c, 41 gpio, 3 console, ...). */
  readonly deviceId: number;
  /** Largest size of each ring the device has; the count is the number of rings. Default [256]. */
  readonly queues?: readonly number[];
  /** Config space bytes (copied). Default empty (then CONFIG is not offered). */
  readonly config?: Uint8Array;
  /** Default "enabled". */
  readonly readiness?: VhostUserReadiness;
  /** Ring whose first kick makes the device ready with "first-kick". Default 0. */
  readonly readinessQueue?: number;
  /**
   * Offer INBAND_NOTIFICATIONS: kicks arrive as messages and calls leave as slave messages, in
   * order with everything else on the socket. Frontends that do not know it (QEMU) use eventfds,
   * which work too. Default true.
   */
  readonly inbandNotifications?: boolean;
  /** Offer REPLY_ACK (every frontend message waits for our answer; slower). Default false. */
  readonly replyAck?: boolean;
  /** Protocol problems the frontend caused (the backend carries on). Default: ignored. */
  readonly onError?: (error: AmpError<VhostUserErrorCode>) => void;
  /** One line per connection, reset and unexpected message, for logs. */
  readonly log?: (line: string) => void;
}

/** What the backend reports to its device. */
export type VhostUserEvent =
  | { readonly type: "connected"; readonly pid: number }
  /** DRIVER_OK: the queues in `transport` are valid, guest memory is mapped in `space`. */
  | { readonly type: "ready" }
  /** The frontend kicked ring `queue` (only while ready). */
  | { readonly type: "kick"; readonly queue: number }
  /** The device instance ended (ring disabled or stopped, RESET_OWNER, hang-up): status is 0. */
  | { readonly type: "reset"; readonly reason: string }
  | { readonly type: "disconnected" }
  /** The relay ended: after `close()` (no error), or on its own (then the backend is dead). */
  | { readonly type: "stopped"; readonly error: Error | undefined };

/** Counters of one backend (live object). */
export interface VhostUserStats {
  connections: number;
  messages: number;
  kicks: number;
  calls: number;
  /** Interrupts the device raised while no frontend could take them (not ready, no call channel). */
  callsDropped: number;
  resets: number;
  /** Messages that failed (reported through `onError`). */
  errors: number;
}

interface Ring {
  num: number;
  addr: VringAddr | undefined;
  base: number;
  enabled: boolean;
  kickFd: number | undefined;
  callFd: number | undefined;
  /** Ring set up with a kick descriptor (or polling) when PROTOCOL_FEATURES is off. */
  kickSet: boolean;
}

interface Region {
  readonly region: MemRegion;
  readonly file: FileMemory;
}

interface Connection {
  readonly pid: number;
  readonly reader: MessageReader;
  features: bigint | undefined;
  protocolFeatures: bigint;
  regions: Region[];
  slaveFd: number | undefined;
  readonly rings: Ring[];
  kickSeen: boolean;
}

const U64_OK = encodeU64(0n);
const U64_FAIL = encodeU64(1n);

function newRing(): Ring {
  return { num: 0, addr: undefined, base: 0, enabled: false, kickFd: undefined, callFd: undefined, kickSet: false };
}

/**
 * One vhost-user device backend listening on a UNIX socket. The device model on top reads
 * {@link VhostUserBackend.transport}, reaches guest memory through {@link VhostUserBackend.space},
 * interrupts the driver through {@link VhostUserBackend.doorbell} (notify id = ring index), and
 * reacts to {@link VhostUserEvent}s. See `serveVhostUserDevice` / `serveVhostUserRpmsg` for
 * ready-made device models.
 *
 * @example
 * const backend = await VhostUserBackend.listen({ socketPath: "/tmp/i2c.sock", deviceId: 34 });
 * backend.onEvent((e) => { if (e.type === "kick") runner?.process(); });
 */
export class VhostUserBackend {
  /** Status, features, config and queues of the device, as the frontend set them. */
  readonly transport: VhostUserTransport;
  /** Guest-physical addresses → guest memory, valid while the device is ready. */
  readonly space: AddressSpace = new AddressSpace();
  /** Interrupts the driver: `notify(ringIndex)`. Dropped (and counted) while not ready. */
  readonly doorbell: Doorbell;
  /**
   * The driver's kicks as a DoorbellReceiver (queue = ring index), for device code that polls
   * or awaits `wait()` instead of listening to "kick" events. Rung only while ready.
   */
  readonly kicks: LocalDoorbell = new LocalDoorbell();
  readonly stats: VhostUserStats = {
    connections: 0,
    messages: 0,
    kicks: 0,
    calls: 0,
    callsDropped: 0,
    resets: 0,
    errors: 0,
  };
  readonly socketPath: string;
  private readonly opts: VhostUserBackendOptions;
  private readonly listeners: ((e: VhostUserEvent) => void)[] = [];
  private relay: Relay | undefined;
  private conn: Connection | undefined;
  private windows: RevocableMemory[] = [];
  private isReady = false;
  private closed = false;
  private exitError: Error | undefined;

  private constructor(options: VhostUserBackendOptions) {
    this.opts = options;
    this.socketPath = options.socketPath;
    const queues = options.queues ?? [256];
    if (queues.length < 1 || queues.length > 64) throw new RangeError(`a device has 1..64 rings, got ${queues.length}`);
    for (const q of queues)
      if (!Number.isInteger(q) || q < 1 || q > 32768) throw new RangeError(`ring size ${q} is not in 1..32768`);
    this.transport = new VhostUserTransport(options.deviceId, queues, options.config ?? new Uint8Array(0));
    this.doorbell = {
      notify: (q) => {
        this.call(q);
      },
    };
    this.transport.onDeviceStatus = (status) => {
      // vhost-user has no way to tell the driver; the device stays down until the driver resets it
      if ((status & VIRTIO_CONFIG_S_NEEDS_RESET) !== 0)
        this.log("the device model set NEEDS_RESET; it stays down until the driver resets the device");
    };
  }

  /**
   * Starts listening on `socketPath` (replacing a stale socket file).
   * @throws AmpError ERR_RELAY when the descriptor relay cannot be built or started, ERR_SOCKET
   *   when the path cannot be listened on; RangeError for bad options.
   */
  static async listen(options: VhostUserBackendOptions): Promise<VhostUserBackend> {
    if (!Number.isInteger(options.deviceId) || options.deviceId < 1 || options.deviceId > 0xffff)
      throw new RangeError(`deviceId must be a virtio device ID, got ${options.deviceId}`);
    const b = new VhostUserBackend(options);
    rmSync(options.socketPath, { force: true });
    b.relay = await Relay.start(options.socketPath, {
      onConnected: (pid) => {
        b.accept(pid);
      },
      onFds: (fds) => {
        b.conn?.reader.addFds(fds);
      },
      onData: (fd, bytes) => {
        b.data(fd, bytes);
      },
      onEof: (fd) => {
        b.eof(fd);
      },
      onExit: (err) => {
        b.relayExited(err);
      },
    });
    return b;
  }

  /** Calls `listener` for every event; returns a function that removes it. */
  onEvent(listener: (e: VhostUserEvent) => void): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  /** True while a frontend is connected. */
  get connected(): boolean {
    return this.conn !== undefined;
  }
  /** True while the device is ready (DRIVER_OK in `transport`). */
  get ready(): boolean {
    return this.isReady;
  }
  /** Pid of the connected frontend (0 when unknown or none). */
  get frontendPid(): number {
    return this.conn?.pid ?? 0;
  }
  /** Why the relay stopped on its own, if it did. */
  get error(): Error | undefined {
    return this.exitError;
  }

  /** Drops the current frontend connection (it sees a hang-up; the next one gets a fresh device). */
  disconnect(): void {
    this.relay?.hangUp();
  }

  /** Stops listening, drops the frontend, removes the socket file. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.endConnection();
    await this.relay?.stop();
    rmSync(this.socketPath, { force: true });
  }

  // --- events from the relay ------------------------------------------------------------------

  private emit(e: VhostUserEvent): void {
    if (e.type === "kick") this.kicks.notify(e.queue);
    for (const l of this.listeners.slice()) l(e);
  }

  private log(line: string): void {
    this.opts.log?.(line);
  }

  private fail(code: VhostUserErrorCode, message: string, cause?: unknown): void {
    this.stats.errors++;
    const e = vhostError(code, message, cause === undefined ? undefined : { cause });
    this.log(`error: ${message}`);
    this.opts.onError?.(e);
  }

  private accept(pid: number): void {
    this.endConnection();
    this.stats.connections++;
    this.conn = {
      pid,
      reader: new MessageReader(),
      features: undefined,
      protocolFeatures: 0n,
      regions: [],
      slaveFd: undefined,
      rings: this.transportRings(),
      kickSeen: false,
    };
    this.log(`frontend connected (pid ${pid})`);
    this.emit({ type: "connected", pid });
  }

  private transportRings(): Ring[] {
    return Array.from({ length: this.transport.queueCount }, newRing);
  }

  private data(fd: number, bytes: Uint8Array): void {
    const c = this.conn;
    if (c === undefined) return;
    if (fd !== -1) {
      // an eventfd kick (8 bytes per kick, possibly several collapsed)
      const i = c.rings.findIndex((r) => r.kickFd === fd);
      if (i >= 0) this.kick(i);
      return;
    }
    let msgs: VhostUserMessage[];
    try {
      msgs = c.reader.push(bytes);
    } catch (e) {
      this.fail("ERR_MALFORMED", `frontend stream: ${(e as Error).message}; hanging up`, e);
      this.relay?.hangUp();
      return;
    }
    for (const m of msgs) {
      if (this.conn !== c) return;
      this.stats.messages++;
      this.handle(c, m);
    }
  }

  private eof(fd: number): void {
    if (fd !== -1) return; // a watched eventfd closed: nothing to do
    if (this.conn === undefined) return;
    this.log("frontend hung up");
    this.endConnection();
    this.emit({ type: "disconnected" });
  }

  private relayExited(err: Error | undefined): void {
    if (err !== undefined) {
      this.exitError = err;
      this.log(`relay stopped: ${err.message}`);
    }
    const had = this.conn !== undefined;
    this.endConnection();
    if (had) this.emit({ type: "disconnected" });
    this.emit({ type: "stopped", error: err });
  }

  private endConnection(): void {
    const c = this.conn;
    if (c === undefined) return;
    this.resetDevice("the frontend hung up");
    for (const r of c.regions) r.file.close();
    this.conn = undefined;
  }

  // --- messages ---------------------------------------------------------------------------------

  private reply(c: Connection, m: VhostUserMessage, payload: Uint8Array): void {
    if (this.conn !== c) return;
    // Linux 6.1 accepts a reply only with flags == REPLY | VERSION (0x5).
    this.relay?.write(-1, encodeMessage(m.request, VHOST_USER_FLAG_REPLY | VHOST_USER_VERSION, payload));
  }

  private offeredProtocolFeatures(): bigint {
    let f = featureBit(VhostUserProtocolFeature.SLAVE_REQ);
    if (this.transport.configLength > 0) f |= featureBit(VhostUserProtocolFeature.CONFIG);
    if (this.opts.inbandNotifications ?? true) f |= featureBit(VhostUserProtocolFeature.INBAND_NOTIFICATIONS);
    if (this.opts.replyAck ?? false) f |= featureBit(VhostUserProtocolFeature.REPLY_ACK);
    return f;
  }

  private offeredFeatures(): bigint {
    // The device type's bits, VERSION_1 (the transport's), and the vhost-user layer's bit 30.
    const own = this.transport.getDeviceFeatures() & ~featureBit(VHOST_USER_F_PROTOCOL_FEATURES);
    return own | featureBit(VIRTIO_F_VERSION_1) | featureBit(VHOST_USER_F_PROTOCOL_FEATURES);
  }

  private ring(c: Connection, index: number, what: string): Ring | undefined {
    const r = c.rings[index];
    if (r === undefined) this.fail("ERR_PROTOCOL", `${what} for ring ${index}, the device has ${c.rings.length}`);
    return r;
  }

  private handle(c: Connection, m: VhostUserMessage): void {
    const needReply =
      (m.flags & VHOST_USER_FLAG_NEED_REPLY) !== 0 &&
      (c.protocolFeatures & featureBit(VhostUserProtocolFeature.REPLY_ACK)) !== 0n;
    const state = { answered: false };
    const answer = (p: Uint8Array): void => {
      state.answered = true;
      this.reply(c, m, p);
    };
    let ok: boolean;
    try {
      ok = this.dispatch(c, m, answer);
    } catch (e) {
      // dispatch closes the descriptors of a message it refuses
      ok = false;
      this.fail(
        (e as { code?: VhostUserErrorCode }).code ?? "ERR_PROTOCOL",
        `${requestName(m.request)}: ${(e as Error).message}`,
        e,
      );
    }
    if (needReply && !state.answered) this.reply(c, m, ok ? U64_OK : U64_FAIL);
    if (this.conn === c) this.checkReady(c);
  }

  /** Handles one message; returns false for a request that failed (REPLY_ACK answers 1). */
  private dispatch(c: Connection, m: VhostUserMessage, answer: (p: Uint8Array) => void): boolean {
    const R = VhostUserRequest;
    const p = m.payload;
    switch (m.request) {
      case R.GET_FEATURES:
        answer(encodeU64(this.offeredFeatures()));
        return true;
      case R.SET_FEATURES: {
        const f = decodeU64(p, "SET_FEATURES");
        const driver = f & ~featureBit(VHOST_USER_F_PROTOCOL_FEATURES);
        const extra = driver & ~this.offeredFeatures();
        if (extra !== 0n)
          this.fail(
            "ERR_PROTOCOL",
            `SET_FEATURES: the frontend accepted 0x${extra.toString(16)}, which was not offered`,
          );
        if (this.isReady && driver !== c.features) this.resetDevice("the frontend renegotiated features");
        c.features = f;
        if (!this.isReady) this.transport.featuresSet(driver);
        return true;
      }
      case R.SET_OWNER:
        return true;
      case R.RESET_OWNER:
        this.resetDevice("RESET_OWNER");
        c.features = undefined;
        return true;
      case R.GET_PROTOCOL_FEATURES:
        answer(encodeU64(this.offeredProtocolFeatures()));
        return true;
      case R.SET_PROTOCOL_FEATURES:
        c.protocolFeatures = decodeU64(p, "SET_PROTOCOL_FEATURES") & this.offeredProtocolFeatures();
        return true;
      case R.GET_QUEUE_NUM:
        answer(encodeU64(BigInt(c.rings.length)));
        return true;
      case R.SET_MEM_TABLE:
        this.setMemTable(c, decodeMemTable(p), m.fds);
        return true;
      case R.SET_SLAVE_REQ_FD: {
        const fd = m.fds[0];
        if (fd === undefined) throw vhostError("ERR_PROTOCOL", "no descriptor came with the message");
        if (c.slaveFd !== undefined) this.relay?.close(c.slaveFd);
        c.slaveFd = fd;
        return true;
      }
      case R.SET_VRING_NUM: {
        const s = decodeVringState(p, "SET_VRING_NUM");
        const r = this.ring(c, s.index, "SET_VRING_NUM");
        if (r === undefined) return false;
        const max = this.transport.getQueue(s.index).maxSize;
        if (s.num < 1 || s.num > max || (s.num & (s.num - 1)) !== 0)
          throw vhostError("ERR_PROTOCOL", `ring ${s.index}: size ${s.num} is not a power of two in 1..${max}`);
        r.num = s.num;
        return true;
      }
      case R.SET_VRING_ADDR: {
        const a = decodeVringAddr(p);
        const r = this.ring(c, a.index, "SET_VRING_ADDR");
        if (r === undefined) return false;
        r.addr = a;
        return true;
      }
      case R.SET_VRING_BASE: {
        const s = decodeVringState(p, "SET_VRING_BASE");
        const r = this.ring(c, s.index, "SET_VRING_BASE");
        if (r === undefined) return false;
        if (s.num !== 0)
          throw vhostError(
            "ERR_PROTOCOL",
            `ring ${s.index}: base ${s.num}; only rings that start at index 0 are supported`,
          );
        r.base = s.num;
        return true;
      }
      case R.GET_VRING_BASE: {
        // Stops the ring (vhost-user's "ring stopped"): for the device that is a reset.
        const s = decodeVringState(p, "GET_VRING_BASE");
        const r = this.ring(c, s.index, "GET_VRING_BASE");
        const idx = r === undefined ? 0 : this.availIdx(c, r);
        if (r !== undefined) {
          if (r.enabled || r.kickSet) this.resetDevice(`ring ${s.index} stopped (GET_VRING_BASE)`);
          r.enabled = false;
          r.kickSet = false;
        }
        answer(encodeVringState(s.index, idx));
        return r !== undefined;
      }
      case R.SET_VRING_KICK:
      case R.SET_VRING_CALL:
      case R.SET_VRING_ERR:
        return this.setVringFd(c, m);
      case R.SET_VRING_ENABLE: {
        const s = decodeVringState(p, "SET_VRING_ENABLE");
        const r = this.ring(c, s.index, "SET_VRING_ENABLE");
        if (r === undefined) return false;
        if (s.num === 0) {
          // Linux disables every ring at power-off and before deleting its queues: a reset.
          if (r.enabled) this.resetDevice(`ring ${s.index} disabled`);
          r.enabled = false;
        } else {
          r.enabled = true;
        }
        return true;
      }
      case R.VRING_KICK: {
        const s = decodeVringState(p, "VRING_KICK");
        this.kick(s.index);
        return true;
      }
      case R.GET_CONFIG: {
        const q = decodeConfigRequest(p, "GET_CONFIG");
        const out = new Uint8Array(12 + q.size);
        out.set(p.subarray(0, 12));
        const len = this.transport.configLength;
        if (q.offset < len) out.set(this.transport.readConfig(q.offset, Math.min(q.size, len - q.offset)), 12);
        answer(out);
        return true;
      }
      case R.SET_CONFIG: {
        const q = decodeConfigRequest(p, "SET_CONFIG");
        this.transport.frontendWriteConfig(q.offset, q.data);
        return true;
      }
      case R.SET_LOG_BASE:
      case R.SET_LOG_FD:
        for (const fd of m.fds) this.relay?.close(fd);
        throw vhostError("ERR_PROTOCOL", "dirty-page logging was not offered");
      default:
        for (const fd of m.fds) this.relay?.close(fd);
        this.log(`ignored ${requestName(m.request)} (flags 0x${m.flags.toString(16)}, ${p.length} bytes)`);
        throw vhostError("ERR_PROTOCOL", `${requestName(m.request)} is not supported`);
    }
  }

  private setVringFd(c: Connection, m: VhostUserMessage): boolean {
    const v = Number(decodeU64(m.payload, requestName(m.request)) & 0xffffn);
    const index = v & VHOST_USER_VRING_INDEX_MASK;
    const nofd = (v & VHOST_USER_VRING_NOFD_MASK) !== 0;
    const fd = m.fds[0];
    const r = this.ring(c, index, requestName(m.request));
    if (r === undefined || (!nofd && fd === undefined)) {
      if (fd !== undefined) this.relay?.close(fd);
      if (r !== undefined) throw vhostError("ERR_PROTOCOL", "no descriptor came with the message");
      return false;
    }
    switch (m.request) {
      case VhostUserRequest.SET_VRING_KICK:
        if (r.kickFd !== undefined) this.relay?.close(r.kickFd);
        r.kickFd = nofd ? undefined : fd;
        if (r.kickFd !== undefined) this.relay?.watch(r.kickFd);
        // Without PROTOCOL_FEATURES a ring starts when it gets its kick descriptor.
        r.kickSet = true;
        break;
      case VhostUserRequest.SET_VRING_CALL:
        if (r.callFd !== undefined) this.relay?.close(r.callFd);
        r.callFd = nofd ? undefined : fd;
        break;
      default: // SET_VRING_ERR: we never report ring errors that way
        if (fd !== undefined) this.relay?.close(fd);
    }
    return true;
  }

  private setMemTable(c: Connection, regions: MemRegion[], fds: readonly number[]): void {
    if (fds.length !== regions.length) {
      for (const fd of fds) this.relay?.close(fd);
      throw vhostError("ERR_PROTOCOL", `${regions.length} regions but ${fds.length} descriptors`);
    }
    if (this.isReady) this.resetDevice("the frontend replaced its memory table");
    const opened: Region[] = [];
    try {
      regions.forEach((region, i) => {
        const fd = fds[i] as number;
        const path = this.relay?.procPath(fd) ?? "";
        let file: FileMemory;
        try {
          file = FileMemory.open(path, { create: false });
        } catch (e) {
          throw vhostError(
            "ERR_MEMORY",
            `guest memory region ${i} could not be opened through ${path}: ${(e as Error).message}`,
            { cause: e },
          );
        }
        opened.push({ region, file });
        if (region.mmapOffset + region.size > BigInt(file.byteLength)) {
          throw vhostError(
            "ERR_MEMORY",
            `guest memory region ${i} (+0x${region.mmapOffset.toString(16)}, 0x${region.size.toString(16)} bytes) is past the end of its ${file.byteLength}-byte file`,
          );
        }
      });
    } catch (e) {
      for (const r of opened) r.file.close();
      throw e;
    } finally {
      for (const fd of fds) this.relay?.close(fd); // we hold our own descriptors now
    }
    for (const r of c.regions) r.file.close();
    c.regions = opened;
    this.log(
      `guest memory: ${opened.map((r) => `0x${r.region.guestAddr.toString(16)}+0x${r.region.size.toString(16)}`).join(", ")}`,
    );
  }

  /** A frontend virtual address (SET_VRING_ADDR) → guest-physical, through the regions. */
  private toGuest(c: Connection, user: bigint, what: string): number {
    for (const { region } of c.regions) {
      if (user >= region.userAddr && user - region.userAddr < region.size)
        return toSafeNumber(region.guestAddr + (user - region.userAddr), what);
    }
    throw vhostError("ERR_MEMORY", `${what} 0x${user.toString(16)} is outside every guest memory region`);
  }

  private availIdx(c: Connection, r: Ring): number {
    try {
      if (r.addr === undefined) return 0;
      const g = this.toGuest(c, r.addr.avail, "avail ring");
      for (const { region, file } of c.regions) {
        const off = BigInt(g) - region.guestAddr;
        if (off >= 0n && off + 4n <= region.size) return file.getU16(Number(region.mmapOffset + off) + 2);
      }
    } catch {
      // fall through: an unmapped ring has consumed nothing
    }
    return 0;
  }

  private started(c: Connection, r: Ring): boolean {
    if (r.addr === undefined || r.num === 0) return false;
    const protocol = c.features !== undefined && (c.features & featureBit(VHOST_USER_F_PROTOCOL_FEATURES)) !== 0n;
    return protocol ? r.enabled : r.kickSet;
  }

  private checkReady(c: Connection): void {
    if (this.isReady || c.features === undefined || c.regions.length === 0) return;
    const used = c.rings.filter((r) => r.addr !== undefined);
    if (used.length === 0 || !used.every((r) => this.started(c, r))) return;
    if ((this.opts.readiness ?? "enabled") === "first-kick" && !c.kickSeen) return;
    let queues: (
      { size: number; descAddr: number; driverAddr: number; deviceAddr: number; ready: boolean } | undefined
    )[];
    try {
      queues = c.rings.map((r) => {
        if (r.addr === undefined || !this.started(c, r)) return undefined;
        return {
          size: r.num,
          descAddr: this.toGuest(c, r.addr.desc, "descriptor table"),
          driverAddr: this.toGuest(c, r.addr.avail, "avail ring"),
          deviceAddr: this.toGuest(c, r.addr.used, "used ring"),
          ready: true,
        };
      });
    } catch (e) {
      this.fail("ERR_MEMORY", (e as Error).message, e);
      return;
    }
    try {
      for (const { region, file } of c.regions) {
        const w = new RevocableMemory(file);
        this.windows.push(w);
        this.space.map(toSafeNumber(region.guestAddr, "guest address"), w, {
          offset: toSafeNumber(region.mmapOffset, "mmap offset"),
          length: toSafeNumber(region.size, "region size"),
        });
      }
    } catch (e) {
      // overlapping regions, or addresses past 2^53: nothing the device could use
      for (const w of this.windows.splice(0)) w.revoke();
      for (const r of [...this.space.ranges]) this.space.unmap(r.da);
      this.fail("ERR_MEMORY", `guest memory table: ${(e as Error).message}`, e);
      return;
    }
    this.transport.featuresSet(c.features & ~featureBit(VHOST_USER_F_PROTOCOL_FEATURES));
    this.transport.ready(queues);
    this.isReady = true;
    this.log(
      `device ready: ${queues.filter((q) => q !== undefined).length} ring(s), features 0x${this.transport.getDriverFeatures().toString(16)}`,
    );
    this.emit({ type: "ready" });
    const q = this.opts.readinessQueue ?? 0;
    if ((this.opts.readiness ?? "enabled") === "first-kick") this.emit({ type: "kick", queue: q });
  }

  private resetDevice(reason: string): void {
    const c = this.conn;
    if (c !== undefined) c.kickSeen = false;
    if (!this.isReady) {
      this.transport.reset(); // features set, rings not all up yet: back to status 0 as well
      return;
    }
    this.isReady = false;
    for (const w of this.windows) w.revoke();
    for (const r of [...this.space.ranges]) this.space.unmap(r.da);
    this.windows = [];
    this.transport.reset();
    this.stats.resets++;
    this.log(`device reset: ${reason}`);
    this.emit({ type: "reset", reason });
  }

  // --- notifications ----------------------------------------------------------------------------

  private kick(index: number): void {
    const c = this.conn;
    if (c === undefined) return;
    const r = c.rings[index];
    if (r === undefined) return;
    this.stats.kicks++;
    if (!this.isReady) {
      if (index === (this.opts.readinessQueue ?? 0) && this.started(c, r)) {
        c.kickSeen = true;
        this.checkReady(c); // emits the kick itself when it makes the device ready
      }
      return;
    }
    this.emit({ type: "kick", queue: index });
  }

  private call(index: number): void {
    const c = this.conn;
    const r = c?.rings[index];
    if (c === undefined || r === undefined || !this.isReady) {
      this.stats.callsDropped++;
      return;
    }
    if (r.callFd !== undefined) {
      this.relay?.write(r.callFd, encodeU64(1n));
    } else if (
      c.slaveFd !== undefined &&
      (c.protocolFeatures & featureBit(VhostUserProtocolFeature.INBAND_NOTIFICATIONS)) !== 0n
    ) {
      this.relay?.write(
        c.slaveFd,
        encodeMessage(VhostUserSlaveRequest.VRING_CALL, VHOST_USER_VERSION, encodeVringState(index, 0)),
      );
    } else {
      this.stats.callsDropped++;
      return;
    }
    this.stats.calls++;
  }
}
