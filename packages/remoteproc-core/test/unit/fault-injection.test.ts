// Fault injection at every step of boot, stop, recovery, attach and detach: the error names the
// step, the state is consistent, and every acquired resource is released.
import { describe, expect, it } from "vitest";
import { serializeResourceTable } from "@amp/resource-table";
import { isStepError, type LifecycleStep } from "@amp/remoteproc-core";
import { RSC_DA, RecordingSubdevice, firmware, makePlatform, preinstall, type Platform } from "../helpers/fixture.ts";

function expectClean(p: Platform, subs: RecordingSubdevice[] = []): void {
  expect(p.rproc.power).toBe(0);
  expect(p.rproc.allocatedBytes).toBe(0);
  expect(p.driver.prepared).toBe(0);
  expect(p.driver.running).toBe(false);
  expect(p.loader.releases).toBe(p.loader.loads);
  for (const s of subs) expect(s.state).toBe("idle");
  expect(p.rproc.vdevs).toEqual([]);
}

async function stepOf(promise: Promise<unknown>): Promise<LifecycleStep | "ok"> {
  try {
    await promise;
    return "ok";
  } catch (e) {
    if (!isStepError(e)) throw e;
    return e.step;
  }
}

interface BootCase {
  step: LifecycleStep;
  setup: (p: Platform, sub: RecordingSubdevice) => void;
  options?: Parameters<typeof makePlatform>[0];
}

const bootCases: BootCase[] = [
  {
    step: "firmware",
    setup: (p) => {
      p.source.delete("fw.elf");
    },
  },
  {
    step: "loadAndVerify",
    setup: (p) => {
      p.loader.failLoad = true;
    },
  },
  {
    step: "loadAndVerify",
    setup: (p) => {
      p.source.set("fw.elf", new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 9]));
    },
  },
  {
    step: "prepare",
    setup: (p) => {
      p.driver.fail.add("prepare");
    },
  },
  {
    step: "resource table",
    setup: (p) => {
      p.source.set("fw.elf", firmware({ table: new Uint8Array(8) }));
    },
  },
  {
    step: "register resources",
    setup: (p) => {
      Object.assign(p.driver, {
        handleResource: () => {
          throw new Error("vendor says no");
        },
      });
      p.source.set(
        "fw.elf",
        firmware({
          table: serializeResourceTable({
            entries: [
              { kind: "carveout", name: "c", len: 0x1000 },
              { kind: "vendor", type: 300, data: new Uint8Array(4) },
            ],
          }),
        }),
      );
    },
  },
  {
    step: "amend resources",
    setup: () => undefined,
    options: { resources: [{ kind: "carveout", name: "ddr", len: 1 }] },
  },
  {
    step: "allocate",
    setup: (p) => {
      p.source.set(
        "fw.elf",
        firmware({
          table: serializeResourceTable({
            entries: [
              { kind: "carveout", name: "a", len: 0x1000 },
              { kind: "carveout", name: "huge", len: 0x10_0000 },
            ],
          }),
        }),
      );
    },
  },
  {
    step: "load segments",
    setup: (p) => {
      p.loader.failSegments = true;
    },
  },
  {
    step: "load segments",
    setup: (p) => {
      p.source.set(
        "fw.elf",
        firmware({ table: null, entry: 0 }).map((b, i) => (i === 67 ? 0x7f : b)),
      );
    },
  },
  {
    step: "install table",
    setup: (p) => {
      p.source.set("fw.elf", firmware({ table: null }));
      p.driver.tableLocation = 0x7000_0000;
    },
    options: { resources: [{ kind: "carveout", name: "x", len: 0x1000 }] },
  },
  {
    step: "prepare subdevices",
    setup: (_p, s) => {
      s.fail.add("prepare");
    },
  },
  {
    step: "start",
    setup: (p) => {
      p.driver.fail.add("start");
    },
  },
  {
    step: "start subdevices",
    setup: (_p, s) => {
      s.fail.add("start");
    },
  },
];

