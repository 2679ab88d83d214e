// @amp/node inside a user's bundled application (issue 17, item 3): esbuild --bundle
// --platform=node makes one file, so nothing of @amp/node's own files is beside it. The worker
// remote must boot and echo from such a bundle (ES module and CommonJS output), and a
// workerEntry that names a missing file must fail with ERR_WORKER_ENTRY naming the file, before
// any worker starts, instead of a crashed remote.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { bundleForWorker, makeTempDir } from "@amp/test-utils";
import { echoFirmware } from "../helpers.ts";

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));
const APP = here("../fixtures/bundled-app.ts");
const RUN_TIMEOUT_MS = 30_000;

interface Failure {
  readonly code: string | undefined;
  readonly message: string;
  readonly cause?: Failure;
}
type AppResult = { readonly echoed: string[]; readonly state: string } | { readonly error: Failure };

interface Ran {
  readonly code: number | null;
  readonly result: AppResult | undefined;
  readonly stdout: string;
  readonly stderr: string;
}

const children = new Set<number>();

/** Runs `node file args` in its own process group, with a hard timeout. */
function runNode(file: string, args: readonly string[], cwd: string): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [file, ...args], { cwd, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    const pid = child.pid;
    if (pid !== undefined) children.add(pid);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      killGroup(pid);
      reject(new Error(`${file} did not finish within ${RUN_TIMEOUT_MS} ms; stdout: ${stdout} stderr: ${stderr}`));
    }, RUN_TIMEOUT_MS);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      if (pid !== undefined) children.delete(pid);
      const line = stdout.trim().split("\n").pop() ?? "";
      let result: AppResult | undefined;
      try {
        result = JSON.parse(line) as AppResult;
      } catch {
        result = undefined;
      }
      resolve({ code, result, stdout, stderr });
    });
  });
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // already gone
  }
}

/** Bundles the app the way a user would (all of @amp inside), into `dir`. */
async function bundleApp(dir: string, format: "esm" | "cjs"): Promise<string> {
  const outfile = join(dir, format === "esm" ? "app.mjs" : "app.cjs");
  await build({
    entryPoints: [APP],
    outfile,
    bundle: true,
    platform: "node",
    format,
    target: "node20",
    conditions: ["@amp/source"],
    logLevel: "silent",
  });
  return outfile;
}

let echoElf: Uint8Array;

beforeAll(async () => {
  echoElf = await echoFirmware();
});

afterAll(() => {
  for (const pid of children) killGroup(pid);
});

function appDir(): string {
  const dir = makeTempDir("amp-bundled-");
  writeFileSync(join(dir, "echo.elf"), echoElf);
  return dir;
}

const EXPECTED_ECHO = ["hello from a bundle", "x".repeat(400), "bye"];

describe("@amp/node bundled into one file with esbuild", () => {
  for (const format of ["esm", "cjs"] as const) {
    it(`boots the echo firmware and echoes from a ${format} bundle with no other file beside it`, async () => {
      const dir = appDir();
      const app = await bundleApp(dir, format);
      expect(readdirSync(dir).sort()).toEqual([app.slice(dir.length + 1), "echo.elf"].sort());
      const ran = await runNode(app, [dir], dir);
      expect(ran.result, `stdout: ${ran.stdout}\nstderr: ${ran.stderr}`).toEqual({
        echoed: EXPECTED_ECHO,
        state: "running",
      });
      expect(ran.code).toBe(0);
    });
  }

  it("runs a CPU worker file given as workerEntry (the file form, bundled beside the app)", async () => {
    const dir = appDir();
    const app = await bundleApp(dir, "esm");
    const worker = await bundleForWorker(here("../../src/internal/cpu-worker.ts"));
    const ran = await runNode(app, [dir, worker], dir);
    expect(ran.result, `stdout: ${ran.stdout}\nstderr: ${ran.stderr}`).toEqual({
      echoed: EXPECTED_ECHO,
      state: "running",
    });
  });

  for (const format of ["esm", "cjs"] as const) {
    it(`fails with ERR_WORKER_ENTRY naming the missing file when workerEntry is not there (${format})`, async () => {
      const dir = appDir();
      const app = await bundleApp(dir, format);
      const missing = join(dir, "cpu-worker.js");
      const ran = await runNode(app, [dir, missing], dir);
      expect(ran.code).toBe(1);
      const result = ran.result;
      expect(result !== undefined && "error" in result, `stdout: ${ran.stdout}\nstderr: ${ran.stderr}`).toBe(true);
      if (result === undefined || !("error" in result)) return;
      // boot() reports the failed step; its cause is the processor's own error.
      expect(result.error.code).toBe("ERR_STEP");
      expect(result.error.message).toContain('step "start" failed: ERR_WORKER_ENTRY');
      expect(result.error.cause?.code).toBe("ERR_WORKER_ENTRY");
      expect(result.error.cause?.message).toContain(missing);
      expect(result.error.cause?.message).toContain("workerEntry");
      expect(JSON.stringify(result)).not.toMatch(/crashed|link down/);
    });
  }
});
