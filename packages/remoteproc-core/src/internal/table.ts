// Where the host reads and writes a resource table, and which fields it writes. The offsets are
// @amp/resource-table's (RSC_ENTRY_FIELDS, counted from an entry's type word): this package defines
// none of its own, it only names the places the host writes (docs/wire-formats.md,
// "Who writes what, and when").
import { FW_RSC_VDEV_VRING_SIZE, RSC_ENTRY_FIELDS as F } from "@amp/resource-table";
import { ArrayBufferMemory, type Memory } from "@amp/virtio-ring";
import type { MemoryWindow } from "../memory.js";

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
  /**
   * A cached table: a private copy of `bytes` in an ArrayBuffer of its own. `new Uint8Array(view)`
   * always copies; `view.slice()` does not when the caller passed a Node Buffer (a view into a
   * shared pool whose offset 0 holds unrelated bytes).
   */
  static copyOf(bytes: Uint8Array): TableWindow {
    const copy = new Uint8Array(bytes);
    return new TableWindow(new ArrayBufferMemory(copy.buffer), 0, copy.length);
  }
  private at(off: number, len: number): number {
    if (off < 0 || off > this.size || len > this.size - off)
      throw new RangeError(`table access at ${off}+${len} outside ${this.size} bytes`);
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

// --- the fields the host writes, by entry offset (the entry's type word) ---

/** Table offset of field `field` (an RSC_ENTRY_FIELDS.VRING_* offset) of vring `k` of the vdev entry at `vdev`. */
export function vringField(vdev: number, k: number, field: number): number {
  return vdev + F.VDEV_VRINGS + FW_RSC_VDEV_VRING_SIZE * k + field;
}

/** Table offset of byte 0 of the config space of the vdev entry at `vdev`, which has `vrings` vrings. */
export function vdevConfigStart(vdev: number, vrings: number): number {
  return vdev + F.VDEV_VRINGS + FW_RSC_VDEV_VRING_SIZE * vrings;
}

/**
 * Writes an allocated carveout back (Linux rproc_handle_carveout): da, pa, len. The `pa` field
 * is a u32 even on 64-bit platforms: a pa above 4 GiB is written as its low 32 bits, as Linux
 * does (rproc_alloc_carveout casts it with a warning); the remote uses da.
 */
export function writeCarveout(
  table: TableWindow,
  entry: number,
  a: { readonly da: number; readonly pa: number; readonly size: number },
): void {
  table.setU32(entry + F.CARVEOUT_DA, a.da);
  table.setU32(entry + F.CARVEOUT_PA, a.pa % 0x1_0000_0000);
  table.setU32(entry + F.CARVEOUT_LEN, a.size);
}

/** Writes the da of an allocated trace buffer. */
export function writeTraceDa(table: TableWindow, entry: number, da: number): void {
  table.setU32(entry + F.TRACE_DA, da);
}

/** Writes the da the host allocated for vring `k`. */
export function writeVringDa(table: TableWindow, vdev: number, k: number, da: number): void {
  table.setU32(vringField(vdev, k, F.VRING_DA), da);
}

/** Writes the notify id the host assigned to vring `k`. */
export function writeVringNotifyId(table: TableWindow, vdev: number, k: number, id: number): void {
  table.setU32(vringField(vdev, k, F.VRING_NOTIFYID), id);
}
