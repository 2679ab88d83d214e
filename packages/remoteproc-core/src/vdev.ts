import { AddressSpace, LocalDoorbell, VIRTIO_CONFIG_S_NEEDS_RESET, splitRingLayout } from "@amp/virtio-ring";
import type { AddressSpaceLike, DoorbellReceiver, QueueConfig, VirtioTransport } from "@amp/virtio-ring";
import { AmpError, type RemoteprocErrorCode } from "./errors.js";
import type { MemoryWindow } from "./memory.js";
import { VDEV_DFEATURES, VDEV_GFEATURES, VDEV_STATUS, VDEV_VRINGS, VRING_DA, VRING_SIZE, type TableWindow } from "./internal/table.js";

/** One vring of a vdev, allocated by the core before the remote starts. */
export interface VringInfo {
  /** Index inside the vdev (0 = host rx / remote tx, 1 = host tx / remote rx for rpmsg). */
  readonly index: number;
  /** Queue size (`num`). */
  readonly num: number;
  /** Legacy used-ring alignment. */
  readonly align: number;
  /** Device address of the ring (written into the table before start). */
  readonly da: number;
  /** Notify id assigned by the host (Linux: from 0 upward in table order). */
  readonly notifyId: number;
  /** The ring's memory (`vring_size(num, align)` bytes, zeroed when the vdev starts). */
  readonly window: MemoryWindow;
}

/**
 * What a virtio driver outside this package needs of a started vdev (an rpmsg host binding:
 * the rings, the buffer region, allocations, the transport, the address space, interrupts),
 * as an interface. {@link RprocVdev} is a class with private members, so with two copies of
 * this package installed (a library built against one version, the app on another) one copy's
 * vdev is not assignable to the other's class (TS2322); it is to this interface.
 */
export interface RprocVdevLike {
  /** The vrings, in vdev order. */
  readonly vrings: readonly VringInfo[];
  /** The platform's `vdev<N>buffer` region, if it has one. */
  readonly buffer: MemoryWindow | undefined;
  /** The remote's memory as the device sees it (vrings and buffers are read through it). */
  readonly addressSpace: AddressSpaceLike;
  /** The device's virtio transport over the vdev entry of the table. */
  readonly transport: VirtioTransport;
  /** Allocates `size` bytes from the platform's pool regions (freed when the vdev stops). */
  allocate(size: number, align?: number): MemoryWindow;
  /** Calls `listener` with the vring index on each interrupt of this vdev; returns the unsubscribe function. */
  onInterrupt(listener: (vringIndex: number) => void): () => void;
}

/**
 * A virtio driver that binds to vdevs by virtio device id (rpmsg = 7, i2c = 34, ...). The core
 * calls `probe` when a matching vdev starts (the remote is already running, as Linux registers
 * the virtio device in the vdev subdevice's start) and `remove` of what it returned when the vdev
 * stops, with `crashed` true during recovery. Nothing in the core knows about rpmsg.
 */
export interface VirtioDriver {
  /** A name for events and errors. */
  readonly name?: string;
  /** Virtio device ids this driver handles. */
  readonly deviceIds: readonly number[];
  /** Set the device up (negotiate features over `vdev.transport`, set DRIVER_OK, post buffers). Throw to fail the start. */
  probe(vdev: RprocVdev): VirtioDriverBinding | undefined | Promise<VirtioDriverBinding | undefined>;
}

/** What {@link VirtioDriver.probe} returns: how to undo it. */
export interface VirtioDriverBinding {
  /** The vdev is stopping (`crashed`: the remote crashed; its buffers may be garbage). */
  remove?(crashed: boolean): void | Promise<void>;
}

/** @internal what the core gives a vdev. */
export interface VdevHost {
  readonly rprocName: string;
  /** The table the host currently writes (cached or installed). */
  table(): TableWindow | undefined;
  kick(notifyId: number): void;
  translate(da: number, length: number): MemoryWindow | undefined;
  allocate(what: string, size: number, align: number): MemoryWindow;
}

const MAX_NOTIFY_QUEUES = 1 << 16;

/**
 * A virtio device described by a `RSC_VDEV` entry, exposed to virtio drivers while the remote
 * runs. Its {@link transport} reads and writes the vdev entry of the table the remote sees
 * (the installed copy): status, dfeatures/gfeatures (legacy, 32-bit), config space, vrings.
 */
export class RprocVdev implements RprocVdevLike {
  /** Index among the table's vdevs (`vdev<index>vring<j>` names its rings). */
  readonly index: number;
  /** Virtio device id (`id` of struct fw_rsc_vdev). */
  readonly id: number;
  /** Offset of the vdev entry (its type word) in the resource table. */
  readonly entryOffset: number;
  /** The vrings, in table order. */
  readonly vrings: readonly VringInfo[];
  /** The `vdev<index>buffer` memory region, when the platform has one (rpmsg buffers go there). */
  readonly buffer: MemoryWindow | undefined;
  /** Device addresses of the vrings, the buffer region and every {@link allocate}d window. */
  readonly addressSpace: AddressSpace;
  /** The transport over the vdev entry. */
  readonly transport: VirtioTransport;
  /** Remote -> host notifications, by notify id (see {@link Remoteproc.handleInterrupt}). */
  readonly interrupts: DoorbellReceiver;
  private readonly bell: LocalDoorbell;
  private readonly listeners = new Set<(vringIndex: number) => void>();
  private readonly host: VdevHost;
  private alive = true;

