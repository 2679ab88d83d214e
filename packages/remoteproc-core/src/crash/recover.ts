// Recovery of a crashed remote (Linux rproc_boot_recovery / rproc_attach_recovery): stop
// (subdevices told it is a crash), coredump, then either re-attach to a remote that restarts by
// itself or reload the firmware with the cached resource table and start it again.
import type { LifecycleStep } from "../errors.js";
import { StepError } from "../errors.js";
import { fetchFirmware, loadFirmware, loadSegments } from "../boot/firmware.js";
import { rewriteHostFields } from "../boot/allocate.js";
import { startSession } from "../boot/start.js";
import type { CoreContext } from "../internal/context.js";
import { detachOrStop, haltAfterFailedRecovery } from "../release/teardown.js";
import type { Failures } from "../session/failures.js";
import type { Session } from "../session/session.js";
import { RprocState } from "../state.js";
import { crashDump, freeRetired } from "./coredump.js";

/**
 * Recovers `s`; returns the state it is in afterwards (attached or running). On failure the
 * session is halted with its resources held, so recovery can be tried again.
 * @throws StepError naming the step that failed.
 */
export async function recoverSession(
  ctx: CoreContext,
  s: Session,
  operation: string,
  attachOnRecovery: boolean,
): Promise<"attached" | "running"> {
  const failures: Failures = [];
  const reattach = attachOnRecovery && s.state.mode === "attach" && ctx.driver.detach !== undefined;
  let step: LifecycleStep = "stop subdevices";
  const setStep = (st: LifecycleStep): void => {
    step = st;
  };
  try {
    if (reattach) await reattachAfterCrash(ctx, s, failures, setStep);
    else await rebootAfterCrash(ctx, s, failures, setStep);
  } catch (error) {
    await haltAfterFailedRecovery(ctx, s, failures);
    ctx.reportAll(operation, failures);
    throw new StepError(operation, step, error);
  }
  ctx.reportAll(operation, failures);
  return reattach ? RprocState.ATTACHED : RprocState.RUNNING;
}

/** Linux RPROC_FEAT_ATTACH_ON_RECOVERY: detach, dump, attach to the remote again. */
async function reattachAfterCrash(
  ctx: CoreContext,
  s: Session,
  failures: Failures,
  setStep: (step: LifecycleStep) => void,
): Promise<void> {
  await s.subdevs.stopAll(true, failures);
  if (s.state.running) {
    setStep("detach");
    await detachOrStop(ctx, s, { restoreTable: true });
    s.state.running = false;
  }
  await s.subdevs.unprepareAll(failures);
  await crashDump(ctx, s);
  freeRetired(ctx, s);
  const { live, clean } = s.table;
  if (live !== undefined && clean !== undefined) {
    setStep("register resources");
    rewriteHostFields(s, live);
  }
  await startSession(ctx, s, "attach", setStep);
}

/** Stop, dump, reload the image and install the cached table, start. */
async function rebootAfterCrash(
  ctx: CoreContext,
  s: Session,
  failures: Failures,
  setStep: (step: LifecycleStep) => void,
): Promise<void> {
  await s.subdevs.stopAll(true, failures);
  s.table.toCached(s.state.mode);
  setStep("stop");
  if (s.state.running) {
    await ctx.driver.stop?.();
    s.state.running = false;
  }
  setStep("unprepare subdevices");
  await s.subdevs.unprepareAll(failures);
  setStep("coredump");
  await crashDump(ctx, s);
  freeRetired(ctx, s);
  setStep("firmware");
  const bytes = await fetchFirmware(ctx);
  setStep("release");
  const old = s.state.firmware;
  if (old !== undefined) {
    s.state.firmware = undefined;
    await ctx.loader.release(old);
  }
  setStep("loadAndVerify");
  const firmware = await loadFirmware(ctx, bytes);
  s.state.firmware = firmware;
  s.state.bootAddr = firmware.bootAddr;
  if (!s.table.generated) {
    const t = firmware.resourceTable;
    s.table.location =
      t === undefined || s.table.cached === undefined ? undefined : { da: t.da, size: s.table.cached.size };
  }
  s.state.mode = "boot";
  setStep("load segments");
  await loadSegments(ctx, firmware);
  setStep("install table");
  s.table.install((da, len) => ctx.translate(da, len));
  await startSession(ctx, s, "start", setStep);
}
