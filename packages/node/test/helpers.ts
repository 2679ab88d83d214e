// Shared set-up of the worker-processor tests: the CPU worker and the echo firmware, bundled
// from sources once per test file.
import { fileURLToPath } from "node:url";
import { FW_RSC_ADDR_ANY } from "@amp/resource-table";
import { buildJsFirmware } from "@amp/node";
import { bundleForWorker, bundleToString } from "@amp/test-utils";

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));

/** The CPU worker entry, bundled (the tests run from TypeScript sources). */
export function cpuWorkerEntry(): Promise<string> {
  return bundleForWorker(here("../src/internal/cpu-worker.ts"));
}

/** The usual rpmsg table with small rings (fast tests). */
export const SMALL_RPMSG_TABLE = {
  entries: [
    {
      kind: "vdev" as const,
      id: 7,
      dfeatures: 1,
      vrings: [
        { align: 4096, num: 16 },
        { align: 4096, num: 16 },
      ],
    },
    { kind: "trace" as const, da: FW_RSC_ADDR_ANY, len: 2048, name: "trace" },
  ],
};

/** The echo firmware as a JS-firmware ELF. */
export async function echoFirmware(): Promise<Uint8Array> {
  const program = await bundleToString(here("./fixtures/echo-firmware.ts"), { format: "esm", platform: "neutral" });
  return buildJsFirmware({ program, resourceTable: SMALL_RPMSG_TABLE });
}

/** A firmware from inline program text (already one module). */
export function inlineFirmware(program: string): Uint8Array {
  return buildJsFirmware({ program, resourceTable: SMALL_RPMSG_TABLE });
}

/** Resolves when `predicate` holds, polling; rejects after `ms`. */
export async function until(predicate: () => boolean, ms = 10_000, what = "condition"): Promise<void> {
  const end = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Polls `cond` every `everyMs` until it returns a value other than undefined/false, or throws after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  cond: () => T | undefined | false,
  timeoutMs = 10_000,
  everyMs = 2,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = cond();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
