// rpmsg-lite's own C code as a test peer: build it (scripts/peers/build-rpmsg-lite.sh), run
// rl-master / rl-remote in their own process group with a hard timeout, and speak their doorbell:
// a stream socket carrying 4-byte little-endian vector ids (tools/peers/rpmsg-lite/README.md).
// The socket is the child's fd 3, an extra stdio pipe (libuv makes it with socketpair).
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import type { Socket } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { LocalDoorbell, type Doorbell, type DoorbellReceiver, type WaitOptions } from "@amp/virtio-ring";

export const REPO_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "..");

/** The payload pattern the C apps use: message i has (i % 496) + 1 bytes, byte j = seed + 131 i + 29 j. */
export function messageSize(i: number, payload = 496): number {
  return (i % payload) + 1;
}
export function fillMessage(out: Uint8Array, i: number, seed = 0): void {
  for (let j = 0; j < out.length; j++) out[j] = (seed + 131 * i + 29 * j) & 0xff;
}
export function makeMessage(i: number, seed = 0): Uint8Array {
  const m = new Uint8Array(messageSize(i));
  fillMessage(m, i, seed);
  return m;
}
/** The index of the first byte that differs from message i, -2 for a wrong length, -1 when equal. */
export function diffMessage(data: Uint8Array, i: number, seed = 0): number {
  if (data.length !== messageSize(i)) return -2;
  for (let j = 0; j < data.length; j++) if (data[j] !== ((seed + 131 * i + 29 * j) & 0xff)) return j;
  return -1;
}

/**
 * Builds the variants (see the script for the naming) and returns the bin directory; the binaries
 * are <bin>/<variant>/rl-master and rl-remote. A build failure throws: a test failure, never a skip.
 */
export function buildRpmsgLite(variants: readonly string[]): string {
  const script = join(REPO_DIR, "scripts", "peers", "build-rpmsg-lite.sh");
  let out: string;
  try {
    out = execFileSync("bash", [script, ...variants], {
      encoding: "utf8",
      timeout: 600_000,
      stdio: ["ignore", "pipe", "pipe"],
    });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`building rpmsg-lite failed: ${err.stderr ?? err.message}`, { cause: e });
  }
  const bin = out.trim().split("\n").pop();
  if (bin === undefined || bin === "") throw new Error("build-rpmsg-lite.sh printed no bin directory");
  return bin;
}

/** The doorbell of one C peer: rings it with vector ids, and is rung by it (any vector wakes `wait`). */
export class SocketDoorbell implements Doorbell, DoorbellReceiver {
  /** Rings sent and received, by vector id. */
  readonly sent = new Map<number, number>();
  readonly received = new Map<number, number>();
  private readonly socket: Socket;
  private readonly local = new LocalDoorbell({ queues: 1 << 16 });
  private partial = new Uint8Array(0);
  private isClosed = false;

  constructor(socket: Socket) {
    this.socket = socket;
    socket.on("data", (chunk: Buffer) => {
      const all = new Uint8Array(this.partial.length + chunk.length);
      all.set(this.partial);
      all.set(chunk, this.partial.length);
      let at = 0;
      for (; at + 4 <= all.length; at += 4) {
        const id =
          ((all[at] ?? 0) | ((all[at + 1] ?? 0) << 8) | ((all[at + 2] ?? 0) << 16) | ((all[at + 3] ?? 0) << 24)) >>> 0;
        this.received.set(id, (this.received.get(id) ?? 0) + 1);
        this.local.notify(id & 0xffff);
      }
      this.partial = all.slice(at);
    });
    socket.on("error", () => {
      this.isClosed = true; // the peer died; its exit status tells why
    });
    socket.on("close", () => {
      this.isClosed = true;
    });
  }
  get closed(): boolean {
    return this.isClosed;
  }
  notify(id: number): void {
    this.sent.set(id, (this.sent.get(id) ?? 0) + 1);
    if (this.isClosed) return;
    const b = Buffer.alloc(4);
    b.writeUInt32LE(id >>> 0);
    this.socket.write(b);
  }
  poll(onQueue: (queue: number) => void): number {
    return this.local.poll(onQueue);
  }
  pending(): boolean {
    return this.local.pending();
  }
  wait(options?: WaitOptions): Promise<void> {
    return this.local.wait(options);
  }
  /**
   * Half-closes: the C peer sees EOF (and stops, printing its RESULT line), while rings it still
   * sends are counted until it exits.
   */
  end(): void {
    if (!this.isClosed) this.socket.end();
  }
  /** Closes both directions. */
  close(): void {
    this.isClosed = true;
    this.socket.end();
    this.socket.destroy();
  }
}

/** How a C peer ended. `result` holds the key=value pairs of its RESULT line. */
export interface PeerExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly result: Readonly<Record<string, string>> | undefined;
}

