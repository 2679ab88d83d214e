// The late-attach set-up the QEMU tests share: a launcher (as a script outside @amp would be)
// starts QEMU with the firmware already loaded and running and its sockets in server mode; the
// host then attaches to it with the table location taken from the ELF.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll } from "vitest";
import { makeTempDir } from "@amp/test-utils";
import {
  AMPQ_CTRL_DA,
  AmpqCtrl,
  AmpqMode,
  AmpqState,
  FileMemory,
  MPS2_RAM_BASE,
  MPS2_RAM_SIZE,
  checkImage,
  createQemuRemoteproc,
  loadImage,
  qemuArgs,
  type QemuRemoteproc,
} from "@amp/node";
import type { RpmsgHost } from "@amp/rpmsg";
import { ramDir, waitFor } from "./helpers.ts";

/** Offset of the firmware's control block in the RAM file. */
const CTRL = AMPQ_CTRL_DA - MPS2_RAM_BASE;

/** Where a late-attach suite's QEMU lives; its process is killed and its RAM file removed after the suite. */
export interface LateAttachSetup {
  readonly memoryPath: string;
  readonly sockets: { qmp: string; console: string; doorbell: string };
  /** The running QEMU, once launched. */
  child: ChildProcess | undefined;
}

/** Registers the suite's clean-up; call it inside describe(). `name` names the temp dir and RAM file. */
export function useLateAttach(name: string): LateAttachSetup {
  const dir = makeTempDir(`amp-${name}-`);
  const setup: LateAttachSetup = {
    memoryPath: join(ramDir(), `amp-${name}-${process.pid}.mem`),
    sockets: { qmp: join(dir, "qmp.sock"), console: join(dir, "con.sock"), doorbell: join(dir, "db.sock") },
    child: undefined,
  };
  afterAll(() => {
    setup.child?.kill("SIGKILL");
    rmSync(setup.memoryPath, { force: true });
  });
  return setup;
}

/** The launched firmware as the test watches it through the RAM file. */
export interface LaunchedFirmware {
  /** The RAM file (the test closes it). */
  readonly mem: FileMemory;
  /** QEMU. */
  readonly child: ChildProcess;
  /** The firmware's boot count when it first waited for DRIVER_OK. */
  readonly boots: number;
  /** The firmware's current boot count. */
  readonly bootCount: () => number;
  /** Resolves once the firmware waits for DRIVER_OK again (after a detach). */
  readonly waitingAgain: (what: string) => Promise<void>;
}

/**
 * The launcher: loads `image` into the RAM file, starts QEMU running (interrupt mode, sockets in
 * server mode) and waits until the firmware waits for DRIVER_OK and the doorbell socket exists.
 */
export async function launchRunning(setup: LateAttachSetup, image: Uint8Array): Promise<LaunchedFirmware> {
  const mem = FileMemory.open(setup.memoryPath, { size: MPS2_RAM_SIZE });
  mem.fill(0, MPS2_RAM_SIZE, 0);
  loadImage(mem, image);
  mem.setU32(CTRL + AmpqCtrl.MODE, AmpqMode.IRQ);
  const child = spawn(
    "qemu-system-arm",
    qemuArgs({ memoryPath: setup.memoryPath, sockets: setup.sockets, role: "server", halted: false }),
    { stdio: "ignore" },
  );
  setup.child = child;
  const waiting = (): boolean => mem.getU32(CTRL + AmpqCtrl.STATE) === AmpqState.WAIT_DRIVER_OK;
  await waitFor("firmware waiting for DRIVER_OK", () => waiting() && existsSync(setup.sockets.doorbell));
  return {
    mem,
    child,
    boots: mem.getU32(CTRL + AmpqCtrl.BOOTS),
    bootCount: () => mem.getU32(CTRL + AmpqCtrl.BOOTS),
    waitingAgain: async (what) => {
      await waitFor(what, waiting);
    },
  };
}

/** The host's side: a remoteproc that attaches to the launched QEMU, and every rpmsg host it made, in order. */
export function attachTo(setup: LateAttachSetup, image: Uint8Array): { q: QemuRemoteproc; hosts: RpmsgHost[] } {
  const q = createQemuRemoteproc({
    firmware: image,
    memoryPath: setup.memoryPath,
    attach: { sockets: setup.sockets, resourceTable: checkImage(image).resourceTable! },
  });
  const hosts: RpmsgHost[] = [];
  q.onRpmsg((h) => hosts.push(h));
  return { q, hosts };
}
