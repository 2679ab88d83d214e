// The remoteproc-core driver for a remote processor that is another process on this machine:
// its memory is a file both processes map (tmpfs, /dev/shm), and notifications travel over an
// external doorbell, a UNIX socket carrying one byte per notification, or nothing at all when
// both sides poll. OpenAMP's Linux-machine platform (openamp-system-reference, machine
// "generic") is such a remote; so is any emulator or simulator that maps a memory file.
//
// Life cycle, mapped onto a process:
// - attach (the usual case): the remote runs already and wrote its own resource table into the
//   file. `getLoadedResourceTable` opens the doorbell (when the remote serves it, that is also
//   the sign it is up), then reads the table's size from the table itself;
// - boot: the core loads the firmware's segments into the file through `regions`, installs the
//   table, then `start` launches the remote's process (options.launch) and opens the doorbell;
// - stop: the launched process group gets SIGTERM, then SIGKILL; detach only closes the doorbell;
// - crash: the doorbell socket closing, or the launched process ending, while the remote runs.
import { spawn, type ChildProcess } from "node:child_process";
import { AmpError, isAmpError } from "@amp/virtio-ring";
import type { MemoryRegion, RemoteprocDriver, TableLocation } from "@amp/remoteproc-core";
import { resourceTableSize, RSC_NOTIFY_ID_ANY } from "@amp/resource-table";
import { FileMemory } from "../file-memory.js";
import type { SharedFileErrorCode } from "./errors.js";
import { regionsFromTable } from "./regions.js";
import { UnixSocketDoorbell, type DoorbellQueueIds } from "./unix-socket-doorbell.js";

/** One named piece of the file for the core (a `MemoryRegion`: carveouts, vrings, the rpmsg pool). */
export interface SharedFileRegionSpec {
  readonly name: string;
  /** Device address of its first byte (inside the file's range of device addresses). */
  readonly da: number;
  readonly size: number;
  /** Serves the host's dynamic allocations (vrings and buffers the table leaves to the host). */
  readonly pool?: boolean;
}

/**
 * How notifications travel. "unix-socket": one byte per notification on a UNIX stream socket,
 * with this side as `client` (connects, retrying while the remote starts) or `server` (listens;
 * the remote connects). "poll": no doorbell; every `intervalMs` the host looks at every ring
 * and the remote is expected to poll too (kicks do nothing).
 */
export type SharedFileDoorbell =
  | {
      readonly kind: "unix-socket";
      readonly path: string;
      readonly role: "client" | "server";
      /** What incoming bytes mean (default "any": OpenAMP's doorbell names no queue). */
      readonly queueIds?: DoorbellQueueIds;
      /** How long to wait for the peer to listen or connect (default 10 s). */
      readonly timeoutMs?: number;
      /**
       * Client: how long an existing socket file may refuse connections before the wait ends
       * with ERR_DOORBELL_REFUSED (default 1000 ms), rather than waiting the whole `timeoutMs`.
       */
      readonly refusedGraceMs?: number;
    }
  | {
      readonly kind: "poll";
      /** Default 1 ms. */
      readonly intervalMs?: number;
    };

/** How {@link SharedFileDriver} starts the remote's process when it boots it. */
export interface SharedFileLaunch {
  readonly command: string;
  readonly args?: readonly string[];
  readonly cwd?: string;
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** The process's stdout/stderr text as it comes (default: kept, the last lines go into crash messages). */
  readonly onOutput?: (text: string, stream: "stdout" | "stderr") => void;
  /** How long `stop` waits after SIGTERM before SIGKILL (default 2000 ms). */
  readonly stopTimeoutMs?: number;
}

