// Our OpenAMP test peer (tools/peers/openamp-peer/amp-openamp-peer.c, built by
// scripts/peers/build-openamp-peer.sh against OpenAMP 1.10) and the @amp side that faces it:
// a shared file (FileMemory) holding the Linux-machine sample's layout, a UNIX-socket doorbell
// (UnixSocketDoorbell, one byte = "look at every ring"), an RpmsgHost over the vdev entry the C
// remote wrote, or an RpmsgRemote that wrote the table itself. The C program is driven over its
// stdin/stdout command protocol (README.md beside it).
import { spawn, type ChildProcess } from "node:child_process";
import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseResourceTable, serializeResourceTable, type VdevResource } from "@amp/resource-table";
import {
  RpmsgHost,
  RpmsgRemote,
  VIRTIO_RPMSG_F_NS,
  type RpmsgDevice,
  type RpmsgMessage,
  type RxHold,
} from "@amp/rpmsg";
import {
  AddressSpace,
  splitRingLayout,
  type Doorbell,
  type Memory,
  type QueueConfig,
  type VirtioTransport,
} from "@amp/virtio-ring";
import { RemoteVdevTransport } from "../../src/firmware/index.ts";
import { FileMemory, UnixSocketDoorbell } from "../../src/index.ts";
import { startPeer } from "./openamp.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "..");

/** The shared file: the Linux-machine sample's layout (file offset = device address). */
export const LAYOUT = {
  size: 0x8_0000,
  table: 0,
  vring0: 0x4000,
  vring1: 0x8000,
  align: 0x1000,
  pool: 0x1_0000,
} as const;

// ---------------------------------------------------------------------------------------------
// The payload pattern, the same function as pattern() in amp-openamp-peer.c

/** Byte i of message `seq` of stream `stream`: bytes 0..3 carry seq (LE), then a mix. */
export function patternByte(stream: number, seq: number, i: number): number {
  if (i < 4) return (seq >>> (8 * i)) & 0xff;
  return (stream * 17 + seq * 131 + i * 29 + 0x5a) & 0xff;
}

export function makePayload(stream: number, seq: number, len: number): Uint8Array {
  const out = new Uint8Array(len);
  for (let i = 0; i < len; i++) out[i] = patternByte(stream, seq, i);
  return out;
}

/** A size spec as the C program takes it: "N", "A-B" (A + seq % (B - A + 1)) or "A,B,C" (round robin). */
export function sizeOf(spec: string, seq: number): number {
  if (spec.includes(",")) {
    const list = spec.split(",").map(Number);
    return list[seq % list.length] as number;
  }
  const [lo, hi] = spec.split("-").map(Number) as [number, number | undefined];
  return lo + (seq % ((hi ?? lo) - lo + 1));
}

/** What a {@link Sink} saw: in order, byte-exact, sizes as expected. */
export interface SinkStats {
  received: number;
  bytes: number;
  bad: number;
  /** Messages whose seq was not the one expected next (lost, duplicated or reordered). */
  jumps: number;
  firstBad: number | undefined;
  nextSeq: number;
  /** Held rx buffers (msg.hold()) not released yet. */
  held: number;
  /** Held buffers whose bytes were still intact at release. */
  intactAtRelease: number;
  releasedHolds: number;
}

/**
 * The receiving side of a patterned stream on an @amp endpoint (the mirror of the C sink).
 * `holdEvery`: hold every message's rx buffer and release them in batches of that many (0: never
 * hold); held buffers are re-checked at release.
 */
export class Sink {
  readonly stats: SinkStats = {
    received: 0,
    bytes: 0,
    bad: 0,
    jumps: 0,
    firstBad: undefined,
    nextSeq: 0,
    held: 0,
    intactAtRelease: 0,
    releasedHolds: 0,
  };
  private readonly stream: number;
  private readonly sizes: string | undefined;
  private holdEvery: number;
  private readonly holds: { h: RxHold; seq: number }[] = [];
  /** Hold every rx buffer and never release until {@link releaseAll} (exhaustion tests). */
  holdAll = false;

