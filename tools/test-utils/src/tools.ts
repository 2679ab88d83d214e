// External tools (gcc, readelf, gdb, arm-none-eabi-gcc, qemu) for conformance tests.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Absolute path of a tool on PATH, or undefined. */
export function which(tool: string): string | undefined {
  const r = spawnSync("sh", ["-c", `command -v ${tool}`], { encoding: "utf8" });
  const p = r.stdout.trim();
  return r.status === 0 && p ? p : undefined;
}

/**
 * Names the missing tools, or returns undefined when all are present. Tests use it as
 * `describe.skipIf(missing)` with the message printed, so a local run without the tools says why.
 * CI installs every tool (scripts/install-system-deps.sh), and there a missing tool is a failure.
 */
export function requireTools(...tools: string[]): string | undefined {
  const missing = tools.filter((t) => which(t) === undefined);
  if (missing.length === 0) return undefined;
  const msg = `missing tools: ${missing.join(", ")} (run scripts/install-system-deps.sh as root)`;
  if (process.env["CI"] === "true") throw new Error(`CI must have these tools: ${msg}`);
  console.warn(`skipping: ${msg}`);
  return msg;
}

export function makeTempDir(prefix = "amp-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Compiles C source with the given compiler (default the system gcc) and returns the output path. */
export function compileC(
  source: string,
  opts: { cc?: string; flags?: string[]; out?: string; name?: string } = {},
): string {
  const dir = makeTempDir("amp-cc-");
  const src = join(dir, `${opts.name ?? "prog"}.c`);
  writeFileSync(src, source);
  const out = opts.out ?? join(dir, opts.name ?? "prog");
  execFileSync(opts.cc ?? "gcc", [...(opts.flags ?? ["-O0", "-Wall", "-Werror"]), "-o", out, src], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  return out;
}

/** Runs a command and returns stdout; throws with stderr on a non-zero exit. */
export function run(
  cmd: string,
  args: string[],
  opts: { input?: string | Uint8Array; cwd?: string; timeoutMs?: number } = {},
): string {
  return execFileSync(cmd, args, {
    encoding: "utf8",
    maxBuffer: 256 << 20,
    timeout: opts.timeoutMs ?? 120_000,
    ...(opts.input === undefined ? {} : { input: opts.input }),
    ...(opts.cwd === undefined ? {} : { cwd: opts.cwd }),
  });
}
