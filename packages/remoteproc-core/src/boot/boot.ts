// The two ways a session begins (DESIGN.md "The life cycle"): boot (firmware -> loadAndVerify ->
// prepare -> resource table -> register -> amend -> allocate -> load segments -> install table ->
// start) and attach (prepare -> the loaded table -> register -> amend -> allocate -> attach).
// A failed step unwinds everything acquired and throws a StepError naming it.
import type { ResourceTable } from "@amp/resource-table";
import { StepError, type LifecycleStep } from "../errors.js";
import type { CoreContext } from "../internal/context.js";
import { rprocError } from "../internal/error.js";
import { hex } from "@amp/virtio-ring";
import { TableWindow } from "../internal/table.js";
import { unwind } from "../release/teardown.js";
import type { ResourceRequest } from "../resources.js";
import { newSession, type Session } from "../session/session.js";
import { allocateResources } from "./allocate.js";
import { fetchFirmware, loadFirmware, loadSegments } from "./firmware.js";
import { amendResources, parseTable, registerTable } from "./register.js";
import { startSession } from "./start.js";

/**
 * Boots the remote. `own(s)` hands the session to the manager just before the start sequence
 * (subdevices and listeners then see it).
 * @throws StepError
 */
export async function bootSession(
  ctx: CoreContext,
  requests: readonly ResourceRequest[],
  own: (s: Session) => void,
): Promise<void> {
  const s = newSession("boot");
  let step: LifecycleStep = "firmware";
  try {
    const bytes = await fetchFirmware(ctx);
    step = "loadAndVerify";
    const firmware = await loadFirmware(ctx, bytes);
    s.state.firmware = firmware;
    s.state.bootAddr = firmware.bootAddr;
    step = "prepare";
    await ctx.driver.prepare?.();
    s.state.prepared = true;
    step = "resource table";
    const table = firmware.resourceTable;
    let parsed: ResourceTable | undefined;
    if (table !== undefined) {
      const max = ctx.limits.maxTableSize;
      if (table.bytes.length > max)
        throw rprocError("ERR_LIMIT", `resource table of ${table.bytes.length} bytes exceeds maxTableSize ${max}`);
      s.table.cached = TableWindow.copyOf(table.bytes);
      s.table.location = { da: table.da, size: table.bytes.length };
      parsed = parseTable(ctx, table.bytes);
    }
    step = "register resources";
    if (parsed !== undefined && s.table.cached !== undefined) await registerTable(ctx, s, s.table.cached, parsed);
    step = "amend resources";
    await amendResources(ctx, s, requests);
    step = "allocate";
    await allocateResources(ctx, s);
    step = "load segments";
    await loadSegments(ctx, firmware);
    step = "install table";
    s.table.install((da, len) => ctx.translate(da, len));
    own(s);
    await startSession(ctx, s, "start", (st) => {
      step = st;
    });
  } catch (error) {
    await unwind(ctx, s, "boot");
    throw new StepError("boot", step, error);
  }
}

/**
 * Attaches to a remote that is running already: its table is found where the driver says it is
 * loaded, and resources are handled without loading anything.
 * @throws StepError
 */
export async function attachSession(
  ctx: CoreContext,
  requests: readonly ResourceRequest[],
  own: (s: Session) => void,
): Promise<void> {
  const s = newSession("attach");
  let step: LifecycleStep = "prepare";
  try {
    await ctx.driver.prepare?.();
    s.state.prepared = true;
    step = "resource table";
    const loc = await ctx.driver.getLoadedResourceTable?.();
    let parsed: ResourceTable | undefined;
    if (loc !== undefined) {
      const max = ctx.limits.maxTableSize;
      if (!Number.isSafeInteger(loc.da) || loc.da < 0 || !Number.isSafeInteger(loc.size) || loc.size <= 0)
        throw rprocError("ERR_MALFORMED", "getLoadedResourceTable returned a bad location");
      if (loc.size > max)
        throw rprocError("ERR_LIMIT", `loaded resource table of ${loc.size} bytes exceeds maxTableSize ${max}`);
      const w = ctx.translate(loc.da, loc.size);
      if (w === undefined)
        throw rprocError(
          "ERR_TRANSLATE",
          `loaded resource table at ${hex(loc.da)} (+${loc.size}) is not in device memory`,
        );
      const live = TableWindow.of(w);
      // One copy out of shared memory: checked and decoded, and restored on detach.
      const clean = live.bytes();
      parsed = parseTable(ctx, clean);
      s.table.adopt(live, loc, clean);
    }
    step = "register resources";
    if (parsed !== undefined && s.table.live !== undefined) await registerTable(ctx, s, s.table.live, parsed);
    step = "amend resources";
    await amendResources(ctx, s, requests);
    step = "allocate";
    await allocateResources(ctx, s);
    own(s);
    await startSession(ctx, s, "attach", (st) => {
      step = st;
    });
  } catch (error) {
    await unwind(ctx, s, "attach");
    throw new StepError("attach", step, error);
  }
}
