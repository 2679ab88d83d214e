// A real Linux 6.1 kernel as the driver of @amp devices: User-Mode Linux built by
// scripts/peers/build-uml-kernel.sh, an initramfs of busybox and our guest tools
// (scripts/peers/build-uml-initramfs.sh), booted with one `virtio_uml.device=<socket>:<id>` per
// served device. The guest runs a shell script the test writes (through hostfs) and powers off.
// The guest's console is parsed line by line: "@@amp <word> ..." lines are requests the test
// answers, "AMP-PASS"/"AMP-FAIL" its verdicts, and any BUG:/WARNING:/Kernel panic fails the run.
// AMP_UML_LOG=1 copies the guest's console to stderr as it comes.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, statfsSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { requireTools } from "@amp/test-utils";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "..");
const TMPFS_MAGIC = 0x01021994;

/** Kernel lines that fail any run (a real bug in the guest, or in what @amp made it do). */
export const KERNEL_TROUBLE = /BUG:|WARNING:|Kernel panic|Oops|general protection|scheduling while atomic|Call Trace:/;

/** What the kernel and initramfs builds need, or undefined when everything is there (CI: throws). */
export function missingUmlDeps(): string | undefined {
  const tools = requireTools("cc", "gcc", "make", "flex", "bison", "bc", "cpio", "patch", "xz", "flock", "gzip");
  if (tools !== undefined) return tools;
  const source = process.env["AMP_LINUX_SOURCE"] ?? "/usr/src/linux-source-6.1.tar.xz";
  const files = [source, "/bin/busybox", "/usr/include/linux/rpmsg.h", "/usr/include/linux/gpio.h"].filter(
    (f) => !existsSync(f),
  );
  if (files.length === 0) return undefined;
  const msg = `missing ${files.join(", ")} (Debian: linux-source-6.1 busybox-static linux-libc-dev; run scripts/install-system-deps.sh as root)`;
  if (process.env["CI"] === "true") throw new Error(`CI must have these: ${msg}`);
  console.warn(`skipping: ${msg}`);
  return msg;
}

