// Shared set-up of the QEMU end-to-end tests: build the firmware once per run, temp RAM files.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import type { RpmsgHost } from "@amp/rpmsg";

// The polling wait every test of the package uses, re-exported for the QEMU tests.
export { waitFor } from "../helpers.ts";

export const PKG_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const FIRMWARE_DIR = join(PKG_DIR, "firmware", "qemu");
export const BUILD_DIR = join(PKG_DIR, "fixtures-build", "qemu");

/** Builds firmware/qemu/amp-echo.elf with arm-none-eabi-gcc (once per test process) and returns its bytes. */
export function buildFirmware(): { path: string; bytes: Uint8Array } {
  const out = join(BUILD_DIR, "amp-echo.elf");
  const newest = Math.max(
    ...["echo.c", "clock.c", "clock.h", "amp-qemu.h", "mps2-an386.ld", "build.sh"].map(
      (f) => statSync(join(FIRMWARE_DIR, f)).mtimeMs,
    ),
  );
  if (!existsSync(out) || statSync(out).mtimeMs < newest) {
    mkdirSync(BUILD_DIR, { recursive: true });
    execFileSync("sh", [join(FIRMWARE_DIR, "build.sh"), BUILD_DIR], { stdio: ["ignore", "pipe", "pipe"] });
  }
  return { path: out, bytes: new Uint8Array(readFileSync(out)) };
}

/** A directory for RAM files: /dev/shm when it exists (tmpfs, as qemu-remote.md measured), else the temp dir. */
export function ramDir(): string {
  return existsSync("/dev/shm") ? "/dev/shm" : (process.env["TMPDIR"] ?? "/tmp");
}

/** One echo from our firmware's "rpmsg-echo" service (at 1024), over a fresh endpoint; 5 s hang guards. */
export async function echoOnce(host: RpmsgHost, text: string): Promise<string> {
  await host.waitForService("rpmsg-echo", { timeoutMs: 5000 });
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("no echo")), 5000);
    const ep = host.createEndpoint({
      dst: 1024,
      onMessage: (m) => {
        clearTimeout(t);
        resolve(new TextDecoder().decode(m.data));
        ep.destroy();
      },
    });
    ep.send(new TextEncoder().encode(text)).catch(reject);
  });
}
