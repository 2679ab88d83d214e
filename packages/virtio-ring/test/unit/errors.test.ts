import { describe, expect, it } from "vitest";
import { AmpError, isAmpError } from "@amp/virtio-ring";

describe("AmpError", () => {
  it("carries a stable code, an offset and a cause; upper packages use their own codes", () => {
    const cause = new Error("inner");
    const e = new AmpError("ERR_BAD_USED", "bad", { offset: 12, cause });
    expect(isAmpError(e)).toBe(true);
    expect(e.name).toBe("AmpError");
    expect(e.code).toBe("ERR_BAD_USED");
    expect(e.offset).toBe(12);
    expect(e.cause).toBe(cause);
    const upper = new AmpError<"ERR_TIMEOUT" | "ERR_CLOSED">("ERR_CLOSED", "closed");
    expect(isAmpError(upper) && upper.code).toBe("ERR_CLOSED");
    expect(isAmpError(new Error("x"))).toBe(false);
    expect(isAmpError({ name: "AmpError", code: "X" })).toBe(false);
  });
});
