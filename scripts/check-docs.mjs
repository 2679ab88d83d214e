#!/usr/bin/env node
// The documentation that ships, checked: builds the API reference with TypeDoc (docs/api/,
// generated, not committed; any TypeDoc warning, e.g. a broken {@link}, fails), then checks
// every link in the markdown users read (README.md, docs/**, every README under packages/) and
// in the generated HTML: a relative link must name a file of the repository (or of docs/api/),
// and a #fragment must name a heading (markdown) or an id (HTML) of that file. User docs must
// not cite notes that are not in the repository (../shared, developer-machine paths), and no
// source comment may cite the numbered sections of a wire-formats note that does not ship.
//
//   node scripts/check-docs.mjs              build the reference, check everything
//   node scripts/check-docs.mjs --no-build   check the markdown and an existing docs/api/
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const apiDir = join(root, "docs", "api");
const problems = [];
const t0 = Date.now();

if (!process.argv.includes("--no-build")) {
  const r = spawnSync(join(root, "node_modules", ".bin", "typedoc"), ["--options", "typedoc.config.mjs"], {
    cwd: root,
    encoding: "utf8",
    timeout: 300_000,
    killSignal: "SIGKILL",
  });
  if (r.status !== 0) {
    console.log(r.stdout, r.stderr);
    problems.push(`typedoc failed (${r.status === null ? "timed out" : `exit ${r.status}`}): see its output above`);
  }
}

function walk(dir, keep, out = []) {
  if (!existsSync(dir)) return out;
  for (const e of readdirSync(dir)) {
    if (e === "node_modules" || e === "dist" || e.startsWith(".")) continue;
    const p = join(dir, e);
    if (statSync(p).isDirectory()) walk(p, keep, out);
    else if (keep(p)) out.push(p);
  }
  return out;
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, duplicates numbered. */
function markdownAnchors(text) {
  const seen = new Map();
  const out = new Set();
  let fenced = false;
  for (const line of text.split("\n")) {
    if (/^\s*```/.test(line)) fenced = !fenced;
    const m = !fenced && /^(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const base = m[2]
      .replace(/<[^>]+>/g, "")
      .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, "")
      .replace(/\s/g, "-");
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

const htmlIds = new Map();
function htmlAnchors(file) {
  if (!htmlIds.has(file)) {
    const text = readFileSync(file, "utf8");
    htmlIds.set(file, new Set([...text.matchAll(/\s(?:id|name)="([^"]+)"/g)].map((m) => m[1])));
  }
  return htmlIds.get(file);
}

function checkTarget(from, target, what) {
  if (/^(https?:|mailto:)/.test(target)) return;
  const [pathPart, fragment] = target.split("#", 2);
  const file = pathPart === "" ? from : resolve(dirname(from), decodeURIComponent(pathPart));
  const rel = relative(root, from);
  if (!file.startsWith(root + "/") && file !== root) {
    problems.push(`${rel}: ${what} ${target} leaves the repository`);
    return;
  }
  if (!existsSync(file)) {
    problems.push(`${rel}: ${what} ${target}: no such file`);
    return;
  }
  if (fragment === undefined || fragment === "") return;
  if (file.endsWith(".md")) {
    if (!markdownAnchors(readFileSync(file, "utf8")).has(fragment.toLowerCase()))
      problems.push(`${rel}: ${what} ${target}: no heading #${fragment} in ${relative(root, file)}`);
  } else if (file.endsWith(".html")) {
    if (!htmlAnchors(file).has(fragment))
      problems.push(`${rel}: ${what} ${target}: no id #${fragment} in ${relative(root, file)}`);
  }
}

// Markdown users read.
const markdown = [
  join(root, "README.md"),
  ...walk(join(root, "docs"), (p) => p.endsWith(".md") && !p.startsWith(apiDir)),
  ...walk(join(root, "packages"), (p) => /\/(README|CHANGELOG)\.md$/.test(p) && !p.includes("/test/")),
];
const FORBIDDEN = [
  [/\.\.\/shared\b|\bshared\/reference\b|\/work\/|\/home\/[a-z]/, "cites a path outside the repository"],
  [
    /behaviour-and-features\.md|real-peers\.md|qemu-remote\.md|DESIGN\.md|STYLE\.md|TOOLCHAIN\.md/,
    "cites a note that is not in the repository",
  ],
  [
    /(?<![/(])wire-formats(?:\.md)?`?\s*§/,
    "cites sections of a note that is not in the repository (link to docs/wire-formats.md instead)",
  ],
];
let links = 0;
for (const file of markdown) {
  const text = readFileSync(file, "utf8");
  const prose = text.replace(/```[\s\S]*?```/g, "");
  for (const [re, why] of FORBIDDEN) {
    const m = re.exec(prose);
    if (m)
      problems.push(
        `${relative(root, file)}: ${why}: "${prose.slice(Math.max(0, m.index - 20), m.index + 40).replace(/\n/g, " ")}"`,
      );
  }
  for (const m of prose.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
    links++;
    checkTarget(file, m[1], "link");
  }
}

// Source comments and test names (every package, the scripts, the peer tools): they cite the
// shipped docs/wire-formats.md by section name, e.g. `docs/wire-formats.md, "Split virtqueue"`,
// never the section numbers of a reference note that does not ship ("wire-formats.md §4.2").
const SOURCE = /\.(?:[cm]?[jt]s|tsx?|[ch]|S|sh|ld|md)$|(?:^|\/)Makefile$/;
const NUMBERED_CITATION = /wire-formats(?:\.md)?`?\s*§/;
const sources = [
  ...walk(join(root, "packages"), (p) => SOURCE.test(p)),
  ...walk(join(root, "scripts"), (p) => SOURCE.test(p)),
  ...walk(join(root, "tools"), (p) => SOURCE.test(p)),
  ...walk(join(root, "docs"), (p) => SOURCE.test(p) && !p.startsWith(apiDir)),
];
for (const file of sources) {
  if (file === fileURLToPath(import.meta.url)) continue; // this file names the pattern it rejects
  readFileSync(file, "utf8")
    .split("\n")
    .forEach((line, i) => {
      if (NUMBERED_CITATION.test(line))
        problems.push(
          `${relative(root, file)}:${i + 1}: cites a numbered section of wire-formats.md, which does not ship: ` +
            `name the section of docs/wire-formats.md instead (docs/wire-formats.md, "<heading>")`,
        );
    });
}

// The generated reference.
let htmlLinks = 0;
const htmlFiles = walk(apiDir, (p) => p.endsWith(".html"));
if (htmlFiles.length === 0) problems.push("docs/api/ has no HTML: the API reference was not built");
for (const file of htmlFiles) {
  const text = readFileSync(file, "utf8");
  for (const m of text.matchAll(/\s(?:href|src)="([^"]+)"/g)) {
    const target = m[1].replace(/&amp;/g, "&");
    if (/^(https?:|mailto:|data:|javascript:)/.test(target)) continue;
    htmlLinks++;
    checkTarget(file, target, "href");
  }
}

if (problems.length > 0) {
  console.log(`docs: ${problems.length} problem(s)\n` + problems.map((p) => `  - ${p}`).join("\n"));
  process.exit(1);
}
console.log(
  `docs: ok: ${markdown.length} markdown files (${links} links), ${sources.length} source files, API reference ${htmlFiles.length} pages (${htmlLinks} links), no broken link (${((Date.now() - t0) / 1000).toFixed(1)} s)`,
);