  /** @internal created by the core when the vdev subdevice starts. */
  constructor(host: VdevHost, index: number, id: number, entryOffset: number, configLength: number, vrings: readonly VringInfo[], buffer: MemoryWindow | undefined) {
    this.host = host;
    this.index = index;
    this.id = id;
    this.entryOffset = entryOffset;
    this.vrings = vrings;
    this.buffer = buffer;
    this.addressSpace = new AddressSpace();
    for (const v of vrings) this.addressSpace.map(v.da, v.window.memory, { offset: v.window.offset, length: v.window.size, name: `vdev${index}vring${v.index}` });
    if (buffer !== undefined) this.addressSpace.map(buffer.da, buffer.memory, { offset: buffer.offset, length: buffer.size, name: `vdev${index}buffer` });
    const maxId = vrings.reduce((m, v) => Math.max(m, v.notifyId), 0);
    this.bell = new LocalDoorbell({ queues: Math.min(MAX_NOTIFY_QUEUES, maxId + 1) });
    this.interrupts = this.bell;
    this.transport = new VdevTransport(this, configLength);
  }

  /** False once the vdev stopped: the transport then refuses every access. */
  get active(): boolean {
    return this.alive;
  }

  /** Name of the remote processor this vdev belongs to. */
  get rprocName(): string {
    return this.host.rprocName;
  }

  /** Kicks vring `vringIndex` (the driver's `kick(notifyId)`). */
  kick(vringIndex: number): void {
    const v = this.vrings[vringIndex];
    if (v === undefined) throw new RangeError(`vdev${this.index} has no vring ${vringIndex}`);
    this.checkAlive();
    this.host.kick(v.notifyId);
  }

  /** Calls `listener(vringIndex)` for every remote -> host notification of this vdev; returns an unsubscribe function. */
  onInterrupt(listener: (vringIndex: number) => void): () => void {
    this.listeners.add(listener);
    return () => { this.listeners.delete(listener); };
  }

  /**
   * Allocates `size` bytes of shared memory (rpmsg buffers when there is no `vdev<N>buffer`
   * region) from the platform's pool; mapped into {@link addressSpace}, freed when the vdev stops.
   * @throws AmpError ERR_NO_MEMORY
   */
  allocate(size: number, align = 8): MemoryWindow {
    this.checkAlive();
    const w = this.host.allocate(`vdev${this.index} allocation`, size, align);
    this.addressSpace.map(w.da, w.memory, { offset: w.offset, length: w.size, name: `vdev${this.index} allocation` });
    return w;
  }

  /** Translates a device address range through the remote's memory (carveouts, regions). */
  translate(da: number, length: number): MemoryWindow | undefined {
    return this.host.translate(da, length);
  }

  /** @internal the core dispatches a notification. */
  deliver(notifyId: number): boolean {
    const v = this.vrings.find((r) => r.notifyId === notifyId);
    if (v === undefined || !this.alive) return false;
    this.bell.notify(notifyId);
    for (const l of [...this.listeners]) l(v.index);
    return true;
  }

  /** @internal */
  table(): TableWindow {
    this.checkAlive();
    const t = this.host.table();
    if (t === undefined) throw new AmpError<RemoteprocErrorCode>("ERR_STATE", `vdev${this.index}: no resource table`);
    return t;
  }

  /** @internal the vdev stopped. */
  dispose(): void {
    this.alive = false;
    this.listeners.clear();
  }

  private checkAlive(): void {
    if (!this.alive) throw new AmpError<RemoteprocErrorCode>("ERR_STATE", `vdev${this.index} of ${this.host.rprocName} is stopped`);
  }
}

/**
 * Legacy virtio transport over a `fw_rsc_vdev` entry (Linux remoteproc_virtio.c config ops).
 *
 * The entry sits in the installed table, memory the remote can write while it runs. So for each
 * field this transport decides whose copy is the truth, and never takes back from shared memory
 * a value the host itself wrote (a remote must not steer the host through its own table):
 * - vring da, num, align, notifyid: the host's. The core allocated and assigned them before the
 *   remote started; {@link getQueue} answers from {@link VringInfo} (Linux keeps them in struct
 *   rproc_vring and never reads them back), and {@link setQueue} cannot move a ring.
 * - status: the host's copy of what the driver last wrote. From the table only NEEDS_RESET is
 *   taken, the one bit a device may set (virtio 1.x "Device Status Field"); a remote that clears
 *   DRIVER_OK or sets FAILED/FEATURES_OK changes nothing the driver sees. (Linux reads the whole
 *   byte back; we do not, so a remote cannot feed bits into the driver's read-modify-writes.)
 * - gfeatures: the host's copy (the driver writes them, the remote only reads them).
 * - dfeatures: the device's offer, read from the table; the driver masks it with what it
 *   supports, so a forged offer cannot make it accept anything it does not implement.
 * - config space: the device's to write (and the driver's), read from the table; its length is
 *   the config_len the host parsed before start, never re-read.
 */
