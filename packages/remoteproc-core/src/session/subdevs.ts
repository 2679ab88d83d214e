// The subdevices of one session in their order (behaviour-and-features.md §1.14): prepared and
// started in list order, stopped and unprepared in reverse; the counters say how far each went,
// so a failure part-way undoes exactly what was done.
import type { Subdevice } from "../subdevice.js";
import type { Failures } from "./failures.js";

export class SubdevChain {
  private list: readonly Subdevice[] = [];
  private prepared = 0;
  private started = 0;

  /** The chain of the next start sequence (the program's subdevices, then one per vdev). */
  use(list: readonly Subdevice[]): void {
    this.list = list;
  }

  /** Prepares each in order; throws the first failure (the ones done stay counted). */
  async prepareAll(): Promise<void> {
    for (const sd of this.list) {
      await sd.prepare?.();
      this.prepared++;
    }
  }

  /** Starts each in order; throws the first failure (the ones done stay counted). */
  async startAll(): Promise<void> {
    for (const sd of this.list) {
      await sd.start?.();
      this.started++;
    }
  }

  /** Starts the ones not started (after a failed stop or detach), stopping at the first failure. */
  async startRest(failures: Failures): Promise<void> {
    for (let i = this.started; i < this.list.length; i++) {
      const sd = this.list[i];
      try {
        await sd?.start?.();
        this.started++;
      } catch (error) {
        failures.push({ step: "start subdevices", error });
        break;
      }
    }
  }

  /** Stops every started one, in reverse; failures are collected, the rest still stop. */
  async stopAll(crashed: boolean, failures: Failures): Promise<void> {
    while (this.started > 0) {
      this.started--;
      try {
        await this.list[this.started]?.stop?.(crashed);
      } catch (error) {
        failures.push({ step: "stop subdevices", error });
      }
    }
  }

  /** Unprepares every prepared one, in reverse; failures are collected, the rest still go. */
  async unprepareAll(failures: Failures): Promise<void> {
    while (this.prepared > 0) {
      this.prepared--;
      try {
        await this.list[this.prepared]?.unprepare?.();
      } catch (error) {
        failures.push({ step: "unprepare subdevices", error });
      }
    }
  }
}