  constructor(stream: number, sizes?: string, holdEvery = 0) {
    this.stream = stream;
    this.sizes = sizes;
    this.holdEvery = holdEvery;
  }

  /** The `onMessage` of the endpoint. */
  readonly onMessage = (m: RpmsgMessage): void => {
    const s = this.stats;
    const d = m.data;
    let seq = s.nextSeq;
    if (d.length >= 4) {
      const got = ((d[0] ?? 0) | ((d[1] ?? 0) << 8) | ((d[2] ?? 0) << 16) | ((d[3] ?? 0) << 24)) >>> 0;
      if (got !== seq) {
        s.jumps++;
        seq = got;
      }
    }
    s.received++;
    s.bytes += d.length;
    if (!this.check(d, seq)) {
      s.bad++;
      s.firstBad ??= seq;
    }
    s.nextSeq = seq + 1;
    if (this.holdAll || this.holdEvery > 0) {
      this.holds.push({ h: m.hold(), seq });
      s.held = this.holds.length;
      if (!this.holdAll && this.holds.length >= this.holdEvery) this.releaseAll();
    }
  };

  /** Releases every held rx buffer, oldest first, checking its bytes once more. */
  releaseAll(): number {
    const n = this.holds.length;
    for (const { h, seq } of this.holds.splice(0)) {
      if (this.check(h.data, seq)) this.stats.intactAtRelease++;
      h.release();
      this.stats.releasedHolds++;
    }
    this.stats.held = 0;
    return n;
  }

  private check(d: Uint8Array, seq: number): boolean {
    if (this.sizes !== undefined && d.length !== sizeOf(this.sizes, seq)) return false;
    for (let i = 0; i < d.length; i++) if (d[i] !== patternByte(this.stream, seq, i)) return false;
    return true;
  }
}

// ---------------------------------------------------------------------------------------------
// The C program

/** Builds (or finds in the cache) amp-openamp-peer; a failure throws (a test failure, never a skip). */
export async function buildOpenampPeer(timeoutMs = 15 * 60_000): Promise<{ binary: string; seconds: number }> {
  const started = Date.now();
  const p = startPeer("bash", [join(ROOT, "scripts", "peers", "build-openamp-peer.sh")], { timeoutMs });
  const r = await p.exited;
  p.kill();
  if (r.code !== 0)
    throw new Error(
      `scripts/peers/build-openamp-peer.sh failed (${r.signal ?? `exit ${String(r.code)}`}):\n${p.stderr().slice(-6000)}`,
    );
  const binary = p.stdout().trim().split("\n").pop() ?? "";
  return { binary, seconds: (Date.now() - started) / 1000 };
}

/** `key=value` fields of a reply or event line. */
export type Fields = Readonly<Record<string, string>>;

export function fields(line: string): Fields {
  const out: Record<string, string> = {};
  for (const w of line.split(" ")) {
    const eq = w.indexOf("=");
    if (eq > 0) out[w.slice(0, eq)] = w.slice(eq + 1);
  }
  return out;
}

/** A number field (throws when absent, so a changed protocol fails loudly). */
export function num(f: Fields, key: string): number {
  const v = f[key];
  if (v === undefined) throw new Error(`no field ${key} in ${JSON.stringify(f)}`);
  return Number(v);
}

const live = new Set<OpenampPeer>();

/** Kills every C peer still running (afterAll / finally). */
export function killAllOpenampPeers(): void {
  for (const p of live) p.kill();
}

/**
 * One running amp-openamp-peer, in its own process group, killed (group-wide) after
 * `timeoutMs` at the latest; it also ends itself then (alarm). Commands run one at a time.
 */
export class OpenampPeer {
  readonly child: ChildProcess;
  readonly role: "host" | "remote";
  /** Every `ev ...` line so far. */
  readonly events: string[] = [];
  private readonly pending: { line: string; resolve: (r: string) => void; reject: (e: Error) => void }[] = [];
  private buffered = "";
  private stderrText = "";
  private exitInfo: string | undefined;
  private readonly waiters = new Set<() => void>();
  readonly exited: Promise<void>;

