#!/usr/bin/env node
// CI's changeset check: every published package whose shipped files changed since its last
// release has a pending changeset (.changeset/*.md) naming it; then `changeset status` prints the
// release plan (and validates the changesets). `changeset status` alone cannot do the first
// part: without --since it compares against the base branch, which on main itself is HEAD (so
// nothing ever "changed"), and with --since it only checks that *some* changeset exists, not one
// per package (shared/TOOLCHAIN.md P17). So "since the last release" is found per package here:
//   - the tag `<name>@<version>` that `changeset publish` leaves, if this clone has it;
//   - else the last commit that changed the version in its package.json (`changeset version`);
//   - else the package was never released, and any file of it counts as a change.
// Works on a fresh clone of main with no other branches; needs the history (not a shallow clone).
// Test-only files (test/, bench/, vitest and test tsconfig) never need a changeset.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { ensurePnpmOnPath, root } from "./pnpm-path.mjs";

const BUMPS = new Set(["patch", "minor", "major", "none"]);
const NOT_SHIPPED = [
  /^test\//,
  /^bench\//,
  /^vitest\.config\.[cm]?[jt]s$/,
  /^tsconfig\.json$/,
  /(^|\/)\.turbo\//,
  /(^|\/)test-results\//,
];

function git(...args) {
  const r = spawnSync("git", args, { cwd: root, encoding: "utf8", maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`git ${args.join(" ")} failed: ${r.stderr.trim()}`);
  return r.stdout;
}
const lines = (s) => s.split("\n").filter(Boolean);
const versionAt = (rev, file) => {
  const r = spawnSync("git", ["show", `${rev}:${file}`], { cwd: root, encoding: "utf8" });
  return r.status === 0 ? JSON.parse(r.stdout).version : undefined;
};

/** The commit a package was last released at, with how it was found; undefined if never released. */
function releaseBase(name, version, dir) {
  const tag = `${name}@${version}`;
  if (spawnSync("git", ["rev-parse", "-q", "--verify", `refs/tags/${tag}^{commit}`], { cwd: root }).status === 0) {
    return { rev: tag, how: `tag ${tag}` };
  }
  const file = `${dir}/package.json`;
  for (const commit of lines(git("log", "--format=%H", "-G", '"version"', "--", file))) {
    const before = versionAt(`${commit}^`, file),
      after = versionAt(commit, file);
    if (before !== undefined && after !== undefined && before !== after) {
      return { rev: commit, how: `version ${before} -> ${after} in ${commit.slice(0, 10)}` };
    }
  }
  return undefined;
}

/** Package names (and bump types) named by the pending changesets; throws on a malformed one. */
function pendingChangesets(known) {
  const named = new Map();
  const dir = join(root, ".changeset");
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith(".md") && f !== "README.md")
    .sort()) {
    const text = readFileSync(join(dir, file), "utf8");
    const front = /^---\r?\n([\s\S]*?)\r?\n---/.exec(text);
    if (!front) throw new Error(`.changeset/${file}: no front matter (--- "@amp/x": patch ---)`);
    for (const line of lines(front[1])) {
      const m = /^\s*["']?([^"':]+)["']?\s*:\s*(\w+)\s*$/.exec(line);
      if (!m || !BUMPS.has(m[2]))
        throw new Error(`.changeset/${file}: cannot read "${line}" (want "@amp/x": patch|minor|major)`);
      if (!known.has(m[1])) throw new Error(`.changeset/${file}: ${m[1]} is not a package of this workspace`);
      named.set(m[1], [...(named.get(m[1]) ?? []), file]);
    }
  }
  return named;
}

if (git("rev-parse", "--is-shallow-repository").trim() === "true") {
  console.error(
    "changesets: this is a shallow clone, so the last release of each package cannot be found; run `git fetch --unshallow --tags` first.",
  );
  process.exit(1);
}
const config = JSON.parse(readFileSync(join(root, ".changeset", "config.json"), "utf8"));
const packages = [];
for (const group of ["packages", "tools", "examples"]) {
  if (!existsSync(join(root, group))) continue;
  for (const name of readdirSync(join(root, group)).sort()) {
    const file = join(root, group, name, "package.json");
    if (existsSync(file)) packages.push({ dir: `${group}/${name}`, pkg: JSON.parse(readFileSync(file, "utf8")) });
  }
}
let named;
try {
  named = pendingChangesets(new Set(packages.map((p) => p.pkg.name)));
} catch (e) {
  console.error(`changesets: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
}
const missing = [];
for (const { dir, pkg } of packages) {
  if (pkg.private === true || (config.ignore ?? []).includes(pkg.name)) continue;
  const base = releaseBase(pkg.name, pkg.version, dir);
  // Committed changes since the release, plus what the working tree adds (a local run before a commit).
  const changed = new Set(
    base === undefined
      ? lines(git("ls-files", "--", dir))
      : [
          ...lines(git("diff", "--name-only", base.rev, "HEAD", "--", dir)),
          ...lines(git("diff", "--name-only", "HEAD", "--", dir)),
        ],
  );
  for (const f of lines(git("ls-files", "--others", "--exclude-standard", "--", dir))) changed.add(f);
  const shipped = [...changed].map((f) => f.slice(dir.length + 1)).filter((f) => !NOT_SHIPPED.some((re) => re.test(f)));
  const since = base === undefined ? "never released" : `since ${base.how}`;
  if (shipped.length === 0) {
    console.log(`${pkg.name.padEnd(24)} unchanged ${since}`);
  } else if (named.has(pkg.name)) {
    console.log(
      `${pkg.name.padEnd(24)} ${shipped.length} file(s) changed ${since}; changesets: ${named.get(pkg.name).length}`,
    );
  } else {
    missing.push(pkg.name);
    console.log(
      `${pkg.name.padEnd(24)} ${shipped.length} file(s) changed ${since} (e.g. ${dir}/${shipped[0]}) but NO changeset names it`,
    );
  }
}
if (missing.length > 0) {
  console.error(
    `\nchangesets: ${missing.join(", ")} changed without a changeset. Add .changeset/<short-name>.md with front matter` +
      ` naming each (e.g. "${missing[0]}": patch) and a line saying what changed, then commit it.`,
  );
  process.exit(1);
}

// changeset's own view: validates every pending changeset against the workspace and prints the
// release plan. It compares against the base branch; on that branch itself (CI's clone of main)
// nothing has diverged, so it only validates and prints, and the per-package check above is the gate.
ensurePnpmOnPath();
const baseBranch = config.baseBranch ?? "main";
if (spawnSync("git", ["rev-parse", "-q", "--verify", `refs/heads/${baseBranch}`], { cwd: root }).status !== 0) {
  console.log(`(no local ${baseBranch} branch here, so \`changeset status\` is skipped; the check above passed)`);
  process.exit(0);
}
const status = spawnSync("changeset", ["status", "--verbose"], { cwd: root, stdio: "inherit", env: process.env });
process.exit(status.status ?? 1);
