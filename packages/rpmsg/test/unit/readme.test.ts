import { describe, expect, it } from "vitest";
import { fileURLToPath } from "node:url";
import { runReadmeExample } from "@amp/test-utils";

describe("README quick start", () => {
  it("runs and prints what its comments say", async () => {
    const { printed, expected } = await runReadmeExample(fileURLToPath(new URL("../..", import.meta.url)));
    expect(printed).toEqual(expected);
  });
});
