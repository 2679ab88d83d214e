// Resources of one session: the table is parsed and its entries registered (notify ids
// assigned), platform resources amended by name or a table generated, memory allocated and
// addresses written back, the table installed in device memory or pointed back at the cache.
import { parseResourceTable, serializeResourceTable, validateResourceTable } from "@amp/resource-table";
import type { ResourceInit, ResourceTable } from "@amp/resource-table";
import { vringSize } from "@amp/virtio-ring";
import type { RemoteprocDriver } from "../driver.js";
import { AmpError, type RemoteprocErrorCode } from "../errors.js";
import type { MemoryWindow } from "../memory.js";
import type { ResourceRequest } from "../resources.js";
import { TraceBuffer } from "../trace.js";
import { TABLE_ADDRESS_LIMIT, alignUp, hex, type RegionSet } from "./allocator.js";
import { toInit } from "./requests.js";
import { cachedWindow, type Session } from "./session.js";
import { CARVEOUT_DA, CARVEOUT_LEN, CARVEOUT_PA, TableWindow, VDEV_VRINGS, VRING_DA, VRING_NOTIFYID, VRING_SIZE } from "./table.js";
import { FW_RSC_ADDR_ANY } from "../memory.js";

/** What resource handling needs from the manager. */
export interface ResourceContext {
  readonly driver: RemoteprocDriver;
  readonly regions: RegionSet;
  readonly pageSize: number;
  readonly maxEntries: number;
  readonly maxVdevs: number;
  translate(da: number, length: number): MemoryWindow | undefined;
}

export function parseTable(ctx: ResourceContext, t: TableWindow): ResourceTable {
  const bytes = t.bytes();
  const diags = validateResourceTable(bytes, { maxEntries: ctx.maxEntries });
  const bad = diags.find((d) => d.severity === "error");
  if (bad !== undefined) throw new AmpError<RemoteprocErrorCode>("ERR_MALFORMED", `resource table: ${bad.code}: ${bad.message}`, { offset: bad.offset });
  return parseResourceTable(bytes, { maxEntries: ctx.maxEntries });
}

/** Turns table entries into host-side resources; writes vring notify ids (Linux, before start). */
export async function registerTable(ctx: ResourceContext, s: Session, table: TableWindow, parsed: ResourceTable): Promise<void> {
  let notifyId = 0;
  for (const e of parsed.entries) {
    switch (e.kind) {
      case "carveout":
        s.carveouts.push({ name: e.name, entryOffset: e.offset, reqDa: anyToUndefined(e.da), len: e.len });
        break;
      case "devmem":
        if (ctx.driver.mapDevmem === undefined) throw new AmpError<RemoteprocErrorCode>("ERR_UNSUPPORTED", `devmem "${e.name}" needs a driver with mapDevmem (Linux: an IOMMU)`, { offset: e.offset });
        s.devmems.push({ name: e.name, da: e.da, pa: e.pa, len: e.len, flags: e.flags });
        break;
      case "trace":
        if (e.len > 0) s.traces.push({ name: e.name, entryOffset: e.offset, reqDa: anyToUndefined(e.da), len: e.len });
        break;
      case "vdev": {
        if (s.vdevs.length >= ctx.maxVdevs) throw new AmpError<RemoteprocErrorCode>("ERR_LIMIT", `more than maxVdevs ${ctx.maxVdevs} vdevs`, { offset: e.offset });
        if (typeof ctx.driver.kick !== "function") throw new AmpError<RemoteprocErrorCode>("ERR_UNSUPPORTED", "the firmware has a vdev but the driver has no kick()", { offset: e.offset });
        const index = s.vdevs.length;
        const vrings = e.vrings.map((v, j) => {
          const id = notifyId++;
          table.setU32(e.offset + VDEV_VRINGS + VRING_SIZE * j + VRING_NOTIFYID, id);
          return { index: j, num: v.num, align: v.align, reqDa: anyToUndefined(v.da), notifyId: id };
        });
        s.vdevs.push({ index, id: e.id, entryOffset: e.offset, configLen: e.configLen, vrings, extra: [] });
        break;
      }
      case "vendor": {
        if (ctx.driver.handleResource === undefined) break;
        const result: string = await ctx.driver.handleResource({ type: e.type, offset: e.offset, bytes: table.read(e.offset, table.size - e.offset) });
        if (result !== "handled" && result !== "ignored") throw new AmpError<RemoteprocErrorCode>("ERR_UNSUPPORTED", `vendor resource ${e.type}: handler answered ${result}`, { offset: e.offset });
        break;
      }
      case "unsupported":
        break;
    }
  }
}