describe("fault injection: boot", () => {
  for (const c of bootCases) {
    it(`a failure at "${c.step}" is reported as that step and releases everything`, async () => {
      const p = makePlatform(c.options ?? {});
      const first = new RecordingSubdevice("first", p.driver.log);
      const sub = new RecordingSubdevice("sub", p.driver.log);
      p.rproc.addSubdevice(first);
      p.rproc.addSubdevice(sub);
      c.setup(p, sub);
      const states: string[] = [];
      p.rproc.on("state", (e) => states.push(e.to));
      expect(await stepOf(p.rproc.boot())).toBe(c.step);
      expect(p.rproc.state).toBe("offline");
      expect(states).toEqual([]);
      expectClean(p, [first, sub]);
      if (c.step === "start subdevices") expect(p.driver.log).toContain("first.stop(true)");
    });
  }

  it("after a failed boot, a good boot works", async () => {
    const p = makePlatform();
    p.driver.failOnce.add("start");
    expect(await stepOf(p.rproc.boot())).toBe("start");
    expect(await stepOf(p.rproc.boot())).toBe("ok");
    expect(p.rproc.state).toBe("running");
  });
});

describe("fault injection: shutdown", () => {
  it("a failing driver stop changes nothing: still running, subdevices restarted", async () => {
    const p = makePlatform();
    const sub = new RecordingSubdevice("sub", p.driver.log);
    p.rproc.addSubdevice(sub);
    await p.rproc.boot();
    p.driver.failOnce.add("stop");
    expect(await stepOf(p.rproc.shutdown())).toBe("stop");
    expect(p.rproc.state).toBe("running");
    expect(p.rproc.power).toBe(1);
    expect(sub.state).toBe("started");
    expect(p.rproc.resourceTableLocation).toBeDefined();
    expect(await stepOf(p.rproc.shutdown())).toBe("ok");
    expectClean(p, [sub]);
  });

  for (const hook of ["stop", "unprepare"] as const) {
    it(`a failing subdevice ${hook} does not stop the teardown; the error names it`, async () => {
      const p = makePlatform();
      const sub = new RecordingSubdevice("sub", p.driver.log);
      p.rproc.addSubdevice(sub);
      await p.rproc.boot();
      sub.fail.add(hook);
      expect(await stepOf(p.rproc.shutdown())).toBe(hook === "stop" ? "stop subdevices" : "unprepare subdevices");
      expect(p.rproc.state).toBe("offline");
      expectClean(p, [sub]);
    });
  }

  it("a failing driver unprepare or snapshot hook is reported after a complete release", async () => {
    const p = makePlatform();
    await p.rproc.boot();
    p.driver.fail.add("unprepare");
    expect(await stepOf(p.rproc.shutdown())).toBe("release");
    expect(p.rproc.state).toBe("offline");
    expect(p.rproc.allocatedBytes).toBe(0);
    p.driver.fail.delete("unprepare");
    await p.rproc.boot();
    expect(
      await stepOf(
        p.rproc.shutdown({
          beforeRelease: () => {
            throw new Error("snapshot failed");
          },
        }),
      ),
    ).toBe("coredump");
    expect(p.rproc.allocatedBytes).toBe(0);
  });
});

interface RecoveryCase {
  step: LifecycleStep;
  inject: (p: Platform, sub: RecordingSubdevice) => void;
  heal: (p: Platform, sub: RecordingSubdevice, fw: Uint8Array) => void;
}

const recoveryCases: RecoveryCase[] = [
  {
    step: "stop",
    inject: (p) => {
      p.driver.fail.add("stop");
    },
    heal: (p) => {
      p.driver.fail.delete("stop");
    },
  },
  {
    step: "firmware",
    inject: (p) => {
      p.source.delete("fw.elf");
    },
    heal: (p, _s, fw) => {
      p.source.set("fw.elf", fw);
    },
  },
  {
    step: "loadAndVerify",
    inject: (p) => {
      p.loader.failLoad = true;
    },
    heal: (p) => {
      p.loader.failLoad = false;
    },
  },
  {
    step: "load segments",
    inject: (p) => {
      p.loader.failSegments = true;
    },
    heal: (p) => {
      p.loader.failSegments = false;
    },
  },
  {
    step: "prepare subdevices",
    inject: (_p, s) => {
      s.fail.add("prepare");
    },
    heal: (_p, s) => {
      s.fail.delete("prepare");
    },
  },
  {
    step: "start",
    inject: (p) => {
      p.driver.fail.add("start");
    },
    heal: (p) => {
      p.driver.fail.delete("start");
    },
  },
  {
    step: "start subdevices",
    inject: (_p, s) => {
      s.fail.add("start");
    },
    heal: (_p, s) => {
      s.fail.delete("start");
    },
  },
];

