import { describe, expect, it } from "vitest";
import { parseResourceTable, serializeResourceTable } from "@amp/resource-table";
import { CrashType, isAmpError, isStepError } from "@amp/remoteproc-core";
import { ENTRY, RSC_DA, RecordingSubdevice, firmware, makePlatform, preinstall } from "../helpers/fixture.ts";

describe("crash and recovery", () => {
  it("recovers at once when enabled: subdevices are told it is a crash, the firmware reloads", async () => {
    const p = makePlatform();
    const sub = new RecordingSubdevice("s", p.driver.log);
    p.rproc.addSubdevice(sub);
    const crashes: string[] = [];
    const states: string[] = [];
    p.rproc.on("crash", (c) => crashes.push(`${c.type} #${c.count}`));
    p.rproc.on("state", (e) => states.push(e.to));
    await p.rproc.boot();
    p.driver.log.length = 0;
    await p.rproc.reportCrash(CrashType.WATCHDOG);
    expect(crashes).toEqual(["watchdog #1"]);
    expect(states).toEqual(["running", "crashed", "running"]);
    expect(p.driver.log).toEqual(["s.stop(true)", "stop", "s.unprepare", "s.prepare", `start ${ENTRY}`, "s.start"]);
    expect(p.rproc.state).toBe("running");
    expect(p.rproc.crashCount).toBe(1);
    expect(p.loader.loads).toBe(2);
    expect(p.loader.releases).toBe(1);
    expect(p.driver.prepared).toBe(1); // recovery does not re-run prepare (Linux)
    expect(p.errors).toEqual([]);
  });

  it("stays crashed when recovery is disabled; enabling it recovers; stop is refused while crashed", async () => {
    const p = makePlatform({ recovery: "disabled" });
    await p.rproc.boot();
    await p.rproc.reportCrash(CrashType.MMU_FAULT);
    expect(p.rproc.state).toBe("crashed");
    const e = await p.rproc.shutdown().catch((x: unknown) => x);
    expect(isAmpError(e) && e.code).toBe("ERR_STATE");
    expect(() => p.rproc.setCoredumpMode("inline")).toThrow(/crashed/);
    expect(p.rproc.state).toBe("crashed");
    await p.rproc.setRecovery("enabled");
    expect(p.rproc.state).toBe("running");
  });

  it("one-shot recover keeps the flag", async () => {
    const p = makePlatform({ recovery: "disabled" });
    await p.rproc.boot();
    await p.rproc.reportCrash();
    await p.rproc.control.write("recovery", "recover");
    expect(p.rproc.state).toBe("running");
    expect(p.rproc.recovery).toBe("disabled");
    const e = await p.rproc.recover().catch((x: unknown) => x);
    expect(isAmpError(e) && e.code).toBe("ERR_STATE");
  });

  it("only the first crash counts; crashes while offline are ignored", async () => {
    const p = makePlatform({ recovery: "disabled" });
    await p.rproc.reportCrash();
    expect(p.rproc.crashCount).toBe(0);
    await p.rproc.boot();
    await Promise.all([p.rproc.reportCrash(), p.rproc.reportCrash(CrashType.WATCHDOG)]);
    expect(p.rproc.crashCount).toBe(1);
  });

  it("recovery reuses the cached table: a changed firmware table is not re-read", async () => {
    const p = makePlatform({ recovery: "disabled" });
    await p.rproc.boot();
    const before = p.rproc.resourceTable!;
    const other = serializeResourceTable({
      entries: [
        { kind: "carveout", name: "other", len: 0x1000 },
        { kind: "trace", name: "t", da: 0x9000, len: 16 },
      ],
    });
    const padded = new Uint8Array(before.length);
    padded.set(other);
    p.source.set("fw.elf", firmware({ table: padded }));
    await p.rproc.reportCrash();
    await p.rproc.recover();
    const live = parseResourceTable(p.read(RSC_DA, before.length));
    expect(live.entries.map((e) => e.kind)).toEqual(["carveout", "vdev", "trace"]);
    const v = live.entries[1];
    if (v?.kind !== "vdev") throw new Error("shape");
    expect(v.vrings.map((r) => r.notifyId)).toEqual([0, 1]);
  });

  it("vdevs see the break: remove(crashed=true), then a fresh probe", async () => {
    const p = makePlatform();
    const log: string[] = [];
    p.rproc.registerVirtioDriver({
      deviceIds: [7],
      probe: (v) => {
        log.push(`probe ${v.index}`);
        return {
          remove: (c) => {
            log.push(`remove crashed=${c}`);
          },
        };
      },
    });
    const removed: boolean[] = [];
    p.rproc.on("vdev-removed", (e) => removed.push(e.crashed));
    await p.rproc.boot();
    await p.rproc.reportCrash();
    expect(log).toEqual(["probe 0", "remove crashed=true", "probe 0"]);
    expect(removed).toEqual([true]);
  });

  it("a failed recovery leaves the remote crashed with resources held, and can be retried", async () => {
    const p = makePlatform();
    await p.rproc.boot();
    p.driver.failOnce.add("start");
    await p.rproc.reportCrash();
    expect(p.rproc.state).toBe("crashed");
    expect(p.errors.length).toBe(1);
    expect(isStepError(p.errors[0]) && (p.errors[0] as { step: string }).step).toBe("start");
    expect(p.rproc.allocatedBytes).toBeGreaterThan(0);
    await p.rproc.recover();
    expect(p.rproc.state).toBe("running");
    await p.rproc.shutdown();
    expect(p.rproc.allocatedBytes).toBe(0);
    expect(p.loader.releases).toBe(p.loader.loads);
    expect(p.driver.prepared).toBe(0);
  });

  it("traces stay readable after a crash and after shutdown", async () => {
    const p = makePlatform({ recovery: "disabled" });
    await p.rproc.boot();
    const w = p.rproc.translate(0x9000, 256)!;
    w.memory.write(w.offset, new Uint8Array([...Buffer.from("boot ok\nfault at 0x42\0garbage")]));
    await p.rproc.reportCrash();
    const t = p.rproc.traces[0]!;
    expect(t.name).toBe("trace0");
    expect(t.live).toBe(true);
    expect(t.readText()).toBe("boot ok\nfault at 0x42");
    await p.rproc.recover();
    await p.rproc.shutdown();
    expect(p.rproc.traces[0]!.live).toBe(false);
    expect(p.rproc.traces[0]!.readText()).toBe("boot ok\nfault at 0x42");
  });

  it("attach-on-recovery re-attaches instead of rebooting", async () => {
    const p = makePlatform({ initialState: "detached", attachOnRecovery: true, fw: null });
    preinstall(p);
    await p.rproc.boot();
    expect(p.rproc.state).toBe("attached");
    p.driver.log.length = 0;
    await p.rproc.reportCrash();
    expect(p.rproc.state).toBe("attached");
    expect(p.driver.log).toEqual(["detach", "attach"]);
  });

  it("an attached remote without attach-on-recovery is rebooted from the firmware", async () => {
    const p = makePlatform({ initialState: "detached" });
    preinstall(p);
    await p.rproc.boot();
    await p.rproc.reportCrash();
    expect(p.rproc.state).toBe("running");
    await p.rproc.shutdown();
    expect(p.rproc.state).toBe("offline");
    expect(p.rproc.allocatedBytes).toBe(0);
  });
});