/** Platform and program resources: merged by name with the firmware's, or a generated table. */
export async function amendResources(ctx: ResourceContext, s: Session, requests: readonly ResourceRequest[]): Promise<void> {
  if (requests.length === 0) return;
  if (s.cached === undefined && s.live === undefined && s.mode === "boot") {
    // Resource-less firmware: the core writes the table (behaviour-and-features.md §2).
    const entries: ResourceInit[] = requests.map(toInit);
    const bytes = serializeResourceTable({ entries }, { align: 8 });
    s.cached = cachedWindow(bytes);
    s.generated = true;
    const da = ctx.driver.resourceTableLocation?.(bytes.length);
    if (da !== undefined) {
      if (!Number.isSafeInteger(da) || da < 0) throw new RangeError("resourceTableLocation must return a device address (an integer in 0 .. 2^53 - 1)");
      s.location = { da, size: bytes.length };
    } else if (requests.some((r) => r.kind === "vdev")) {
      throw new AmpError<RemoteprocErrorCode>("ERR_UNSUPPORTED", "resource-less firmware with virtio devices needs driver.resourceTableLocation()");
    }
    await registerTable(ctx, s, s.cached, parseTable(ctx, s.cached));
    return;
  }
  for (const r of requests) {
    if (r.kind === "vdev") throw new AmpError<RemoteprocErrorCode>("ERR_UNSUPPORTED", "vdev resources can be registered only for firmware without a resource table");
    const sameName = [...s.carveouts.filter((c) => c.name === r.name).map(() => "carveout"), ...s.traces.filter((t) => t.name === r.name).map(() => "trace")];
    if (sameName.length > 0 && !sameName.includes(r.kind)) {
      throw new AmpError<RemoteprocErrorCode>("ERR_RESOURCE_CONFLICT", `platform ${r.kind} "${r.name}" conflicts with the firmware's ${sameName[0] ?? ""} of that name`);
    }
    const fwDa = (x: { reqDa: number | undefined }): number | undefined => x.reqDa;
    const existing = r.kind === "carveout" ? s.carveouts.find((c) => c.name === r.name) : s.traces.find((t) => t.name === r.name);
    if (existing === undefined) {
      if (r.kind === "carveout") s.carveouts.push({ name: r.name, entryOffset: undefined, reqDa: r.da, len: r.len });
      else s.traces.push({ name: r.name, entryOffset: undefined, reqDa: r.da, len: r.len });
      continue;
    }
    if (existing.len !== r.len) {
      throw new AmpError<RemoteprocErrorCode>("ERR_RESOURCE_CONFLICT", `${r.kind} "${r.name}": firmware asks ${hex(existing.len)} bytes, the platform ${hex(r.len)}`, { ...(existing.entryOffset === undefined ? {} : { offset: existing.entryOffset }) });
    }
    const da = fwDa(existing);
    if (r.da !== undefined && da !== undefined && r.da !== da) {
      throw new AmpError<RemoteprocErrorCode>("ERR_RESOURCE_CONFLICT", `${r.kind} "${r.name}": firmware wants da ${hex(da)}, the platform ${hex(r.da)}`);
    }
    if (r.da !== undefined) existing.reqDa = r.da;
  }
}

