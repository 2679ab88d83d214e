import { join } from "node:path";
import { expect, it } from "vitest";
import { runReadmeExample } from "@amp/test-utils";

it("the README example prints what it says", async () => {
  const { printed, expected } = await runReadmeExample(join(import.meta.dirname, "..", ".."));
  expect(expected.length).toBeGreaterThan(0);
  expect(printed).toEqual(expected);
});
