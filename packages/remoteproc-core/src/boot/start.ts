// The end of every boot, attach and recovery: prepare subdevices -> driver start (or attach) ->
// start subdevices (behaviour-and-features.md §1.14).
import type { LifecycleStep } from "../errors.js";
import type { CoreContext } from "../internal/context.js";
import type { Session } from "../session/session.js";
import { vdevSubdevice } from "../vdev/subdevice.js";

/** Runs the start sequence; `setStep` learns each step before it runs (for the StepError). */
export async function startSession(
  ctx: CoreContext,
  s: Session,
  how: "start" | "attach",
  setStep: (step: LifecycleStep) => void,
): Promise<void> {
  s.subdevs.use([...ctx.subdevices, ...s.resources.vdevs.map((v) => vdevSubdevice(ctx, s, v))]);
  setStep("prepare subdevices");
  await s.subdevs.prepareAll();
  setStep(how);
  if (how === "start") await ctx.driver.start?.(s.state.bootAddr);
  else await ctx.driver.attach?.();
  s.state.running = true;
  setStep("start subdevices");
  await s.subdevs.startAll();
}
