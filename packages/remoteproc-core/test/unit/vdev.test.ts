import { describe, expect, it } from "vitest";
import { parseResourceTable } from "@amp/resource-table";
import { VIRTIO_CONFIG_S_ACKNOWLEDGE, VIRTIO_CONFIG_S_DRIVER, VIRTIO_CONFIG_S_DRIVER_OK } from "@amp/virtio-ring";
import { isAmpError, type RprocVdev, type VirtioDriver } from "@amp/remoteproc-core";
import { RSC_DA, SRAM_DA, defaultTable, firmware, makePlatform } from "../helpers/fixture.ts";

function liveTable(p: ReturnType<typeof makePlatform>) {
  const loc = p.rproc.resourceTableLocation!;
  return parseResourceTable(p.read(loc.da, loc.size));
}

describe("vdevs", () => {
  it("a registered virtio driver is probed when the vdev starts and drives the live table", async () => {
    const p = makePlatform();
    const probed: RprocVdev[] = [];
    const removed: boolean[] = [];
    const drv: VirtioDriver = {
      name: "fake-rpmsg",
      deviceIds: [7],
      probe(vdev) {
        probed.push(vdev);
        const t = vdev.transport;
        t.setStatus(0);
        t.setStatus(VIRTIO_CONFIG_S_ACKNOWLEDGE);
        t.setStatus(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
        t.setDriverFeatures(t.getDeviceFeatures() & 1n);
        t.setStatus(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_DRIVER_OK);
        return {
          remove: (crashed) => {
            removed.push(crashed);
          },
        };
      },
    };
    p.rproc.registerVirtioDriver(drv);
    const events: string[] = [];
    p.rproc.on("vdev", (v) => events.push(`vdev${v.index} id ${v.id}`));
    await p.rproc.boot();
    expect(events).toEqual(["vdev0 id 7"]);
    expect(probed).toHaveLength(1);
    const vdev = probed[0]!;
    expect(vdev.transport.legacy).toBe(true);
    expect(vdev.transport.deviceId).toBe(7);
    expect(vdev.vrings.map((v) => [v.notifyId, v.da, v.num])).toEqual([
      [0, SRAM_DA + 0x4000, 16],
      [1, SRAM_DA + 0x5000, 16],
    ]);
    const e = liveTable(p).entries[1];
    if (e?.kind !== "vdev") throw new Error("shape");
    expect(e.status).toBe(7);
    expect(e.gfeatures).toBe(1);
    expect(vdev.transport.getQueue(0)).toMatchObject({
      size: 16,
      descAddr: SRAM_DA + 0x4000,
      ready: true,
      notifyId: 0,
    });
    await p.rproc.shutdown();
    expect(removed).toEqual([false]);
    expect(vdev.active).toBe(false);
    expect(() => vdev.transport.getStatus()).toThrow();
  });

  it("a driver registered while the vdev runs is probed at once; unregistering removes it", async () => {
    const p = makePlatform();
    await p.rproc.boot();
    const log: string[] = [];
    const off = p.rproc.registerVirtioDriver({
      deviceIds: [7],
      probe: () => {
        log.push("probe");
        return {
          remove: () => {
            log.push("remove");
          },
        };
      },
    });
    await p.rproc.boot(); // queued after the bind; just counts a user
    expect(log).toEqual(["probe"]);
    await off();
    expect(log).toEqual(["probe", "remove"]);
    await p.rproc.shutdown();
    await p.rproc.shutdown();
    expect(log).toEqual(["probe", "remove"]);
  });

  it("kick goes to the driver by notify id; interrupts reach the vdev", async () => {
    const p = makePlatform();
    await p.rproc.boot();
    const vdev = p.rproc.vdevs[0]!;
    vdev.kick(1);
    vdev.transport.notify(0);
    expect(p.driver.kicks).toEqual([1, 0]);
    const got: number[] = [];
    vdev.onInterrupt((i) => got.push(i));
    expect(p.rproc.handleInterrupt(1)).toBe(true);
    expect(p.rproc.handleInterrupt(9)).toBe(false);
    expect(got).toEqual([1]);
    const polled: number[] = [];
    vdev.interrupts.poll((q) => polled.push(q));
    expect(polled).toEqual([1]);
  });

  it("config space access is bounded by config_len", async () => {
    const p = makePlatform();
    await p.rproc.boot();
    const t = p.rproc.vdevs[0]!.transport;
    expect(t.configLength).toBe(0);
    expect(() => t.readConfig(0, 1)).toThrow(RangeError);
    expect(() => t.readConfig(0xfffffff0, 0x20)).toThrow(RangeError);
    expect(() => t.setDriverFeatures(1n << 32n)).toThrow(RangeError);
  });

  it("a firmware carveout named vdev0buffer is the vdev's buffer pool, in the same-named platform region", async () => {
    const base = makePlatform();
    const mem = base.memory;
    const p = makePlatform({
      fw: firmware({ table: defaultTable([{ kind: "carveout", name: "vdev0buffer", len: 0x2000 }]) }),
      regions: [
        ...base.regions,
        { name: "vdev0buffer", da: 0x3000_0000, size: 0x2000, memory: mem, offset: 0x20000 - 0x2000 },
      ],
    });
    await p.rproc.boot();
    const vdev = p.rproc.vdevs[0]!;
    expect(vdev.buffer?.da).toBe(0x3000_0000);
    const carveout = liveTable(p).entries.find((e) => e.kind === "carveout" && e.name === "vdev0buffer");
    expect(carveout?.kind === "carveout" ? [carveout.da, carveout.len] : undefined).toEqual([0x3000_0000, 0x2000]);
    await p.rproc.shutdown();
    expect(p.rproc.allocatedBytes).toBe(0);
    await p.rproc.boot(); // nothing was freed twice or left claimed
    expect(p.rproc.vdevs[0]!.buffer?.da).toBe(0x3000_0000);
    await p.rproc.shutdown();
  });

  it("a firmware carveout named vdev0buffer from the pool is the vdev's buffer too", async () => {
    const p = makePlatform({
      fw: firmware({ table: defaultTable([{ kind: "carveout", name: "vdev0buffer", len: 0x2000 }]) }),
    });
    await p.rproc.boot();
    const carveout = p.rproc.carveouts.find((c) => c.name === "vdev0buffer")!;
    expect(p.rproc.vdevs[0]!.buffer?.da).toBe(carveout.da);
    await p.rproc.shutdown();
    expect(p.rproc.allocatedBytes).toBe(0);
  });

  it("vrings are zeroed at start and use named regions when the platform has them", async () => {
    const base = makePlatform();
    const mem = base.memory;
    const p = makePlatform({
      regions: [
        ...base.regions,
        { name: "vdev0vring0", da: 0x2000_0000, size: 0x1000, memory: mem, offset: 0 + 0x20000 - 0x1000 - 0x2000 },
        { name: "vdev0buffer", da: 0x3000_0000, size: 0x2000, memory: mem, offset: 0x20000 - 0x2000 },
      ].map((r) => ({ ...r, memory: mem })),
    });
    await p.rproc.boot();
    const vdev = p.rproc.vdevs[0]!;
    expect(vdev.vrings[0]!.da).toBe(0x2000_0000);
    expect(vdev.buffer?.da).toBe(0x3000_0000);
    // translate() throws when nothing maps the range, so check where it lands, not that it returns.
    expect(vdev.addressSpace.translate(0x3000_0010, 16)).toEqual({ memory: mem, offset: 0x20000 - 0x2000 + 0x10 });
    const win = vdev.allocate(512);
    expect(vdev.addressSpace.translate(win.da, 512)).toEqual({ memory: win.memory, offset: win.offset });
    const before = p.rproc.allocatedBytes;
    await p.rproc.shutdown();
    expect(before).toBeGreaterThan(0);
    expect(p.rproc.allocatedBytes).toBe(0);
  });

  it("a probe failure fails the boot at start subdevices and releases everything", async () => {
    const p = makePlatform();
    p.rproc.registerVirtioDriver({
      deviceIds: [7],
      probe: () => {
        throw new Error("probe failed");
      },
    });
    const e = await p.rproc.boot().catch((x: unknown) => x);
    expect((e as { step?: string }).step).toBe("start subdevices");
    expect(p.rproc.state).toBe("offline");
    expect(p.rproc.allocatedBytes).toBe(0);
    expect(p.driver.running).toBe(false);
  });

  it("vdev status is reset to 0 in the installed table on stop", async () => {
    const p = makePlatform();
    p.rproc.registerVirtioDriver({
      deviceIds: [7],
      probe: (v) => {
        v.transport.setStatus(7);
        return undefined;
      },
    });
    await p.rproc.boot();
    const size = p.rproc.resourceTableLocation!.size;
    let cached: Uint8Array | undefined;
    await p.rproc.shutdown({
      beforeRelease: () => {
        cached = p.rproc.resourceTable;
      },
    });
    const e = parseResourceTable(p.read(RSC_DA, size)).entries[1];
    if (e?.kind !== "vdev") throw new Error("shape");
    expect(e.status).toBe(0);
    expect(cached).toBeDefined();
  });

  it("the transport refuses access once stopped with ERR_STATE", async () => {
    const p = makePlatform();
    await p.rproc.boot();
    const v = p.rproc.vdevs[0]!;
    await p.rproc.shutdown();
    const e = (() => {
      try {
        v.kick(0);
      } catch (x) {
        return x;
      }
    })();
    expect(isAmpError(e) && e.code).toBe("ERR_STATE");
  });
});
