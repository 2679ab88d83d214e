import { describe, expect, it } from "vitest";
import { readCoredump, readCoredumpMemory } from "@amp/elf-loader";
import type { CoredumpInfo, CoredumpSink } from "@amp/remoteproc-core";
import { SRAM_DA, makePlatform } from "../helpers/fixture.ts";

function collector() {
  const chunks: Uint8Array[] = [];
  let closed: CoredumpInfo | undefined;
  const sink: CoredumpSink = { write: (c) => { chunks.push(c.slice()); }, close: (i) => { closed = i; } };
  const bytes = () => Uint8Array.from(chunks.flatMap((c) => [...c]));
  return { sink, chunks, bytes, closed: () => closed };
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
    const p = makePlatform({ coredump: "default", coredumpSink: c.sink, coredumpSegments: [{ da: 0x100, size: 64, name: "code" }] });
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
    expect(summary.regions.map((r) => [Number(r.da), Number(r.size)])).toEqual([[SRAM_DA, 0x4000], [0x100, 64]]);
    expect([...readCoredumpMemory(core, summary, BigInt(SRAM_DA), 4)!]).toEqual([0xde, 0xad, 0xbe, 0xef]);
    expect([...readCoredumpMemory(core, summary, 0x100n, 4)!]).toEqual([1, 2, 3, 4]);
    expect(seen[0]).toMatchObject({ reason: "crash", crashType: "watchdog", mode: "default", segments: 2, size: core.length });
    expect(c.closed()).toMatchObject({ size: core.length });
  });

  it("inline mode streams chunks and recovery waits for the sink", async () => {
    const order: string[] = [];
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => { release = r; });
    const sink: CoredumpSink = {
      write: async () => { order.push("write"); await gate; },
      close: () => { order.push("close"); },
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
    expect(readCoredump(a.bytes()).regions).toHaveLength(1);
    const b = collector();
    await p.rproc.shutdown({ beforeRelease: async (w) => { await w.coredump(b.sink); expect(w.carveouts.map((x) => x.name)).toEqual(["ddr"]); } });
    expect(readCoredump(b.bytes()).regions).toHaveLength(1);
  });

  it("without an ELF class there is no dump (as Linux), reported on the error event", async () => {
    const c = collector();
    const p = makePlatform({ coredump: "inline", coredumpSink: c.sink, loader: { loadAndVerify: () => ({ bootAddr: 0n, resourceTable: undefined, loadSegments: () => undefined }), release: () => undefined }, resources: [{ kind: "carveout", name: "x", len: 0x100 }] });
    await p.rproc.boot();
    expect(await p.rproc.coredump(c.sink)).toBeUndefined();
    expect(p.errors.length).toBe(1);
    const q = makePlatform({ coredumpElf: { elfClass: 64, machine: 183 }, loader: { loadAndVerify: () => ({ bootAddr: 0n, resourceTable: undefined, loadSegments: () => undefined }), release: () => undefined }, resources: [{ kind: "carveout", name: "x", len: 0x100 }] });
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
});
