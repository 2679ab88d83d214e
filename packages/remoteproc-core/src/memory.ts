import type { Memory } from "@amp/virtio-ring";

/**
 * A named piece of device memory that the platform describes: TCM, DDR reserved for the remote,
 * a shared-memory pool. `memory` holds the bytes; byte 0 of the region is `memory` byte `offset`
 * and device address `da`.
 *
 * How the core uses regions (Linux: pre-registered carveouts, behaviour-and-features.md §1.11):
 * - a region whose `name` equals a carveout or trace name of the resource table, or one of the
 *   virtio names `vdev<N>vring<M>` / `vdev<N>buffer`, is used for that resource (a fixed da must
 *   fit inside it);
 * - `pool: true` regions serve every other allocation (first fit, aligned);
 * - every region backs address translation, so firmware segments load into any region covering
 *   their `p_paddr`.
 */
export interface MemoryRegion {
  /** Name, matched against resource names (at most 31 bytes in a resource table). */
  readonly name: string;
  /**
   * Device address of the first byte: any integer below 2^53 (a 64-bit remote's memory above
   * 4 GiB included). Resources whose da the resource table stores (carveouts, vrings and trace
   * buffers of the table) are allocated only below 4 GiB, as the table's fields are u32.
   */
  readonly da: number;
  /** Size in bytes. */
  readonly size: number;
  /** The bytes. */
  readonly memory: Memory;
  /** Offset of the region's first byte inside `memory` (default 0). */
  readonly offset?: number;
  /**
   * Physical address written back into carveout `pa` (default: the device address). The table's
   * `pa` field is a u32: a pa above 4 GiB is written as its low 32 bits, as Linux does.
   */
  readonly pa?: number;
  /** Serves dynamic allocations (default false). */
  readonly pool?: boolean;
}

/** A window of device memory: `size` bytes at device address `da`, stored at `memory[offset]`. */
export interface MemoryWindow {
  readonly da: number;
  readonly size: number;
  readonly memory: Memory;
  readonly offset: number;
}

/** Device address meaning "any: let the host choose" (`FW_RSC_ADDR_ANY`): @amp/resource-table's constant, re-exported. */
export { FW_RSC_ADDR_ANY } from "@amp/resource-table";