/** Options of {@link SharedFileDriver}. */
export interface SharedFileDriverOptions {
  /** The memory file both processes map, e.g. "/dev/shm/openamp.shm". */
  readonly memoryPath: string;
  /**
   * Size of the memory in bytes. Given (and `createMemory` not false): the file is created (or
   * extended) to it, as the remote's own `ftruncate` would. Omitted: the file must exist, and
   * its size is used.
   */
  readonly memorySize?: number;
  /**
   * Whether the driver may create or extend the memory file (default true; only with
   * `memorySize`). An attach must not: the running remote made the file, and a file the host
   * created would never receive a table. False: the file is used as it is, and a missing file
   * is AmpError ERR_NO_MEMORY_FILE. `createSharedFileRemoteproc` passes false when attaching.
   */
  readonly createMemory?: boolean;
  /** Device address of the file's first byte (default 0: OpenAMP's Linux machine uses file offsets). */
  readonly memoryDa?: number;
  /**
   * How the file is split into regions for the core (non-overlapping). Default: derived from
   * the resource table found in the file when the driver is created: the table, each vring and
   * carveout (trace, devmem) with a fixed address stay out of the pool, every gap between them
   * is a pool region. When the file holds no table yet, the whole file is one region that is
   * not a pool and the attach fails with ERR_NO_REGIONS (create the driver once the remote wrote
   * its table, or give regions). Booting needs explicit regions (the firmware image's own
   * memory is not in any table).
   */
  readonly regions?: readonly SharedFileRegionSpec[];
  readonly doorbell: SharedFileDoorbell;
  /**
   * Attach: where the running remote's resource table is (default: the file's first byte). Its
   * size is read from the table itself (`resourceTableSize`) unless given.
   */
  readonly resourceTable?: { readonly da: number; readonly size?: number };
  /** Attach: how long to wait for a resource table to appear (version word = 1), default 10 s. */
  readonly tableTimeoutMs?: number;
  /** Boot: how to start the remote's process (without it, `start` only opens the doorbell). */
  readonly launch?: SharedFileLaunch;
  /** Ends the waits of attach and boot (the doorbell's peer, the resource table) with ERR_ABORTED. */
  readonly signal?: AbortSignal;
}

/** What the driver saw when the remote went away while running. */
export interface SharedFileCrashReport {
  /** remoteproc crash type (always "fatal error": a process that ends or drops its doorbell). */
  readonly type: "fatal error";
  /** One line for people. */
  readonly message: string;
  /** How the launched process ended, if it did. */
  readonly exit?: { readonly code: number | null; readonly signal: NodeJS.Signals | null };
}

const MAX_TABLE_READ = 65536;

/** Opens the memory file; creates or extends it only when that is allowed. */
function openMemory(options: SharedFileDriverOptions): FileMemory {
  const create = options.createMemory !== false && options.memorySize !== undefined;
  try {
    return FileMemory.open(options.memoryPath, create ? { size: options.memorySize } : { create: false });
  } catch (e) {
    if ((e as { code?: unknown }).code !== "ENOENT") throw e;
    throw new AmpError<SharedFileErrorCode>(
      "ERR_NO_MEMORY_FILE",
      `no memory file ${options.memoryPath}: start the remote first (it creates the file), or pass the path it maps`,
      { cause: e },
    );
  }
}

/**
 * A {@link RemoteprocDriver} for a remote processor that is a process sharing a memory file.
 * Give `regions` to the core; connect `onInterrupt` to `deliverInterrupt(rproc, id)` (it
 * understands `RSC_NOTIFY_ID_ANY`, "look at every ring") and `onCrash` to `rproc.reportCrash`.
 * `createSharedFileRemoteproc` does all of that.
 *
 * @example
 * const driver = new SharedFileDriver({
 *   memoryPath: "/dev/shm/openamp.shm", memorySize: 0x80000,
 *   doorbell: { kind: "unix-socket", path: "/tmp/openamp.event.0", role: "client" },
 * });
 * const rproc = createRemoteproc({ name: "openamp", driver, regions: driver.regions, initialState: "detached" });
 * driver.onInterrupt = (id) => deliverInterrupt(rproc, id);
 */
export class SharedFileDriver implements RemoteprocDriver {
  /** The remote's memory (byte 0 = device address `memoryDa`). */
  readonly memory: FileMemory;
  /** The file split into regions, for the core. */
  readonly regions: readonly MemoryRegion[];
  /** Device address of the file's first byte. */
  readonly memoryDa: number;
  /**
   * Called when the remote notified the host: a vring notify id, or `RSC_NOTIFY_ID_ANY`
   * (0xffffffff) when the doorbell names no queue (every ring must be looked at).
   */
  onInterrupt: (notifyId: number) => void = () => undefined;
  /** Called once per crash (the doorbell closed or the launched process ended while running). */
  onCrash: (report: SharedFileCrashReport) => void = () => undefined;
  private readonly options: SharedFileDriverOptions;
  private bell: UnixSocketDoorbell | undefined;
  private bellOffs: (() => void)[] = [];
  private child: ChildProcess | undefined;
  private childExit: Promise<void> | undefined;
  private output = "";
  private pollTimer: ReturnType<typeof setTimeout> | undefined;
  private running = false;
  private crashed = false;
  /** Why no regions could be derived (no `regions` given and no table in the file yet). */
  private regionsMissing: string | undefined;

