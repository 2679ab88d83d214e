// A started vdev as virtio drivers see it: its vrings (the host's copy of where it put them),
// its buffer region, an address space over both, interrupts and a transport over its entry.
import { AddressSpace, LocalDoorbell } from "@amp/virtio-ring";
import type { AddressSpaceLike, DoorbellReceiver, VirtioTransport } from "@amp/virtio-ring";
import type { MemoryWindow } from "../memory.js";
import { rprocError } from "../internal/error.js";
import type { TableWindow } from "../internal/table.js";
import { VdevTransport } from "./transport.js";

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

/** @internal what the core gives a vdev: its table, doorbell, translation and allocator. */
export interface VdevContext {
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
  private readonly ctx: VdevContext;
  private alive = true;

  /** @internal created by the core when the vdev subdevice starts. */
  constructor(
    ctx: VdevContext,
    index: number,
    id: number,
    entryOffset: number,
    configLength: number,
    vrings: readonly VringInfo[],
    buffer: MemoryWindow | undefined,
  ) {
    this.ctx = ctx;
    this.index = index;
    this.id = id;
    this.entryOffset = entryOffset;
    this.vrings = vrings;
    this.buffer = buffer;
    this.addressSpace = new AddressSpace();
    for (const v of vrings)
      this.addressSpace.map(v.da, v.window.memory, {
        offset: v.window.offset,
        length: v.window.size,
        name: `vdev${index}vring${v.index}`,
      });
    if (buffer !== undefined)
      this.addressSpace.map(buffer.da, buffer.memory, {
        offset: buffer.offset,
        length: buffer.size,
        name: `vdev${index}buffer`,
      });
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
    return this.ctx.rprocName;
  }

  /** Kicks vring `vringIndex` (the driver's `kick(notifyId)`). */
  kick(vringIndex: number): void {
    const v = this.vrings[vringIndex];
    if (v === undefined) throw new RangeError(`vdev${this.index} has no vring ${vringIndex}`);
    this.checkAlive();
    this.ctx.kick(v.notifyId);
  }

  /** Calls `listener(vringIndex)` for every remote -> host notification of this vdev; returns an unsubscribe function. */
  onInterrupt(listener: (vringIndex: number) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /**
   * Allocates `size` bytes of shared memory (rpmsg buffers when there is no `vdev<N>buffer`
   * region) from the platform's pool; mapped into {@link addressSpace}, freed when the vdev stops.
   * @throws AmpError ERR_NO_MEMORY
   */
  allocate(size: number, align = 8): MemoryWindow {
    this.checkAlive();
    const w = this.ctx.allocate(`vdev${this.index} allocation`, size, align);
    this.addressSpace.map(w.da, w.memory, { offset: w.offset, length: w.size, name: `vdev${this.index} allocation` });
    return w;
  }

  /** Translates a device address range through the remote's memory (carveouts, regions). */
  translate(da: number, length: number): MemoryWindow | undefined {
    return this.ctx.translate(da, length);
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
    const t = this.ctx.table();
    if (t === undefined) throw rprocError("ERR_STATE", `vdev${this.index}: no resource table`);
    return t;
  }

  /** @internal the vdev stopped. */
  dispose(): void {
    this.alive = false;
    this.listeners.clear();
  }

  private checkAlive(): void {
    if (!this.alive) throw rprocError("ERR_STATE", `vdev${this.index} of ${this.ctx.rprocName} is stopped`);
  }
}
