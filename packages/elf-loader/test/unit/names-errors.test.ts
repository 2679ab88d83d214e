import { describe, expect, it } from "vitest";
import { AmpError, ElfMachine, isAmpError, machineName, programTypeName, sectionTypeName } from "@amp/elf-loader";

describe("names", () => {
  it("prints readelf's names and hex for unknown values", () => {
    expect(programTypeName(1)).toBe("LOAD");
    expect(programTypeName(0x6474e551)).toBe("GNU_STACK");
    expect(programTypeName(0x70000001, ElfMachine.EM_ARM)).toBe("EXIDX");
    expect(programTypeName(0x70000001)).toBe("0x70000001");
    expect(sectionTypeName(8)).toBe("NOBITS");
    expect(sectionTypeName(0x70000003, ElfMachine.EM_ARM)).toBe("ARM_ATTRIBUTES");
    expect(sectionTypeName(0x12345)).toBe("0x12345");
    expect(machineName(40)).toBe("ARM");
    expect(machineName(183)).toBe("AArch64");
    expect(machineName(9999)).toBe("0x270f");
  });
});

describe("AmpError", () => {
  it("has the shared shape: name, code, offset, cause, and a structural guard", () => {
    const cause = new Error("x");
    const e = new AmpError("ERR_TRUNCATED", "short", { offset: 12, cause });
    expect([e.name, e.code, e.offset, e.cause, e.message]).toEqual(["AmpError", "ERR_TRUNCATED", 12, cause, "short"]);
    expect(isAmpError(e)).toBe(true);
    const foreign = Object.assign(new Error("other copy"), { name: "AmpError", code: "ERR_X" });
    expect(isAmpError(foreign)).toBe(true);
    expect(isAmpError(new Error("plain"))).toBe(false);
    expect(isAmpError({ name: "AmpError", code: "ERR_X" })).toBe(false);
    expect(new AmpError("ERR_LIMIT", "m").offset).toBeUndefined();
  });
});
