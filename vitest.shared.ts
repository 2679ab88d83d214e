// Shared vitest settings for every package (each packages/*/vitest.config.ts calls ampVitestConfig
// with its own directory). Three choices here make a package's tests fast, and each says why:
//
// 1. The package under test always comes from its TypeScript sources (the "@amp/source" export
//    condition, applied here as an alias so it reaches only that package): tests never need a
//    build of the package itself, and coverage maps to src/.
// 2. Its @amp dependencies come from their built dist/ when every one of them is built and no
//    source file is newer than its output (turbo's test task depends on ^build, so in CI they are),
//    and then load through Node itself rather than vite's module runner: nothing of theirs is
//    transformed again. If any dependency is unbuilt or stale, all of them come from source, as
//    before, so a local run never tests yesterday's build. AMP_TEST_DEPS=source|dist forces one.
// 3. Test files share a worker and its module cache (isolate: false): with a fresh worker per
//    file, each file paid the import of the whole package graph again. A file that needs its own
//    worker (it patches globals or process state) can move to a project with isolate: true.
//
// Every package also writes a JSON report that scripts/test-summary.mjs turns into the CI's
// "N passed, N failed" line, and, with AMP_COVERAGE=1 (scripts/test.mjs sets it), v8 coverage of
// src/ into test-results/coverage (coverage-summary.json is what the summary's table reads).
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig, type ViteUserConfig } from "vitest/config";

const ROOT = dirname(fileURLToPath(import.meta.url));
const SOURCE_CONDITION = "@amp/source";

interface PackageJson {
  name: string;
  private?: boolean;
  exports?: Record<string, unknown>;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

/** Every workspace package by name, with its directory and package.json. */
function workspacePackages(): Map<string, { dir: string; pkg: PackageJson }> {
  const found = new Map<string, { dir: string; pkg: PackageJson }>();
  for (const group of ["packages", "tools", "examples"]) {
    const groupDir = join(ROOT, group);
    if (!existsSync(groupDir)) continue;
    for (const name of readdirSync(groupDir)) {
      const file = join(groupDir, name, "package.json");
      if (!existsSync(file)) continue;
      const pkg = JSON.parse(readFileSync(file, "utf8")) as PackageJson;
      found.set(pkg.name, { dir: join(groupDir, name), pkg });
    }
  }
  return found;
}

/** Subpath → source file for one package's exports (the "@amp/source" target, or a bare .ts string). */
function sourceEntries(pkg: PackageJson): [string, string][] {
  const entries: [string, string][] = [];
  for (const [subpath, target] of Object.entries(pkg.exports ?? {})) {
    if (typeof target === "string") {
      if (target.endsWith(".ts")) entries.push([subpath, target]);
    } else if (target !== null && typeof target === "object") {
      const source = (target as Record<string, unknown>)[SOURCE_CONDITION];
      if (typeof source === "string") entries.push([subpath, source]);
    }
  }
  return entries;
}

/** Newest modification time of the files under a directory (0 when there are none). */
function newestMtime(dir: string, skip: (path: string) => boolean = () => false): number {
  let newest = 0;
  if (!existsSync(dir)) return newest;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    if (!skip(path)) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * True when a package's dist holds a current build: every src/*.ts has its .js in dist, none older
 * than its source (tsc re-emits only what changed, so the check is per file).
 */
function distIsCurrent(dir: string): boolean {
  const src = join(dir, "src");
  const dist = join(dir, "dist");
  if (!existsSync(dist)) return false;
  for (const entry of readdirSync(src, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith(".ts") || entry.name.endsWith(".d.ts")) continue;
    const source = join(entry.parentPath, entry.name);
    const output = join(dist, relative(src, source)).replace(/\.ts$/, ".js");
    if (!existsSync(output) || statSync(output).mtimeMs < statSync(source).mtimeMs) return false;
  }
  // package.json changes (a new export) also need a build before dist can stand in for src.
  return newestMtime(dist) >= statSync(join(dir, "package.json")).mtimeMs;
}

/** The @amp packages a package reaches through dependencies and devDependencies, itself excluded. */
function reachable(name: string, all: Map<string, { dir: string; pkg: PackageJson }>): string[] {
  const seen = new Set<string>();
  const visit = (current: string): void => {
    const pkg = all.get(current)?.pkg;
    for (const dep of Object.keys({ ...pkg?.dependencies, ...pkg?.devDependencies })) {
      if (!all.has(dep) || seen.has(dep) || dep === name) continue;
      seen.add(dep);
      visit(dep);
    }
  };
  visit(name);
  return [...seen];
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");

/** The vitest config of the package in `packageDir`. */
export function ampVitestConfig(packageDir: string): ViteUserConfig {
  const all = workspacePackages();
  const own = JSON.parse(readFileSync(join(packageDir, "package.json"), "utf8")) as PackageJson;
  const deps = reachable(own.name, all);
  // Private test helpers (@amp/test-utils) ship no dist: they always come from source.
  const built = deps.filter((d) => all.get(d)?.pkg.private !== true);
  const forced = process.env["AMP_TEST_DEPS"];
  const useDist = forced === "dist" || (forced !== "source" && built.every((d) => distIsCurrent(all.get(d)!.dir)));
  const fromSource = [own.name, ...deps.filter((d) => !useDist || !built.includes(d))];

  const alias = fromSource.flatMap((name) => {
    const { dir, pkg } = name === own.name ? { dir: packageDir, pkg: own } : all.get(name)!;
    return sourceEntries(pkg).map(([subpath, file]) => ({
      find: new RegExp(`^${escape(name + subpath.slice(1))}$`),
      replacement: join(dir, file),
    }));
  });
  const distDirs = useDist ? built.map((d) => escape(join(all.get(d)!.dir, "dist") + "/")) : [];

  return defineConfig({
    resolve: { alias },
    test: {
      include: ["test/**/*.test.ts"],
      reporters: ["default", ["json", { outputFile: "test-results/vitest.json" }]],
      // A hang guard, not a timing assertion: generous because CI shares two cores between tasks.
      testTimeout: 180_000,
      hookTimeout: 120_000,
      pool: "forks",
      isolate: false,
      server: { deps: { external: distDirs.map((d) => new RegExp(`^${d}`)) } },
      coverage: {
        enabled: process.env["AMP_COVERAGE"] === "1",
        provider: "v8",
        include: ["src/**/*.ts"],
        reporter: ["text-summary", "json-summary"],
        reportsDirectory: "test-results/coverage",
      },
    },
  });
}
