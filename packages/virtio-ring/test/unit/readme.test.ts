import { join } from "node:path";
import { expect, it } from "vitest";
import { runReadmeExample } from "@amp/test-utils";

it("README quick start prints what it says", async () => {
  const { printed, expected } = await runReadmeExample(join(import.meta.dirname, "..", ".."));
  expect(printed).toEqual(expected);
});
