// Small checks and list helpers shared by the device core's files.

/** `v` when it is an integer in [min, max], `dflt` when undefined; RangeError otherwise. */
export function checkInt(v: number | undefined, min: number, max: number, what: string, dflt: number): number {
  if (v === undefined) return dflt;
  if (!Number.isInteger(v) || v < min || v > max)
    throw new RangeError(`${what} must be an integer in [${min}, ${max}], got ${String(v)}`);
  return v;
}

export function isU32(x: number): boolean {
  return Number.isInteger(x) && x >= 0 && x <= 0xffffffff;
}

/** Removes the first `x` from `list`, if present. */
export function remove<T>(list: T[], x: T): void {
  const i = list.indexOf(x);
  if (i >= 0) list.splice(i, 1);
}

/** Removes the first element matching `pred`, if any. */
export function removeWhere<T>(list: T[], pred: (x: T) => boolean): void {
  const i = list.findIndex(pred);
  if (i >= 0) list.splice(i, 1);
}