  /**
   * Opens the memory file (creating it when `memorySize` is given and `createMemory` is not
   * false) and finds the regions. Nothing else happens until the core attaches or starts.
   * @throws RangeError for a bad size, device address or region; AmpError ERR_NO_MEMORY_FILE
   *   when the file does not exist and may not be created; the fs error when it cannot be opened.
   */
  constructor(options: SharedFileDriverOptions) {
    const da = options.memoryDa ?? 0;
    if (!Number.isSafeInteger(da) || da < 0 || da > 0xffffffff)
      throw new RangeError("memoryDa must be a 32-bit device address");
    const d: { kind: string; role?: string } = options.doorbell;
    if (d.kind !== "unix-socket" && d.kind !== "poll")
      throw new TypeError(`doorbell.kind must be "unix-socket" or "poll", got ${d.kind}`);
    if (d.kind === "unix-socket" && d.role !== "client" && d.role !== "server")
      throw new TypeError(`doorbell.role must be "client" or "server"`);
    this.options = options;
    this.memoryDa = da;
    this.memory = openMemory(options);
    try {
      const size = this.memory.byteLength;
      if (size > 0x1_0000_0000 - da)
        throw new RangeError(`memory at 0x${da.toString(16)} of ${size} bytes passes the 32-bit address space`);
      const specs = options.regions ?? this.derivedRegions(size);
      this.regions = specs.map((r) => {
        if (
          !Number.isSafeInteger(r.da) ||
          !Number.isSafeInteger(r.size) ||
          r.size <= 0 ||
          r.da < da ||
          r.da - da > size - r.size
        ) {
          throw new RangeError(
            `region "${r.name}" (0x${r.da.toString(16)} +0x${r.size.toString(16)}) is not inside the memory file (0x${da.toString(16)} +0x${size.toString(16)})`,
          );
        }
        return {
          name: r.name,
          da: r.da,
          size: r.size,
          memory: this.memory,
          offset: r.da - da,
          ...(r.pool === true ? { pool: true } : {}),
        };
      });
    } catch (e) {
      this.memory.close();
      throw e;
    }
  }

  /** The doorbell socket while it is open (socket mode). */
  get doorbell(): UnixSocketDoorbell | undefined {
    return this.bell;
  }

  /** The launched process while it runs (boot with `launch`). */
  get process(): ChildProcess | undefined {
    return this.child;
  }

  /**
   * Attach: opens the doorbell, then finds the running remote's table and reads its size.
   * @throws AmpError ERR_NO_REGIONS when no regions were given and none could be derived.
   */
  async getLoadedResourceTable(): Promise<TableLocation> {
    await this.openDoorbell(this.options.signal);
    const da = this.options.resourceTable?.da ?? this.memoryDa;
    const given = this.options.resourceTable?.size;
    const size = given ?? (await this.waitForTableSize(da));
    if (this.regionsMissing !== undefined) {
      throw new AmpError<SharedFileErrorCode>(
        "ERR_NO_REGIONS",
        `no regions for ${this.options.memoryPath}: ${this.regionsMissing}, so the host's rpmsg buffers could land on the remote's own data; give \`regions\`, or create the driver after the remote wrote its table`,
        { offset: da },
      );
    }
    return { da, size };
  }

  /** Takes over the running remote: the doorbell (or polling) goes live. */
  async attach(): Promise<void> {
    await this.openDoorbell(this.options.signal);
    this.goLive();
  }

  /** Boot: launches the remote's process (options.launch), then opens the doorbell. */
  async start(): Promise<void> {
    this.crashed = false;
    const l = this.options.launch;
    if (l === undefined) {
      await this.openDoorbell(this.options.signal);
      this.goLive();
      return;
    }
    this.launch(l);
    // A process that ends before its doorbell opens (bad arguments, a crash at start) fails the
    // start at once rather than after the doorbell's timeout.
    const gone = new AbortController();
    void this.childExit?.then(() => {
      gone.abort();
    });
    const both = new AbortController();
    const user = this.options.signal;
    const onUser = (): void => {
      both.abort(user?.reason);
    };
    if (user?.aborted === true) onUser();
    user?.addEventListener("abort", onUser, { once: true });
    gone.signal.addEventListener(
      "abort",
      () => {
        both.abort();
      },
      { once: true },
    );
    try {
      await this.openDoorbell(both.signal);
    } catch (e) {
      await this.endProcess();
      if (!gone.signal.aborted || user?.aborted === true) throw e;
      const last = this.output.trim().split("\n").slice(-3).join(" | ");
      throw new AmpError<SharedFileErrorCode>(
        "ERR_SPAWN",
        `the remote process ${l.command} ended before its doorbell opened${last === "" ? "" : `: ${last}`}`,
        { cause: e },
      );
    } finally {
      user?.removeEventListener("abort", onUser);
    }
    this.goLive();
  }

