/**
 * States of a remote processor, with the strings Linux shows in sysfs `state`
 * (behaviour-and-features.md §1.1). `suspended` is declared by Linux but never set, so it is absent.
 */
export const RprocState = {
  /** Powered off; the initial state of a remote the host boots. */
  OFFLINE: "offline",
  /** Booted by this host. */
  RUNNING: "running",
  /** A crash was reported and not yet recovered. */
  CRASHED: "crashed",
  /** Booted by someone else; this host is attached to it. */
  ATTACHED: "attached",
  /** Booted by someone else; this host is not attached (initially or after detach). */
  DETACHED: "detached",
  /** Deleted: every call now fails with ERR_STATE. */
  DELETED: "deleted",
} as const;

/** One of the {@link RprocState} strings. */
export type RprocStateName = (typeof RprocState)[keyof typeof RprocState];

/** Crash types of `rproc_report_crash`; the strings are the ones Linux logs. */
export const CrashType = {
  MMU_FAULT: "mmufault",
  WATCHDOG: "watchdog",
  FATAL_ERROR: "fatal error",
} as const;

/** One of the {@link CrashType} strings. */
export type CrashTypeName = (typeof CrashType)[keyof typeof CrashType];

/** Recovery policy (sysfs `recovery`): `enabled` recovers at once, `disabled` stays crashed. */
export type RecoveryMode = "enabled" | "disabled";

/**
 * Coredump mode (sysfs `coredump`): `disabled` makes none, `default` copies every segment into one
 * buffer and lets recovery go on, `inline` streams segments from device memory to the sink and
 * recovery waits until the sink is done (Linux calls `default` "enabled"; both spellings accepted).
 */
export type CoredumpMode = "disabled" | "default" | "inline";