  constructor(binary: string, role: "host" | "remote", args: readonly string[], timeoutMs: number) {
    this.role = role;
    this.child = spawn(binary, [role, ...args, "--timeout-ms", String(timeoutMs)], {
      detached: true,
      stdio: ["pipe", "pipe", "pipe"],
    });
    live.add(this);
    const guard = setTimeout(() => {
      this.kill();
    }, timeoutMs + 2000);
    this.child.stdout?.setEncoding("utf8").on("data", (s: string) => {
      this.buffered += s;
      let nl: number;
      while ((nl = this.buffered.indexOf("\n")) >= 0) {
        const line = this.buffered.slice(0, nl);
        this.buffered = this.buffered.slice(nl + 1);
        this.line(line);
      }
    });
    this.child.stderr?.setEncoding("utf8").on("data", (s: string) => {
      this.stderrText = (this.stderrText + s).slice(-8000);
    });
    this.child.stdin?.on("error", () => undefined); // the peer died: the exit says why
    this.exited = new Promise<void>((resolve) => {
      this.child.once("close", (code, signal) => {
        clearTimeout(guard);
        live.delete(this);
        this.exitInfo = `exit ${String(code)}${signal === null ? "" : ` (${signal})`}`;
        for (const p of this.pending.splice(0))
          p.reject(
            new Error(
              `${this.role} peer ended (${this.exitInfo}) before answering "${p.line}"; stderr: ${this.stderrText.slice(-2000)}`,
            ),
          );
        this.wake();
        resolve();
      });
    });
  }

  /** True once the process ended. */
  get dead(): boolean {
    return this.exitInfo !== undefined;
  }

  /** Sends one command and resolves with its reply line (`ok ...` or `err ...`). */
  command(line: string): Promise<string> {
    if (this.exitInfo !== undefined)
      return Promise.reject(new Error(`${this.role} peer already ended (${this.exitInfo})`));
    return new Promise((resolve, reject) => {
      this.pending.push({ line, resolve, reject });
      this.child.stdin?.write(`${line}\n`);
    });
  }

  /** `command`, expecting `ok`: returns the reply's fields. */
  async ok(line: string): Promise<Fields> {
    const r = await this.command(line);
    if (!r.startsWith("ok ")) throw new Error(`${this.role} peer: "${line}" -> ${r}`);
    return fields(r);
  }

  /** Resolves with the first event (already seen, counting from `from`) that starts with `prefix` and passes `pred`. */
  async event(
    prefix: string,
    options: { from?: number; timeoutMs?: number; pred?: (f: Fields) => boolean } = {},
  ): Promise<Fields> {
    const { from = 0, timeoutMs = 20_000, pred = () => true } = options;
    const end = Date.now() + timeoutMs;
    for (;;) {
      for (let i = from; i < this.events.length; i++) {
        const e = this.events[i] as string;
        if (e.startsWith(`ev ${prefix}`) && pred(fields(e))) return fields(e);
      }
      if (this.exitInfo !== undefined)
        throw new Error(
          `${this.role} peer ended (${this.exitInfo}) without event "${prefix}"; stderr: ${this.stderrText.slice(-2000)}`,
        );
      if (Date.now() > end)
        throw new Error(
          `${this.role} peer: no event "${prefix}" within ${timeoutMs} ms; events: ${this.events.slice(-10).join(" | ")}`,
        );
      await new Promise<void>((r) => {
        const t = setTimeout(done, 50);
        function done(): void {
          clearTimeout(t);
          r();
        }
        this.waiters.add(done);
      });
    }
  }

  /** SIGKILLs the process group (idempotent). */
  kill(): void {
    if (this.child.pid === undefined || this.exitInfo !== undefined) return;
    try {
      process.kill(-this.child.pid, "SIGKILL");
    } catch {
      // already gone
    }
  }

