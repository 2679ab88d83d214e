import { describe, expect, it } from "vitest";
// src/amp-error.ts, as virtio-ring ships it (resource-table and elf-loader keep the same text:
// scripts/check-copies.mjs).
import { AmpError, alignUp, concatBytes, hex, isAmpError } from "@amp/virtio-ring";

describe("AmpError", () => {
  it("carries name, code, offset and cause", () => {
    const cause = new Error("inner");
    const e = new AmpError("ERR_MALFORMED", "bad", { offset: 12, cause });
    expect(e).toBeInstanceOf(Error);
    expect([e.name, e.code, e.offset, e.message, e.cause]).toEqual(["AmpError", "ERR_MALFORMED", 12, "bad", cause]);
  });

  it("has no cause property at all when none is given, and offset undefined", () => {
    const e = new AmpError("ERR_LIMIT", "too many");
    expect("cause" in e).toBe(false);
    expect(e.offset).toBeUndefined();
  });
});

describe("isAmpError", () => {
  it("checks name and code", () => {
    const e = new AmpError("ERR_TRUNCATED", "short");
    expect(isAmpError(e)).toBe(true);
    expect(isAmpError(Object.assign(new Error("x"), { name: "AmpError" }))).toBe(false); // no code
    expect(isAmpError(new Error("x"))).toBe(false);
    expect(isAmpError({ name: "AmpError", code: "ERR_X" })).toBe(false); // not an Error
    expect(isAmpError("ERR_X")).toBe(false);
  });

  it("accepts an AmpError from another copy of the class (the dual-package hazard)", () => {
    class OtherCopy extends Error {
      override readonly name = "AmpError";
      readonly code = "ERR_MALFORMED";
    }
    const e = new OtherCopy("from a second install");
    expect(isAmpError(e) && e.code).toBe("ERR_MALFORMED");
    // instanceof asks the same question, so a second copy's error is an instance of this one.
    expect(e instanceof AmpError).toBe(true);
  });

  it("keeps the ordinary prototype test for a subclass", () => {
    class Sub extends AmpError<"ERR_SUB"> {}
    const sub = new Sub("ERR_SUB", "from the subclass");
    expect([sub instanceof Sub, sub instanceof AmpError, new AmpError("ERR_X", "x") instanceof Sub]).toEqual([
      true,
      true,
      false,
    ]);
  });
});

describe("helpers", () => {
  it("hex: 0x + lower-case, numbers and bigints, no padding", () => {
    expect([hex(0), hex(0xdead_beef), hex(0xffff_ffff), hex(1n << 40n)]).toEqual([
      "0x0",
      "0xdeadbeef",
      "0xffffffff",
      "0x10000000000",
    ]);
  });

  it("alignUp: next multiple, also past 2^32 and for non-powers of two", () => {
    expect([alignUp(0, 16), alignUp(1, 16), alignUp(16, 16), alignUp(0x1_0000_0001, 0x1000), alignUp(7, 3)]).toEqual([
      0, 16, 16, 0x1_0000_1000, 9,
    ]);
  });

  it("concatBytes: a fresh array with every chunk in order", () => {
    const a = Uint8Array.of(1, 2);
    const out = concatBytes([a, new Uint8Array(0), Uint8Array.of(3)]);
    expect([...out]).toEqual([1, 2, 3]);
    expect(out.buffer).not.toBe(a.buffer);
    expect(concatBytes([]).length).toBe(0);
  });
});
