// Session release (Linux rproc_resource_cleanup, rproc_unprepare_device, the loader's release):
// after the remote stopped or was let go, everything the session held goes back, in an order
// that keeps trace snapshots and leaves the cached table as Linux leaves it.
import { RSC_NOTIFY_ID_ANY } from "@amp/resource-table";
import type { CoreContext } from "../internal/context.js";
import { writeVringDa, writeVringNotifyId } from "../internal/table.js";
import { freeRetired } from "../crash/coredump.js";
import type { Failures } from "../session/failures.js";
import type { Session } from "../session/session.js";
import { disposeVdev } from "../vdev/subdevice.js";

/** Frees every allocation, unmaps devmem, unprepares the driver, releases the loaded image. */
export async function releaseSession(ctx: CoreContext, s: Session, failures: Failures): Promise<void> {
  const { carveouts, traces, vdevs } = s.resources;
  for (const t of traces) t.buffer?.snapshot();
  s.state.held = false;
  const table = s.table.current();
  for (const v of vdevs) {
    disposeVdev(ctx, s, v, false);
    for (const r of v.vrings) {
      if (r.alloc !== undefined) ctx.regions.free(r.alloc);
      r.alloc = undefined;
      // Linux rproc_free_vring: da = 0, notifyid = -1 (the u32 OpenAMP calls RSC_NOTIFY_ID_ANY)
      // in the table that still exists.
      if (table !== undefined && s.state.mode === "boot") {
        try {
          writeVringDa(table, v.entryOffset, r.index, 0);
          writeVringNotifyId(table, v.entryOffset, r.index, RSC_NOTIFY_ID_ANY);
        } catch {
          // unreachable table
        }
      }
    }
    if (v.buffer !== undefined && v.bufferShared !== true) ctx.regions.free(v.buffer);
    v.buffer = undefined;
  }
  freeRetired(ctx, s);
  for (const c of carveouts) {
    if (c.alloc !== undefined) ctx.regions.free(c.alloc);
    c.alloc = undefined;
  }
  for (const t of traces) {
    if (t.alloc !== undefined) ctx.regions.free(t.alloc);
    t.alloc = undefined;
  }
  await unmapDevmems(ctx, s, failures);
  await releaseDriverAndImage(ctx, s, failures);
  s.table.live = undefined;
  ctx.released(s);
}

async function unmapDevmems(ctx: CoreContext, s: Session, failures: Failures): Promise<void> {
  while (s.mapped.length > 0) {
    const d = s.mapped.pop();
    try {
      if (d !== undefined) await ctx.driver.unmapDevmem?.(d);
    } catch (error) {
      failures.push({ step: "release", error });
    }
  }
}

async function releaseDriverAndImage(ctx: CoreContext, s: Session, failures: Failures): Promise<void> {
  if (s.state.prepared) {
    s.state.prepared = false;
    try {
      await ctx.driver.unprepare?.();
    } catch (error) {
      failures.push({ step: "release", error });
    }
  }
  const fw = s.state.firmware;
  if (fw !== undefined) {
    s.state.firmware = undefined;
    try {
      await ctx.loader.release(fw);
    } catch (error) {
      failures.push({ step: "release", error });
    }
  }
}
