// Hostile bytes: random resource tables in a firmware and random signed containers fail only
// with AmpError (wrapped in a StepError by boot), and a failed boot leaks nothing.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { fcParams } from "@amp/test-utils";
import { isAmpError, isStepError, verifySignedImage } from "@amp/remoteproc-core";
import { defaultTable, firmware, makePlatform } from "../helpers/fixture.ts";

describe("hostile input", () => {
  it("a firmware with random or mutated table bytes boots or fails with a StepError over an AmpError", async () => {
    const base = defaultTable();
    const mutated = fc
      .array(fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 })
      .map((edits) => {
        const t = base.slice();
        for (const [i, b] of edits) t[i] = b;
        return t;
      });
    const tableArb = fc.oneof(mutated, fc.uint8Array({ minLength: 4, maxLength: 200 }));
    await fc.assert(
      fc.asyncProperty(tableArb, async (table) => {
        const p = makePlatform({ fw: firmware({ table }) });
        try {
          await p.rproc.boot();
          await p.rproc.shutdown();
        } catch (e) {
          expect(isStepError(e)).toBe(true);
          const cause = (e as Error).cause;
          if (!isAmpError(cause)) throw new Error("the cause is not an AmpError", { cause: e });
        }
        expect(p.rproc.state).toBe("offline");
        expect(p.rproc.allocatedBytes).toBe(0);
        expect(p.driver.prepared).toBe(0);
        expect(p.loader.releases).toBe(p.loader.loads);
      }),
      fcParams(300),
    );
  });

  it("random signed containers are refused with an AmpError", async () => {
    const header = fc.uint8Array({ minLength: 0, maxLength: 300 }).map((b) => {
      const out = new Uint8Array(Math.max(b.length, 4));
      out.set(b);
      out.set([0x41, 0x4d, 0x50, 0x53]); // right magic, so the checks behind it are reached
      return out;
    });
    const key = { algorithm: "ED25519" as const, publicKey: new Uint8Array(32).fill(1) };
    await fc.assert(
      fc.asyncProperty(fc.oneof(header, fc.uint8Array({ maxLength: 100 })), async (bytes) => {
        const e = await verifySignedImage(bytes, { keys: [key] }).then(
          () => undefined,
          (x: unknown) => x,
        );
        expect(isAmpError(e)).toBe(true);
      }),
      fcParams(300),
    );
  });
});
