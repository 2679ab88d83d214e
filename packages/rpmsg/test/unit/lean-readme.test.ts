import { describe, expect, it } from "vitest";
import { fileURLToPath } from "node:url";
import { runReadmeExample } from "@amp/test-utils";

describe("README lean remote example", () => {
  it("runs and prints what its comments say", async () => {
    const { printed, expected } = await runReadmeExample(
      fileURLToPath(new URL("../..", import.meta.url)),
      "Lean remote",
    );
    expect(expected).toHaveLength(2);
    expect(printed).toEqual(expected);
  });
});
