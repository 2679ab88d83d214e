// One qemu-system-arm process running an mps2 board whose 16 MiB PSRAM is a file, controlled
// over QMP. The recipe (qemu-remote.md §1, §3, §4): `-machine memory-backend=m` with a
// `memory-backend-file,share=on`, `-global armv7m.init-nsvtor=0x21000000` so the CPU takes SP and
// PC from the vector table in that file, `-S` so nothing runs before the host loaded the image,
// then `system_reset` (vectors are fetched at reset) and `cont`. The host listens on every socket
// (QMP, console UART0, doorbell UART1, optional gdbstub) and QEMU connects to them.
import { AmpError } from "@amp/virtio-ring";
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import type { Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { MPS2_RAM_BASE, MPS2_RAM_SIZE } from "./abi.js";
import type { QemuErrorCode } from "./errors.js";
import { QmpClient, QMP_DEFAULT_TIMEOUT_MS } from "./qmp.js";
import type { QmpEvent } from "./qmp.js";
import { parseRegisters } from "./registers.js";
import type { CpuRegisters } from "./registers.js";
import { connectUnix, listenUnix } from "./socket.js";
import type { SocketListener } from "./socket.js";

/** mps2 boards whose PSRAM at 0x21000000 can be a file (qemu-remote.md §1). */
export type Mps2Board = "mps2-an386" | "mps2-an385";

/** Unix-socket paths of one QEMU instance. */
export interface QemuSocketPaths {
  readonly qmp: string;
  readonly console: string;
  readonly doorbell: string;
  /** gdbstub socket, when enabled. */
  readonly gdb?: string;
}

/** Options of {@link qemuArgs}. */
export interface QemuArgsOptions {
  /** The RAM file (16 MiB). */
  readonly memoryPath: string;
  readonly sockets: QemuSocketPaths;
  /**
   * "client": QEMU connects to sockets the host listens on (what {@link QemuMachine.launch} does).
   * "server": QEMU listens on them, for a QEMU started by someone else that a host later attaches
   * to ({@link QemuMachine.connect}).
   */
  readonly role: "client" | "server";
  readonly board?: Mps2Board;
  /** Start halted (`-S`, default true). */
  readonly halted?: boolean;
  readonly extraArgs?: readonly string[];
}

/**
 * The qemu-system-arm argument list for a file-backed mps2 board with UART0 = console,
 * UART1 = doorbell, QMP, and optionally a gdbstub.
 */
export function qemuArgs(options: QemuArgsOptions): string[] {
  const { memoryPath, sockets, role, board = "mps2-an386", halted = true, extraArgs = [] } = options;
  const srv = role === "server" ? ",server=on,wait=off" : "";
  const args = [
    "-M",
    `${board},memory-backend=amp-ram`,
    "-object",
    `memory-backend-file,id=amp-ram,size=${MPS2_RAM_SIZE},mem-path=${memoryPath},share=on`,
    "-global",
    `armv7m.init-nsvtor=0x${MPS2_RAM_BASE.toString(16)}`,
    "-display",
    "none",
    "-monitor",
    "none",
    "-nodefaults",
    "-chardev",
    `socket,id=amp-con,path=${sockets.console}${srv}`,
    "-serial",
    "chardev:amp-con",
    "-chardev",
    `socket,id=amp-db,path=${sockets.doorbell}${srv}`,
    "-serial",
    "chardev:amp-db",
    "-chardev",
    `socket,id=amp-qmp,path=${sockets.qmp}${srv}`,
    "-mon",
    "chardev=amp-qmp,mode=control",
    "-semihosting-config",
    "enable=on,target=native",
  ];
  if (sockets.gdb !== undefined)
    args.push("-chardev", `socket,id=amp-gdb,path=${sockets.gdb},server=on,wait=off`, "-gdb", "chardev:amp-gdb");
  if (halted) args.push("-S");
  args.push(...extraArgs);
  return args;
}

/** Options of {@link QemuMachine.launch}. */
export interface QemuLaunchOptions {
  /** The RAM file; must exist with 16 MiB (FileMemory.open(path, { size: MPS2_RAM_SIZE })). */
  readonly memoryPath: string;
  /** Directory for the sockets (default: a fresh temporary directory, removed on quit). */
  readonly runDir?: string;
  /** The QEMU binary (default "qemu-system-arm" on PATH). */
  readonly qemu?: string;
  readonly board?: Mps2Board;
  /** Open a gdbstub on a unix socket in runDir (default false). */
  readonly gdb?: boolean;
  readonly extraArgs?: readonly string[];
  /** Time limit for QEMU to start and connect (default 10 s). */
  readonly startTimeoutMs?: number;
}

/** Options of {@link QemuMachine.connect} (late attach to a QEMU started with role "server"). */
export interface QemuConnectOptions {
  readonly sockets: QemuSocketPaths;
  /** Time limit to connect (default 10 s). */
  readonly timeoutMs?: number;
}

/** How the QEMU process ended. */
export interface QemuExit {
  readonly code: number | null;
  readonly signal: string | null;
  /** Last lines QEMU wrote on stderr (e.g. "qemu: fatal: Lockup..."). */
  readonly stderr: string;
}

const CONSOLE_KEEP = 64 * 1024;

/**
 * A running (or halted) QEMU: lifecycle over QMP, console text, doorbell bytes, registers.
 * It does not touch the RAM file; the driver owns it.
 *
 * @example
 * const m = await QemuMachine.launch({ memoryPath });
 * // ... host writes the image into the file ...
 * await m.reset(); await m.cont();
 */
export class QemuMachine {
  readonly qmp: QmpClient;
  readonly sockets: QemuSocketPaths;
  /** Process id when this host launched QEMU; undefined after {@link connect}. */
  readonly pid: number | undefined;
  private readonly child: ChildProcess | undefined;
  private readonly conSocket: Socket;
  private readonly dbSocket: Socket;
  private readonly listeners: SocketListener[];
  private readonly ownedRunDir: string | undefined;
  private consoleBuf = "";
  private stderrBuf = "";
  private readonly consoleListeners = new Set<(text: string) => void>();
  private readonly doorbellListeners = new Set<(byte: number) => void>();
  private readonly exitListeners = new Set<(exit: QemuExit) => void>();
  private exitInfo: QemuExit | undefined;
  /** Resolves when the QEMU process (or, after connect, the QMP connection) ends. */
  readonly exited: Promise<QemuExit>;
  private resolveExit!: (e: QemuExit) => void;

  private constructor(init: {
    qmp: QmpClient;
    sockets: QemuSocketPaths;
    child: ChildProcess | undefined;
    console: Socket;
    doorbell: Socket;
    listeners: SocketListener[];
    ownedRunDir: string | undefined;
    stderr: () => string;
  }) {
    this.qmp = init.qmp;
    this.sockets = init.sockets;
    this.child = init.child;
    this.pid = init.child?.pid;
    this.conSocket = init.console;
    this.dbSocket = init.doorbell;
    this.listeners = init.listeners;
    this.ownedRunDir = init.ownedRunDir;
    this.exited = new Promise((resolve) => {
      this.resolveExit = resolve;
    });
    this.conSocket.setEncoding("latin1");
    this.conSocket.on("data", (t: string) => {
      this.consoleBuf = (this.consoleBuf + t).slice(-CONSOLE_KEEP);
      for (const l of [...this.consoleListeners]) l(t);
    });
    this.dbSocket.on("data", (b: Buffer) => {
      for (const byte of b) for (const l of [...this.doorbellListeners]) l(byte);
    });
    for (const s of [this.conSocket, this.dbSocket]) s.on("error", () => undefined);
    if (this.child) {
      this.child.on("exit", (code, signal) => {
        this.finish({ code, signal, stderr: init.stderr() });
      });
    } else {
      this.qmp.onEvent(() => undefined);
      this.dbSocket.on("close", () => {
        this.finish({ code: null, signal: null, stderr: "" });
      });
    }
  }

  /**
   * Spawns QEMU halted (`-S`, state "prelaunch") and waits until it connected QMP, the console and
   * the doorbell. Load the image into the RAM file, then {@link reset} and {@link cont}.
   *
   * @throws AmpError ERR_QEMU_SPAWN (binary missing), ERR_QEMU_EXITED (QEMU refused the command
   *   line: the message holds its stderr), ERR_TIMEOUT.
   */
  static async launch(options: QemuLaunchOptions): Promise<QemuMachine> {
    const {
      memoryPath,
      qemu = "qemu-system-arm",
      board = "mps2-an386",
      gdb = false,
      extraArgs = [],
      startTimeoutMs = 10_000,
    } = options;
    const ownedRunDir = options.runDir === undefined ? mkdtempSync(join(tmpdir(), "amp-qemu-")) : undefined;
    const runDir = options.runDir ?? ownedRunDir ?? tmpdir();
    const sockets: QemuSocketPaths = {
      qmp: join(runDir, "qmp.sock"),
      console: join(runDir, "console.sock"),
      doorbell: join(runDir, "doorbell.sock"),
      ...(gdb ? { gdb: join(runDir, "gdb.sock") } : {}),
    };
    const listeners: SocketListener[] = [];
    let child: ChildProcess | undefined;
    try {
      for (const p of [sockets.qmp, sockets.console, sockets.doorbell]) listeners.push(await listenUnix(p));
      if (sockets.gdb !== undefined) rmSync(sockets.gdb, { force: true });
      const args = qemuArgs({ memoryPath, sockets, role: "client", board, halted: true, extraArgs });
      let stderr = "";
      const spawned = spawn(qemu, args, { stdio: ["ignore", "ignore", "pipe"] });
      child = spawned;
      spawned.stderr.setEncoding("utf8");
      spawned.stderr.on("data", (t: string) => {
        stderr = (stderr + t).slice(-4096);
      });
      const failed = new Promise<never>((_, reject) => {
        spawned.once("error", (e) => {
          reject(new AmpError<QemuErrorCode>("ERR_QEMU_SPAWN", `cannot start ${qemu}: ${e.message}`, { cause: e }));
        });
        spawned.once("exit", (code, signal) => {
          reject(
            new AmpError<QemuErrorCode>(
              "ERR_QEMU_EXITED",
              `${qemu} exited during start-up (code ${code}, signal ${signal}): ${cleanStderr(stderr)}`,
            ),
          );
        });
      });
      failed.catch(() => undefined);
      const [qmpSock, conSock, dbSock] = await Promise.race([
        Promise.all(listeners.map((l) => l.accept(startTimeoutMs))),
        failed,
      ]);
      const qmp = await Promise.race([QmpClient.handshake(qmpSock as Socket, startTimeoutMs), failed]);
      const m = new QemuMachine({
        qmp,
        sockets,
        child: spawned,
        console: conSock as Socket,
        doorbell: dbSock as Socket,
        listeners,
        ownedRunDir,
        stderr: () => stderr,
      });
      if (spawned.exitCode !== null || spawned.signalCode !== null) {
        m.finish({ code: spawned.exitCode, signal: spawned.signalCode, stderr });
      }
      return m;
    } catch (e) {
      child?.kill("SIGKILL");
      for (const l of listeners) l.close();
      if (ownedRunDir !== undefined) rmSync(ownedRunDir, { recursive: true, force: true });
      throw e;
    }
  }

  /**
   * Connects to a QEMU that someone else started with `qemuArgs({ role: "server" })` (late
   * attach). `quit()` then ends that QEMU; `disconnect()` leaves it running.
   *
   * @throws AmpError ERR_QEMU_CLOSED (nothing listens there), ERR_TIMEOUT.
   */
  static async connect(options: QemuConnectOptions): Promise<QemuMachine> {
    const { sockets, timeoutMs = 10_000 } = options;
    const qmpSock = await connectUnix(sockets.qmp, timeoutMs);
    const conSock = await connectUnix(sockets.console, timeoutMs);
    const dbSock = await connectUnix(sockets.doorbell, timeoutMs);
    try {
      const qmp = await QmpClient.handshake(qmpSock, timeoutMs);
      return new QemuMachine({
        qmp,
        sockets,
        child: undefined,
        console: conSock,
        doorbell: dbSock,
        listeners: [],
        ownedRunDir: undefined,
        stderr: () => "",
      });
    } catch (e) {
      for (const s of [qmpSock, conSock, dbSock]) s.destroy();
      throw e;
    }
  }

  /** True once QEMU ended (or the connection to it). */
  get hasExited(): boolean {
    return this.exitInfo !== undefined;
  }

  /** QMP `query-status`: "prelaunch", "running", "paused", "shutdown", "guest-panicked"... */
  async status(): Promise<string> {
    const r = (await this.qmp.execute("query-status")) as { status?: unknown } | undefined;
    return typeof r?.status === "string" ? r.status : "unknown";
  }

  /**
   * `system_reset`: the CPU reloads SP and PC from the vector table at 0x21000000. A stopped VM
   * stays stopped. Guest-requested resets are turned into a pause (see {@link launch}), so the
   * reset policy is switched to "reset" around the command.
   */
  async reset(): Promise<void> {
    await this.qmp.execute("set-action", { reboot: "reset" });
    await this.qmp.execute("system_reset");
    await this.qmp.execute("set-action", { reboot: "shutdown", shutdown: "pause" });
  }

  /** `cont`: run. */
  async cont(): Promise<void> {
    await this.qmp.execute("cont");
  }

  /** `stop`: freeze the CPU exactly where it is. */
  async stop(): Promise<void> {
    await this.qmp.execute("stop");
  }

  /**
   * Makes a guest-requested reset (SYSRESETREQ) or power-off pause the VM with its state intact
   * and report SHUTDOWN {guest: true}: the host then treats it as a crash instead of QEMU silently
   * rebooting. Called by the driver once after launch.
   */
  async pauseOnGuestReset(): Promise<void> {
    await this.qmp.execute("set-action", { reboot: "shutdown", shutdown: "pause" });
  }

  /** CPU registers from HMP `info registers` (r0..r15, xpsr, and the FPU registers QEMU prints). */
  async registers(): Promise<CpuRegisters> {
    return parseRegisters(await this.qmp.hmp("info registers"));
  }

  /** Rings the doorbell: one byte on UART1, which raises the UART1 RX interrupt in the guest. */
  ring(byte = 0): void {
    if (this.exitInfo === undefined) this.dbSocket.write(Uint8Array.of(byte & 0xff));
  }

  /** Doorbell bytes from the guest (UART1 TX); returns the unsubscribe function. */
  onDoorbell(listener: (byte: number) => void): () => void {
    this.doorbellListeners.add(listener);
    return () => this.doorbellListeners.delete(listener);
  }

  /** Console text (UART0) as it arrives; returns the unsubscribe function. */
  onConsole(listener: (text: string) => void): () => void {
    this.consoleListeners.add(listener);
    return () => this.consoleListeners.delete(listener);
  }

  /** The last 64 KiB of console text. */
  consoleText(): string {
    return this.consoleBuf;
  }

  /** QMP events; returns the unsubscribe function. */
  onEvent(listener: (e: QmpEvent) => void): () => void {
    return this.qmp.onEvent(listener);
  }

  /** Called once when QEMU ends; returns the unsubscribe function. */
  onExit(listener: (exit: QemuExit) => void): () => void {
    this.exitListeners.add(listener);
    return () => this.exitListeners.delete(listener);
  }

  /**
   * Ends QEMU: QMP `quit`, then SIGKILL if it has not exited within `timeoutMs`. Idempotent.
   * Removes the sockets (and the run directory it created).
   */
  async quit(timeoutMs: number = QMP_DEFAULT_TIMEOUT_MS): Promise<QemuExit> {
    if (this.exitInfo === undefined) {
      await this.qmp.execute("quit", undefined, timeoutMs).catch(() => undefined); // may close before replying
      if (this.child) {
        const timer = setTimeout(() => this.child?.kill("SIGKILL"), timeoutMs);
        await this.exited;
        clearTimeout(timer);
      } else {
        this.finish({ code: null, signal: null, stderr: "" });
      }
    }
    return this.exited;
  }

  /** Closes this host's connections and leaves QEMU running (detach). */
  disconnect(): void {
    this.qmp.close();
    this.conSocket.destroy();
    this.dbSocket.destroy();
    this.finish({ code: null, signal: null, stderr: "" });
  }

  private finish(exit: QemuExit): void {
    if (this.exitInfo) return;
    this.exitInfo = exit;
    this.qmp.close();
    this.conSocket.destroy();
    this.dbSocket.destroy();
    for (const l of this.listeners) l.close();
    if (this.ownedRunDir !== undefined) rmSync(this.ownedRunDir, { recursive: true, force: true });
    for (const l of [...this.exitListeners]) l(exit);
    this.resolveExit(exit);
  }
}

function cleanStderr(s: string): string {
  return s
    .split("\n")
    .filter((l) => l.trim() !== "" && !l.includes("has no peer"))
    .join(" | ")
    .trim();
}
