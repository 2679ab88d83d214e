// The checks that turn RemoteprocOptions into the manager's settings, in the order a caller's
// mistakes are reported (misuse is a TypeError / RangeError).
import type { RemoteprocOptions } from "../options.js";
import type { ResourceRequest } from "../resources.js";
import type { CoredumpMode, RecoveryMode } from "../state.js";
import { RegionSet } from "./allocator.js";
import { checkRequest } from "./requests.js";

/** The numbers a session is held to (options.limits and pageSize, with their defaults). */
export interface ResolvedLimits {
  readonly pageSize: number;
  readonly maxTableSize: number;
  readonly maxEntries: number;
  readonly maxVdevs: number;
}

/** Checked options with their defaults applied. */
export interface Settings {
  readonly initialState: "offline" | "detached";
  readonly regions: RegionSet;
  readonly resources: ResourceRequest[];
  readonly firmware: string;
  readonly recovery: RecoveryMode;
  readonly coredump: CoredumpMode;
  readonly limits: ResolvedLimits;
}

/** @throws TypeError / RangeError for bad options. */
export function resolveOptions(options: RemoteprocOptions): Settings {
  if (typeof options.name !== "string" || options.name === "") throw new TypeError("a remote processor needs a name");
  const initial: string = options.initialState ?? "offline";
  if (initial !== "offline" && initial !== "detached")
    throw new TypeError(`initialState must be "offline" or "detached"`);
  if (initial === "offline" && typeof options.driver.start !== "function")
    throw new TypeError("a driver for an offline remote needs start()");
  if (initial === "detached" && typeof options.driver.attach !== "function")
    throw new TypeError("a driver for a detached remote needs attach()");
  const regions = new RegionSet(options.regions ?? []);
  for (const r of options.resources ?? []) checkRequest(r);
  const firmware = options.firmware === undefined ? `rproc-${options.name}-fw` : cleanFirmwareName(options.firmware);
  const recovery: string = options.recovery ?? "enabled";
  if (recovery !== "enabled" && recovery !== "disabled")
    throw new TypeError(`recovery must be "enabled" or "disabled"`);
  const coredump = parseDumpMode(options.coredump ?? "disabled");
  const pageSize = options.pageSize ?? 4096;
  if (!Number.isInteger(pageSize) || pageSize < 1 || (pageSize & (pageSize - 1)) !== 0)
    throw new RangeError("pageSize must be a power of two");
  const limits = {
    pageSize,
    maxTableSize: options.limits?.maxTableSize ?? 65536,
    maxEntries: options.limits?.maxEntries ?? 64,
    maxVdevs: options.limits?.maxVdevs ?? 8,
  };
  return {
    initialState: initial,
    regions,
    resources: [...(options.resources ?? [])],
    firmware,
    recovery,
    coredump,
    limits,
  };
}

/** Firmware name as sysfs takes it: cut at the first newline, never empty. */
export function cleanFirmwareName(name: string): string {
  if (typeof name !== "string") throw new TypeError("firmware name must be a string");
  const v = name.split("\n")[0] ?? "";
  if (v === "") throw new TypeError("firmware name must not be empty");
  return v;
}

/** A coredump mode word ("enabled" is Linux's spelling of "default"). */
export function parseDumpMode(mode: string): CoredumpMode {
  if (mode === "enabled" || mode === "default") return "default";
  if (mode === "disabled" || mode === "inline") return mode;
  throw new TypeError(`coredump mode must be disabled, default (enabled) or inline, not ${mode}`);
}
