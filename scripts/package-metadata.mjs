#!/usr/bin/env node
// The npm metadata of every published package (repository with its directory, homepage, bugs,
// internal dependency ranges), derived from ONE place: the root package.json's `repository.url`.
// There is no public URL for the project yet, so that field holds a placeholder; `--release`
// refuses it (npm provenance rejects a package whose repository is not where it was built).
//
//   node scripts/package-metadata.mjs            check (what scripts/check-packages.mjs runs)
//   node scripts/package-metadata.mjs --write    rewrite the derived fields in every package.json
//   node scripts/package-metadata.mjs --release  check, and fail while the URL is a placeholder
import { readFileSync, readdirSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const readJson = (p) => JSON.parse(readFileSync(p, "utf8"));

/** Marks the URL as not real yet; the release check looks for it. */
export const PLACEHOLDER_MARK = "placeholder";

/** The repository URL of the root package.json, its web form and whether it is a placeholder. */
export function rootRepository() {
  const rootPkg = readJson(join(root, "package.json"));
  const url = rootPkg.repository?.url;
  if (typeof url !== "string" || !/^git\+https:\/\/[^/]+\/[^/]+\/[^/]+\.git$/.test(url)) {
    throw new Error(
      `package.json: repository.url must look like git+https://host/owner/name.git (found ${JSON.stringify(url)})`,
    );
  }
  const web = url.replace(/^git\+/, "").replace(/\.git$/, "");
  return { url, web, placeholder: url.toLowerCase().includes(PLACEHOLDER_MARK) };
}

/** Every workspace package: `{ dir, rel, pkg }`, published ones first (packages/*), then tools/ and examples/. */
export function workspacePackages() {
  const out = [];
  for (const group of ["packages", "tools", "examples"]) {
    const gdir = join(root, group);
    if (!existsSync(gdir)) continue;
    for (const name of readdirSync(gdir).sort()) {
      const pj = join(gdir, name, "package.json");
      if (existsSync(pj)) out.push({ dir: join(gdir, name), rel: `${group}/${name}`, group, pkg: readJson(pj) });
    }
  }
  return out;
}

/** The fields a published package must carry, as derived from the root. */
export function expectedFields(rel, repo) {
  return {
    repository: { type: "git", url: repo.url, directory: rel },
    homepage: `${repo.web}/tree/main/${rel}#readme`,
    bugs: { url: `${repo.web}/issues` },
  };
}

const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

/** Problems with the metadata of the workspace, as sentences. */
export function metadataProblems() {
  const repo = rootRepository();
  const problems = [];
  const all = workspacePackages();
  const internal = new Set(all.map((p) => p.pkg.name));
  const keywordSets = new Map();
  for (const { rel, group, pkg } of all) {
    // Only packages/* publish; tools and examples must never reach the registry by accident.
    if (group !== "packages") {
      if (pkg.private !== true) problems.push(`${rel}: not under packages/, so it must be "private": true`);
      continue;
    }
    if (pkg.private === true) continue;
    const want = expectedFields(rel, repo);
    for (const [k, v] of Object.entries(want)) {
      if (!same(pkg[k], v))
        problems.push(
          `${rel}: "${k}" is ${JSON.stringify(pkg[k])}, expected ${JSON.stringify(v)} (run node scripts/package-metadata.mjs --write)`,
        );
    }
    if (!pkg.license) problems.push(`${rel}: no "license"`);
    if (!pkg.description) problems.push(`${rel}: no "description"`);
    // `changeset version` writes CHANGELOG.md beside package.json; it must reach the tarball.
    if (!(pkg.files ?? []).includes("CHANGELOG.md")) problems.push(`${rel}: "files" does not list CHANGELOG.md`);
    const kw = pkg.keywords ?? [];
    if (kw.length < 4) problems.push(`${rel}: fewer than 4 keywords`);
    const key = [...kw].sort().join(",");
    if (keywordSets.has(key))
      problems.push(`${rel}: the same keywords as ${keywordSets.get(key)}; give each package its own`);
    keywordSets.set(key, rel);
    // Ranges that dedupe: `workspace:^` packs to ^x.y.z, so a newer patch of a dependency
    // satisfies every dependent and npm installs one copy. `workspace:*` would pack to an exact pin.
    for (const [d, spec] of Object.entries(pkg.dependencies ?? {})) {
      if (internal.has(d) && spec !== "workspace:^")
        problems.push(`${rel}: dependency ${d} is "${spec}", expected "workspace:^"`);
    }
    for (const d of Object.keys(pkg.peerDependencies ?? {})) {
      if (internal.has(d)) problems.push(`${rel}: peer dependency on ${d}; use a dependency with "workspace:^"`);
    }
  }
  return { problems, repo };
}

/** Rewrites repository/homepage/bugs of every published package (key order kept, new keys after "license"). */
function writeAll() {
  const repo = rootRepository();
  for (const { dir, rel, group, pkg } of workspacePackages()) {
    if (group !== "packages" || pkg.private === true) continue;
    const want = expectedFields(rel, repo);
    const out = {};
    for (const [k, v] of Object.entries(pkg)) {
      if (k in want) continue;
      out[k] = v;
      if (k === "license") Object.assign(out, want);
    }
    for (const [k, v] of Object.entries(want)) if (!(k in out)) out[k] = v;
    writeFileSync(join(dir, "package.json"), JSON.stringify(out, null, 2) + "\n");
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const mode = process.argv[2];
  if (mode === "--write") writeAll();
  const { problems, repo } = metadataProblems();
  if (mode === "--release" && repo.placeholder) {
    problems.push(
      `the repository URL in the root package.json is still the placeholder ${repo.url}. ` +
        "Set repository.url to the real public repository, run `node scripts/package-metadata.mjs --write`, commit, then publish " +
        "(npm provenance rejects a package whose repository URL is not the repository it was built from).",
    );
  }
  if (problems.length > 0) {
    console.error(`package metadata: ${problems.length} problem(s)\n` + problems.map((p) => `  - ${p}`).join("\n"));
    process.exit(1);
  }
  console.log(
    `package metadata: ok (repository ${repo.url}${repo.placeholder ? ", a placeholder: publishing is refused until it is set" : ""})`,
  );
}