interface Ran {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function runScript(script: string, timeoutMs: number): Promise<Ran> {
  return new Promise((resolve) => {
    const child = spawn("bash", [join(ROOT, "scripts", "peers", script)], {
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-20000)));
    const timer = setTimeout(() => {
      stderr += `\n(killed after ${timeoutMs} ms)`;
      killGroup(child);
    }, timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, "SIGKILL");
  } catch {
    // already gone
  }
}

/** The kernel and initramfs, and how long getting them took. */
export interface UmlImages {
  readonly linux: string;
  readonly initrd: string;
  /** Seconds the kernel script took (a warm cache: well under a second). */
  readonly kernelSeconds: number;
}

let images: Promise<UmlImages> | undefined;

/**
 * Builds (or takes from the cache) the UML kernel and the initramfs. A build failure is a test
 * failure: this throws with the script's output. One build per test process.
 */
export function umlImages(timeoutMs = 85 * 60_000): Promise<UmlImages> {
  images ??= (async () => {
    const t0 = Date.now();
    const k = await runScript("build-uml-kernel.sh", timeoutMs);
    if (k.code !== 0)
      throw new Error(`scripts/peers/build-uml-kernel.sh failed (exit ${k.code}):\n${k.stderr.slice(-8000)}`);
    const kernelSeconds = (Date.now() - t0) / 1000;
    const i = await runScript("build-uml-initramfs.sh", 10 * 60_000);
    if (i.code !== 0)
      throw new Error(`scripts/peers/build-uml-initramfs.sh failed (exit ${i.code}):\n${i.stderr.slice(-8000)}`);
    const linux = k.stdout.trim().split("\n").pop() ?? "";
    const initrd = i.stdout.trim().split("\n").pop() ?? "";
    for (const f of [linux, initrd])
      if (!existsSync(f)) throw new Error(`a build script printed ${f}, which does not exist`);
    return { linux, initrd, kernelSeconds };
  })();
  return images;
}

/** A directory on a tmpfs (UML keeps guest memory in a file there; on disk it would be slow). */
export function tmpfsDir(prefix: string): string {
  for (const base of ["/dev/shm", tmpdir()]) {
    try {
      if (statfsSync(base).type === TMPFS_MAGIC) return mkdtempSync(join(base, prefix));
    } catch {
      // not there: try the next
    }
  }
  return mkdtempSync(join(tmpdir(), prefix));
}

/** One served device on the kernel command line. */
export interface GuestDevice {
  readonly socket: string;
  /** virtio device ID. */
  readonly id: number;
}

/** Options of {@link bootGuest}. */
export interface BootOptions {
  readonly images: UmlImages;
  readonly devices: readonly GuestDevice[];
  /** The guest's test script (POSIX sh, busybox); runs as /host/test.sh. */
  readonly script: string;
  /** Hard limit for the whole run; the process group is killed after it. */
  readonly timeoutMs?: number;
  /**
   * Called for each "@@amp <request> <args>" line; may return a promise. For "@@amp? ..." lines
   * the guest then gets "ack" on its console input (it waits with `read`).
   */
  readonly onRequest?: (request: string, args: string[], guest: GuestRun) => void | Promise<void>;
  /** Guest memory in MiB (default 64). */
  readonly memMb?: number;
  /**
   * A kernel warning that this run expects (its "WARNING: ... at <file>:<line>" line matches):
   * the whole splat, from "cut here" to "end trace", is then not trouble but counted in
   * `allowedWarnings`. For known kernel behaviour only, never to hide a new problem.
   */
  readonly allowWarning?: RegExp;
}

/** The outcome of one boot. */
export interface GuestResult {
  readonly lines: readonly string[];
  /** Names of the AMP-PASS lines, in order. */
  readonly passed: readonly string[];
  /** Full AMP-FAIL lines. */
  readonly failed: readonly string[];
  /** Kernel lines matching {@link KERNEL_TROUBLE}, outside the splats of an allowed warning. */
  readonly trouble: readonly string[];
  /** The "WARNING:" lines of allowed warnings. */
  readonly allowedWarnings: readonly string[];
  /** The script's exit status from "@@amp done rc=N", or undefined when it never got there. */
  readonly rc: number | undefined;
  readonly timedOut: boolean;
  /** ms from spawn to "@@amp init" (the guest's /init running: boot-to-ready). */
  readonly bootMs: number | undefined;
  /** ms from spawn to exit. */
  readonly totalMs: number;
  readonly exitCode: number | null;
  /** Errors thrown by `onRequest` handlers. */
  readonly requestErrors: readonly unknown[];
}

/** A running guest: its output so far, waiting for a line, the end. */
export interface GuestRun {
  readonly lines: readonly string[];
  readonly done: Promise<GuestResult>;
  /** Resolves with the first line (past or future) matching `re`, rejects when the guest ends first. */
  waitFor(re: RegExp): Promise<string>;
  /** Writes to the guest's console input (its /init's stdin). */
  send(text: string): void;
  kill(): void;
}

/**
 * Boots the guest with the devices and the script, in its own process group, with TMPDIR on a
 * tmpfs and a hard timeout; always ends the whole group (UML forks helpers that survive a kill
 * of the main process).
 */
export function bootGuest(options: BootOptions): GuestRun {
  const dir = tmpfsDir("amp-uml-");
  const hostDir = join(dir, "host");
  mkdirSync(hostDir);
  writeFileSync(join(hostDir, "test.sh"), options.script);
  const args = [
    `mem=${options.memMb ?? 64}M`,
    `initrd=${options.images.initrd}`,
    ...options.devices.map((d) => `virtio_uml.device=${d.socket}:${d.id}`),
    "con=null",
    "con0=fd:0,fd:1",
    `ampdir=${hostDir}`,
    `uml_dir=${dir}`, // its mconsole socket directory, instead of ~/.uml
  ];
  const t0 = Date.now();
  const child = spawn(options.images.linux, args, {
    stdio: ["pipe", "pipe", "pipe"],
    detached: true,
    env: { ...process.env, TMPDIR: dir },
  });
  const lines: string[] = [];
  const waiters: { re: RegExp; resolve: (l: string) => void; reject: (e: Error) => void }[] = [];
  const requestErrors: unknown[] = [];
  let bootMs: number | undefined;
  let timedOut = false;
  let partial = "";
  let ended = false;
  const run: GuestRun = {
    lines,
    done: undefined as unknown as Promise<GuestResult>,
    waitFor(re) {
      const hit = lines.find((l) => re.test(l));
      if (hit !== undefined) return Promise.resolve(hit);
      if (ended) return Promise.reject(new Error(`the guest ended without a line matching ${re}`));
      return new Promise((resolve, reject) => waiters.push({ re, resolve, reject }));
    },
    send(text) {
      if (!ended) child.stdin.write(text);
    },
    kill() {
      killGroup(child);
    },
  };
  const onLine = (raw: string): void => {
    const line = raw.replace(/\r$/, "");
    lines.push(line);
    if (process.env["AMP_UML_LOG"] === "1") process.stderr.write(`uml| ${line}\n`);
    if (bootMs === undefined && line.startsWith("@@amp init")) bootMs = Date.now() - t0;
    for (const w of waiters.slice()) {
      if (w.re.test(line)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
    // "@@amp <request> ..." is a request; "@@amp? <request> ..." also waits for "ack" on the
    // guest's console input once the handler is done (the guest's `read` returns).
    const m = /^@@amp(\??) (\S+)(.*)$/.exec(line);
    if (m !== null && m[2] !== "init" && m[2] !== "done") {
      const args2 = (m[3] ?? "")
        .trim()
        .split(/\s+/)
        .filter((s) => s !== "");
      Promise.resolve()
        .then(() => options.onRequest?.(m[2] ?? "", args2, run))
        .catch((e: unknown) => requestErrors.push(e))
        .finally(() => {
          if (m[1] === "?") run.send("ack\n");
        });
    }
  };
  const feed = (d: Buffer): void => {
    partial += d.toString();
    let i: number;
    while ((i = partial.indexOf("\n")) >= 0) {
      onLine(partial.slice(0, i));
      partial = partial.slice(i + 1);
    }
  };
  child.stdin.on("error", () => undefined); // the guest is gone: 'close' reports it
  child.stdout.on("data", feed);
  child.stderr.on("data", feed);
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup(child);
  }, options.timeoutMs ?? 120_000);
  (run as { done: Promise<GuestResult> }).done = new Promise<GuestResult>((resolve) => {
    child.on("close", (exitCode) => {
      clearTimeout(timer);
      if (partial !== "") onLine(partial);
      ended = true;
      killGroup(child); // helpers that outlived the main process
      for (const w of waiters.splice(0)) w.reject(new Error(`the guest ended without a line matching ${w.re}`));
      rmSync(dir, { recursive: true, force: true });
      const doneLine = lines.find((l) => l.startsWith("@@amp done rc="));
      const { trouble, allowed } = classifyTrouble(lines, options.allowWarning);
      resolve({
        lines,
        passed: lines.filter((l) => l.startsWith("AMP-PASS ")).map((l) => l.slice(9).trim()),
        failed: lines.filter((l) => l.startsWith("AMP-FAIL ")),
        trouble,
        allowedWarnings: allowed,
        rc: doneLine === undefined ? undefined : Number(doneLine.slice(14)),
        timedOut,
        bootMs,
        totalMs: Date.now() - t0,
        exitCode,
        requestErrors,
      });
    });
  });
  return run;
}

/** Splits trouble lines into real ones and the splats of an allowed warning. */
function classifyTrouble(
  lines: readonly string[],
  allow: RegExp | undefined,
): { trouble: string[]; allowed: string[] } {
  const trouble: string[] = [];
  const allowed: string[] = [];
  let inAllowed = false;
  lines.forEach((l, i) => {
    if (l.includes("------------[ cut here ]------------")) {
      const w = lines.slice(i + 1, i + 3).find((x) => x.includes("WARNING:"));
      inAllowed = allow !== undefined && w !== undefined && allow.test(w);
      if (inAllowed && w !== undefined) allowed.push(w);
      return;
    }
    if (inAllowed) {
      if (l.includes("---[ end trace")) inAllowed = false;
      return;
    }
    if (KERNEL_TROUBLE.test(l)) trouble.push(l);
  });
  return { trouble, allowed };
}

/** The guest's console, for a failing assertion's message (the last `n` lines). */
export function tail(result: GuestResult | GuestRun, n = 80): string {
  return result.lines.slice(-n).join("\n");
}

/** A socket path in `dir` (short: UNIX socket paths are limited to 107 bytes). */
export function socketIn(dir: string, name: string): string {
  return join(dir, `${name}.sock`);
}
