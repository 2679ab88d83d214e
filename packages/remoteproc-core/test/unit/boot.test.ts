import { describe, expect, it } from "vitest";
import { parseResourceTable, serializeResourceTable } from "@amp/resource-table";
import { isAmpError, isStepError, type Subdevice } from "@amp/remoteproc-core";
import { ENTRY, RSC_DA, SRAM_DA, TRACE_DA, RecordingSubdevice, firmware, makePlatform } from "../helpers/fixture.ts";

describe("boot", () => {
  it("runs the steps in Linux order and ends running", async () => {
    const p = makePlatform();
    const sub = new RecordingSubdevice("glink", p.driver.log);
    p.rproc.addSubdevice(sub);
    const states: string[] = [];
    p.rproc.on("state", (e) => states.push(`${e.from}->${e.to}`));
    await p.rproc.boot();
    expect(p.rproc.state).toBe("running");
    expect(p.rproc.power).toBe(1);
    expect(states).toEqual(["offline->running"]);
    expect(p.driver.log).toEqual(["prepare", "glink.prepare", `start ${ENTRY}`, "glink.start"]);
    expect(p.loader.loads).toBe(1);
    expect(p.errors).toEqual([]);
  });

  it("loads segments at p_paddr and zero-fills the memsz tail", async () => {
    const p = makePlatform();
    p.memory.fill(0x100, 0x100, 0xee);
    await p.rproc.boot();
    expect([...p.read(0x100, 4)]).toEqual([1, 2, 3, 4]);
    expect([...p.read(0x100 + 64, 32)]).toEqual(new Array(32).fill(0));
    expect(p.read(0x100 + 96, 1)[0]).toBe(0xee);
  });

  it("installs the table at sh_addr with notify ids, carveout and vring addresses", async () => {
    const p = makePlatform();
    await p.rproc.boot();
    const live = parseResourceTable(p.read(RSC_DA, defaultSize()));
    const [carveout, vdev, trace] = live.entries;
    if (carveout?.kind !== "carveout" || vdev?.kind !== "vdev" || trace?.kind !== "trace") throw new Error("shape");
    expect(carveout.da).toBe(SRAM_DA);
    expect(carveout.pa).toBe(0x8000_0000);
    expect(carveout.len).toBe(0x4000);
    expect(vdev.vrings.map((v) => v.notifyId)).toEqual([0, 1]);
    expect(vdev.vrings[0]!.da).toBe(SRAM_DA + 0x4000);
    expect(vdev.vrings[1]!.da).toBe(SRAM_DA + 0x5000);
    expect(trace.da).toBe(TRACE_DA);
    expect(p.rproc.resourceTableLocation).toEqual({ da: RSC_DA, size: defaultSize() });
    expect(p.rproc.carveouts.map((c) => [c.name, c.da, c.size])).toEqual([["ddr", SRAM_DA, 0x4000]]);
  });

  it("boot counts users: only the first boot and the last shutdown act", async () => {
    const p = makePlatform();
    await p.rproc.boot();
    await p.rproc.boot();
    expect(p.rproc.power).toBe(2);
    expect(p.loader.loads).toBe(1);
    await p.rproc.shutdown();
    expect(p.rproc.state).toBe("running");
    await p.rproc.shutdown();
    expect(p.rproc.state).toBe("offline");
    expect(p.rproc.power).toBe(0);
    expect(p.rproc.allocatedBytes).toBe(0);
    expect(p.loader.releases).toBe(1);
    expect(p.driver.prepared).toBe(0);
  });

  it("shutdown stops subdevices in reverse, then the driver, then unprepares, then releases", async () => {
    const p = makePlatform();
    const a = new RecordingSubdevice("a", p.driver.log);
    const b = new RecordingSubdevice("b", p.driver.log);
    p.rproc.addSubdevice(a);
    p.rproc.addSubdevice(b);
    await p.rproc.boot();
    p.driver.log.length = 0;
    await p.rproc.shutdown();
    expect(p.driver.log).toEqual(["b.stop(false)", "a.stop(false)", "stop", "b.unprepare", "a.unprepare", "unprepare"]);
  });

  it("a firmware without a resource table boots without resources", async () => {
    const p = makePlatform({ fw: firmware({ table: null }) });
    await p.rproc.boot();
    expect(p.rproc.resourceTable).toBeUndefined();
    expect(p.rproc.vdevs).toEqual([]);
    expect(p.rproc.allocatedBytes).toBe(0);
  });

  it("a missing firmware fails at the firmware step with ERR_NO_FIRMWARE as cause", async () => {
    const p = makePlatform({ fw: null });
    const e = await p.rproc.boot().catch((x: unknown) => x);
    expect(isStepError(e) && e.step).toBe("firmware");
    expect(isAmpError((e as Error).cause) && ((e as Error).cause as { code: string }).code).toBe("ERR_NO_FIRMWARE");
    expect(p.rproc.state).toBe("offline");
    expect(p.rproc.power).toBe(0);
  });

  it("a malformed resource table never boots and names the diagnostic", async () => {
    const table = defaultTableBytes();
    new DataView(table.buffer).setUint32(0, 2, true); // ver = 2
    const p = makePlatform({ fw: firmware({ table }) });
    const e = await p.rproc.boot().catch((x: unknown) => x);
    expect(isStepError(e) && e.step).toBe("resource table");
    expect((e as Error).message).toMatch(/RSC_VERSION_UNSUPPORTED/);
    expect(p.driver.prepared).toBe(0);
    expect(p.loader.releases).toBe(p.loader.loads);
  });

  it("vendor resources go to the driver; unknown answers abort", async () => {
    const table = serializeResourceTable({
      entries: [{ kind: "vendor", type: 200, data: new Uint8Array([1, 2, 3, 4]) }],
    });
    const seen: number[] = [];
    const p = makePlatform({ fw: firmware({ table }) });
    Object.assign(p.driver, {
      handleResource: (r: { type: number }) => {
        seen.push(r.type);
        return "handled";
      },
    });
    await p.rproc.boot();
    expect(seen).toEqual([200]);
  });

  it("devmem needs a driver that maps it", async () => {
    const table = serializeResourceTable({
      entries: [{ kind: "devmem", name: "regs", da: 0x4000_0000, pa: 0x4000_0000, len: 0x1000 }],
    });
    const p = makePlatform({ fw: firmware({ table }) });
    const e = await p.rproc.boot().catch((x: unknown) => x);
    expect(isStepError(e) && e.step).toBe("register resources");
    const mapped: string[] = [];
    const q = makePlatform({ fw: firmware({ table }) });
    Object.assign(q.driver, {
      mapDevmem: (d: { name: string }) => {
        mapped.push(`map ${d.name}`);
      },
      unmapDevmem: (d: { name: string }) => {
        mapped.push(`unmap ${d.name}`);
      },
    });
    await q.rproc.boot();
    await q.rproc.shutdown();
    expect(mapped).toEqual(["map regs", "unmap regs"]);
  });

  it("subdevices added later join the next boot", async () => {
    const p = makePlatform();
    await p.rproc.boot();
    const late: Subdevice = {
      name: "late",
      start: () => {
        p.driver.log.push("late.start");
      },
    };
    p.rproc.addSubdevice(late);
    expect(p.driver.log).not.toContain("late.start");
    await p.rproc.shutdown();
    await p.rproc.boot();
    expect(p.driver.log).toContain("late.start");
  });
});

function defaultTableBytes(): Uint8Array {
  return parseAndSerialize();
}
function defaultSize(): number {
  return parseAndSerialize().length;
}
function parseAndSerialize(): Uint8Array {
  // The same table as the fixture's default.
  return serializeResourceTable({
    entries: [
      { kind: "carveout", name: "ddr", len: 0x4000 },
      {
        kind: "vdev",
        id: 7,
        dfeatures: 1,
        vrings: [
          { align: 16, num: 16 },
          { align: 16, num: 16 },
        ],
      },
      { kind: "trace", name: "trace0", da: TRACE_DA, len: 256 },
    ],
  });
}
