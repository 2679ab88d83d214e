import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { isAmpError } from "@amp/resource-table";
import { buildJsFirmware, decodeProgramHeader, PROGRAM_HEADER_SIZE } from "@amp/node";
import { fcParams } from "@amp/test-utils";

describe("decodeProgramHeader on hostile memory", () => {
  it("random bytes at any boot address fail only with AmpError, never read past the end", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 96 }), fc.nat(128), (bytes, at) => {
        try {
          const h = decodeProgramHeader(bytes, at);
          expect(at + PROGRAM_HEADER_SIZE + h.codeLength).toBeLessThanOrEqual(bytes.length);
        } catch (e) {
          return isAmpError(e);
        }
        return true;
      }),
      fcParams(),
    );
  });

  it("a built image with mutated header bytes decodes or fails with AmpError", () => {
    const elf = buildJsFirmware({ program: "export default async () => {};\n" });
    const phoff = new DataView(elf.buffer).getUint32(28, true);
    const off = new DataView(elf.buffer).getUint32(phoff + 4, true);
    const image = elf.slice(off, off + PROGRAM_HEADER_SIZE + 31);
    fc.assert(
      fc.property(fc.nat(PROGRAM_HEADER_SIZE - 1), fc.integer({ min: 0, max: 255 }), (i, v) => {
        const m = image.slice();
        m[i] = v;
        try {
          decodeProgramHeader(m, 0);
        } catch (e) {
          return isAmpError(e);
        }
        return true;
      }),
      fcParams(),
    );
  });
});
