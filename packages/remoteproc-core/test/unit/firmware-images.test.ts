// Firmware images beyond the usual ELF32 little-endian one (issue 15 items 5 and 7): a 64-bit
// remote whose segments and resource table sit above 4 GiB, and big-endian firmware, which the
// core refuses as Linux does.
import { describe, expect, it } from "vitest";
import { readCoredump } from "@amp/elf-loader";
import { parseResourceTable } from "@amp/resource-table";
import { ArrayBufferMemory } from "@amp/virtio-ring";
import { isAmpError, isStepError, type MemoryRegion } from "@amp/remoteproc-core";
import { buildElf } from "../helpers/elf.ts";
import { SRAM_DA, TCM_DA, TCM_SIZE, TRACE_DA, defaultTable, makePlatform } from "../helpers/fixture.ts";

/** 32 GiB: DDR of a 64-bit remote, far above what a u32 can address. */
const HIGH_DA = 0x8_0000_0000;
const HIGH_SIZE = 0x1_0000;
const LOW_SIZE = 0x4_0000;

function regions64(): { regions: MemoryRegion[]; high: ArrayBufferMemory } {
  const low = new ArrayBufferMemory(new ArrayBuffer(TCM_SIZE + LOW_SIZE));
  const high = new ArrayBufferMemory(new ArrayBuffer(HIGH_SIZE));
  return {
    high,
    regions: [
      // The high region comes first and is a pool too: allocations whose address goes into a
      // u32 table field must still land below 4 GiB.
      { name: "ddr-high", da: HIGH_DA, size: HIGH_SIZE, memory: high, pa: 0x9_0000_0000, pool: true },
      { name: "tcm", da: TCM_DA, size: TCM_SIZE, memory: low, offset: 0 },
      { name: "sram", da: SRAM_DA, size: LOW_SIZE, memory: low, offset: TCM_SIZE, pool: true },
    ],
  };
}

const CODE = new Uint8Array(64).map((_, i) => 0xa0 + i);

function elf64(): Uint8Array {
  return buildElf({
    elfClass: 64,
    entry: BigInt(HIGH_DA) + 0x100n,
    segments: [{ paddr: BigInt(HIGH_DA) + 0x100n, data: CODE, memsz: CODE.length + 16 }],
    resourceTable: { addr: BigInt(HIGH_DA) + 0x8000n, bytes: defaultTable() },
  });
}