/** A running C peer. */
export interface Peer {
  readonly child: ChildProcess;
  readonly doorbell: SocketDoorbell;
  readonly done: Promise<PeerExit>;
  /** SIGKILLs the whole process group (idempotent). */
  kill(): void;
}

function parseResult(stdout: string): Record<string, string> | undefined {
  const line = stdout.split("\n").find((l) => l.startsWith("RESULT "));
  if (line === undefined) return undefined;
  const out: Record<string, string> = {};
  for (const kv of line.slice(7).trim().split(/\s+/)) {
    const eq = kv.indexOf("=");
    if (eq > 0) out[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return out;
}

/** A C peer without a doorbell of ours (rl-master <-> rl-remote through a socket path). */
interface Proc {
  readonly child: ChildProcess;
  readonly done: Promise<PeerExit>;
  kill(): void;
}

const procs = new Set<Proc>();

/** Kills every peer still running (afterAll). */
export function killAllPeers(): void {
  for (const p of procs) p.kill();
}

/**
 * Starts `path` in a new process group (detached), with `--timeout-ms` (the peer's own alarm)
 * and a SIGKILL of the group `timeoutMs` + 6 s later if it is still running. With `fd3` the
 * child gets a socket as fd 3.
 */
function start(path: string, args: readonly string[], timeoutMs: number, fd3: boolean, onClose: () => void): Proc {
  const child = spawn(path, [...args, "--timeout-ms", String(timeoutMs)], {
    detached: true,
    stdio: fd3 ? ["ignore", "pipe", "pipe", "pipe"] : ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout?.setEncoding("utf8").on("data", (s: string) => (stdout += s));
  child.stderr?.setEncoding("utf8").on("data", (s: string) => (stderr += s));
  let exited = false;
  const kill = (): void => {
    if (exited || child.pid === undefined) return;
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {
      // already gone
    }
  };
  const guard = setTimeout(kill, timeoutMs + 6000);
  const proc: Proc = {
    child,
    kill,
    done: new Promise<PeerExit>((resolve) => {
      child.on("error", (e) => {
        stderr += `spawn failed: ${e.message}\n`;
      });
      // 'close' comes after the exit and the end of every stdio stream.
      child.on("close", (code, signal) => {
        exited = true;
        clearTimeout(guard);
        procs.delete(proc);
        onClose();
        resolve({ code, signal, stdout, stderr, result: parseResult(stdout) });
      });
    }),
  };
  procs.add(proc);
  return proc;
}

/** Starts `path` with `args` plus `--doorbell fd:3`: a peer @amp talks to (see {@link start}). */
export function spawnPeer(path: string, args: readonly string[], timeoutMs: number): Peer {
  const box: { doorbell?: SocketDoorbell } = {};
  const p = start(path, [...args, "--doorbell", "fd:3"], timeoutMs, true, () => box.doorbell?.close());
  const doorbell = new SocketDoorbell(p.child.stdio[3] as Socket);
  box.doorbell = doorbell;
  return {
    child: p.child,
    doorbell,
    done: p.done,
    kill: () => {
      p.kill();
    },
  };
}

/**
 * rl-master against rl-remote of one build directory (`binDir`), over `<base>.shm` and the
 * socket `<base>.sock`: `count` echoes, NS create and destroy. Resolves with both exits.
 */
export async function spawnPeerPair(
  binDir: string,
  base: string,
  count: number,
  zeroCopy: boolean,
  timeoutMs: number,
): Promise<{ master: PeerExit; remote: PeerExit }> {
  const common = [
    "--shm",
    `${base}.shm`,
    "--shm-size",
    String(1 << 20),
    "--count",
    String(count),
    ...(zeroCopy ? ["--zero-copy"] : []),
  ];
  const master = start(
    join(binDir, "rl-master"),
    [...common, "--doorbell", `listen:${base}.sock`, "--window", "4", "--expect-ns-destroy"],
    timeoutMs,
    false,
    () => undefined,
  );
  const remote = start(
    join(binDir, "rl-remote"),
    [...common, "--doorbell", `connect:${base}.sock`, "--ns-destroy"],
    timeoutMs,
    false,
    () => undefined,
  );
  try {
    return { master: await master.done, remote: await remote.done };
  } finally {
    master.kill();
    remote.kill();
  }
}

/** Resolves when `cond()` holds, re-checking on every doorbell event and every `everyMs`; throws after `timeoutMs`. */
export async function until(what: string, cond: () => boolean, timeoutMs = 20_000, everyMs = 2): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** setTimeout/clearTimeout for the @amp devices (timeouts, `serve({ pollMs })`). */
export const scheduler = {
  setTimeout: (cb: () => void, ms: number): unknown => setTimeout(cb, ms),
  clearTimeout: (h: unknown): void => {
    clearTimeout(h as ReturnType<typeof setTimeout>);
  },
};
