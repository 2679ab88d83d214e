// The vdev subdevice (Linux rproc_vdev's subdev): its start creates the RprocVdev from the
// host's allocations and probes a matching virtio driver, its stop removes the driver and resets
// the device. Vring addresses flow one way: the allocation made at boot is what the vdev maps
// and what the transport reports; the table's copy is only ever written.
import { RSC_ENTRY_FIELDS as F } from "@amp/resource-table";
import { vringSize } from "@amp/virtio-ring";
import type { Subdevice } from "../subdevice.js";
import type { CoreContext } from "../internal/context.js";
import { rprocError } from "../internal/error.js";
import type { Session, VdevState } from "../session/session.js";
import { RprocVdev, type VdevContext, type VirtioDriver, type VringInfo } from "./rproc-vdev.js";

/** The subdevice that runs vdev `v` of session `s`. */
export function vdevSubdevice(ctx: CoreContext, s: Session, v: VdevState): Subdevice {
  const vctx: VdevContext = {
    rprocName: ctx.name,
    table: () => s.table.current(),
    kick: (id) => {
      ctx.driver.kick?.(id);
    },
    translate: (da, len) => ctx.translate(da, len),
    allocate: (what, size, align) => {
      const a = ctx.regions.allocate(what, size, align, undefined);
      v.extra.push(a);
      return a.window;
    },
  };
  return {
    name: `vdev${v.index}`,
    start: async () => {
      const vrings: VringInfo[] = v.vrings.map((r) => {
        const a = r.alloc;
        if (a === undefined) throw rprocError("ERR_STATE", `vdev${v.index} vring ${r.index} is not allocated`);
        // Linux zeroes each vring when the virtqueue is created (remoteproc_virtio.c).
        a.window.memory.fill(a.window.offset, vringSize(r.num, r.align), 0);
        return { index: r.index, num: r.num, align: r.align, da: a.da, notifyId: r.notifyId, window: a.window };
      });
      const vdev = new RprocVdev(vctx, v.index, v.id, v.entryOffset, v.configLen, vrings, v.buffer?.window);
      v.live = vdev;
      ctx.emit("vdev", vdev);
      const drv = ctx.virtioDrivers.find((d) => d.deviceIds.includes(v.id));
      if (drv === undefined) return;
      try {
        v.binding = (await drv.probe(vdev)) ?? {};
      } catch (error) {
        disposeVdev(ctx, s, v, true);
        throw error;
      }
    },
    stop: async (crashed) => {
      const b = v.binding;
      v.binding = undefined;
      try {
        await b?.remove?.(crashed);
      } finally {
        disposeVdev(ctx, s, v, crashed);
      }
    },
  };
}

/**
 * Stops vdev `v`: virtio reset in the table, its allocations freed (after a crash kept for the
 * coredump while the session holds memory), the RprocVdev refuses every access from now on.
 */
export function disposeVdev(ctx: CoreContext, s: Session, v: VdevState, crashed: boolean): void {
  const vdev = v.live;
  if (vdev === undefined) return;
  try {
    // virtio reset (Linux rproc_virtio_reset): status 0 in the table the remote sees.
    s.table.current()?.setU8Release(v.entryOffset + F.VDEV_STATUS, 0);
  } catch {
    // the table is unreachable; nothing to reset
  }
  if (crashed && s.state.held) s.retired.push(...v.extra.map((alloc) => ({ vdev: v.index, alloc })));
  else for (const a of v.extra) ctx.regions.free(a);
  v.extra = [];
  vdev.dispose();
  v.live = undefined;
  ctx.emit("vdev-removed", { vdev, crashed });
}

/** Probes `driver` on the started vdevs it matches that have no driver yet. */
export async function bindDriver(ctx: CoreContext, s: Session | undefined, driver: VirtioDriver): Promise<void> {
  for (const v of s?.resources.vdevs ?? []) {
    if (v.live !== undefined && v.binding === undefined && driver.deviceIds.includes(v.id)) {
      try {
        v.binding = (await driver.probe(v.live)) ?? {};
      } catch (error) {
        ctx.report("probe", error);
      }
    }
  }
}

/** Removes `driver` from the started vdevs it matches. */
export async function unbindDriver(ctx: CoreContext, s: Session | undefined, driver: VirtioDriver): Promise<void> {
  for (const v of s?.resources.vdevs ?? []) {
    if (v.live !== undefined && v.binding !== undefined && driver.deviceIds.includes(v.id)) {
      const b = v.binding;
      v.binding = undefined;
      try {
        await b.remove?.(false);
      } catch (error) {
        ctx.report("remove", error);
      }
    }
  }
}
