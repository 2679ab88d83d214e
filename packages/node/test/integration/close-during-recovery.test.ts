// WorkerRemote.close() while a crash is being recovered (issue 15 item 4). close() is called from
// hooks in each recovery stage (no sleeping): at the crash, while the old CPU is stopped, while
// the firmware is fetched and verified, while the new CPU starts (before its worker is online),
// while rpmsg binds, and after recovery. Afterwards no worker may run, no memory may stay
// allocated, and the manager's queue must be free (the lock not held forever).
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { createElfLoader, type FirmwareLoader, type FirmwareSource } from "@amp/remoteproc-core";
import { createWorkerRemote, WorkerProcessor, type WorkerRemote } from "@amp/node";
import { cpuWorkerEntry, echoFirmware } from "../helpers.ts";

let entry: string;
let echo: Uint8Array;
const remotes: WorkerRemote[] = [];

beforeAll(async () => {
  entry = await cpuWorkerEntry();
  echo = await echoFirmware();
});

afterEach(async () => {
  for (const r of remotes.splice(0)) await within(r.close(), 20_000, "cleanup close").catch(() => undefined);
});

/** Hang guard: rejects when `p` has not settled after `ms` (the bug this file is about is a hang). */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          reject(new Error(`${what} did not settle within ${ms} ms`));
        }, ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

type Stage =
  | "crash event"
  | "stopping the old CPU"
  | "fetching firmware"
  | "verifying firmware"
  | "starting the new CPU"
  | "binding rpmsg"
  | "after recovery";

/**
 * A remote whose recovery calls `close()` at `stage`. Returns the remote and a promise of the
 * close() started by the hook (resolved once the hook ran and close finished).
 */
function remoteClosingAt(stage: Stage): { remote: WorkerRemote; closed: Promise<void> } {
  let crashed = false;
  let fire: (() => void) | undefined;
  let closing: Promise<void> | undefined;
  const closed = new Promise<void>((resolve, reject) => {
    fire = () => {
      if (closing !== undefined) return;
      closing = remote.close();
      closing.then(resolve, reject);
    };
  });
  const at = (s: Stage): void => {
    if (crashed && s === stage) fire?.();
  };
  let gets = 0;
  const firmwareSource: FirmwareSource = {
    get: () => {
      if (++gets > 1) at("fetching firmware");
      return echo;
    },
  };
  const inner = createElfLoader();
  let loads = 0;
  const loader: FirmwareLoader = {
    loadAndVerify: (image, context) => {
      if (++loads > 1) at("verifying firmware");
      return inner.loadAndVerify(image, context);
    },
    release: (fw) => inner.release(fw),
  };
  const remote = createWorkerRemote({
    firmware: "echo.elf",
    firmwareSource,
    loader,
    recovery: "enabled",
    processor: { workerEntry: entry, sramSize: 0x100000, ddrSize: 0x100000 },
  });
  remotes.push(remote);
  const p = remote.processor;
  // The processor is the core's driver: hooking its methods hooks the recovery steps.
  const stop = p.stop.bind(p);
  p.stop = async () => {
    at("stopping the old CPU");
    await stop();
  };
  const start = p.start.bind(p);
  p.start = (bootAddr) => {
    const started = start(bootAddr); // the worker exists now, and is not online yet
    at("starting the new CPU");
    return started;
  };
  remote.onRpmsg(() => {
    at("binding rpmsg");
  });
  remote.rproc.on("crash", () => {
    crashed = true;
    at("crash event");
  });
  remote.rproc.on("state", (e) => {
    if (e.from === "crashed" && e.to === "running") at("after recovery");
  });
  return { remote, closed };
}

const STAGES: Stage[] = [
  "crash event",
  "stopping the old CPU",
  "fetching firmware",
  "verifying firmware",
  "starting the new CPU",
  "binding rpmsg",
  "after recovery",
];

describe("WorkerRemote.close() during crash recovery", () => {
  for (const stage of STAGES) {
    it(`leaves no worker and no memory when called ${stage === "after recovery" ? "right after recovery" : `while ${stage}`}`, async () => {
      const { remote, closed } = remoteClosingAt(stage);
      await remote.rproc.boot();
      expect(remote.processor.running).toBe(true);
      expect(remote.rproc.allocatedBytes).toBeGreaterThan(0);
      // What the processor does when its watchdog bites: report the crash to the core.
      void remote.rproc.reportCrash("watchdog");
      await within(closed, 15_000, "close()");
      // A barrier: detach() is queued behind everything already queued (the recovery) and
      // changes nothing here (never attached), so once it settles the recovery is over.
      await within(
        remote.rproc.detach().catch(() => undefined),
        15_000,
        "the manager's queue (recovery still holding the lock)",
      );
      expect(remote.processor.running).toBe(false);
      expect(remote.rproc.allocatedBytes).toBe(0);
      expect(["offline", "deleted"]).toContain(remote.rproc.state);
      await within(
        remote.rproc.delete().catch(() => undefined),
        15_000,
        "delete()",
      );
      expect(remote.rproc.state).toBe("deleted");
      expect(remote.processor.running).toBe(false);
    });
  }

  it("releases a remote left crashed (recovery disabled)", async () => {
    const remote = createWorkerRemote({
      firmware: "echo.elf",
      firmwareSource: { get: () => echo },
      recovery: "disabled",
      processor: { workerEntry: entry, sramSize: 0x100000, ddrSize: 0x100000 },
    });
    remotes.push(remote);
    await remote.rproc.boot();
    await remote.rproc.reportCrash("watchdog");
    expect(remote.rproc.state).toBe("crashed");
    expect(remote.rproc.allocatedBytes).toBeGreaterThan(0);
    await within(remote.close(), 15_000, "close()");
    expect(remote.processor.running).toBe(false);
    expect(remote.rproc.allocatedBytes).toBe(0);
    await within(
      remote.rproc.delete().catch(() => undefined),
      15_000,
      "delete()",
    );
  });

  it("shuts a running remote down to offline, as before", async () => {
    const remote = createWorkerRemote({
      firmware: "echo.elf",
      firmwareSource: { get: () => echo },
      processor: { workerEntry: entry, sramSize: 0x100000, ddrSize: 0x100000 },
    });
    remotes.push(remote);
    await remote.rproc.boot();
    const states: string[] = [];
    remote.rproc.on("state", (e) => states.push(`${e.from}->${e.to}`));
    await remote.close();
    await remote.close(); // idempotent
    expect(states).toEqual(["running->offline"]);
    expect(remote.processor.running).toBe(false);
  });
});

describe("WorkerProcessor.start", () => {
  it("settles when the processor is stopped before its worker comes online", async () => {
    const p = new WorkerProcessor({ workerEntry: entry, sramSize: 0x10000, ddrSize: 0x10000 });
    const started = p.start(0x1000n);
    await p.stop();
    const outcome = await within(
      started.then(
        () => "resolved",
        (e: unknown) => (e instanceof Error ? e.message : String(e)),
      ),
      10_000,
      "start()",
    );
    expect(outcome).toMatch(/stopped before/);
    expect(p.running).toBe(false);
  });
});
