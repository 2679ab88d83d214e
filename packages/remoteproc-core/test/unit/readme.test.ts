// The README quick start must run and print what its `// → ` comments say (it uses top-level
// await: the shared runner bundles ESM for ES2022).
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";
import { runReadmeExample } from "@amp/test-utils";

it("the README quick start runs and prints what it says", async () => {
  const { printed, expected } = await runReadmeExample(fileURLToPath(new URL("../..", import.meta.url)));
  expect(expected.length).toBeGreaterThanOrEqual(3);
  expect(printed).toEqual(expected);
});
