// The AmpError code `f()` throws (undefined when it returns); anything else it throws is rethrown,
// so a test that expects a code fails on a TypeError with that error's own message.
import { isAmpError } from "@amp/rpmsg";

export function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    if (!isAmpError(e)) throw e;
    return e.code;
  }
  return undefined;
}