  /** Closes the doorbell and ends the launched process (SIGTERM, then SIGKILL), if any. */
  async stop(): Promise<void> {
    this.running = false;
    this.stopPolling();
    this.closeDoorbell();
    await this.endProcess();
  }

  /** Lets go of the remote and leaves it running: only the doorbell closes. */
  detach(): void {
    this.running = false;
    this.stopPolling();
    this.closeDoorbell();
  }

  /** Host -> remote: one doorbell byte (socket mode); nothing when the remote polls. */
  kick(notifyId: number): void {
    this.bell?.notify(notifyId);
  }

  /** Stops everything this driver started and closes the memory file (the file stays). */
  async dispose(): Promise<void> {
    await this.stop();
    this.memory.close();
  }

  private async openDoorbell(signal?: AbortSignal): Promise<void> {
    const d = this.options.doorbell;
    if (d.kind !== "unix-socket") return;
    if (this.bell !== undefined && !this.bell.closed) return;
    const opts = {
      ...(d.queueIds === undefined ? {} : { queueIds: d.queueIds }),
      ...(d.timeoutMs === undefined ? {} : { timeoutMs: d.timeoutMs }),
      ...(d.refusedGraceMs === undefined ? {} : { refusedGraceMs: d.refusedGraceMs }),
      ...(signal === undefined ? {} : { signal }),
    };
    const bell =
      d.role === "client"
        ? await UnixSocketDoorbell.connect(d.path, opts)
        : await UnixSocketDoorbell.listen(d.path, opts);
    this.bell = bell;
    this.bellOffs = [
      bell.onRing((q) => {
        if (this.running) this.onInterrupt(q);
      }),
      bell.onClose((error) => {
        if (this.bell === bell) this.bell = undefined;
        if (!this.running) return;
        // A remote that queues a last message (OpenAMP's samples withdraw their endpoint on the way
        // out) and exits at once can close the socket before its kick is read, or make our own
        // next kick fail first: look at every ring once more, so what it left is delivered before
        // the crash takes the rings down.
        this.onInterrupt(RSC_NOTIFY_ID_ANY);
        this.crash({
          type: "fatal error",
          message: `the remote closed its doorbell ${d.path}${error === undefined ? "" : ` (${error.message})`}`,
        });
      }),
    ];
  }

  private closeDoorbell(): void {
    for (const off of this.bellOffs) off();
    this.bellOffs = [];
    this.bell?.close();
    this.bell = undefined;
  }

  private goLive(): void {
    this.crashed = false;
    this.running = true;
    const d = this.options.doorbell;
    if (d.kind !== "poll") return;
    const interval = d.intervalMs ?? 1;
    const tick = (): void => {
      if (!this.running) return;
      this.onInterrupt(RSC_NOTIFY_ID_ANY);
      this.pollTimer = setTimeout(tick, interval);
    };
    this.pollTimer = setTimeout(tick, interval);
  }

  private stopPolling(): void {
    if (this.pollTimer !== undefined) clearTimeout(this.pollTimer);
    this.pollTimer = undefined;
  }

  private crash(report: SharedFileCrashReport): void {
    if (this.crashed) return;
    this.crashed = true;
    this.running = false;
    this.stopPolling();
    this.onCrash(report);
  }