describe("64-bit device addresses", () => {
  it("boots an ELF64 image whose segments and resource table lie above 4 GiB", async () => {
    const { regions, high } = regions64();
    high.fill(0, HIGH_SIZE, 0xee);
    const p = makePlatform({ regions, fw: elf64() });
    await p.rproc.boot();
    expect(p.rproc.state).toBe("running");
    expect(p.driver.log).toContain(`start ${HIGH_DA + 0x100}`);
    // Segment bytes at p_paddr, then the zero-filled memsz tail, then untouched memory.
    expect([...high.read(0x100, CODE.length)]).toEqual([...CODE]);
    expect([...high.read(0x100 + CODE.length, 16)]).toEqual(new Array(16).fill(0));
    expect(high.read(0x100 + CODE.length + 16, 1)[0]).toBe(0xee);
    // The table is installed at its sh_addr, above 4 GiB.
    expect(p.rproc.resourceTableLocation).toEqual({ da: HIGH_DA + 0x8000, size: defaultTable().length });
    const live = parseResourceTable(high.read(0x8000, defaultTable().length));
    const [carveout, vdev, trace] = live.entries;
    if (carveout?.kind !== "carveout" || vdev?.kind !== "vdev" || trace?.kind !== "trace")
      throw new Error("table shape");
    // What the host writes into the table's u32 fields was allocated below 4 GiB.
    expect(carveout.da).toBe(SRAM_DA);
    for (const v of vdev.vrings) expect(v.da).toBeLessThan(0x1_0000_0000);
    expect(p.rproc.vdevs[0]?.vrings.map((v) => v.da)).toEqual(vdev.vrings.map((v) => v.da));
    expect(trace.da).toBe(TRACE_DA);
    expect(p.errors).toEqual([]);
    await p.rproc.shutdown();
    expect(p.rproc.allocatedBytes).toBe(0);
  });

  it("dumps a segment above 4 GiB into an ELF64 core", async () => {
    const { regions } = regions64();
    const p = makePlatform({ regions, fw: elf64() });
    p.rproc.addCoredumpSegment({ da: HIGH_DA + 0x100, size: CODE.length, name: "code" });
    await p.rproc.boot();
    const chunks: Uint8Array[] = [];
    await p.rproc.coredump({
      write: (c) => {
        chunks.push(c.slice());
      },
    });
    const core = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
    let at = 0;
    for (const c of chunks) {
      core.set(c, at);
      at += c.length;
    }
    const s = readCoredump(core);
    expect(s.elfClass).toBe(64);
    const seg = s.regions.find((r) => r.da === BigInt(HIGH_DA) + 0x100n);
    expect(seg?.size).toBe(BigInt(CODE.length));
    expect([...core.subarray(Number(seg?.fileOffset ?? 0n), Number(seg?.fileOffset ?? 0n) + CODE.length)]).toEqual([
      ...CODE,
    ]);
  });

  it("refuses a carveout that only a region above 4 GiB could hold: its da would not fit the table", async () => {
    const high = new ArrayBufferMemory(new ArrayBuffer(HIGH_SIZE));
    const low = new ArrayBufferMemory(new ArrayBuffer(TCM_SIZE));
    const p = makePlatform({
      regions: [
        { name: "tcm", da: TCM_DA, size: TCM_SIZE, memory: low },
        { name: "ddr-high", da: HIGH_DA, size: HIGH_SIZE, memory: high, pool: true },
      ],
      fw: elf64(),
    });
    const e: unknown = await p.rproc.boot().catch((x: unknown) => x);
    expect(isStepError(e) && e.step).toBe("allocate");
    const cause = (e as Error).cause;
    expect(isAmpError(cause) && cause.code).toBe("ERR_NO_MEMORY");
    expect((cause as Error).message).toMatch(/below 4 GiB/);
    expect(p.rproc.allocatedBytes).toBe(0);
  });

  it("still refuses a segment outside every region, naming its 64-bit address", async () => {
    const { regions } = regions64();
    const fw = buildElf({ elfClass: 64, entry: 0x1_2345_0000n, segments: [{ paddr: 0x1_2345_0000n, data: CODE }] });
    const p = makePlatform({ regions, fw });
    const e: unknown = await p.rproc.boot().catch((x: unknown) => x);
    expect(isStepError(e) && e.step).toBe("load segments");
    expect((e as Error).message).toMatch(/0x123450000/);
    expect((e as Error).message).not.toMatch(/32-bit/);
  });
});

describe("big-endian firmware", () => {
  it("is refused before anything is prepared, with a typed error that says why", async () => {
    const fw = buildElf({
      le: false,
      entry: 0x101,
      segments: [{ paddr: 0x100, data: CODE }],
      resourceTable: { addr: 0x8000, bytes: defaultTable() },
    });
    const p = makePlatform({ fw });
    const e: unknown = await p.rproc.boot().catch((x: unknown) => x);
    expect(isStepError(e) && e.step).toBe("loadAndVerify");
    const cause = (e as Error).cause;
    expect(isAmpError(cause) && cause.code).toBe("ERR_UNSUPPORTED");
    const msg = (cause as Error).message;
    expect(msg).toMatch(/big-endian/);
    expect(msg).toMatch(/little-endian host/);
    expect(msg).toMatch(/byte order/);
    expect(p.driver.log).toEqual([]);
    expect(p.rproc.state).toBe("offline");
    expect(p.rproc.allocatedBytes).toBe(0);
  });
});
