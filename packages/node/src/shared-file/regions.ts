// Default regions of a shared memory file, derived from the resource table the remote wrote.
// A whole-file pool would let the host's first-fit allocator put rpmsg buffers over the table
// or the remote's own vrings (both start near the file's first byte in OpenAMP's layout), so
// every range the table names stays out of the pool: the table itself, each vring with a fixed
// device address, each carveout, trace buffer and devmem window with one. The gaps between them
// become pool regions.
import { FW_RSC_ADDR_ANY, parseResourceTable } from "@amp/resource-table";
import { vringSize } from "@amp/virtio-ring";
import type { SharedFileRegionSpec } from "./driver.js";

/** remoteproc-core's default page size (the unit it reserves vrings in). */
const PAGE = 0x1000;

interface Reserved {
  start: number;
  end: number;
  /** The carveout name when this range is exactly one named carveout (the core matches it). */
  exactName: string | undefined;
}

/**
 * Regions for a file of `size` bytes at device address `memoryDa` holding the table `table` at
 * `tableDa`: each range the table names (merged where they overlap) as a region that is not a
 * pool, every gap as a pool region ("pool", "pool-1", ...).
 * @throws the resource-table parse errors (AmpError) when `table` is not a usable table.
 */
export function regionsFromTable(
  table: Uint8Array,
  tableDa: number,
  memoryDa: number,
  size: number,
): SharedFileRegionSpec[] {
  const parsed = parseResourceTable(table);
  const ranges: Reserved[] = [];
  const add = (da: number, len: number, name: string | undefined): void => {
    if (da === FW_RSC_ADDR_ANY || len <= 0) return;
    // Only what lies inside the file matters to the pool; the core refuses the rest itself.
    const start = Math.max(da, memoryDa);
    const end = Math.min(da + len, memoryDa + size);
    if (end <= start) return;
    ranges.push({ start, end, exactName: name !== undefined && start === da && end === da + len ? name : undefined });
  };
  add(tableDa, table.length, undefined);
  for (const e of parsed.entries) {
    if (e.kind === "vdev") {
      // The core reserves a vring as Linux does: its size rounded up to the 4 KiB page.
      for (const v of e.vrings) add(v.da, Math.ceil(vringSize(v.num, v.align) / PAGE) * PAGE, undefined);
    } else if (e.kind === "carveout" || e.kind === "devmem" || e.kind === "trace") {
      add(e.da, e.len, e.kind === "carveout" && e.name !== "" ? e.name : undefined);
    }
  }
  ranges.sort((a, b) => a.start - b.start);
  const merged: Reserved[] = [];
  for (const r of ranges) {
    const last = merged[merged.length - 1];
    if (last !== undefined && r.start < last.end) {
      // A carveout that holds the others (vrings inside a named carveout) keeps its name.
      const outer =
        r.start <= last.start && r.end >= last.end
          ? r.exactName
          : last.exactName !== undefined && last.start <= r.start && last.end >= r.end
            ? last.exactName
            : undefined;
      last.end = Math.max(last.end, r.end);
      last.exactName = outer;
    } else {
      merged.push({ ...r });
    }
  }
  const specs: SharedFileRegionSpec[] = [];
  const used = new Set<string>();
  const unique = (base: string): string => {
    let name = base;
    for (let i = 1; used.has(name); i++) name = `${base}-${i}`;
    used.add(name);
    return name;
  };
  let at = memoryDa;
  const pool = (end: number): void => {
    if (end > at) specs.push({ name: unique("pool"), da: at, size: end - at, pool: true });
  };
  for (const r of merged) {
    pool(r.start);
    specs.push({ name: unique(r.exactName ?? "reserved"), da: r.start, size: r.end - r.start });
    at = r.end;
  }
  pool(memoryDa + size);
  return specs;
}
