// Host-written fields of a resource table, at named offsets from an entry's type word
// (wire-formats.md §1.4-1.7; include/linux/remoteproc.h). The table itself is parsed and
// validated by @amp/resource-table; this file only knows where the host writes.
import type { Memory } from "@amp/virtio-ring";
import type { MemoryWindow } from "../memory.js";

/** struct fw_rsc_carveout / fw_rsc_devmem: da, pa, len after the type word. */
export const CARVEOUT_DA = 4;
export const CARVEOUT_PA = 8;
export const CARVEOUT_LEN = 12;
/** struct fw_rsc_vdev */
export const VDEV_DFEATURES = 12;
export const VDEV_GFEATURES = 16;
export const VDEV_STATUS = 24;
export const VDEV_VRINGS = 28;
export const VRING_SIZE = 20;
/** struct fw_rsc_vdev_vring */
export const VRING_DA = 0;
export const VRING_NOTIFYID = 12;

/** Where the table the host currently writes lives: the cached copy or the installed one. */
export class TableWindow {
  readonly memory: Memory;
  readonly offset: number;
  readonly size: number;
  constructor(memory: Memory, offset: number, size: number) {
    this.memory = memory;
    this.offset = offset;
    this.size = size;
  }
  static of(w: MemoryWindow): TableWindow {
    return new TableWindow(w.memory, w.offset, w.size);
  }
  private at(off: number, len: number): number {
    if (off < 0 || off > this.size || len > this.size - off) throw new RangeError(`table access at ${off}+${len} outside ${this.size} bytes`);
    return this.offset + off;
  }
  getU8(off: number): number {
    return this.memory.getU8(this.at(off, 1));
  }
  getU32(off: number): number {
    return this.memory.getU32(this.at(off, 4));
  }
  setU8(off: number, v: number): void {
    this.memory.setU8(this.at(off, 1), v);
  }
  /** A status byte the remote polls: a release store, so earlier writes are visible first. */
  setU8Release(off: number, v: number): void {
    this.memory.setU8Release(this.at(off, 1), v);
  }
  setU32(off: number, v: number): void {
    this.memory.setU32(this.at(off, 4), v >>> 0);
  }
  read(off: number, len: number): Uint8Array {
    return this.memory.read(this.at(off, len), len);
  }
  write(off: number, bytes: Uint8Array): void {
    this.memory.write(this.at(off, bytes.length), bytes);
  }
  /** The whole table (a copy). */
  bytes(): Uint8Array {
    return this.read(0, this.size);
  }
}
