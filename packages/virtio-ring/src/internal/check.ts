// Argument checks shared by the modules. They throw RangeError/TypeError: these guard against
// caller misuse. Bytes from the peer are checked where they are read, with AmpError.

/** Throws RangeError unless `[offset, offset + length)` lies inside `[0, size)`. */
export function checkRange(offset: number, length: number, size: number, what: string): void {
  // Subtraction form: no overflow, and NaN / negative / fractional values fail the test.
  if (!(
    Number.isInteger(offset) &&
    Number.isInteger(length) &&
    offset >= 0 &&
    length >= 0 &&
    length <= size - offset
  )) {
    throw new RangeError(`${what}: [${offset}, +${length}) is outside [0, ${size})`);
  }
}

/** Throws RangeError unless `value` is an integer in `[min, max]`. */
export function checkInt(value: number, min: number, max: number, what: string): void {
  if (!(Number.isInteger(value) && value >= min && value <= max)) {
    throw new RangeError(`${what} must be an integer in [${min}, ${max}], got ${value}`);
  }
}

/** True for 1, 2, 4, 8, ... */
export function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0 && n <= 0x40000000;
}
