import { describe, it } from "vitest";
import fc from "fast-check";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fcParams, makeTempDir } from "@amp/test-utils";
import { isOneLine, runAmp } from "../helpers.ts";

const dir = makeTempDir("amp-prop-");

describe("amp rsc on arbitrary input", () => {
  it("random JSON documents give exit 0 or one error line, never a crash", async () => {
    const entry = fc.record(
      {
        kind: fc.constantFrom("carveout", "devmem", "trace", "vdev", "vendor", "unsupported", "bogus"),
        da: fc.oneof(fc.nat(), fc.string(), fc.constant(-1)),
        len: fc.oneof(fc.nat(0xffff), fc.constant("0x10"), fc.boolean()),
        type: fc.integer({ min: -1, max: 600 }),
        id: fc.nat(50),
        vrings: fc.array(fc.record({ align: fc.constantFrom(0, 3, 16, 4096), num: fc.constantFrom(0, 3, 8, 256) }), {
          maxLength: 3,
        }),
        name: fc.string({ maxLength: 40 }),
        data: fc.constantFrom("", "00ff", "zz"),
      },
      { requiredKeys: ["kind"] },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.record(
          { ver: fc.constantFrom(1, 2, "1"), entries: fc.array(entry, { maxLength: 4 }) },
          { requiredKeys: [] },
        ),
        async (doc) => {
          const file = join(dir, "t.json");
          writeFileSync(file, JSON.stringify(doc));
          const r = await runAmp(["rsc", "encode", file, "-o", join(dir, "t.bin")]);
          return r.code === 0 ? r.stderr.startsWith("wrote") : isOneLine(r.stderr);
        },
      ),
      fcParams(100),
    );
  });

  it("random bytes as a table give exit 0 or one error line", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 200 }), async (bytes) => {
        const file = join(dir, "t.bin");
        writeFileSync(file, bytes);
        const r = await runAmp(["rsc", "decode", file]);
        return r.code === 0 || isOneLine(r.stderr);
      }),
      fcParams(100),
    );
  });
});
