// OpenAMP as a peer in tests: the native build (scripts/peers/build-openamp.sh), the sample
// apps' fixed paths, and child processes that are always cleaned up.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { requireTools } from "@amp/test-utils";
import { serializeResourceTable } from "@amp/resource-table";
import type { FileMemory } from "@amp/node";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "..");
const BUILD_SCRIPT = join(ROOT, "scripts", "peers", "build-openamp.sh");

/** Where the OpenAMP build lives (the layout build-openamp.sh promises). */
export interface OpenAmpNative {
  readonly prefix: string;
  /** libopen_amp.a and libmetal.a. */
  readonly lib: string;
  readonly include: string;
  /** The Linux-machine sample remote (device role). */
  readonly echo: string;
  /** The Linux-machine sample host (driver role; run with argument "1" to connect as the socket client). */
  readonly ping: string;
  /** How long the build script took (a warm cache: well under a second). */
  readonly seconds: number;
}

/**
 * Names what the native build needs and is missing, or undefined. Locally a missing tool skips
 * the test with a message; with CI=true it throws (a CI machine must have them).
 */
export function missingOpenAmpDeps(): string | undefined {
  const tools = requireTools("cmake", "make", "gcc", "nm", "flock");
  if (tools !== undefined) return tools;
  if (!existsSync("/usr/include/sysfs/libsysfs.h")) {
    const msg = "missing libsysfs-dev (libmetal's Linux build needs it; run scripts/install-system-deps.sh as root)";
    if (process.env["CI"] === "true") throw new Error(`CI must have it: ${msg}`);
    console.warn(`skipping: ${msg}`);
    return msg;
  }
  return undefined;
}

/**
 * Builds (or finds in the cache) libmetal, open-amp and the two sample apps. A build failure is
 * a test failure: this throws with the script's output.
 */
export async function buildOpenAmpNative(timeoutMs = 15 * 60_000): Promise<OpenAmpNative> {
  const started = Date.now();
  const run = await runToEnd("bash", [BUILD_SCRIPT], timeoutMs);
  if (run.code !== 0) {
    throw new Error(
      `scripts/peers/build-openamp.sh failed (${run.signal ?? `exit ${run.code}`}):\n${run.stderr.slice(-6000)}`,
    );
  }
  const prefix = run.stdout.trim().split("\n").pop() ?? "";
  const native = {
    prefix,
    lib: join(prefix, "lib"),
    include: join(prefix, "include"),
    echo: join(prefix, "bin", "rpmsg-echo"),
    ping: join(prefix, "bin", "rpmsg-ping"),
    seconds: (Date.now() - started) / 1000,
  };
  for (const f of [native.echo, native.ping, join(native.lib, "libopen_amp.a"), join(native.lib, "libmetal.a")]) {
    if (!existsSync(f)) throw new Error(`build-openamp.sh printed ${prefix}, but ${f} does not exist`);
  }
  return native;
}

/** The paths the Linux-machine sample apps hard-code (platform_info.c). */
export const SAMPLE_SHM = "/dev/shm/openamp.shm";
export const SAMPLE_SOCKET = "/tmp/openamp.event.0";

/**
 * The resource table OpenAMP's Linux-machine remote writes at offset 0 of the shared file
 * (system/linux/machine/generic/rsc_table.c): one rpmsg vdev offering the name service, vrings
 * at 0x4000 and 0x8000 with 256 entries, align 0x1000, notify ids 1 and 2.
 */
export function openampSampleTable(): Uint8Array {
  return serializeResourceTable({
    entries: [
      {
        kind: "vdev",
        id: 7,
        dfeatures: 1,
        notifyId: 0,
        vrings: [
          { da: 0x4000, align: 0x1000, num: 256, notifyId: 1 },
          { da: 0x8000, align: 0x1000, num: 256, notifyId: 2 },
        ],
      },
    ],
  });
}

