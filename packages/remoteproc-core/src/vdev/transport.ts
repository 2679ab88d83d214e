// The legacy virtio transport over a vdev entry of the resource table: which field is whose,
// read from where (the host's own copy of what it wrote, or the table for what the device owns).
import { VIRTIO_CONFIG_S_NEEDS_RESET, splitRingLayout } from "@amp/virtio-ring";
import type { QueueConfig, VirtioTransport } from "@amp/virtio-ring";
import { RSC_ENTRY_FIELDS as F } from "@amp/resource-table";
import { vdevConfigStart, writeVringDa, type TableWindow } from "../internal/table.js";

/** What the transport knows of a vring: the host's own copy of what it allocated and assigned (a VringInfo). */
export interface TransportVring {
  readonly num: number;
  readonly align: number;
  readonly da: number;
  readonly notifyId: number;
}

/** What the transport needs of its vdev (an RprocVdev). */
export interface TransportVdev {
  readonly index: number;
  readonly id: number;
  readonly entryOffset: number;
  readonly vrings: readonly TransportVring[];
  /** The table the remote sees; throws once the vdev stopped. */
  table(): TableWindow;
  kick(vringIndex: number): void;
}

/**
 * Legacy virtio transport over a `fw_rsc_vdev` entry (Linux remoteproc_virtio.c config ops).
 *
 * The entry sits in the installed table, memory the remote can write while it runs. So for each
 * field this transport decides whose copy is the truth, and never takes back from shared memory
 * a value the host itself wrote (a remote must not steer the host through its own table):
 * - vring da, num, align, notifyid: the host's. The core allocated and assigned them before the
 *   remote started; {@link getQueue} answers from the host's own VringInfo (Linux keeps them in
 *   struct rproc_vring and never reads them back), and {@link setQueue} cannot move a ring.
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
export class VdevTransport implements VirtioTransport {
  readonly deviceId: number;
  readonly legacy = true;
  readonly configLength: number;
  readonly queueCount: number;
  private readonly vdev: TransportVdev;
  /** The driver's status bits, as last written by the host. */
  private status: number;
  /** The driver features, as last written by the host. */
  private driverFeatures: number;

  constructor(vdev: TransportVdev, configLength: number) {
    this.vdev = vdev;
    this.deviceId = vdev.id;
    this.configLength = configLength;
    this.queueCount = vdev.vrings.length;
    // Until the driver writes them: what the table holds when the host takes the vdev over (a
    // driver resets the device first anyway, as Linux's register_virtio_device does).
    const t = vdev.table();
    this.status = t.getU8(this.base + F.VDEV_STATUS) & ~VIRTIO_CONFIG_S_NEEDS_RESET;
    this.driverFeatures = t.getU32(this.base + F.VDEV_GFEATURES);
  }
  private get base(): number {
    return this.vdev.entryOffset;
  }
  getStatus(): number {
    const device = this.vdev.table().getU8(this.base + F.VDEV_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET;
    return this.status | device;
  }
  setStatus(status: number): void {
    if (!Number.isInteger(status) || status < 0 || status > 0xff) throw new RangeError("status must be a byte");
    this.vdev.table().setU8Release(this.base + F.VDEV_STATUS, status);
    this.status = status & ~VIRTIO_CONFIG_S_NEEDS_RESET;
  }
  getDeviceFeatures(): bigint {
    return BigInt(this.vdev.table().getU32(this.base + F.VDEV_DFEATURES));
  }
  setDeviceFeatures(features: bigint): void {
    this.vdev.table().setU32(this.base + F.VDEV_DFEATURES, checkLegacy(features, "device"));
  }
  getDriverFeatures(): bigint {
    this.vdev.table(); // a stopped vdev refuses every access
    return BigInt(this.driverFeatures);
  }
  setDriverFeatures(features: bigint): void {
    const f = checkLegacy(features, "driver");
    this.vdev.table().setU32(this.base + F.VDEV_GFEATURES, f);
    this.driverFeatures = f;
  }
  private configOffset(offset: number, length: number): number {
    if (
      !Number.isSafeInteger(offset) ||
      !Number.isSafeInteger(length) ||
      offset < 0 ||
      length < 0 ||
      offset > this.configLength ||
      length > this.configLength - offset
    ) {
      throw new RangeError(`config access ${offset}+${length} outside ${this.configLength} bytes`);
    }
    return vdevConfigStart(this.base, this.queueCount) + offset;
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
    return {
      size: v.num,
      maxSize: v.num,
      descAddr: v.da,
      driverAddr: v.da + layout.avail,
      deviceAddr: v.da + layout.used,
      align: v.align,
      ready: true,
      notifyId: v.notifyId,
    };
  }
  setQueue(index: number, config: Partial<QueueConfig>): void {
    const v = this.vring(index);
    if (config.size !== undefined && config.size !== v.num)
      throw new RangeError(`vring ${index}: a legacy queue keeps its size ${v.num}`);
    if (config.descAddr !== undefined) {
      const da = config.descAddr;
      const layout = splitRingLayout(v.num, v.align);
      if (
        (config.driverAddr !== undefined && config.driverAddr !== da + layout.avail) ||
        (config.deviceAddr !== undefined && config.deviceAddr !== da + layout.used)
      ) {
        throw new RangeError(`vring ${index}: a legacy queue is contiguous`);
      }
      // The core allocated the ring (and mapped it into the vdev's address space) before the
      // remote started; a driver can only confirm that address, which rewrites it into the table.
      if (da !== v.da)
        throw new RangeError(
          `vring ${index} of vdev${this.vdev.index} is at 0x${v.da.toString(16)}, where the core allocated it; it cannot move to 0x${da.toString(16)}`,
        );
      writeVringDa(this.vdev.table(), this.base, index, da);
    }
  }
  notify(index: number): void {
    this.vdev.kick(index);
  }
  private vring(index: number): TransportVring {
    const v = this.vdev.vrings[index];
    if (v === undefined) throw new RangeError(`vdev${this.vdev.index} has no vring ${index}`);
    return v;
  }
}

function checkLegacy(features: bigint, who: string): number {
  if (features < 0n || features > 0xffffffffn)
    throw new RangeError(`${who} features 0x${features.toString(16)}: a resource-table vdev carries 32 feature bits`);
  return Number(features);
}
