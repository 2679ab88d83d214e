// Boot step "allocate": carveouts, vrings, vdev buffers, trace buffers and devmem mappings get
// memory, and the host writes each address into the table once (Linux rproc_handle_resources
// then rproc_alloc_registered_carveouts). From here on the allocation is the host's copy of
// every address it wrote; nothing is read back from the table.
import { vringSize } from "@amp/virtio-ring";
import { TraceBuffer } from "../trace.js";
import type { CoreContext } from "../internal/context.js";
import { alignUp } from "@amp/virtio-ring";
import { TABLE_ADDRESS_LIMIT } from "../internal/allocator.js";
import { writeCarveout, writeTraceDa, writeVringDa, writeVringNotifyId, type TableWindow } from "../internal/table.js";
import type { Session } from "../session/session.js";

/** Carveouts, vrings, trace buffers, devmem mappings; addresses written back into the table. */
export async function allocateResources(ctx: CoreContext, s: Session): Promise<void> {
  const { regions, limits } = ctx;
  const { carveouts, traces, vdevs, devmems } = s.resources;
  const table = s.table.current();
  s.state.held = true;
  // The table's da fields are u32 (a 64-bit remote's table is the same struct): whatever the host
  // writes there is allocated below 4 GiB; platform-only resources may go anywhere.
  const inTable = (entryOffset: number | undefined): number =>
    entryOffset !== undefined && table !== undefined ? TABLE_ADDRESS_LIMIT : Number.MAX_SAFE_INTEGER + 1;
  for (const c of carveouts) {
    const limit = inTable(c.entryOffset);
    c.alloc =
      regions.claimNamed(c.name, c.reqDa, c.len, limit) ??
      regions.allocate(`carveout "${c.name}"`, c.len, limits.pageSize, c.reqDa, limit);
    if (c.entryOffset !== undefined && table !== undefined) writeCarveout(table, c.entryOffset, c.alloc);
  }
  for (const v of vdevs) {
    for (const r of v.vrings) {
      const name = `vdev${v.index}vring${r.index}`;
      const size = alignUp(vringSize(r.num, r.align), limits.pageSize);
      r.alloc =
        regions.claimNamed(name, r.reqDa, size, TABLE_ADDRESS_LIMIT) ??
        regions.allocate(name, size, limits.pageSize, r.reqDa, TABLE_ADDRESS_LIMIT);
      if (table !== undefined) writeVringDa(table, v.entryOffset, r.index, r.alloc.da);
    }
    // Linux finds the vdev's buffer pool by name (rproc_find_carveout_by_name "vdev%dbuffer"):
    // a firmware carveout of that name, itself placed in a same-named platform region if there is
    // one, is the pool; otherwise a platform region of that name is.
    const bufName = `vdev${v.index}buffer`;
    const carveout = carveouts.find((c) => c.name === bufName && c.alloc !== undefined);
    v.bufferShared = carveout !== undefined;
    if (carveout !== undefined) v.buffer = carveout.alloc;
    else {
      const region = regions.regions.find((x) => x.name === bufName);
      if (region !== undefined) v.buffer = regions.claimNamed(bufName, undefined, region.size);
    }
  }
  for (let i = 0; i < traces.length; i++) {
    const t = traces[i];
    if (t === undefined) continue;
    let da = t.reqDa;
    if (da === undefined) {
      const limit = inTable(t.entryOffset);
      t.alloc =
        regions.claimNamed(t.name, undefined, t.len, limit) ??
        regions.allocate(`trace "${t.name}"`, t.len, 8, undefined, limit);
      da = t.alloc.da;
      if (t.entryOffset !== undefined && table !== undefined) writeTraceDa(table, t.entryOffset, da);
    }
    const traceDa = da;
    t.buffer = new TraceBuffer(i, t.name, traceDa, t.len, () =>
      s.state.held ? ctx.translate(traceDa, t.len) : undefined,
    );
  }
  for (const d of devmems) {
    await ctx.driver.mapDevmem?.(d);
    s.mapped.push(d);
  }
}

/** After a re-attach, the host-assigned fields must be written into the live table again. */
export function rewriteHostFields(s: Session, table: TableWindow): void {
  for (const c of s.resources.carveouts) {
    if (c.entryOffset !== undefined && c.alloc !== undefined) writeCarveout(table, c.entryOffset, c.alloc);
  }
  for (const v of s.resources.vdevs) {
    for (const r of v.vrings) {
      writeVringNotifyId(table, v.entryOffset, r.index, r.notifyId);
      if (r.alloc !== undefined) writeVringDa(table, v.entryOffset, r.index, r.alloc.da);
    }
  }
}