/** What is in a legacy split vring of the sample layout (num 256, align 0x1000) in the file. */
export function sampleRing(
  file: FileMemory,
  da: number,
): { descLen(i: number): number; usedIdx: number; used(i: number): { id: number; len: number } } {
  const usedOff = da + 0x2000; // align_up(16 * 256 + 6 + 2 * 256, 0x1000)
  return {
    descLen: (i) => file.getU32(da + 16 * i + 8),
    usedIdx: file.getU16(usedOff + 2),
    used: (i) => ({ id: file.getU32(usedOff + 4 + 8 * (i % 256)), len: file.getU32(usedOff + 8 + 8 * (i % 256)) }),
  };
}

/** Removes what an earlier (possibly killed) run of the samples left behind. */
export function removeSampleFiles(): void {
  rmSync(SAMPLE_SHM, { force: true });
  rmSync(SAMPLE_SOCKET, { force: true });
}

/**
 * Holds an exclusive lock on the sample apps' fixed paths until `release` (or until this test
 * process dies: the lock belongs to a child `flock` whose stdin is our pipe). Two test
 * processes running OpenAMP samples at once would share /dev/shm/openamp.shm otherwise.
 */
export async function lockSamplePaths(timeoutMs = 10 * 60_000): Promise<{ release(): void }> {
  const cache =
    process.env["AMP_PEERS_CACHE"] ?? join(process.env["XDG_CACHE_HOME"] ?? join(homedir(), ".cache"), "amp-peers");
  mkdirSync(cache, { recursive: true });
  const holder = spawn(
    "flock",
    [join(cache, "openamp-linux-sample-paths.lock"), "sh", "-c", "echo locked; exec cat >/dev/null"],
    { stdio: ["pipe", "pipe", "inherit"] },
  );
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      holder.kill("SIGKILL");
      reject(
        new Error(`the OpenAMP sample paths stayed locked for ${timeoutMs} ms (another test process runs the samples)`),
      );
    }, timeoutMs);
    holder.stdout.once("data", () => {
      clearTimeout(timer);
      resolve();
    });
    holder.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`flock exited (${code}) before taking the lock`));
    });
  });
  return {
    release() {
      holder.stdin.end();
      holder.kill("SIGTERM");
    },
  };
}

/** A child process in its own process group, ended by a hard timeout at the latest. */
export interface Peer {
  readonly child: ChildProcess;
  /** Everything it printed so far (stdout and stderr interleaved as they came). */
  output(): string;
  stdout(): string;
  stderr(): string;
  /** Resolves when it exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** True when the hard timeout ended it. */
  timedOut(): boolean;
  /** SIGKILLs its whole process group (idempotent; safe after it exited). */
  kill(): void;
}

/** Starts `command` in a new process group; SIGKILLs the group after `timeoutMs`. */
export function startPeer(
  command: string,
  args: readonly string[],
  options: { timeoutMs: number; cwd?: string },
): Peer {
  const child = spawn(command, [...args], {
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
  });
  let all = "";
  let out = "";
  let err = "";
  let timedOut = false;
  child.stdout.on("data", (c: Buffer) => {
    all += c.toString("utf8");
    out += c.toString("utf8");
  });
  child.stderr.on("data", (c: Buffer) => {
    all += c.toString("utf8");
    err += c.toString("utf8");
  });
  const kill = (): void => {
    if (child.pid === undefined) return;
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {
      // already gone
    }
  };
  const timer = setTimeout(() => {
    timedOut = true;
    kill();
  }, options.timeoutMs);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once("error", () => {
      clearTimeout(timer);
      resolve({ code: null, signal: null });
    });
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal });
    });
  });
  return { child, output: () => all, stdout: () => out, stderr: () => err, exited, timedOut: () => timedOut, kill };
}

async function runToEnd(
  command: string,
  args: readonly string[],
  timeoutMs: number,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  const p = startPeer(command, args, { timeoutMs });
  try {
    const r = await p.exited;
    return { ...r, stdout: p.stdout(), stderr: p.stderr() };
  } finally {
    p.kill();
  }
}
