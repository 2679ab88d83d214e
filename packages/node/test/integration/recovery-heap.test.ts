// The host's heap across crash/recovery cycles of a worker remote (issue 15 item 14). Each cycle
// used to keep ~1 KiB: the interrupt loop of the stopped CPU was waiting in Atomics.waitAsync,
// which cannot be cancelled, so the wait (with its closures, AbortSignal and abort error) stayed
// registered in the engine until the host's doorbell rang again, and a remote that crashes before
// it rings never rings it. Not timing-based: it counts which of the cycles' waits (the promise
// each returned: a wait the engine still holds keeps it) survive a full GC
// (bench/recovery-heap.mjs measures the bytes).
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import v8 from "node:v8";
import vm from "node:vm";
import { createMemoryFirmwareSource } from "@amp/remoteproc-core";
import { createWorkerRemote, type WorkerRemote } from "@amp/node";
import { cpuWorkerEntry, inlineFirmware } from "../helpers.ts";

v8.setFlagsFromString("--expose_gc");
const gc = vm.runInNewContext("gc") as () => void;

const CYCLES = 30;
let entry: string;
const remotes: WorkerRemote[] = [];

beforeAll(async () => {
  entry = await cpuWorkerEntry();
});

afterEach(async () => {
  for (const r of remotes.splice(0)) await r.close();
});

/** A full collection, with turns of the event loop between (WeakRefs are kept for the current job). */
async function collect(): Promise<void> {
  for (let i = 0; i < 3; i++) {
    await new Promise((r) => setImmediate(r));
    gc();
  }
}

describe("crash/recovery cycles of a worker remote", () => {
  it(`retain nothing per cycle: the stopped CPUs' interrupt waits are released (${CYCLES} cycles)`, async () => {
    // Stays alive and never rings the host's doorbell (the case that leaked without bound).
    const firmware = inlineFirmware(
      "export default async () => { setInterval(() => {}, 1000); await new Promise(() => {}); };\n",
    );
    const remote = createWorkerRemote({
      firmware: "fw.elf",
      firmwareSource: createMemoryFirmwareSource({ "fw.elf": firmware }),
      recovery: "enabled",
      processor: { workerEntry: entry, sramSize: 0x100000, ddrSize: 0x100000 },
    });
    remotes.push(remote);
    // Every start of the CPU opens one interrupt wait (this firmware never rings, so one per
    // CPU): watch the waits weakly.
    const waits: WeakRef<object>[] = [];
    const bell = remote.processor.bus.toHost;
    const wait = bell.wait.bind(bell);
    bell.wait = (options) => {
      const p = wait(options);
      waits.push(new WeakRef(p));
      return p;
    };
    await remote.rproc.boot();
    for (let i = 0; i < CYCLES; i++) {
      await remote.rproc.reportCrash("watchdog"); // settles once the recovery is done
      expect(remote.rproc.state).toBe("running");
    }
    expect(remote.rproc.crashCount).toBe(CYCLES);
    await collect();
    const alive = waits.filter((w) => w.deref() !== undefined).length;
    expect(waits.length).toBeGreaterThanOrEqual(CYCLES + 1);
    // Only the running CPU's wait may be alive; before the fix every cycle's stayed.
    expect(alive).toBeLessThanOrEqual(1);
  });
});
