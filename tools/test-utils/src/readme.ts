// Every package README carries one example that is run by the package's tests, so the example
// cannot rot. The example is the first ```ts block under a "## Quick start" heading. Lines of the
// form `console.log(x); // → text` declare what that call must print.
import { readFileSync, writeFileSync, mkdtempSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { bundleToString } from "./bundle.ts";

/** The first ```ts block under the `## <section>` heading (default "Quick start"). */
export function extractReadmeExample(readmePath: string, section = "Quick start"): string {
  const md = readFileSync(readmePath, "utf8");
  const start = md.split("\n").findIndex((l) => l === `## ${section}` || l.startsWith(`## ${section} `));
  if (start < 0) throw new Error(`${readmePath}: no "## ${section}" section`);
  const m = /```ts\n([\s\S]*?)```/.exec(md.split("\n").slice(start).join("\n"));
  if (m?.[1] === undefined) throw new Error(`${readmePath}: no \`\`\`ts block in ${section}`);
  return m[1];
}

/**
 * Runs the README example of the package in `pkgDir` and returns what it printed, one string per
 * console.log call, plus the outputs that `// → text` comments declared, for the test to compare.
 */
export async function runReadmeExample(
  pkgDir: string,
  section = "Quick start",
): Promise<{ printed: string[]; expected: string[] }> {
  const code = extractReadmeExample(join(pkgDir, "README.md"), section);
  const expected = [...code.matchAll(/\/\/ → (.*)$/gm)].map((m) => (m[1] ?? "").trim());
  const dir = mkdtempSync(join(tmpdir(), "amp-readme-"));
  // One file per section: two README tests of a package may run at once.
  const slug = section === "Quick start" ? "example" : section.replace(/[^A-Za-z0-9]+/g, "-").toLowerCase();
  const entry = join(pkgDir, "test", `.readme-${slug}.tmp.ts`);
  writeFileSync(entry, code);
  try {
    const js = await bundleToString(entry, { platform: "node" });
    const file = join(dir, "example.mjs");
    writeFileSync(file, js);
    const printed: string[] = [];
    const orig = console.log;
    console.log = (...args: unknown[]) => {
      printed.push(
        args
          .map((a) =>
            typeof a === "string" ? a : JSON.stringify(a, (_k, v: unknown) => (typeof v === "bigint" ? `${v}n` : v)),
          )
          .join(" "),
      );
    };
    try {
      await import(file);
    } finally {
      console.log = orig;
    }
    return { printed, expected };
  } finally {
    const { rmSync } = await import("node:fs");
    rmSync(entry, { force: true });
  }
}
