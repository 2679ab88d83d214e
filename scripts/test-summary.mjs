#!/usr/bin/env node
// Sums the vitest JSON reports that every package writes to test-results/vitest.json and prints
// the one closing line CI reads: "N passed, N failed, N skipped". vitest's own summary is per
// package and is not read by CI (shared/TOOLCHAIN.md §B9). Exits 1 when anything failed or
// nothing passed, so a run that silently ran no test cannot look green. Before that line it prints
// each package's v8 coverage of its src/ (test-results/coverage/coverage-summary.json, written when
// the tests ran with AMP_COVERAGE=1, as scripts/test.mjs runs them); coverage never fails the run.
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
let passed = 0,
  failed = 0,
  skipped = 0;
const rows = [];
const coverage = [];
for (const group of ["packages", "examples"]) {
  const dir = join(root, group);
  if (!existsSync(dir)) continue;
  for (const name of readdirSync(dir).sort()) {
    const resultsDir = join(dir, name, "test-results");
    if (!existsSync(resultsDir)) continue;
    const summary = join(resultsDir, "coverage", "coverage-summary.json");
    if (existsSync(summary)) coverage.push([`${group}/${name}`, JSON.parse(readFileSync(summary, "utf8")).total]);
    for (const file of readdirSync(resultsDir)
      .filter((f) => f.endsWith(".json"))
      .sort()) {
      const report = JSON.parse(readFileSync(join(resultsDir, file), "utf8"));
      const p = report.numPassedTests ?? 0,
        f = report.numFailedTests ?? 0;
      const s = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
      // A suite that fails to load (syntax error, missing import) has no failed *tests*.
      const brokenSuites = (report.testResults ?? []).filter(
        (r) => r.status === "failed" && (r.assertionResults ?? []).length === 0,
      ).length;
      passed += p;
      failed += f + brokenSuites;
      skipped += s;
      rows.push(`${group}/${name}/${file}`.padEnd(48) + ` ${p} passed, ${f + brokenSuites} failed, ${s} skipped`);
    }
  }
}
for (const row of rows) console.log(row);
if (coverage.length > 0) {
  const pct = (m) => (typeof m?.pct === "number" ? `${m.pct.toFixed(1)} %` : "-").padStart(10);
  console.log(
    `\n${"coverage of src/ (v8)".padEnd(32)}${"lines".padStart(10)}${"branches".padStart(10)}${"functions".padStart(10)}`,
  );
  for (const [where, total] of coverage)
    console.log(`${where.padEnd(32)}${pct(total.lines)}${pct(total.branches)}${pct(total.functions)}`);
  console.log("");
}
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
