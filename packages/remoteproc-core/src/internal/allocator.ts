import { alignUp, hex } from "@amp/virtio-ring";
import { rprocError } from "./error.js";
import type { MemoryRegion, MemoryWindow } from "../memory.js";

/** One piece of device memory handed to a resource. */
export interface Allocation {
  readonly da: number;
  readonly pa: number;
  readonly size: number;
  readonly region: MemoryRegion;
  readonly window: MemoryWindow;
  /** True when the whole region was claimed by name. */
  readonly named: boolean;
}

interface RegionState {
  readonly region: MemoryRegion;
  readonly base: number; // offset of the region inside its memory
  /** Allocated ranges as [startDa, endDa), sorted. */
  readonly used: { start: number; end: number }[];
}

const U32_LIMIT = 0x1_0000_0000;
/**
 * Device addresses are numbers: every address below 2^53 is exact, which covers the physical
 * address width of every 64-bit CPU a remote runs on (AArch64: 52 bits).
 */
const ADDRESS_LIMIT = Number.MAX_SAFE_INTEGER + 1;

/** End (exclusive) for allocations whose da goes into a u32 resource-table field. */
export const TABLE_ADDRESS_LIMIT: number = U32_LIMIT;

/**
 * The platform's memory regions with first-fit allocation, claims by name and address
 * translation. Every range is checked with subtraction so that nothing wraps (STYLE.md 12).
 */
export class RegionSet {
  private readonly states: RegionState[];

  constructor(regions: readonly MemoryRegion[]) {
    const names = new Set<string>();
    this.states = regions.map((region) => {
      if (typeof region.name !== "string" || region.name === "")
        throw new TypeError("a memory region needs a non-empty name");
      if (names.has(region.name)) throw new TypeError(`two memory regions are named "${region.name}"`);
      names.add(region.name);
      checkAddress(region.da, `region "${region.name}" da`);
      if (!Number.isSafeInteger(region.size) || region.size <= 0 || region.size > ADDRESS_LIMIT - region.da) {
        throw new RangeError(`region "${region.name}": size must be > 0 and da + size must stay below 2^53`);
      }
      const base = region.offset ?? 0;
      if (
        !Number.isSafeInteger(base) ||
        base < 0 ||
        base > region.memory.byteLength ||
        region.size > region.memory.byteLength - base
      ) {
        throw new RangeError(
          `region "${region.name}": offset + size exceed its memory (${region.memory.byteLength} bytes)`,
        );
      }
      if (region.pa !== undefined) checkAddress(region.pa, `region "${region.name}" pa`);
      return { region, base, used: [] };
    });
    for (let i = 0; i < this.states.length; i++) {
      for (let j = i + 1; j < this.states.length; j++) {
        const a = this.states[i]?.region,
          b = this.states[j]?.region;
        if (a === undefined || b === undefined) continue;
        if (a.da < b.da + b.size && b.da < a.da + a.size)
          throw new RangeError(`memory regions "${a.name}" and "${b.name}" overlap`);
      }
    }
  }

  get regions(): readonly MemoryRegion[] {
    return this.states.map((s) => s.region);
  }

  has(name: string): boolean {
    return this.states.some((s) => s.region.name === name);
  }

  /**
   * Claims the region called `name` for a resource of `size` bytes. With a fixed `da` the range must
   * lie inside the region (Linux `rproc_check_carveout_da`); with ANY it starts at the region's start.
   * `limit` (exclusive end) is TABLE_ADDRESS_LIMIT for a resource whose da the table stores.
   */
  claimNamed(
    name: string,
    da: number | undefined,
    size: number,
    limit: number = ADDRESS_LIMIT,
  ): Allocation | undefined {
    const st = this.states.find((s) => s.region.name === name);
    if (st === undefined) return undefined;
    const r = st.region;
    const start = da ?? r.da;
    if (start < r.da || start - r.da > r.size || size > r.size - (start - r.da)) {
      throw rprocError(
        "ERR_RESOURCE_CONFLICT",
        `"${name}": ${hex(size)} bytes at ${hex(start)} do not fit region ${hex(r.da)}+${hex(r.size)}`,
      );
    }
    if (start > limit || size > limit - start) {
      throw rprocError(
        "ERR_RESOURCE_CONFLICT",
        `"${name}": region "${name}" at ${hex(start)} (+${hex(size)}) is not below 4 GiB, but the resource table stores its da in 32 bits`,
      );
    }
    if (st.used.length > 0)
      throw rprocError("ERR_RESOURCE_CONFLICT", `region "${name}" is already in use (already associated)`);
    return this.take(st, r.da, r.size, true, start, size);
  }

