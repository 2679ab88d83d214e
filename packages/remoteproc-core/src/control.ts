// The sysfs-like string interface over a remote processor, in terms of its public methods only
// (described here as ControlTarget, so this file does not import the manager).
import type { CoredumpMode, RecoveryMode, RprocStateName } from "./state.js";

/** Attributes of the sysfs-like control surface. */
export type ControlAttribute = "name" | "state" | "firmware" | "recovery" | "coredump";

/** A string interface like Linux sysfs, for a CLI or a service to expose. */
export interface ControlSurface {
  /** Reads an attribute as sysfs shows it. */
  read(attribute: ControlAttribute): string;
  /**
   * Writes an attribute: `state` takes start/stop/detach, `firmware` a name (only while offline),
   * `recovery` enabled/disabled/recover, `coredump` disabled/enabled/default/inline.
   * @throws TypeError for an unknown attribute or value; the AmpErrors of the method it calls.
   */
  write(attribute: ControlAttribute, value: string): Promise<void>;
}

/** @internal what the control surface reads and calls (a Remoteproc). */
export interface ControlTarget {
  readonly name: string;
  readonly state: RprocStateName;
  readonly firmware: string;
  readonly recovery: RecoveryMode;
  readonly coredumpMode: CoredumpMode;
  boot(): Promise<void>;
  shutdown(): Promise<void>;
  detach(): Promise<void>;
  setFirmware(name: string): void;
  setRecovery(mode: RecoveryMode | "recover"): Promise<void>;
  setCoredumpMode(mode: CoredumpMode | "enabled"): void;
}

/** @internal the control surface of `rproc`, in terms of its public methods. */
export function createControlSurface(rproc: ControlTarget): ControlSurface {
  return {
    read: (attribute) => {
      switch (attribute) {
        case "name":
          return rproc.name;
        case "state":
          return rproc.state;
        case "firmware":
          return rproc.firmware;
        case "recovery":
          return rproc.recovery;
        case "coredump":
          return rproc.coredumpMode === "default" ? "enabled" : rproc.coredumpMode;
        default:
          throw new TypeError(`unknown attribute ${String(attribute)}`);
      }
    },
    write: async (attribute, value) => {
      const v = value.split("\n")[0] ?? "";
      switch (attribute) {
        case "state":
          if (v === "start") return rproc.boot();
          if (v === "stop") return rproc.shutdown();
          if (v === "detach") return rproc.detach();
          throw new TypeError(`state takes start, stop or detach, not "${v}"`);
        case "firmware":
          rproc.setFirmware(v);
          return;
        case "recovery":
          if (v !== "enabled" && v !== "disabled" && v !== "recover")
            throw new TypeError(`recovery takes enabled, disabled or recover, not "${v}"`);
          return rproc.setRecovery(v);
        case "coredump":
          if (v !== "enabled" && v !== "disabled" && v !== "default" && v !== "inline")
            throw new TypeError(`coredump takes disabled, enabled or inline, not "${v}"`);
          rproc.setCoredumpMode(v);
          return;
        default:
          throw new TypeError(`attribute ${attribute} is not writable`);
      }
    },
  };
}
