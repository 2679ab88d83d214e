// Packing the workspace's packages and installing the tarballs into plain projects outside the
// workspace: what a user gets from the registry, before anything is published. Used by
// scripts/check-install.mjs and by the tests that build two-copies layouts (@amp/rpmsg
// test/packaging). Node built-ins only; every child process has a hard timeout and is killed
// with its whole process group.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const root = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");

/** The published packages (packages/*, not private): `{ name, version, dir, short }`. */
export function publicPackages() {
  const out = [];
  for (const short of readdirSync(join(root, "packages")).sort()) {
    const pj = join(root, "packages", short, "package.json");
    if (!existsSync(pj)) continue;
    const pkg = JSON.parse(readFileSync(pj, "utf8"));
    if (pkg.private === true) continue;
    out.push({ name: pkg.name, version: pkg.version, dir: join(root, "packages", short), short });
  }
  return out;
}

/**
 * Runs a command; resolves to `{ code, stdout, stderr, ms }`. The child runs in its own process
 * group, killed as a whole at `timeoutMs` (then code is null and `timedOut` true).
 */
export function run(cmd, args, { cwd = root, env = process.env, timeoutMs = 120_000, input } = {}) {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const child = spawn(cmd, args, { cwd, env, detached: true, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        /* already gone */
      }
    }, timeoutMs);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      // Whatever the child left behind in its group goes too.
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        /* none left */
      }
      resolve({ code: timedOut ? null : code, timedOut, stdout, stderr, ms: Date.now() - t0 });
    });
    // A child that exits before reading its stdin (most never read it) fails this write with
    // EPIPE, an uncaught error in the test process; its exit code and stderr already tell the story.
    child.stdin.on("error", () => {});
    child.stdin.end(input ?? "");
  });
}

/** How to run pnpm here: the repo's .bin shim (scripts/pnpm-path.mjs), pnpm on PATH, or corepack. */
export function pnpmCommand() {
  const shim = join(root, ".bin", "pnpm");
  if (existsSync(shim)) return [shim];
  if (spawnSync("sh", ["-c", "command -v pnpm"]).status === 0) return ["pnpm"];
  return ["corepack", "pnpm"];
}

/**
 * Packs every published package with `pnpm pack` (which rewrites `workspace:^` to `^x.y.z`) into
 * `dest`. Needs built `dist/` folders. Returns `Map<name, tarball path>`.
 */
export async function packAll(dest, { timeoutMs = 120_000 } = {}) {
  mkdirSync(dest, { recursive: true });
  const [cmd, ...pre] = pnpmCommand();
  const r = await run(cmd, [...pre, "-r", "--filter", "./packages/*", "pack", "--pack-destination", dest], {
    timeoutMs,
  });
  if (r.code !== 0)
    throw new Error(`pnpm pack failed (${r.timedOut ? "timed out" : `exit ${r.code}`}):\n${r.stdout}\n${r.stderr}`);
  return tarballsIn(dest);
}

/** Packs one package directory into `dest`; returns the tarball path. */
export async function packOne(dir, dest, { timeoutMs = 60_000 } = {}) {
  mkdirSync(dest, { recursive: true });
  const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
  const [cmd, ...pre] = pnpmCommand();
  const r = await run(cmd, [...pre, "pack", "--pack-destination", dest], { cwd: dir, timeoutMs });
  if (r.code !== 0) throw new Error(`pnpm pack in ${dir} failed:\n${r.stdout}\n${r.stderr}`);
  const file = join(dest, tarballName(pkg.name, pkg.version));
  if (!existsSync(file)) throw new Error(`pnpm pack did not write ${file}`);
  return file;
}

/** The file name pnpm and npm give a package's tarball: @amp/rpmsg 0.1.0 -> amp-rpmsg-0.1.0.tgz. */
export function tarballName(name, version) {
  return `${name.replace(/^@/, "").replace("/", "-")}-${version}.tgz`;
}

function tarballsIn(dest) {
  const map = new Map();
  for (const { name, version } of publicPackages()) {
    const file = join(dest, tarballName(name, version));
    if (!existsSync(file)) throw new Error(`no tarball for ${name} in ${dest}`);
    map.set(name, file);
  }
  return map;
}

/**
 * Re-packs a tarball with its package.json changed by `edit(pkg)` (a new version, other
 * dependency ranges): what another release of the same code looks like. Returns the new path.
 */
export async function repack(tarball, dest, edit) {
  const work = mkdtempSync(join(tmpdir(), "amp-repack-"));
  try {
    let r = await run("tar", ["-xzf", tarball, "-C", work], { timeoutMs: 60_000 });
    if (r.code !== 0) throw new Error(`tar -x ${tarball}: ${r.stderr}`);
    const pj = join(work, "package", "package.json");
    const pkg = JSON.parse(readFileSync(pj, "utf8"));
    edit(pkg);
    writeFileSync(pj, JSON.stringify(pkg, null, 2) + "\n");
    mkdirSync(dest, { recursive: true });
    const out = join(dest, tarballName(pkg.name, pkg.version));
    r = await run("tar", ["-czf", out, "-C", work, "package"], { timeoutMs: 60_000 });
    if (r.code !== 0) throw new Error(`tar -c ${out}: ${r.stderr}`);
    return out;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Unpacks a tarball as the package directory `into` (what npm would put in node_modules). */
export async function unpackInto(tarball, into) {
  mkdirSync(into, { recursive: true });
  const r = await run("tar", ["-xzf", tarball, "-C", into, "--strip-components=1"], { timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`tar -x ${tarball}: ${r.stderr}`);
}

/** A fresh project directory outside the workspace, with a package.json of its own. */
export function freshProject(prefix = "amp-consumer-", pkg = {}) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  writeFileSync(
    join(dir, "package.json"),
    JSON.stringify({ name: "amp-consumer", private: true, type: "module", ...pkg }, null, 2) + "\n",
  );
  return dir;
}

/**
 * `npm install` of the given tarballs into `project`. The @amp scope is pointed at a closed
 * loopback port, so an @amp dependency that the tarballs do not satisfy fails the install
 * instead of coming from the public registry; other packages still come from the registry.
 */
export async function npmInstall(project, tarballs, { timeoutMs = 180_000 } = {}) {
  writeFileSync(
    join(project, ".npmrc"),
    [
      "@amp:registry=http://127.0.0.1:9/",
      "fetch-retries=0",
      "audit=false",
      "fund=false",
      "update-notifier=false",
      "package-lock=true",
      "",
    ].join("\n"),
  );
  const r = await run("npm", ["install", "--no-audit", "--no-fund", ...tarballs], { cwd: project, timeoutMs });
  if (r.code !== 0)
    throw new Error(`npm install failed (${r.timedOut ? "timed out" : `exit ${r.code}`}):\n${r.stdout}\n${r.stderr}`);
  return r;
}

/** Every `node_modules/@amp/*` copy npm installed (from package-lock.json): `{ path, version, resolved }`. */
export function installedAmpCopies(project) {
  const lock = JSON.parse(readFileSync(join(project, "package-lock.json"), "utf8"));
  return Object.entries(lock.packages ?? {})
    .filter(([p]) => /(^|\/)node_modules\/@amp\/[^/]+$/.test(p))
    .map(([path, e]) => ({ path, version: e.version, resolved: e.resolved }));
}

/** The TypeScript compiler of the workspace (the consumer projects do not install one). */
export const tscPath = join(root, "node_modules", "typescript", "bin", "tsc");
