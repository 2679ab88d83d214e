import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";
import { runReadmeExample } from "@amp/test-utils";

it("the README quick start runs and prints what it says", async () => {
  const { printed, expected } = await runReadmeExample(fileURLToPath(new URL("../..", import.meta.url)));
  expect(expected.length).toBeGreaterThanOrEqual(7);
  expect(printed).toEqual(expected);
});
