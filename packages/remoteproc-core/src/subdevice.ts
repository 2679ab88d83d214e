/**
 * A subdevice: something whose life follows the remote's (Linux `struct rproc_subdev`): virtio
 * devices, a glink/smd-like transport, a watchdog monitor. All hooks are optional and may return a
 * promise. Order (behaviour-and-features.md §1.14): `prepare` in list order before the driver's
 * start, `start` in list order after it, `stop` in reverse before the driver's stop/detach with
 * `crashed` true during recovery, `unprepare` in reverse after it. A failed `prepare`/`start`
 * unwinds the ones already done, in reverse (`start` failures with `stop(true)`).
 */
export interface Subdevice {
  /** A name for error messages and events. */
  readonly name?: string;
  prepare?(): void | Promise<void>;
  start?(): void | Promise<void>;
  /** `crashed` is true when the remote crashed (recovery), false for an orderly stop or detach. */
  stop?(crashed: boolean): void | Promise<void>;
  unprepare?(): void | Promise<void>;
}
