import { describe, expect, it } from "vitest";
import { AmpError, isAmpError } from "@amp/resource-table";

describe("AmpError", () => {
  it("carries a stable code and an offset", () => {
    const e = new AmpError("ERR_MALFORMED", "bad", { offset: 12 });
    expect(isAmpError(e)).toBe(true);
    expect(e.code).toBe("ERR_MALFORMED");
    expect(e.offset).toBe(12);
    expect(isAmpError(new Error("x"))).toBe(false);
  });
});