/** Carveouts, vrings, trace buffers, devmem mappings; addresses written back into the table. */
export async function allocateResources(ctx: ResourceContext, s: Session): Promise<void> {
  const table = s.live ?? s.cached;
  s.held = true;
  // The table's da fields are u32 (a 64-bit remote's table is the same struct): whatever the host
  // writes there is allocated below 4 GiB; platform-only resources may go anywhere.
  const inTable = (entryOffset: number | undefined): number => (entryOffset !== undefined && table !== undefined ? TABLE_ADDRESS_LIMIT : Number.MAX_SAFE_INTEGER + 1);
  for (const c of s.carveouts) {
    const limit = inTable(c.entryOffset);
    c.alloc = ctx.regions.claimNamed(c.name, c.reqDa, c.len, limit) ?? ctx.regions.allocate(`carveout "${c.name}"`, c.len, ctx.pageSize, c.reqDa, limit);
    if (c.entryOffset !== undefined && table !== undefined) {
      table.setU32(c.entryOffset + CARVEOUT_DA, c.alloc.da);
      table.setU32(c.entryOffset + CARVEOUT_PA, tablePa(c.alloc.pa));
      table.setU32(c.entryOffset + CARVEOUT_LEN, c.alloc.size);
    }
  }
  for (const v of s.vdevs) {
    for (const r of v.vrings) {
      const name = `vdev${v.index}vring${r.index}`;
      const size = alignUp(vringSize(r.num, r.align), ctx.pageSize);
      r.alloc = ctx.regions.claimNamed(name, r.reqDa, size, TABLE_ADDRESS_LIMIT) ?? ctx.regions.allocate(name, size, ctx.pageSize, r.reqDa, TABLE_ADDRESS_LIMIT);
      if (table !== undefined) table.setU32(v.entryOffset + VDEV_VRINGS + VRING_SIZE * r.index + VRING_DA, r.alloc.da);
    }
    // Linux finds the vdev's buffer pool by name (rproc_find_carveout_by_name "vdev%dbuffer"):
    // a firmware carveout of that name, itself placed in a same-named platform region if there is
    // one, is the pool; otherwise a platform region of that name is.
    const bufName = `vdev${v.index}buffer`;
    const carveout = s.carveouts.find((c) => c.name === bufName && c.alloc !== undefined);
    v.bufferShared = carveout !== undefined;
    if (carveout !== undefined) v.buffer = carveout.alloc;
    else {
      const region = ctx.regions.regions.find((x) => x.name === bufName);
      if (region !== undefined) v.buffer = ctx.regions.claimNamed(bufName, undefined, region.size);
    }
  }
  for (let i = 0; i < s.traces.length; i++) {
    const t = s.traces[i];
    if (t === undefined) continue;
    let da = t.reqDa;
    if (da === undefined) {
      const limit = inTable(t.entryOffset);
      t.alloc = ctx.regions.claimNamed(t.name, undefined, t.len, limit) ?? ctx.regions.allocate(`trace "${t.name}"`, t.len, 8, undefined, limit);
      da = t.alloc.da;
      if (t.entryOffset !== undefined && table !== undefined) table.setU32(t.entryOffset + CARVEOUT_DA, da);
    }
    const traceDa = da;
    t.buffer = new TraceBuffer(i, t.name, traceDa, t.len, () => (s.held ? ctx.translate(traceDa, t.len) : undefined));
  }
  for (const d of s.devmems) {
    await ctx.driver.mapDevmem?.(d);
    s.mapped.push(d);
  }
}

/** Copies the cached table into device memory; from now on host writes land there. */
export function installTable(ctx: ResourceContext, s: Session): void {
  if (s.cached === undefined || s.location === undefined) return;
  if (s.location.size < s.cached.size) throw new AmpError<RemoteprocErrorCode>("ERR_MALFORMED", `table location holds ${s.location.size} bytes, the table needs ${s.cached.size}`);
  const w = ctx.translate(s.location.da, s.cached.size);
  if (w === undefined) throw new AmpError<RemoteprocErrorCode>("ERR_TRANSLATE", `resource table location ${hex(s.location.da)} (+${s.cached.size}) is not in device memory`);
  const live = TableWindow.of(w);
  live.write(0, s.cached.bytes());
  s.live = live;
}

/** Points the host back at a cached copy (the installed table is about to become unreachable). Returns the live window it left. */
export function tableToCached(s: Session): TableWindow | undefined {
  const live = s.live;
  if (live === undefined) return undefined;
  if (s.mode === "attach" || s.cached === undefined) {
    try {
      s.cached = cachedWindow(live.bytes());
    } catch {
      // the installed table cannot be read any more: keep the old cached copy
    }
  }
  s.live = undefined;
  return live;
}

/** After a re-attach, the host-assigned fields must be written into the live table again. */
export function rewriteHostFields(s: Session, table: TableWindow): void {
  for (const c of s.carveouts) {
    if (c.entryOffset !== undefined && c.alloc !== undefined) {
      table.setU32(c.entryOffset + CARVEOUT_DA, c.alloc.da);
      table.setU32(c.entryOffset + CARVEOUT_PA, tablePa(c.alloc.pa));
      table.setU32(c.entryOffset + CARVEOUT_LEN, c.alloc.size);
    }
  }
  for (const v of s.vdevs) {
    for (const r of v.vrings) {
      table.setU32(v.entryOffset + VDEV_VRINGS + VRING_SIZE * r.index + VRING_NOTIFYID, r.notifyId);
      if (r.alloc !== undefined) table.setU32(v.entryOffset + VDEV_VRINGS + VRING_SIZE * r.index + VRING_DA, r.alloc.da);
    }
  }
}


/**
 * The carveout `pa` field is a u32 even on 64-bit platforms: a physical address above 4 GiB is
 * written as its low 32 bits, as Linux does (rproc_alloc_carveout casts it with a warning). The
 * remote uses da; pa is informational. MemoryRegion.pa documents this.
 */
function tablePa(pa: number): number {
  return pa % 0x1_0000_0000;
}

function anyToUndefined(da: number): number | undefined {
  return da === FW_RSC_ADDR_ANY ? undefined : da;
}