  /** Reads the table header until it holds version 1 (the remote may still be writing it), then sizes it. */
  private async waitForTableSize(da: number): Promise<number> {
    const off = da - this.memoryDa;
    if (!Number.isSafeInteger(off) || off < 0 || off >= this.memory.byteLength) {
      throw new RangeError(`resource table da 0x${da.toString(16)} is not inside the memory file`);
    }
    const timeoutMs = this.options.tableTimeoutMs ?? 10_000;
    const deadline = Date.now() + timeoutMs;
    const signal = this.options.signal;
    for (;;) {
      if (signal?.aborted === true)
        throw new AmpError<SharedFileErrorCode>(
          "ERR_ABORTED",
          `waiting for the resource table in ${this.options.memoryPath} was aborted`,
          { offset: da, cause: signal.reason },
        );
      const bytes = this.memory.read(off, Math.min(MAX_TABLE_READ, this.memory.byteLength - off));
      try {
        return resourceTableSize(bytes);
      } catch (e) {
        if (!isAmpError(e)) throw e;
        if (e.code === "ERR_TRUNCATED") {
          throw new AmpError<SharedFileErrorCode>(
            "ERR_MALFORMED",
            `the resource table at 0x${da.toString(16)} runs past the memory file (${e.message})`,
            { offset: da, cause: e },
          );
        }
        if (e.code !== "ERR_UNSUPPORTED" || Date.now() >= deadline) {
          const why =
            e.code === "ERR_UNSUPPORTED"
              ? `no resource table appeared at 0x${da.toString(16)} of ${this.options.memoryPath} within ${timeoutMs} ms`
              : `the resource table at 0x${da.toString(16)} is not usable`;
          throw new AmpError<SharedFileErrorCode>(
            e.code === "ERR_UNSUPPORTED" ? "ERR_TIMEOUT" : "ERR_MALFORMED",
            `${why}: ${e.message}`,
            { offset: da, cause: e },
          );
        }
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  /** The default regions: from the table in the file, or one non-pool region and a reason. */
  private derivedRegions(size: number): SharedFileRegionSpec[] {
    const whole = [{ name: "memory", da: this.memoryDa, size }];
    const tableDa = this.options.resourceTable?.da ?? this.memoryDa;
    const off = tableDa - this.memoryDa;
    if (!Number.isSafeInteger(off) || off < 0 || off >= size) {
      this.regionsMissing = `the resource table da 0x${tableDa.toString(16)} is not inside the file`;
      return whole;
    }
    const bytes = this.memory.read(off, Math.min(MAX_TABLE_READ, size - off));
    try {
      const tableSize = this.options.resourceTable?.size ?? resourceTableSize(bytes);
      return regionsFromTable(bytes.subarray(0, tableSize), tableDa, this.memoryDa, size);
    } catch (e) {
      if (!isAmpError(e)) throw e;
      this.regionsMissing = `the file held no usable resource table at 0x${tableDa.toString(16)} when the driver was created (${e.message})`;
      return whole;
    }
  }

  private launch(l: SharedFileLaunch): void {
    this.output = "";
    let child: ChildProcess;
    try {
      // Its own process group, so that stop() ends everything it started (helpers included).
      const env =
        l.env === undefined
          ? process.env
          : Object.fromEntries(Object.entries(l.env).filter((kv): kv is [string, string] => kv[1] !== undefined));
      child = spawn(l.command, [...(l.args ?? [])], {
        ...(l.cwd === undefined ? {} : { cwd: l.cwd }),
        env,
        stdio: ["ignore", "pipe", "pipe"],
        detached: true,
      });
    } catch (e) {
      throw new AmpError<SharedFileErrorCode>("ERR_SPAWN", `cannot start ${l.command}: ${(e as Error).message}`, {
        cause: e,
      });
    }
    this.child = child;
    const keep =
      (stream: "stdout" | "stderr") =>
      (chunk: Buffer): void => {
        const text = chunk.toString("utf8");
        if (l.onOutput !== undefined) l.onOutput(text, stream);
        this.output = (this.output + text).slice(-8192);
      };
    child.stdout?.on("data", keep("stdout"));
    child.stderr?.on("data", keep("stderr"));
    this.childExit = new Promise<void>((resolve) => {
      child.once("error", (e) => {
        if (this.child === child) this.child = undefined;
        if (this.running)
          this.crash({ type: "fatal error", message: `the remote process ${l.command} failed: ${e.message}` });
        resolve();
      });
      child.once("exit", (code, signal) => {
        if (this.child === child) this.child = undefined;
        const last = this.output.trim().split("\n").pop() ?? "";
        if (this.running)
          this.crash({
            type: "fatal error",
            message: `the remote process ${l.command} exited (${signal ?? `code ${code}`})${last === "" ? "" : `: ${last}`}`,
            exit: { code, signal },
          });
        resolve();
      });
    });
  }

  private async endProcess(): Promise<void> {
    const child = this.child;
    const exited = this.childExit;
    if (child?.pid === undefined || exited === undefined) return;
    const group = -child.pid;
    const kill = (sig: NodeJS.Signals): void => {
      try {
        process.kill(group, sig);
      } catch {
        // the group is gone already
      }
    };
    kill("SIGTERM");
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      exited,
      new Promise<void>((r) => {
        timer = setTimeout(() => {
          kill("SIGKILL");
          r();
        }, this.options.launch?.stopTimeoutMs ?? 2000);
      }),
    ]);
    clearTimeout(timer);
    await exited;
    this.child = undefined;
  }
}
