import { describe, expect, it } from "vitest";
import { readCoredump, readCoredumpMemory } from "@amp/elf-loader";
import type { CoredumpInfo, CoredumpSink, MemoryWindow } from "@amp/remoteproc-core";
import { decodeTraceNote, formatTraceRecord, isTraceNote } from "@amp/remoteproc-core";
import { SRAM_DA, TRACE_DA, TRACE_LEN, makePlatform } from "../helpers/fixture.ts";

function collector() {
  const chunks: Uint8Array[] = [];
  let closed: CoredumpInfo | undefined;
  const sink: CoredumpSink = {
    write: (c) => {
      chunks.push(c.slice());
    },
    close: (i) => {
      closed = i;
    },
  };
  const bytes = () => Uint8Array.from(chunks.flatMap((c) => [...c]));
  return { sink, chunks, bytes, closed: () => closed };
}

function pattern(n: number, seed: number): Uint8Array {
  return new Uint8Array(n).map((_, i) => (seed + i * 7) & 0xff);
}

async function flush(): Promise<void> {
  for (let i = 0; i < 100; i++) await Promise.resolve();
}

describe("coredump", () => {
  it("is off by default (Linux): a crash makes no dump", async () => {
    const c = collector();
    const p = makePlatform({ coredumpSink: c.sink });
    await p.rproc.boot();
    await p.rproc.reportCrash();
    expect(c.chunks).toEqual([]);
  });

  it("default mode copies every carveout plus custom segments at the crash, in one write", async () => {
    const c = collector();
    const p = makePlatform({
      coredump: "default",
      coredumpSink: c.sink,
      coredumpSegments: [{ da: 0x100, size: 64, name: "code" }],
    });
    await p.rproc.boot();
    const w = p.rproc.translate(SRAM_DA, 4)!;
    w.memory.write(w.offset, new Uint8Array([0xde, 0xad, 0xbe, 0xef]));
    const seen: CoredumpInfo[] = [];
    p.rproc.on("coredump", (i) => seen.push(i));
    await p.rproc.reportCrash("watchdog");
    await flush();
    expect(c.chunks).toHaveLength(1);
    const core = c.bytes();
    const summary = readCoredump(core);
    expect(summary.elfClass).toBe(32);
    expect(summary.machine).toBe(40);
    expect(summary.entry).toBe(0x101n);
    // In address order: the custom segment, the fixed-address trace buffer, the ddr carveout, the two pool-allocated vrings.
    expect(summary.regions.map((r) => [Number(r.da), Number(r.size)])).toEqual([
      [0x100, 64],
      [TRACE_DA, TRACE_LEN],
      [SRAM_DA, 0x4000],
      [SRAM_DA + 0x4000, 0x1000],
      [SRAM_DA + 0x5000, 0x1000],
    ]);
    expect([...readCoredumpMemory(core, summary, BigInt(SRAM_DA), 4)!]).toEqual([0xde, 0xad, 0xbe, 0xef]);
    expect([...readCoredumpMemory(core, summary, 0x100n, 4)!]).toEqual([1, 2, 3, 4]);
    expect(seen[0]).toMatchObject({
      reason: "crash",
      crashType: "watchdog",
      mode: "default",
      segments: 5,
      size: core.length,
    });
    expect(c.closed()).toMatchObject({ size: core.length });
  });

  it("a crash dump carries the trace buffer's last records as an AMP note, oldest first", async () => {
    const c = collector();
    const p = makePlatform({ coredump: "default", coredumpSink: c.sink });
    await p.rproc.boot();
    const lines = [
      formatTraceRecord(0, 1000, "I", "booted"),
      formatTraceRecord(1, 2500, "W", "queue full"),
      formatTraceRecord(2, 4000, "E", "fault at 0x1234"),
    ];
    const text = new TextEncoder().encode(`${lines.join("")}\0`);
    const w = p.rproc.translate(TRACE_DA, TRACE_LEN)!;
    w.memory.write(w.offset, text);
    await p.rproc.reportCrash();
    await flush();
    const summary = readCoredump(c.bytes());
    const notes = summary.notes.filter(isTraceNote);
    expect(notes).toHaveLength(1);
    const records = decodeTraceNote(notes[0]!.desc);
    expect(records.map((r) => [r.seq, r.remoteUs, r.level, r.text])).toEqual([
      [0, 1000, "I", "booted"],
      [1, 2500, "W", "queue full"],
      [2, 4000, "E", "fault at 0x1234"],
    ]);
  });

  it("inline mode streams chunks and recovery waits for the sink", async () => {
    const order: string[] = [];
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const sink: CoredumpSink = {
      write: async () => {
        order.push("write");
        await gate;
      },
      close: () => {
        order.push("close");
      },
    };
    const p = makePlatform({ coredump: "inline", coredumpSink: sink });
    p.rproc.on("state", (e) => order.push(e.to));
    await p.rproc.boot();
    const crash = p.rproc.reportCrash();
    await flush();
    expect(order).toEqual(["running", "crashed", "write"]);
    release();
    await crash;
    expect(order.at(-1)).toBe("running");
    expect(order.indexOf("close")).toBeLessThan(order.lastIndexOf("running"));
  });

  it("a manual dump works while running and in the snapshot window of a shutdown", async () => {
    const p = makePlatform();
    await p.rproc.boot();
    const a = collector();
    const info = await p.rproc.coredump(a.sink);
    expect(info?.reason).toBe("manual");
    expect(readCoredump(a.bytes()).regions.map((r) => Number(r.da))).toEqual([
      TRACE_DA,
      SRAM_DA,
      SRAM_DA + 0x4000,
      SRAM_DA + 0x5000,
    ]);
    const b = collector();
    await p.rproc.shutdown({
      beforeRelease: async (w) => {
        await w.coredump(b.sink);
        expect(w.carveouts.map((x) => x.name)).toEqual(["ddr"]);
      },
    });
    expect(readCoredump(b.bytes()).regions).toHaveLength(4);
  });

  it("without an ELF class there is no dump (as Linux), reported on the error event", async () => {
    const c = collector();
    const p = makePlatform({
      coredump: "inline",
      coredumpSink: c.sink,
      loader: {
        loadAndVerify: () => ({ bootAddr: 0n, resourceTable: undefined, loadSegments: () => undefined }),
        release: () => undefined,
      },
      resources: [{ kind: "carveout", name: "x", len: 0x100 }],
    });
    await p.rproc.boot();
    expect(await p.rproc.coredump(c.sink)).toBeUndefined();
    expect(p.errors.length).toBe(1);
    const q = makePlatform({
      coredumpElf: { elfClass: 64, machine: 183 },
      loader: {
        loadAndVerify: () => ({ bootAddr: 0n, resourceTable: undefined, loadSegments: () => undefined }),
        release: () => undefined,
      },
      resources: [{ kind: "carveout", name: "x", len: 0x100 }],
    });
    await q.rproc.boot();
    const d = collector();
    await q.rproc.coredump(d.sink);
    expect(readCoredump(d.bytes()).elfClass).toBe(64);
  });

  it("an untranslatable custom segment is filled with 0xff", async () => {
    const c = collector();
    const p = makePlatform({ coredumpSegments: [{ da: 0x7000_0000, size: 8 }] });
    await p.rproc.boot();
    await p.rproc.coredump(c.sink);
    const core = c.bytes();
    expect([...readCoredumpMemory(core, readCoredump(core), 0x7000_0000n, 8)!]).toEqual(new Array(8).fill(0xff));
  });
  it("a crash dump holds the vrings and the vdev's allocations (rpmsg buffers) at their device addresses", async () => {
    const c = collector();
    const p = makePlatform({ coredump: "default", coredumpSink: c.sink });
    let pool: MemoryWindow | undefined;
    p.rproc.registerVirtioDriver({
      deviceIds: [7],
      probe: (v) => {
        pool = v.allocate(0x800, 16);
        return undefined;
      },
    });
    await p.rproc.boot();
    const vdev = p.rproc.vdevs[0]!;
    const [ring0, ring1] = vdev.vrings;
    // What a driver and the remote leave in shared memory before the crash.
    ring0!.window.memory.write(ring0!.window.offset + 0x10, pattern(32, 0x40));
    ring1!.window.memory.write(ring1!.window.offset, pattern(16, 0x80));
    pool!.memory.write(pool!.offset + 0x7f0, pattern(16, 0xc0));
    const held = p.rproc.allocatedBytes;
    await p.rproc.reportCrash("fatal error");
    await flush();
    expect(p.rproc.state).toBe("running");
    expect(p.errors).toEqual([]);
    const core = c.bytes();
    const summary = readCoredump(core);
    expect([...readCoredumpMemory(core, summary, BigInt(ring0!.da + 0x10), 32)!]).toEqual([...pattern(32, 0x40)]);
    expect([...readCoredumpMemory(core, summary, BigInt(ring1!.da), 16)!]).toEqual([...pattern(16, 0x80)]);
    expect([...readCoredumpMemory(core, summary, BigInt(pool!.da + 0x7f0), 16)!]).toEqual([...pattern(16, 0xc0)]);
    const ranges = summary.regions.map((r) => [Number(r.da), Number(r.da + r.size)] as const);
    // in ascending address order, none overlapping
    for (let i = 1; i < ranges.length; i++) expect(ranges[i]![0]).toBeGreaterThanOrEqual(ranges[i - 1]![1]);
    expect(ranges.some(([a, b]) => a <= pool!.da && pool!.da + 0x800 <= b)).toBe(true);
    // The crashed vdev's allocation was kept for the dump only: after recovery the pool holds the same.
    expect(p.rproc.allocatedBytes).toBe(held);
    await p.rproc.shutdown();
    expect(p.rproc.allocatedBytes).toBe(0);
  });

  it("with recovery disabled the crashed vdev's allocations stay dumpable until shutdown releases them", async () => {
    const p = makePlatform({ recovery: "disabled" });
    let pool: MemoryWindow | undefined;
    p.rproc.registerVirtioDriver({
      deviceIds: [7],
      probe: (v) => {
        pool = v.allocate(0x100);
        return undefined;
      },
    });
    await p.rproc.boot();
    pool!.memory.write(pool!.offset, pattern(8, 1));
    await p.rproc.reportCrash();
    expect(p.rproc.state).toBe("crashed");
    const c = collector();
    await p.rproc.coredump(c.sink);
    const core = c.bytes();
    expect([...readCoredumpMemory(core, readCoredump(core), BigInt(pool!.da), 8)!]).toEqual([...pattern(8, 1)]);
    await p.rproc.recover();
    await p.rproc.shutdown();
    expect(p.rproc.allocatedBytes).toBe(0);
  });

  it("an explicit segment inside a carveout is dumped once: the carveout keeps only the bytes around it", async () => {
    const c = collector();
    const custom = {
      da: SRAM_DA + 0x1000,
      size: 0x100,
      name: "custom",
      read: (_off: number, out: Uint8Array) => {
        out.fill(0x5a);
        return true;
      },
    };
    const p = makePlatform({ coredumpSegments: [custom, { da: SRAM_DA + 0x3f00, size: 0x200, name: "straddles" }] });
    await p.rproc.boot();
    await p.rproc.coredump(c.sink);
    const core = c.bytes();
    const summary = readCoredump(core);
    const ranges = summary.regions.map((r) => [Number(r.da), Number(r.size)]);
    expect(ranges).toEqual([
      [TRACE_DA, TRACE_LEN],
      [SRAM_DA, 0x1000],
      [SRAM_DA + 0x1000, 0x100],
      [SRAM_DA + 0x1100, 0x2e00],
      [SRAM_DA + 0x3f00, 0x200],
      [SRAM_DA + 0x4100, 0xf00],
      [SRAM_DA + 0x5000, 0x1000],
    ]);
    expect([...readCoredumpMemory(core, summary, BigInt(SRAM_DA + 0x1000), 4)!]).toEqual([0x5a, 0x5a, 0x5a, 0x5a]);
  });
});