  private line(line: string): void {
    if (line.startsWith("ev ")) {
      this.events.push(line);
      this.wake();
    } else if (line.startsWith("ok ") || line.startsWith("err ")) {
      this.pending.shift()?.resolve(line);
    } else if (line.startsWith("fatal ")) {
      this.events.push(`ev ${line}`);
      this.wake();
    }
  }

  private wake(): void {
    const ws = [...this.waiters];
    this.waiters.clear();
    for (const w of ws) w();
  }
}

// ---------------------------------------------------------------------------------------------
// The @amp side

/** Node's timers for the @amp devices (per-call timeouts). */
export const scheduler = {
  setTimeout: (cb: () => void, ms: number): unknown => setTimeout(cb, ms),
  clearTimeout: (h: unknown): void => {
    clearTimeout(h as ReturnType<typeof setTimeout>);
  },
};

/**
 * The driver side of a resource-table vdev entry in shared memory, for an @amp host facing a
 * remote that wrote its own table (OpenAMP's Linux machine). Every field is read from and
 * written to the entry as it is; notifications go to the doorbell with the vring's notify id.
 */
export class FileVdevDriverTransport implements VirtioTransport {
  readonly deviceId: number;
  readonly legacy = true;
  readonly configLength = 0;
  readonly queueCount: number;
  private readonly mem: Memory;
  private readonly base: number;
  private readonly doorbell: () => Doorbell | undefined;

  constructor(mem: Memory, vdev: VdevResource, doorbell: () => Doorbell | undefined) {
    this.mem = mem;
    this.base = vdev.offset;
    this.deviceId = vdev.id;
    this.queueCount = vdev.vrings.length;
    this.doorbell = doorbell;
  }
  getStatus(): number {
    return this.mem.getU8(this.base + 24);
  }
  setStatus(status: number): void {
    this.mem.setU8(this.base + 24, status);
  }
  getDeviceFeatures(): bigint {
    return BigInt(this.mem.getU32(this.base + 12));
  }
  setDeviceFeatures(): void {
    throw new RangeError("the driver does not write dfeatures");
  }
  getDriverFeatures(): bigint {
    return BigInt(this.mem.getU32(this.base + 16));
  }
  setDriverFeatures(features: bigint): void {
    this.mem.setU32(this.base + 16, Number(features));
  }
  readConfig(offset: number, length: number): Uint8Array {
    if (offset !== 0 || length !== 0) throw new RangeError("no config space");
    return new Uint8Array(0);
  }
  writeConfig(offset: number, bytes: Uint8Array): void {
    if (offset !== 0 || bytes.length !== 0) throw new RangeError("no config space");
  }
  getQueue(index: number): QueueConfig {
    if (index < 0 || index >= this.queueCount) throw new RangeError(`no vring ${index}`);
    const v = this.base + 28 + 20 * index;
    const da = this.mem.getU32(v);
    const align = this.mem.getU32(v + 4);
    const num = this.mem.getU32(v + 8);
    const l = splitRingLayout(num, align);
    return {
      size: num,
      maxSize: num,
      descAddr: da,
      driverAddr: da + l.avail,
      deviceAddr: da + l.used,
      align,
      ready: true,
      notifyId: this.mem.getU32(v + 12),
    };
  }
  setQueue(): void {
    throw new RangeError("the remote placed the vrings; the host does not move them");
  }
  notify(index: number): void {
    this.doorbell()?.notify(this.getQueue(index).notifyId);
  }
}

/**
 * The resource table an @amp remote writes: the C remote's own layout (one rpmsg vdev), with
 * the name service already offered in dfeatures, as a firmware's built-in table has it (a host
 * that reads the table between two writes must not see a feature word of 0).
 */
export function remoteTableBytes(vringNum: number): Uint8Array {
  return serializeResourceTable({
    entries: [
      {
        kind: "vdev",
        id: 7,
        notifyId: 0,
        dfeatures: 1 << VIRTIO_RPMSG_F_NS,
        vrings: [
          { da: LAYOUT.vring0, align: LAYOUT.align, num: vringNum, notifyId: 1 },
          { da: LAYOUT.vring1, align: LAYOUT.align, num: vringNum, notifyId: 2 },
        ],
      },
    ],
  });
}

