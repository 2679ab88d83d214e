// One call that puts it all together for a person or a CLI (`amp run --machine qemu fw.elf`):
// a Remoteproc (life cycle, resource table, recovery) over a QemuDriver, with the rpmsg host
// (@amp/rpmsg, Linux's role) bound to every rpmsg vdev (virtio id 7) the firmware declares, and
// crash coredumps that hold the registers (gdb-multiarch fw.elf core; bt).
import {
  createMemoryFirmwareSource,
  createRemoteproc,
  CrashType,
  parseTraceBuffer,
  traceNoteFor,
} from "@amp/remoteproc-core";
import type { CoredumpMode, CoredumpSink, RecoveryMode, Remoteproc } from "@amp/remoteproc-core";
import type { RpmsgHost } from "@amp/rpmsg";
import { trackRpmsgHosts } from "../internal/rpmsg-hosts.js";
import { QemuDriver } from "./driver.js";
import type { QemuCrashReport, QemuDriverOptions } from "./driver.js";
import { checkImage } from "./image.js";

/** Options of {@link createQemuRemoteproc}. */
export interface QemuRemoteprocOptions extends QemuDriverOptions {
  /** The firmware ELF (e.g. `fs.readFileSync("amp-echo.elf")`). */
  readonly firmware: Uint8Array;
  /** Remote processor name (default "qemu-m4"). */
  readonly name?: string;
  /** Recovery after a crash (default "enabled"). */
  readonly recovery?: RecoveryMode;
  /** The core's carveout coredump (default "disabled"); the driver's `crashCoredumpPath` adds registers. */
  readonly coredump?: CoredumpMode;
  readonly coredumpSink?: CoredumpSink;
  /** Bind an rpmsg host to rpmsg vdevs (default true). */
  readonly rpmsg?: boolean;
}

/** What {@link createQemuRemoteproc} returns. */
export interface QemuRemoteproc {
  readonly rproc: Remoteproc;
  readonly driver: QemuDriver;
  /** The rpmsg host of the running firmware (a new one after each recovery), if any. */
  readonly rpmsg: RpmsgHost | undefined;
  /** Calls `listener` with each new rpmsg host (boot, attach, recovery); returns the unsubscribe function. */
  onRpmsg(listener: (host: RpmsgHost) => void): () => void;
  /** Crash reports of the driver (fault record, QEMU events), as they happen. */
  onCrash(listener: (report: QemuCrashReport) => void): () => void;
  /** Shuts the remote down if running (detaches if attached), deletes it, ends QEMU, closes the RAM file. */
  close(): Promise<void>;
}

/**
 * Creates a remote processor running `firmware` on QEMU mps2-an386. Call `rproc.boot()` to start
 * it (or, with `attach`, to attach to a running QEMU), then talk to it through `rpmsg`.
 *
 * @example
 * const q = createQemuRemoteproc({ firmware: readFileSync("amp-echo.elf") });
 * const host = new Promise<RpmsgHost>((r) => q.onRpmsg(r));
 * await q.rproc.boot();
 * const echo = await (await host).waitForService("rpmsg-echo", { timeoutMs: 5000 });
 *
 * @throws the errors of {@link checkImage} for an image that cannot run there.
 */
export function createQemuRemoteproc(options: QemuRemoteprocOptions): QemuRemoteproc {
  // A plain copy: a Node Buffer's slice() is a view, not a copy, which code written for
  // Uint8Array does not expect.
  const firmware = new Uint8Array(options.firmware);
  checkImage(firmware);
  const driver = new QemuDriver(options);
  const name = options.name ?? "qemu-m4";
  const firmwareName = `rproc-${name}-fw`;
  const rproc = createRemoteproc({
    name,
    driver,
    firmware: firmwareName,
    firmwareSource: createMemoryFirmwareSource({ [firmwareName]: firmware }),
    regions: driver.regions,
    initialState: options.attach === undefined ? "offline" : "detached",
    recovery: options.recovery ?? "enabled",
    coredump: options.coredump ?? "disabled",
    coredumpElf: { elfClass: 32, machine: 40 },
    ...(options.coredumpSink === undefined ? {} : { coredumpSink: options.coredumpSink }),
  });
  const crashListeners = new Set<(r: QemuCrashReport) => void>();

  driver.onInterrupt = (id) => {
    rproc.handleInterrupt(id);
  };
  // The last trace records before the crash, readable without the buffer's address.
  driver.crashNotes = () =>
    rproc.traces.flatMap((t) => {
      const raw = t.readRaw();
      return raw === undefined ? [] : [traceNoteFor(parseTraceBuffer(raw))];
    });
  driver.onCrash = (report) => {
    for (const l of [...crashListeners]) l(report);
    void rproc.reportCrash(report.type === "watchdog" ? CrashType.WATCHDOG : CrashType.FATAL_ERROR);
  };

  const rpmsg = (options.rpmsg ?? true) ? trackRpmsgHosts(rproc) : undefined;

  return {
    rproc,
    driver,
    get rpmsg() {
      return rpmsg?.current;
    },
    onRpmsg(listener) {
      return (
        rpmsg?.onHost((host) => {
          listener(host);
        }) ?? (() => undefined)
      );
    },
    onCrash(listener) {
      crashListeners.add(listener);
      return () => crashListeners.delete(listener);
    },
    async close() {
      if (rproc.state !== "deleted") await rproc.delete().catch(() => undefined);
      await driver.dispose();
    },
  };
}
