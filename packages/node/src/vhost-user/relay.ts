// The Node side of amp-vhost-relay (relay.c beside this file): builds the program once with the
// system C compiler into a cache (keyed on its source and the compiler), starts one per socket,
// and speaks its frame protocol over the child's stdin/stdout. See relay.c for the frames.
// The source comes from a string module (relay-source.ts, generated from relay.c), not from
// the disk: a bundled application has no relay.c beside it, and a CommonJS bundle has no
// import.meta.url to find one with.
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { createHash } from "node:crypto";
import { accessSync, constants, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { vhostError } from "./errors.js";
import { RELAY_C_SOURCE } from "./relay-source.js";

const FRAME_HDR = 12;
/** Frame kinds (relay.c). */
const Kind = {
  LISTENING: 1,
  CONNECTED: 2,
  FDS: 3,
  DATA: 4,
  EOF: 5,
  WRITE: 16,
  WATCH: 17,
  UNWATCH: 18,
  CLOSE: 19,
  HANGUP: 20,
} as const;

function cacheRoot(): string {
  const env = process.env;
  return env["AMP_CACHE_DIR"] ?? join(env["XDG_CACHE_HOME"] ?? join(homedir(), ".cache"), "amp");
}

/**
 * Path of the relay binary: `$AMP_VHOST_RELAY` when set, else the cached build of relay.c,
 * compiled now with `cc` if needed (about a second, once per machine and source version).
 * @throws AmpError ERR_RELAY when there is no C compiler or the build fails.
 */
export function relayBinary(): string {
  const given = process.env["AMP_VHOST_RELAY"];
  if (given !== undefined && given !== "") {
    try {
      accessSync(given, constants.X_OK);
    } catch (e) {
      throw vhostError("ERR_RELAY", `AMP_VHOST_RELAY=${given} is not an executable file`, { cause: e });
    }
    return given;
  }
  const cc = process.env["CC"] ?? "cc";
  let ccVersion: string;
  try {
    ccVersion =
      execFileSync(cc, ["--version"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).split("\n")[0] ?? "";
  } catch (e) {
    throw vhostError(
      "ERR_RELAY",
      `the vhost-user backend builds a small C relay once and needs a C compiler for it: \`${cc}\` not found (Debian: apt-get install gcc libc6-dev; or set AMP_VHOST_RELAY to a built amp-vhost-relay)`,
      { cause: e },
    );
  }
  const key = createHash("sha256").update(RELAY_C_SOURCE).update(ccVersion).digest("hex").slice(0, 16);
  const dir = join(cacheRoot(), `vhost-relay-${key}`);
  const bin = join(dir, "amp-vhost-relay");
  if (existsSync(bin)) return bin;
  mkdirSync(dir, { recursive: true });
  // Each builder writes its own files and renames the binary into place: concurrent first uses
  // both win.
  const tmp = `${bin}.${process.pid}.tmp`;
  const src = join(dir, `relay.${process.pid}.c`);
  try {
    writeFileSync(src, RELAY_C_SOURCE);
    execFileSync(cc, ["-O2", "-std=gnu11", "-Wall", "-o", tmp, src], { stdio: ["ignore", "pipe", "pipe"] });
    renameSync(tmp, bin);
    rmSync(src, { force: true });
  } catch (e) {
    rmSync(tmp, { force: true });
    rmSync(src, { force: true });
    const stderr = (e as { stderr?: Buffer }).stderr?.toString().trim().split("\n").slice(0, 5).join("\n") ?? String(e);
    throw vhostError("ERR_RELAY", `building amp-vhost-relay with ${cc} failed:\n${stderr}`, { cause: e });
  }
  return bin;
}

/** What the relay reports. */
export interface RelayEvents {
  /** A frontend connected (its pid, 0 when unknown). */
  onConnected(pid: number): void;
  /** Descriptors (relay-side numbers) that came with the frontend's next bytes. */
  onFds(fds: number[]): void;
  /** Bytes from the frontend's socket (`fd` -1) or from a watched descriptor. */
  onData(fd: number, bytes: Uint8Array): void;
  /** The frontend hung up (`fd` -1: every descriptor it passed is gone) or a watched descriptor ended. */
  onEof(fd: number): void;
  /** The relay exited (after `stop()`, or on its own: then `error` says why). */
  onExit(error: Error | undefined): void;
}

/** One running amp-vhost-relay, listening on one socket path. */
export class Relay {
  readonly pid: number;
  private readonly child: ChildProcessWithoutNullStreams;
  private buf: Buffer = Buffer.alloc(0);
  private events: RelayEvents | undefined;
  private stopping = false;
  private exited = false;
  private stderr = "";

  private constructor(child: ChildProcessWithoutNullStreams) {
    this.child = child;
    this.pid = child.pid ?? 0;
  }

  /**
   * Builds (once) and starts the relay on `socketPath`; resolves when it listens.
   * @throws AmpError ERR_RELAY (no compiler, build failure, the relay died), ERR_SOCKET (path in use, too long).
   */
  static start(socketPath: string, events: RelayEvents): Promise<Relay> {
    const bin = relayBinary();
    const child = spawn(bin, [socketPath], { stdio: ["pipe", "pipe", "pipe"] });
    const relay = new Relay(child);
    return new Promise<Relay>((resolve, reject) => {
      let listening = false;
      relay.events = {
        ...events,
        onExit: (err) => {
          if (!listening) reject(err ?? vhostError("ERR_RELAY", "amp-vhost-relay exited before listening"));
          else events.onExit(err);
        },
      };
      const onListening = (): void => {
        listening = true;
        resolve(relay);
      };
      child.stdout.on("data", (chunk: Buffer) => {
        relay.feed(chunk, onListening);
      });
      child.stderr.on("data", (chunk: Buffer) => {
        relay.stderr = (relay.stderr + chunk.toString()).slice(-2000);
      });
      child.stdin.on("error", () => undefined); // EPIPE after the relay died: reported by 'exit'
      child.on("error", (e) => {
        relay.finish(vhostError("ERR_RELAY", `amp-vhost-relay could not be started: ${e.message}`, { cause: e }));
      });
      // "close", not "exit": "exit" can come before the last of stderr has been read, and the
      // reason (e.g. a socket path too long) would be lost to a bare "exit 2".
      child.on("close", (code, signal) => {
        if (relay.stopping) relay.finish(undefined);
        else {
          const why = relay.stderr.trim() || `exit ${code ?? signal ?? "?"}`;
          const code2 = /Address already in use|longer than/.test(why) ? "ERR_SOCKET" : "ERR_RELAY";
          relay.finish(vhostError(code2, `amp-vhost-relay on ${socketPath}: ${why}`));
        }
      });
    });
  }

  private finish(err: Error | undefined): void {
    if (this.exited) return;
    this.exited = true;
    this.events?.onExit(err);
  }

  private feed(chunk: Buffer, onListening: () => void): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    let o = 0;
    while (this.buf.length - o >= FRAME_HDR) {
      const kind = this.buf.readUInt32LE(o);
      const fd = this.buf.readInt32LE(o + 4);
      const len = this.buf.readUInt32LE(o + 8);
      if (this.buf.length - o - FRAME_HDR < len) break;
      const data = this.buf.subarray(o + FRAME_HDR, o + FRAME_HDR + len);
      o += FRAME_HDR + len;
      const ev = this.events;
      if (ev === undefined) continue;
      switch (kind) {
        case Kind.LISTENING:
          onListening();
          break;
        case Kind.CONNECTED:
          ev.onConnected(len >= 4 ? data.readUInt32LE(0) : 0);
          break;
        case Kind.FDS: {
          const fds: number[] = [];
          for (let i = 0; i + 4 <= len; i += 4) fds.push(data.readInt32LE(i));
          ev.onFds(fds);
          break;
        }
        case Kind.DATA:
          ev.onData(fd, new Uint8Array(data));
          break;
        case Kind.EOF:
          ev.onEof(fd);
          break;
        default:
          break;
      }
    }
    this.buf = this.buf.subarray(o);
  }

  private send(kind: number, fd: number, data?: Uint8Array): void {
    if (this.exited) return;
    const h = Buffer.alloc(FRAME_HDR);
    h.writeUInt32LE(kind, 0);
    h.writeInt32LE(fd, 4);
    h.writeUInt32LE(data?.length ?? 0, 8);
    this.child.stdin.write(data === undefined || data.length === 0 ? h : Buffer.concat([h, data]));
  }

  /** Path through which this process opens a descriptor the frontend passed (files only). */
  procPath(fd: number): string {
    return `/proc/${this.pid}/fd/${fd}`;
  }
  /** Writes bytes to the frontend's socket (`fd` -1) or to a descriptor it passed. */
  write(fd: number, bytes: Uint8Array): void {
    this.send(Kind.WRITE, fd, bytes);
  }
  /** Reports a passed descriptor's bytes as data (eventfd kicks). */
  watch(fd: number): void {
    this.send(Kind.WATCH, fd);
  }
  unwatch(fd: number): void {
    this.send(Kind.UNWATCH, fd);
  }
  /** Closes a passed descriptor in the relay. */
  close(fd: number): void {
    this.send(Kind.CLOSE, fd);
  }
  /** Drops the current frontend connection (the next one is accepted). */
  hangUp(): void {
    this.send(Kind.HANGUP, -1);
  }

  /** Ends the relay (it removes the socket file); resolves when it exited. Idempotent. */
  stop(): Promise<void> {
    if (this.exited) return Promise.resolve();
    this.stopping = true;
    return new Promise<void>((resolve) => {
      this.child.once("close", () => {
        resolve();
      });
      this.child.stdin.end(); // the relay exits on EOF and unlinks its socket
      const t = setTimeout(() => this.child.kill("SIGKILL"), 2000);
      t.unref();
    });
  }
}
