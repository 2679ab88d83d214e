// Shared vitest settings for every package: resolve workspace packages from their TypeScript
// sources (the "@amp/source" export condition) so tests never need a prior build, and write a
// JSON report that scripts/test-summary.mjs turns into the CI's "N passed, N failed" line.
import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: { conditions: ["@amp/source"] },
  ssr: { resolve: { conditions: ["@amp/source"] } },
  test: {
    include: ["test/**/*.test.ts"],
    reporters: ["default", ["json", { outputFile: "test-results/vitest.json" }]],
    // A hang guard, not a timing assertion: generous because CI shares two cores between tasks.
    testTimeout: 180_000,
    hookTimeout: 120_000,
    pool: "forks",
  },
});
