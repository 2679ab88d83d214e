// amp demo's coredump path (issue 17, item 6): two demos started at the same time, as a user
// would in two shells, each write their own core (by default a new directory per run under the
// temp directory, printed); both cores are complete and readable. Also --coredump DIR and
// `amp demo --json`. The built `amp` (node dist/bin.js) is spawned.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { makeTempDir } from "@amp/test-utils";
import { AMP_BIN, spawnAmp } from "../helpers.ts";

const ECHO_ELF = fileURLToPath(new URL("../../dist/firmware/echo.elf", import.meta.url));
const RUN_TIMEOUT_MS = 120_000;

interface Ran {
  readonly pid: number;
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

const children = new Set<number>();

function killGroup(pid: number): void {
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // gone
  }
}

/** `node dist/bin.js argv` in its own process group, with a hard timeout. */
function amp(argv: readonly string[]): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [AMP_BIN, ...argv], {
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, AMP_DEBUG: "" },
    });
    const pid = child.pid ?? -1;
    children.add(pid);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      killGroup(pid);
      reject(new Error(`amp ${argv.join(" ")} did not finish within ${RUN_TIMEOUT_MS} ms: ${stdout}${stderr}`));
    }, RUN_TIMEOUT_MS);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      children.delete(pid);
      resolve({ pid, code, stdout, stderr });
    });
  });
}

/** The core path a text demo printed, at its start and at its end (the same path). */
function printedCore(r: Ran): string {
  const start = /^coredump of the injected crash: (.+)$/m.exec(r.stdout)?.[1];
  const end = /^coredump: (.+) \(read it with `amp coredump /m.exec(r.stdout)?.[1];
  expect(start, r.stdout).toBeDefined();
  expect(end).toBe(start);
  return start ?? "";
}

/** A core is complete: amp coredump reads it, it is the JS firmware's, and it holds the crash. */
function expectValidCore(path: string): void {
  const c = spawnAmp(["coredump", path, "--json"]);
  expect(c.code, c.stderr).toBe(0);
  const doc = JSON.parse(c.stdout) as {
    class: string;
    machine: number;
    entry: string;
    regions: unknown[];
    trace: string | null;
  };
  expect(doc).toMatchObject({ class: "ELF32", machine: 0, entry: "0x1000" });
  expect(doc.regions.length).toBeGreaterThan(1);
  expect(doc.trace).toMatch(/echo: crash requested, faulting now\n$/);
  expect(existsSync(`${path}.partial`)).toBe(false);
}

beforeAll(() => {
  if (!existsSync(AMP_BIN) || !existsSync(ECHO_ELF))
    throw new Error("build the package first (pnpm build): dist/bin.js and dist/firmware/echo.elf are needed");
});

afterAll(() => {
  for (const pid of children) killGroup(pid);
});

describe("amp demo coredump paths", () => {
  it("two demos at once write two distinct, valid cores under the temp directory", async () => {
    const [a, b] = await Promise.all([amp(["demo", "--messages", "50"]), amp(["demo", "--messages", "50"])]);
    for (const r of [a, b]) expect(r.code, r.stderr).toBe(0);
    const coreA = printedCore(a);
    const coreB = printedCore(b);
    expect(coreA).not.toBe(coreB);
    for (const [r, core] of [
      [a, coreA],
      [b, coreB],
    ] as const) {
      // A directory made for this run, named after its process, in the temp directory.
      expect(dirname(dirname(core))).toBe(tmpdir());
      expect(basename(dirname(core))).toMatch(new RegExp(`^amp-demo-${r.pid}-`));
      expectValidCore(core);
    }
    expect(statSync(coreA).ino).not.toBe(statSync(coreB).ino);
  });

  it("--coredump FILE is taken as it is; --coredump DIR gets a file named after the process", async () => {
    const dir = makeTempDir("amp-demo-core-");
    const file = join(dir, "mine.core");
    const [f, d] = await Promise.all([
      amp(["demo", "--messages", "20", "--coredump", file]),
      amp(["demo", "--messages", "20", "--coredump", dir]),
    ]);
    expect(f.code, f.stderr).toBe(0);
    expect(d.code, d.stderr).toBe(0);
    expect(printedCore(f)).toBe(file);
    const inDir = printedCore(d);
    expect(dirname(inDir)).toBe(dir);
    expect(basename(inDir)).toMatch(new RegExp(`^amp-demo-${d.pid}-\\d+\\.core$`));
    expectValidCore(file);
    expectValidCore(inDir);
  });

  it("--json: JSON lines from firmware to done, with the core's path", async () => {
    const r = await amp(["demo", "--messages", "20", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const events = r.stdout
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown> & { event: string; t: number });
    for (const e of events) expect(typeof e.t).toBe("number");
    expect(events[0]?.event).toBe("firmware");
    expect(events[events.length - 1]?.event).toBe("done");
    const kinds = new Set(events.map((e) => e.event));
    for (const k of [
      "state",
      "channel",
      "trace",
      "endpoint",
      "warmup",
      "echo",
      "echo-tail",
      "rpmsg-totals",
      "i2c",
      "gpio",
      "inject",
      "crash",
      "coredump",
    ])
      expect(kinds, k).toContain(k);
    const measured = events.filter((e) => e.event === "echo");
    expect(measured.map((e) => [e["phase"], e["messages"], e["size"]])).toEqual([
      ["boot", 20, 64],
      ["recovery", 20, 64],
    ]);
    expect(events.find((e) => e.event === "i2c")).toMatchObject({
      service: "amp-i2c",
      addr: "0x48",
      value: "0x1740",
      celsius: 23.25,
    });
    expect(events.filter((e) => e.event === "gpio").map((e) => [e["driven"], e["readBack"]])).toEqual([
      ["high", "high"],
      ["low", "low"],
    ]);
    const core = events[0]?.["coredump"];
    expect(events.find((e) => e.event === "coredump")).toMatchObject({ path: core, reason: "crash" });
    expect(events[events.length - 1]).toMatchObject({
      messages: 5040,
      warmup: 5000,
      crashesRecovered: 1,
      coredump: core,
    });
    expectValidCore(String(core));
  });
});