describe("fault injection: recovery", () => {
  for (const c of recoveryCases) {
    it(`a failure at "${c.step}" leaves the remote crashed; a retry recovers; shutdown then releases all`, async () => {
      const fw = firmware();
      const p = makePlatform({ recovery: "disabled", fw });
      const sub = new RecordingSubdevice("sub", p.driver.log);
      p.rproc.addSubdevice(sub);
      await p.rproc.boot();
      await p.rproc.reportCrash();
      c.inject(p, sub);
      expect(await stepOf(p.rproc.recover())).toBe(c.step);
      expect(p.rproc.state).toBe("crashed");
      expect(p.rproc.power).toBe(1);
      if (c.step !== "stop") expect(p.driver.running).toBe(false);
      expect(sub.state === "started").toBe(false);
      c.heal(p, sub, fw);
      expect(await stepOf(p.rproc.recover())).toBe("ok");
      expect(p.rproc.state).toBe("running");
      expect(sub.state).toBe("started");
      await p.rproc.shutdown();
      expectClean(p, [sub]);
    });
  }

  it("delete from crashed releases everything", async () => {
    const p = makePlatform({ recovery: "disabled" });
    await p.rproc.boot();
    await p.rproc.reportCrash();
    await p.rproc.delete();
    expect(p.rproc.state).toBe("deleted");
    expectClean(p);
  });
});

describe("fault injection: attach and detach", () => {
  const attachCases: { step: LifecycleStep; inject: (p: Platform, s: RecordingSubdevice) => void }[] = [
    {
      step: "prepare",
      inject: (p) => {
        p.driver.fail.add("prepare");
      },
    },
    {
      step: "resource table",
      inject: (p) => {
        p.driver.fail.add("getLoadedResourceTable");
      },
    },
    {
      step: "resource table",
      inject: (p) => {
        p.driver.loadedTable = { da: 0x7000_0000, size: 64 };
      },
    },
    {
      step: "resource table",
      inject: (p) => {
        p.memory.setU32(RSC_DA, 9);
      },
    },
    {
      step: "prepare subdevices",
      inject: (_p, s) => {
        s.fail.add("prepare");
      },
    },
    {
      step: "attach",
      inject: (p) => {
        p.driver.fail.add("attach");
      },
    },
    {
      step: "start subdevices",
      inject: (_p, s) => {
        s.fail.add("start");
      },
    },
  ];
  for (const c of attachCases) {
    it(`an attach failing at "${c.step}" stays detached and restores the table`, async () => {
      const p = makePlatform({ initialState: "detached", fw: null });
      const clean = preinstall(p);
      const sub = new RecordingSubdevice("sub", p.driver.log);
      p.rproc.addSubdevice(sub);
      c.inject(p, sub);
      const before = p.read(RSC_DA, clean.length);
      expect(await stepOf(p.rproc.boot())).toBe(c.step);
      expect(p.rproc.state).toBe("detached");
      expect(p.rproc.power).toBe(0);
      expect(p.rproc.allocatedBytes).toBe(0);
      expect(p.driver.prepared).toBe(0);
      expect(sub.state).toBe("idle");
      expect([...p.read(RSC_DA, clean.length)]).toEqual([...before]);
    });
  }

  it("a failing driver detach changes nothing", async () => {
    const p = makePlatform({ initialState: "detached", fw: null });
    const clean = preinstall(p);
    const sub = new RecordingSubdevice("sub", p.driver.log);
    p.rproc.addSubdevice(sub);
    await p.rproc.boot();
    const live = p.read(RSC_DA, clean.length);
    p.driver.failOnce.add("detach");
    expect(await stepOf(p.rproc.detach())).toBe("detach");
    expect(p.rproc.state).toBe("attached");
    expect(p.rproc.power).toBe(1);
    expect(sub.state).toBe("started");
    expect([...p.read(RSC_DA, clean.length)]).toEqual([...live]);
    expect(await stepOf(p.rproc.detach())).toBe("ok");
    expect([...p.read(RSC_DA, clean.length)]).toEqual([...clean]);
  });
});
