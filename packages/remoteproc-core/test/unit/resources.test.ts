import { describe, expect, it } from "vitest";
import { parseResourceTable, serializeResourceTable } from "@amp/resource-table";
import { isAmpError, isStepError } from "@amp/remoteproc-core";
import { SRAM_DA, firmware, makePlatform } from "../helpers/fixture.ts";

describe("platform resources and resource-less firmware", () => {
  it("resource-less firmware gets a generated table installed where the driver says", async () => {
    const p = makePlatform({
      fw: firmware({ table: null }),
      resources: [
        { kind: "carveout", name: "heap", len: 0x2000 },
        {
          kind: "vdev",
          id: 7,
          dfeatures: 1,
          vrings: [
            { num: 8, align: 16 },
            { num: 8, align: 16 },
          ],
        },
        { kind: "trace", name: "log", len: 128 },
      ],
    });
    p.driver.tableLocation = 0xc000;
    await p.rproc.boot();
    const loc = p.rproc.resourceTableLocation!;
    expect(loc.da).toBe(0xc000);
    const t = parseResourceTable(p.read(loc.da, loc.size));
    expect(t.entries.map((e) => e.kind)).toEqual(["carveout", "vdev", "trace"]);
    const [c, v, tr] = t.entries;
    if (c?.kind !== "carveout" || v?.kind !== "vdev" || tr?.kind !== "trace") throw new Error("shape");
    expect(c.da).toBe(SRAM_DA);
    expect(v.vrings.map((r) => r.notifyId)).toEqual([0, 1]);
    expect(tr.da).not.toBe(0xffffffff);
    expect(p.rproc.vdevs).toHaveLength(1);
    expect(p.rproc.traces.map((x) => x.name)).toEqual(["log"]);
    await p.rproc.shutdown();
    expect(p.rproc.allocatedBytes).toBe(0);
  });

  it("resources can be added programmatically only while offline", async () => {
    const p = makePlatform({ fw: firmware({ table: null }) });
    p.rproc.addResource({ kind: "carveout", name: "extra", len: 0x1000 });
    await p.rproc.boot();
    expect(p.rproc.carveouts.map((c) => c.name)).toEqual(["extra"]);
    expect(() => {
      p.rproc.addResource({ kind: "carveout", name: "late", len: 1 });
    }).toThrow(/offline/);
    expect(() => {
      makePlatform().rproc.addResource({ kind: "carveout", name: "", len: 1 });
    }).toThrow(TypeError);
  });

  it("virtio devices for resource-less firmware need a table location", async () => {
    const p = makePlatform({
      fw: firmware({ table: null }),
      resources: [{ kind: "vdev", id: 7, vrings: [{ num: 8, align: 16 }] }],
    });
    const e = await p.rproc.boot().catch((x: unknown) => x);
    expect(isStepError(e) && e.step).toBe("amend resources");
    expect(p.rproc.allocatedBytes).toBe(0);
  });

  it("platform carveouts merge with the firmware's by name (fixing an ANY da)", async () => {
    const p = makePlatform({ resources: [{ kind: "carveout", name: "ddr", len: 0x4000, da: SRAM_DA + 0x10000 }] });
    await p.rproc.boot();
    expect(p.rproc.carveouts).toHaveLength(1);
    expect(p.rproc.carveouts[0]!.da).toBe(SRAM_DA + 0x10000);
  });

  it("conflicting sizes are rejected with ERR_RESOURCE_CONFLICT", async () => {
    const p = makePlatform({ resources: [{ kind: "carveout", name: "ddr", len: 0x8000 }] });
    const e = await p.rproc.boot().catch((x: unknown) => x);
    expect(isStepError(e) && e.step).toBe("amend resources");
    const cause = (e as Error).cause;
    expect(isAmpError(cause) && cause.code).toBe("ERR_RESOURCE_CONFLICT");
    expect((cause as Error).message).toMatch(/ddr/);
    const q = makePlatform({ resources: [{ kind: "trace", name: "ddr", len: 0x4000 }] });
    const e2 = await q.rproc.boot().catch((x: unknown) => x);
    expect(isAmpError((e2 as Error).cause) && ((e2 as Error).cause as { code: string }).code).toBe(
      "ERR_RESOURCE_CONFLICT",
    );
  });

  it("unmatched platform resources become host-only allocations", async () => {
    const p = makePlatform({ resources: [{ kind: "carveout", name: "dma", len: 0x1000 }] });
    await p.rproc.boot();
    expect(p.rproc.carveouts.map((c) => [c.name, c.entryOffset === undefined])).toEqual([
      ["ddr", false],
      ["dma", true],
    ]);
  });

  it("a named region serves the carveout of that name; a fixed da must fit it", async () => {
    const base = makePlatform();
    const regions = [
      ...base.regions,
      { name: "ddr", da: 0x2000_0000, size: 0x8000, memory: base.memory, offset: 0x20000 },
    ];
    const p = makePlatform({ regions: regions.map((r) => ({ ...r, memory: base.memory })) });
    await p.rproc.boot();
    expect(p.rproc.carveouts[0]!.da).toBe(0x2000_0000);
    const bad = serializeResourceTable({ entries: [{ kind: "carveout", name: "ddr", da: 0x3000_0000, len: 0x100 }] });
    const q = makePlatform({
      fw: firmware({ table: bad }),
      regions: regions.map((r) => ({ ...r, memory: base.memory })),
    });
    const e = await q.rproc.boot().catch((x: unknown) => x);
    expect(isStepError(e) && e.step).toBe("allocate");
    expect(q.rproc.allocatedBytes).toBe(0);
  });

  it("allocation failure (no pool space) says ERR_NO_MEMORY at allocate", async () => {
    const big = serializeResourceTable({ entries: [{ kind: "carveout", name: "huge", len: 0x100000 }] });
    const p = makePlatform({ fw: firmware({ table: big }) });
    const e = await p.rproc.boot().catch((x: unknown) => x);
    expect(isStepError(e) && e.step).toBe("allocate");
    expect(isAmpError((e as Error).cause) && ((e as Error).cause as { code: string }).code).toBe("ERR_NO_MEMORY");
  });

  it("bad regions are refused at construction", () => {
    const base = makePlatform();
    expect(() =>
      makePlatform({
        regions: [
          { name: "a", da: 0, size: 0x100, memory: base.memory },
          { name: "b", da: 0x80, size: 0x100, memory: base.memory },
        ],
      }),
    ).toThrow(RangeError);
    expect(() => makePlatform({ regions: [{ name: "a", da: 0, size: 0x1_0000_0000, memory: base.memory }] })).toThrow(
      RangeError,
    );
    expect(() =>
      makePlatform({
        regions: [
          { name: "a", da: 0, size: 0x10, memory: base.memory },
          { name: "a", da: 0x100, size: 0x10, memory: base.memory },
        ],
      }),
    ).toThrow(TypeError);
  });
});
