// The first half of an orderly shutdown or detach: subdevices stop, the driver stops (or lets
// go of) the remote, subdevices unprepare. When the driver's call fails nothing changes: the
// table the remote sees and the subdevices are put back, and a StepError is thrown.
import { StepError } from "../errors.js";
import type { CoreContext } from "../internal/context.js";
import type { Failures } from "../session/failures.js";
import type { Session } from "../session/session.js";

/** Shutdown: stop subdevices, point the host at its cached table, driver.stop, unprepare subdevices. */
export async function stopRemote(ctx: CoreContext, s: Session, failures: Failures): Promise<void> {
  await s.subdevs.stopAll(false, failures);
  const before = s.table.toCached(s.state.mode);
  try {
    await ctx.driver.stop?.();
  } catch (error) {
    if (before !== undefined) s.table.live = before;
    await s.subdevs.startRest(failures);
    ctx.reportAll("shutdown", failures);
    throw new StepError("shutdown", "stop", error);
  }
  s.state.running = false;
  await s.subdevs.unprepareAll(failures);
}

/** Detach: stop subdevices, restore the table found at attach, driver.detach, unprepare subdevices. */
export async function detachRemote(ctx: CoreContext, s: Session, failures: Failures): Promise<void> {
  await s.subdevs.stopAll(false, failures);
  const live = s.table.live;
  const liveCopy = live?.bytes();
  s.table.restoreCleanTable();
  try {
    await ctx.driver.detach?.();
  } catch (error) {
    // The remote keeps the table as this host had written it.
    if (live !== undefined && liveCopy !== undefined) live.write(0, liveCopy);
    await s.subdevs.startRest(failures);
    ctx.reportAll("detach", failures);
    throw new StepError("detach", "detach", error);
  }
  s.state.running = false;
  s.table.live = undefined;
  await s.subdevs.unprepareAll(failures);
}
