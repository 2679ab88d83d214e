// The remote's view of a resource-table vdev entry in its own memory: the legacy virtio
// transport that an rpmsg remote (device role) drives. The host writes status, gfeatures,
// vring da and notifyid into this entry (docs/wire-formats.md, "Who writes what, and when"); the remote reads them.
// Runtime-agnostic.
import { AmpError } from "@amp/virtio-ring";
import {
  FW_RSC_ADDR_ANY,
  FW_RSC_VDEV_VRING_SIZE,
  RSC_ENTRY_FIELDS,
  RSC_NOTIFY_ID_ANY,
  type VdevResource,
} from "@amp/resource-table";
import {
  splitRingLayout,
  type Memory,
  type QueueConfig,
  type SplitRingLayout,
  type VirtioTransport,
} from "@amp/virtio-ring";

// Offsets inside struct fw_rsc_vdev (from its type word) and struct fw_rsc_vdev_vring: the
// resource table's own (RSC_ENTRY_FIELDS of @amp/resource-table), never a second copy here.
const F = RSC_ENTRY_FIELDS;

/** Options of {@link RemoteVdevTransport}. */
export interface RemoteVdevTransportOptions {
  /**
   * Highest notify id this remote's doorbell can ring (e.g. 63 for the worker processor's 64
   * queues). A vring whose host-assigned notify id is larger is refused when the link comes up
   * (ERR_RANGE: the remote reports NEEDS_RESET) instead of failing at the first interrupt.
   * Default 0xffffffff.
   */
  readonly maxNotifyId?: number;
}

/**
 * The remote side (virtio device role) of a resource-table vdev, over plain memory: the legacy
 * virtio transport an `RpmsgRemote` (or any device model) drives when its resource table sits
 * in memory it shares with the host. The host writes status, gfeatures, vring da and notifyid
 * into the entry (docs/wire-formats.md, "Who writes what, and when"); this side reads them, and writes dfeatures and
 * config space. Queues are the host's business: `setQueue` and `notify` throw.
 *
 * Runtime-agnostic (no Node built-ins): JS firmware, a Node process playing the remote over a
 * shared file (`FileMemory`), or a test over a SharedArrayBuffer.
 *
 * @example
 * const table = parseResourceTable(memory.read(tableDa, size));
 * const vdev = table.entries.find((e) => e.kind === "vdev" && e.id === VIRTIO_ID_RPMSG);
 * const transport = RemoteVdevTransport.forEntry(memory, tableDa, vdev);
 * const remote = new RpmsgRemote({ transport, space: new AddressSpace().map(0, memory), doorbell, setDeviceFeatures: false });
 */
export class RemoteVdevTransport implements VirtioTransport {
  readonly deviceId: number;
  readonly legacy = true;
  readonly configLength: number;
  readonly queueCount: number;
  private readonly memory: Memory;
  private readonly base: number;
  private readonly maxNotifyId: number;
  /** The device features this firmware offers (its own dfeatures, not re-read: the host can write there). */
  private offer: number;
  /** Each vring's num/align as the firmware's table had them when the transport was made. */
  private readonly geometry: readonly { readonly num: number; readonly align: number }[];

  /**
   * The transport over a vdev entry found by `parseResourceTable` in a table at `tableDa`.
   * @throws RangeError when the entry does not fit in `memory`.
   */
  static forEntry(
    memory: Memory,
    tableDa: number,
    vdev: Pick<VdevResource, "offset" | "id" | "vrings" | "configLen">,
    options: RemoteVdevTransportOptions = {},
  ): RemoteVdevTransport {
    return new RemoteVdevTransport(memory, tableDa + vdev.offset, vdev.id, vdev.vrings.length, vdev.configLen, options);
  }