  /**
   * Allocates `size` bytes: at the fixed `da` inside whichever region holds it, or first-fit in a
   * pool region, ending at or below `limit` (TABLE_ADDRESS_LIMIT for a resource whose da goes into
   * a u32 table field: a 64-bit platform's regions above 4 GiB are skipped for it).
   */
  allocate(
    what: string,
    size: number,
    align: number,
    da: number | undefined,
    limit: number = ADDRESS_LIMIT,
  ): Allocation {
    if (!Number.isSafeInteger(size) || size <= 0 || size > U32_LIMIT)
      throw rprocError("ERR_MALFORMED", `${what}: size ${size} is not allocatable`);
    if (da !== undefined) {
      const st = this.states.find((s) => da >= s.region.da && da - s.region.da < s.region.size);
      if (st === undefined)
        throw rprocError("ERR_TRANSLATE", `${what}: fixed da ${hex(da)} is not inside any memory region`);
      const r = st.region;
      if (size > r.size - (da - r.da))
        throw rprocError(
          "ERR_NO_MEMORY",
          `${what}: ${hex(size)} bytes at ${hex(da)} run past the end of region "${r.name}"`,
        );
      if (st.used.some((u) => da < u.end && u.start < da + size)) {
        throw rprocError(
          "ERR_RESOURCE_CONFLICT",
          `${what}: ${hex(size)} bytes at ${hex(da)} overlap another allocation in "${r.name}"`,
        );
      }
      return this.take(st, da, size, false, da, size);
    }
    for (const st of this.states) {
      if (st.region.pool !== true) continue;
      const start = this.firstFit(st, size, align, limit);
      if (start !== undefined) return this.take(st, start, size, false, start, size);
    }
    const where = limit < ADDRESS_LIMIT ? " below 4 GiB (the resource table stores its da in 32 bits)" : "";
    throw rprocError(
      "ERR_NO_MEMORY",
      `${what}: no pool region has ${hex(size)} free bytes${where} (align ${hex(align)})`,
    );
  }

  free(a: Allocation): void {
    const st = this.states.find((s) => s.region === a.region);
    if (st === undefined) return;
    const start = a.named ? a.region.da : a.da;
    const i = st.used.findIndex((u) => u.start === start);
    if (i >= 0) st.used.splice(i, 1);
  }

  /** Bytes in use, over every region (for leak checks). */
  get usedBytes(): number {
    let n = 0;
    for (const st of this.states) for (const u of st.used) n += u.end - u.start;
    return n;
  }

  /** The window of `length` bytes at `da`, when one region holds all of it. */
  translate(da: number, length: number): MemoryWindow | undefined {
    if (!Number.isSafeInteger(da) || !Number.isSafeInteger(length) || da < 0 || length < 0) return undefined;
    for (const st of this.states) {
      const r = st.region;
      if (da >= r.da && da - r.da <= r.size && length <= r.size - (da - r.da)) {
        return { da, size: length, memory: r.memory, offset: st.base + (da - r.da) };
      }
    }
    return undefined;
  }

  private firstFit(st: RegionState, size: number, align: number, limit: number): number | undefined {
    const r = st.region;
    const end = Math.min(r.da + r.size, limit);
    let cursor = alignUp(r.da, align);
    for (const u of st.used) {
      if (cursor + size <= u.start) return cursor;
      cursor = Math.max(cursor, alignUp(u.end, align));
    }
    return cursor + size <= end ? cursor : undefined;
  }

  private take(
    st: RegionState,
    usedStart: number,
    usedSize: number,
    named: boolean,
    da: number,
    size: number,
  ): Allocation {
    st.used.push({ start: usedStart, end: usedStart + usedSize });
    st.used.sort((x, y) => x.start - y.start);
    const r = st.region;
    const pa = (r.pa ?? r.da) + (da - r.da);
    return { da, pa, size, region: r, named, window: { da, size, memory: r.memory, offset: st.base + (da - r.da) } };
  }
}

function checkAddress(x: number, what: string): void {
  if (!Number.isSafeInteger(x) || x < 0) throw new RangeError(`${what} must be an integer in 0 .. 2^53 - 1`);
}