let counter = 0;

/** Options of {@link startLink}. */
export interface LinkOptions {
  readonly binary: string;
  /** The role @amp plays; the C peer plays the other. */
  readonly amp: "host" | "remote";
  readonly vringNum?: number;
  /** More arguments for the C peer. */
  readonly peerArgs?: readonly string[];
  readonly timeoutMs?: number;
}

/**
 * A running link: the C peer, the shared file, the doorbell and the @amp device, driven on every
 * doorbell byte and every millisecond. `restartPeer` / `restartAmp` replace one side.
 */
export class Link {
  readonly options: LinkOptions;
  readonly shmPath: string;
  readonly sockPath: string;
  readonly mem: FileMemory;
  readonly space: AddressSpace;
  private current: OpenampPeer | undefined;
  bell: UnixSocketDoorbell | undefined;
  dev!: RpmsgHost | RpmsgRemote;
  /** Exceptions thrown by @amp callbacks (onMessage...). */
  readonly errors: unknown[] = [];
  /** Doorbell bytes received from every C process so far. */
  bellBytes = 0;
  private timer: ReturnType<typeof setInterval> | undefined;
  private offRing: (() => void) | undefined;
  private vdevEntry: VdevResource | undefined;

  private constructor(options: LinkOptions) {
    this.options = options;
    const id = `${process.pid}-${++counter}`;
    // Unique names: the other OpenAMP tests use /dev/shm/openamp.shm and /tmp/openamp.event.0.
    this.shmPath = join("/dev/shm", `amp-openamp-edge-${id}.shm`);
    this.sockPath = join(tmpdir(), `amp-openamp-edge-${id}.sock`);
    rmSync(this.shmPath, { force: true });
    this.mem = FileMemory.open(this.shmPath, { size: LAYOUT.size });
    this.space = new AddressSpace().map(0, this.mem, { length: LAYOUT.size, name: "shm" });
  }

  /** The C peer running now (a new one after `spawnPeer`). */
  get peer(): OpenampPeer {
    if (this.current === undefined) throw new TypeError("no C peer started");
    return this.current;
  }

  get vringNum(): number {
    return this.options.vringNum ?? 256;
  }

  get host(): RpmsgHost {
    if (!(this.dev instanceof RpmsgHost)) throw new TypeError("@amp is the remote here");
    return this.dev;
  }

  get remote(): RpmsgRemote {
    if (!(this.dev instanceof RpmsgRemote)) throw new TypeError("@amp is the host here");
    return this.dev;
  }

  /** The vdev entry the C remote wrote (host role), parsed with 0 diagnostics expected. */
  get vdev(): VdevResource {
    if (this.vdevEntry === undefined) throw new TypeError("no vdev entry parsed");
    return this.vdevEntry;
  }

  static async start(options: LinkOptions): Promise<Link> {
    const link = new Link(options);
    try {
      if (options.amp === "remote") {
        link.mem.write(LAYOUT.table, remoteTableBytes(link.vringNum));
        link.dev = link.newRemote();
      }
      await link.spawnPeer(options.peerArgs ?? []);
      if (options.amp === "host") {
        link.dev = link.newHost();
        link.host.start();
      }
      link.drive();
      await link.peer.event("link-up");
      return link;
    } catch (e) {
      link.close();
      throw e;
    }
  }