  /**
   * @param memory the memory holding the table (device address = offset in it)
   * @param entryDa address of the entry's type word (table address + entry offset)
   * @param deviceId virtio device id of the entry (7 for rpmsg)
   * @param queueCount the entry's `num_of_vrings`
   * @param configLength the entry's `config_len`
   * @param options limits the remote applies to what the host writes
   *
   * The device's own fields (dfeatures, each vring's num and align) are read once, here: create
   * the transport after the firmware's table is in memory; later host writes to them change
   * nothing (a hostile host cannot widen the offer or change the ring geometry).
   * @throws RangeError when the entry does not fit in `memory`.
   */
  constructor(
    memory: Memory,
    entryDa: number,
    deviceId: number,
    queueCount: number,
    configLength: number,
    options: RemoteVdevTransportOptions = {},
  ) {
    this.memory = memory;
    this.base = entryDa;
    this.deviceId = deviceId;
    this.queueCount = queueCount;
    this.configLength = configLength;
    this.maxNotifyId = options.maxNotifyId ?? RSC_NOTIFY_ID_ANY;
    // Bounds of the whole entry are checked once here; every access below stays inside it.
    if (
      entryDa < 0 ||
      entryDa + F.VDEV_VRINGS + FW_RSC_VDEV_VRING_SIZE * queueCount + configLength > memory.byteLength
    ) {
      throw new RangeError("vdev entry outside memory");
    }
    // The entry is in memory the host can write at any time. What belongs to the device (the
    // features it offers, each ring's num and align) is taken once, now, from the firmware's own
    // table; only the host's fields (status, gfeatures, vring da, notifyid) are read live.
    this.offer = memory.getU32(entryDa + F.VDEV_DFEATURES);
    this.geometry = Array.from({ length: queueCount }, (_, i) => ({
      num: memory.getU32(entryDa + F.VDEV_VRINGS + FW_RSC_VDEV_VRING_SIZE * i + F.VRING_NUM),
      align: memory.getU32(entryDa + F.VDEV_VRINGS + FW_RSC_VDEV_VRING_SIZE * i + F.VRING_ALIGN),
    }));
  }
  getStatus(): number {
    return this.memory.getU8Acquire(this.base + F.VDEV_STATUS);
  }
  setStatus(status: number): void {
    this.memory.setU8Release(this.base + F.VDEV_STATUS, status);
  }
  /** The device's own offer (a host that rewrites dfeatures cannot widen it). */
  getDeviceFeatures(): bigint {
    return BigInt(this.offer);
  }
  setDeviceFeatures(features: bigint): void {
    if (features < 0n || features > 0xffffffffn) throw new RangeError("a resource-table vdev carries 32 feature bits");
    this.offer = Number(features);
    this.memory.setU32(this.base + F.VDEV_DFEATURES, this.offer);
  }
  getDriverFeatures(): bigint {
    return BigInt(this.memory.getU32(this.base + F.VDEV_GFEATURES));
  }
  setDriverFeatures(features: bigint): void {
    if (features < 0n || features > 0xffffffffn) throw new RangeError("a resource-table vdev carries 32 feature bits");
    this.memory.setU32(this.base + F.VDEV_GFEATURES, Number(features));
  }
  private configOffset(offset: number, length: number): number {
    if (
      !Number.isInteger(offset) ||
      !Number.isInteger(length) ||
      offset < 0 ||
      length < 0 ||
      offset > this.configLength ||
      length > this.configLength - offset
    ) {
      throw new RangeError(`config access ${offset}+${length} outside ${this.configLength} bytes`);
    }
    return this.base + F.VDEV_VRINGS + FW_RSC_VDEV_VRING_SIZE * this.queueCount + offset;
  }
  readConfig(offset: number, length: number): Uint8Array {
    return this.memory.read(this.configOffset(offset, length), length);
  }
  writeConfig(offset: number, bytes: Uint8Array): void {
    this.memory.write(this.configOffset(offset, bytes.length), bytes);
  }
  /**
   * Vring `index` with the firmware's own num/align and the da and notify id the host wrote.
   * `ready` is false while the host has not placed it (da 0 or ANY, as Linux leaves a freed one).
   * @throws AmpError ERR_MALFORMED when the firmware's own num/align are not a split ring;
   *   ERR_BAD_ADDRESS when the host placed it so that it wraps 2^32 or overlaps another placed
   *   vring of this vdev; ERR_RANGE for a notify id above `maxNotifyId`.
   */
  getQueue(index: number): QueueConfig {
    if (!Number.isInteger(index) || index < 0 || index >= this.queueCount) throw new RangeError(`no vring ${index}`);
    const { num, align } = this.geometry[index] ?? { num: 0, align: 0 };
    const layout = this.layout(index);
    const v = this.base + F.VDEV_VRINGS + FW_RSC_VDEV_VRING_SIZE * index;
    const da = this.memory.getU32Acquire(v + F.VRING_DA);
    const notifyId = this.memory.getU32(v + F.VRING_NOTIFYID);
    const ready = da !== FW_RSC_ADDR_ANY && da !== 0;
    if (ready) {
      if (da > FW_RSC_ADDR_ANY + 1 - layout.size)
        throw new AmpError(
          "ERR_BAD_ADDRESS",
          `vring ${index} at 0x${da.toString(16)} (+${layout.size}) wraps the 32-bit address space`,
        );
      if (notifyId > this.maxNotifyId)
        throw new AmpError(
          "ERR_RANGE",
          `vring ${index}: notify id ${notifyId} is above the ${this.maxNotifyId} this remote's doorbell can ring`,
        );
      for (let j = 0; j < this.queueCount; j++) {
        if (j === index) continue;
        const other = this.memory.getU32(this.base + F.VDEV_VRINGS + FW_RSC_VDEV_VRING_SIZE * j + F.VRING_DA);
        if (other === FW_RSC_ADDR_ANY || other === 0) continue;
        const size = this.layout(j).size;
        if (da < other + size && other < da + layout.size)
          throw new AmpError(
            "ERR_BAD_ADDRESS",
            `vring ${index} at 0x${da.toString(16)} overlaps vring ${j} at 0x${other.toString(16)}`,
          );
      }
    }
    return {
      size: num,
      maxSize: num,
      descAddr: da,
      driverAddr: da + layout.avail,
      deviceAddr: da + layout.used,
      align,
      ready,
      notifyId,
    };
  }
  private layout(index: number): SplitRingLayout {
    const g = this.geometry[index] ?? { num: 0, align: 0 };
    try {
      return splitRingLayout(g.num, g.align);
    } catch (e) {
      throw new AmpError(
        "ERR_MALFORMED",
        `vring ${index}: num ${g.num} / align ${g.align} of the firmware's table are not a split ring`,
        { cause: e },
      );
    }
  }
  setQueue(): void {
    throw new RangeError("the device side does not set queues up");
  }
  notify(): void {
    throw new RangeError("the device side does not kick queues");
  }
}
