import { describe, expect, it } from "vitest";
import { parseResourceTable } from "@amp/resource-table";
import { isAmpError } from "@amp/remoteproc-core";
import { RSC_DA, RecordingSubdevice, makePlatform, preinstall } from "../helpers/fixture.ts";

describe("attach and detach", () => {
  it("attaches to a running remote: its table is used in place, nothing is loaded", async () => {
    const p = makePlatform({ initialState: "detached", fw: null });
    const clean = preinstall(p);
    const sub = new RecordingSubdevice("s", p.driver.log);
    p.rproc.addSubdevice(sub);
    await p.rproc.boot();
    expect(p.rproc.state).toBe("attached");
    expect(p.loader.loads).toBe(0);
    expect(p.driver.log).toEqual(["prepare", "getLoadedResourceTable", "s.prepare", "attach", "s.start"]);
    const live = parseResourceTable(p.read(RSC_DA, clean.length));
    const v = live.entries[1];
    if (v?.kind !== "vdev") throw new Error("shape");
    expect(v.vrings.map((r) => r.notifyId)).toEqual([0, 1]);
    expect(p.rproc.vdevs).toHaveLength(1);
  });

  it("detach leaves it running, restores the clean table, and the cycle repeats", async () => {
    const p = makePlatform({ initialState: "detached", fw: null });
    const clean = preinstall(p);
    p.rproc.registerVirtioDriver({
      deviceIds: [7],
      probe: (v) => {
        v.transport.setStatus(7);
        return undefined;
      },
    });
    for (let i = 0; i < 3; i++) {
      await p.rproc.boot();
      expect(p.rproc.state).toBe("attached");
      expect([...p.read(RSC_DA, clean.length)]).not.toEqual([...clean]);
      await p.rproc.detach();
      expect(p.rproc.state).toBe("detached");
      expect([...p.read(RSC_DA, clean.length)]).toEqual([...clean]);
      expect(p.driver.running).toBe(true);
      expect(p.rproc.allocatedBytes).toBe(0);
      expect(p.driver.prepared).toBe(0);
    }
  });

  it("detach is refused from running and twice in a row", async () => {
    const p = makePlatform();
    await p.rproc.boot();
    const e = await p.rproc.detach().catch((x: unknown) => x);
    expect(isAmpError(e) && e.code).toBe("ERR_STATE");
    const q = makePlatform({ initialState: "detached", fw: null });
    preinstall(q);
    await q.rproc.boot();
    await q.rproc.detach();
    const e2 = await q.rproc.detach().catch((x: unknown) => x);
    expect(isAmpError(e2) && e2.code).toBe("ERR_STATE");
  });

  it("attach without a table is accepted", async () => {
    const p = makePlatform({ initialState: "detached", fw: null });
    await p.rproc.boot();
    expect(p.rproc.state).toBe("attached");
    expect(p.rproc.resourceTable).toBeUndefined();
  });

  it("stop from attached shuts the remote down", async () => {
    const p = makePlatform({ initialState: "detached", fw: null });
    preinstall(p);
    await p.rproc.boot();
    await p.rproc.shutdown();
    expect(p.rproc.state).toBe("offline");
    expect(p.driver.running).toBe(false);
  });

  it("a driver without detach cannot detach (ERR_UNSUPPORTED, nothing changes)", async () => {
    const p = makePlatform({ initialState: "detached", fw: null });
    preinstall(p);
    Object.assign(p.driver, { detach: undefined });
    await p.rproc.boot();
    const e = await p.rproc.detach().catch((x: unknown) => x);
    expect(isAmpError(e) && e.code).toBe("ERR_UNSUPPORTED");
    expect(p.rproc.state).toBe("attached");
  });
});

describe("rpmsg-only use (the host is not the life-cycle manager)", () => {
  it("a driver with only attach, kick and the table location gives virtio devices, nothing else", async () => {
    const p = makePlatform({ initialState: "detached", fw: null });
    preinstall(p);
    const d = p.driver;
    const driver = {
      attach: () => {
        d.log.push("attach");
      },
      kick: (id: number) => {
        d.kicks.push(id);
      },
      getLoadedResourceTable: () => d.loadedTable,
    };
    const q = makePlatform({ initialState: "detached", fw: null, driver: driver, regions: p.regions });
    q.driver.loadedTable = d.loadedTable;
    const probed: number[] = [];
    q.rproc.registerVirtioDriver({
      deviceIds: [7],
      probe: (v) => {
        probed.push(v.id);
        return undefined;
      },
    });
    await q.rproc.boot();
    expect(q.rproc.state).toBe("attached");
    expect(probed).toEqual([7]);
    q.rproc.vdevs[0]!.kick(0);
    expect(d.kicks).toEqual([0]);
    const e = await q.rproc.shutdown().catch((x: unknown) => x);
    expect(isAmpError(e) && e.code).toBe("ERR_UNSUPPORTED");
    await q.rproc.delete();
    expect(q.rproc.state).toBe("deleted");
    expect(q.rproc.allocatedBytes).toBe(0);
  });
});