  /** Starts a C peer (the first one, or a replacement) and waits for its doorbell connection. */
  async spawnPeer(args: readonly string[]): Promise<OpenampPeer> {
    const o = this.options;
    const listening = UnixSocketDoorbell.listen(this.sockPath, { timeoutMs: 15_000 });
    this.current = new OpenampPeer(
      o.binary,
      o.amp === "host" ? "remote" : "host",
      [
        "--shm",
        this.shmPath,
        "--shm-size",
        String(LAYOUT.size),
        "--doorbell",
        `unix:${this.sockPath}`,
        "--vring-num",
        String(this.vringNum),
        ...args,
      ],
      o.timeoutMs ?? 120_000,
    );
    const bell = await listening;
    this.offRing?.();
    this.bell = bell;
    this.offRing = bell.onRing(() => {
      this.bellBytes++;
      this.pump();
    });
    await this.peer.event("started");
    if (o.amp === "host") {
      const table = parseResourceTable(this.mem.read(LAYOUT.table, 0x100));
      const vdev = table.entries.find((e): e is VdevResource => e.kind === "vdev");
      if (vdev === undefined) throw new Error("the C remote wrote no vdev entry");
      this.vdevEntry = vdev;
    }
    return this.peer;
  }

  newHost(): RpmsgHost {
    const transport = new FileVdevDriverTransport(this.mem, this.vdev, () => this.bell);
    return new RpmsgHost({
      transport,
      space: this.space,
      poolAddr: LAYOUT.pool,
      numBuffers: this.vringNum,
      scheduler,
      onError: (e) => this.errors.push(e),
    });
  }

  newRemote(): RpmsgRemote {
    const transport = new RemoteVdevTransport(this.mem, LAYOUT.table + 20, 7, 2, 0);
    const doorbell: Doorbell = {
      notify: (id) => {
        this.bell?.notify(id);
      },
    };
    return new RpmsgRemote({ transport, space: this.space, doorbell, scheduler, onError: (e) => this.errors.push(e) });
  }

  /** Replaces the @amp remote by a fresh one that rewrites the table (a remote reboot: status 0). */
  rebootAmpRemote(): RpmsgRemote {
    this.mem.write(LAYOUT.table, remoteTableBytes(this.vringNum));
    this.dev = this.newRemote();
    this.pump();
    return this.remote;
  }

  /** Runs the @amp device now (it also runs on every doorbell byte and every millisecond). */
  pump(): void {
    try {
      this.dev.process();
    } catch (e) {
      this.errors.push(e);
    }
  }

  private drive(): void {
    this.timer = setInterval(() => {
      this.pump();
    }, 1);
  }

  /** Ends the C peer, the doorbell and the timer; removes the files. Idempotent. */
  close(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.offRing?.();
    this.current?.kill();
    this.bell?.close();
    this.mem.close();
    rmSync(this.shmPath, { force: true });
    rmSync(this.sockPath, { force: true });
  }
}

/** One vring as it lies in the shared file: every descriptor and every used-ring entry. */
export interface RingSnapshot {
  readonly descs: readonly { readonly addr: number; readonly len: number; readonly flags: number }[];
  readonly usedIdx: number;
  readonly used: readonly { readonly id: number; readonly len: number }[];
}

/** Reads vring `index` (0 or 1) of the shared file's layout, with `num` entries. */
export function ringSnapshot(mem: Memory, index: 0 | 1, num: number): RingSnapshot {
  const base = index === 0 ? LAYOUT.vring0 : LAYOUT.vring1;
  const l = splitRingLayout(num, LAYOUT.align);
  const descs = [];
  for (let i = 0; i < num; i++) {
    const d = base + 16 * i;
    descs.push({ addr: Number(mem.getU64(d)), len: mem.getU32(d + 8), flags: mem.getU16(d + 12) });
  }
  const used = [];
  for (let i = 0; i < num; i++)
    used.push({ id: mem.getU32(base + l.used + 4 + 8 * i), len: mem.getU32(base + l.used + 8 + 8 * i) });
  return { descs, usedIdx: mem.getU16(base + l.used + 2), used };
}

/** Resolves when `cond()` holds (checked every 2 ms); throws after `timeoutMs` (a hang guard). */
export async function until(what: string, cond: () => boolean, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** The sum of every drop counter of a device (the tests expect 0 unless a case says otherwise). */
export function totalDrops(dev: RpmsgDevice): number {
  return (Object.values(dev.stats.dropped) as number[]).reduce((a, b) => a + b, 0);
}
