// Letting go of a remote when things went wrong or the manager is deleted: the driver call that
// undoes how it was taken (detach an attached remote, else stop), the unwinding of a failed boot
// or attach, and the halt after a failed recovery.
import type { CoreContext } from "../internal/context.js";
import type { Failures } from "../session/failures.js";
import type { Session } from "../session/session.js";
import { releaseSession } from "./release.js";

/** True when letting go of `s` means detaching (an attached remote, and the driver can) rather than stopping. */
export function detaches(ctx: CoreContext, s: Session): boolean {
  return s.state.mode === "attach" && ctx.driver.detach !== undefined;
}

/**
 * Detach if attached, else stop. With `restoreTable`, the table found at attach is written back
 * first, so the next host sees it clean.
 */
export async function detachOrStop(
  ctx: CoreContext,
  s: Session,
  options: { readonly restoreTable?: boolean } = {},
): Promise<void> {
  if (detaches(ctx, s)) {
    if (options.restoreTable === true) s.table.restoreCleanTable();
    await ctx.driver.detach?.();
  } else {
    await ctx.driver.stop?.();
  }
}

/** Undo a failed boot or attach: everything acquired is released; failures go to the "error" event. */
export async function unwind(ctx: CoreContext, s: Session, operation: string): Promise<void> {
  const failures: Failures = [];
  await s.subdevs.stopAll(true, failures);
  if (s.state.running) {
    try {
      await detachOrStop(ctx, s);
    } catch (error) {
      failures.push({ step: s.state.mode === "attach" ? "detach" : "stop", error });
    }
    s.state.running = false;
  }
  if (s.state.mode === "attach" && s.table.live !== undefined && s.table.clean !== undefined) {
    try {
      s.table.restoreCleanTable();
    } catch (error) {
      failures.push({ step: "release", error });
    }
    s.table.live = undefined;
  }
  s.table.toCached(s.state.mode);
  await s.subdevs.unprepareAll(failures);
  await releaseSession(ctx, s, failures);
  ctx.reportAll(`${operation} (unwinding)`, failures);
}

/** A recovery failed part-way: bring the session back to "stopped, resources held" so it can be retried. */
export async function haltAfterFailedRecovery(ctx: CoreContext, s: Session, failures: Failures): Promise<void> {
  await s.subdevs.stopAll(true, failures);
  if (s.state.running) {
    try {
      await detachOrStop(ctx, s);
      s.state.running = false;
    } catch (error) {
      failures.push({ step: "stop", error });
    }
  }
  if (s.state.mode === "boot") s.table.toCached(s.state.mode);
  await s.subdevs.unprepareAll(failures);
}

/**
 * Delete: stop subdevices, let go of a running remote (restoring an attached one's table),
 * release everything; failures are collected, never thrown.
 */
export async function tearDown(ctx: CoreContext, s: Session, crashed: boolean, failures: Failures): Promise<void> {
  await s.subdevs.stopAll(crashed, failures);
  if (s.state.running) {
    try {
      await detachOrStop(ctx, s, { restoreTable: true });
    } catch (error) {
      failures.push({ step: detaches(ctx, s) ? "detach" : "stop", error });
    }
    s.state.running = false;
  }
  s.table.toCached(s.state.mode);
  await s.subdevs.unprepareAll(failures);
  await releaseSession(ctx, s, failures);
}