class VdevTransport implements VirtioTransport {
  readonly deviceId: number;
  readonly legacy = true;
  readonly configLength: number;
  readonly queueCount: number;
  private readonly vdev: RprocVdev;
  /** The driver's status bits, as last written by the host. */
  private status: number;
  /** The driver features, as last written by the host. */
  private driverFeatures: number;

  constructor(vdev: RprocVdev, configLength: number) {
    this.vdev = vdev;
    this.deviceId = vdev.id;
    this.configLength = configLength;
    this.queueCount = vdev.vrings.length;
    // Until the driver writes them: what the table holds when the host takes the vdev over (a
    // driver resets the device first anyway, as Linux's register_virtio_device does).
    const t = vdev.table();
    this.status = t.getU8(this.base + VDEV_STATUS) & ~VIRTIO_CONFIG_S_NEEDS_RESET;
    this.driverFeatures = t.getU32(this.base + VDEV_GFEATURES);
  }
  private get base(): number {
    return this.vdev.entryOffset;
  }
  getStatus(): number {
    const device = this.vdev.table().getU8(this.base + VDEV_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET;
    return this.status | device;
  }
  setStatus(status: number): void {
    if (!Number.isInteger(status) || status < 0 || status > 0xff) throw new RangeError("status must be a byte");
    this.vdev.table().setU8Release(this.base + VDEV_STATUS, status);
    this.status = status & ~VIRTIO_CONFIG_S_NEEDS_RESET;
  }
  getDeviceFeatures(): bigint {
    return BigInt(this.vdev.table().getU32(this.base + VDEV_DFEATURES));
  }
  setDeviceFeatures(features: bigint): void {
    this.vdev.table().setU32(this.base + VDEV_DFEATURES, checkLegacy(features, "device"));
  }
  getDriverFeatures(): bigint {
    this.vdev.table(); // a stopped vdev refuses every access
    return BigInt(this.driverFeatures);
  }
  setDriverFeatures(features: bigint): void {
    const f = checkLegacy(features, "driver");
    this.vdev.table().setU32(this.base + VDEV_GFEATURES, f);
    this.driverFeatures = f;
  }
  private configOffset(offset: number, length: number): number {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset > this.configLength || length > this.configLength - offset) {
      throw new RangeError(`config access ${offset}+${length} outside ${this.configLength} bytes`);
    }
    return this.base + VDEV_VRINGS + VRING_SIZE * this.queueCount + offset;
  }
  readConfig(offset: number, length: number): Uint8Array {
    return this.vdev.table().read(this.configOffset(offset, length), length);
  }
  writeConfig(offset: number, bytes: Uint8Array): void {
    this.vdev.table().write(this.configOffset(offset, bytes.length), bytes);
  }
  getQueue(index: number): QueueConfig {
    const v = this.vring(index);
    this.vdev.table(); // a stopped vdev refuses every access
    const layout = splitRingLayout(v.num, v.align);
    return { size: v.num, maxSize: v.num, descAddr: v.da, driverAddr: v.da + layout.avail, deviceAddr: v.da + layout.used, align: v.align, ready: true, notifyId: v.notifyId };
  }
  setQueue(index: number, config: Partial<QueueConfig>): void {
    const v = this.vring(index);
    if (config.size !== undefined && config.size !== v.num) throw new RangeError(`vring ${index}: a legacy queue keeps its size ${v.num}`);
    if (config.descAddr !== undefined) {
      const da = config.descAddr;
      const layout = splitRingLayout(v.num, v.align);
      if ((config.driverAddr !== undefined && config.driverAddr !== da + layout.avail) || (config.deviceAddr !== undefined && config.deviceAddr !== da + layout.used)) {
        throw new RangeError(`vring ${index}: a legacy queue is contiguous`);
      }
      // The core allocated the ring (and mapped it into the vdev's address space) before the
      // remote started; a driver can only confirm that address, which rewrites it into the table.
      if (da !== v.da) throw new RangeError(`vring ${index} of vdev${this.vdev.index} is at 0x${v.da.toString(16)}, where the core allocated it; it cannot move to 0x${da.toString(16)}`);
      this.vdev.table().setU32(this.base + VDEV_VRINGS + VRING_SIZE * index + VRING_DA, da);
    }
  }
  notify(index: number): void {
    this.vdev.kick(index);
  }
  private vring(index: number): VringInfo {
    const v = this.vdev.vrings[index];
    if (v === undefined) throw new RangeError(`vdev${this.vdev.index} has no vring ${index}`);
    return v;
  }
}

function checkLegacy(features: bigint, who: string): number {
  if (features < 0n || features > 0xffffffffn) throw new RangeError(`${who} features 0x${features.toString(16)}: a resource-table vdev carries 32 feature bits`);
  return Number(features);
}
