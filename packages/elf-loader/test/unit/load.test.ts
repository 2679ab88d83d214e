import { describe, expect, it } from "vitest";
import { ElfStreamLoader, isAmpError, loadElf, loadElfFromChunks, parseElf } from "@amp/elf-loader";
import type { LoadSink } from "@amp/elf-loader";
import { toHex } from "@amp/test-utils";
import { buildElf, bytesOf, memorySink } from "../helpers/elf-builder.ts";

const image = (): Uint8Array =>
  buildElf({
    elfClass: 32,
    entry: 0x10n,
    segments: [
      { paddr: 0x10n, vaddr: 0x8000_0010n, data: bytesOf(1, 2, 3, 4, 5), memsz: 8n },
      { type: 4, paddr: 0n, data: bytesOf(0xee, 0xee) }, // PT_NOTE: skipped
      { paddr: 0x20n, data: bytesOf(), memsz: 4n }, // bss only
      { paddr: 0x30n, data: bytesOf(9, 8, 7) },
      { paddr: 0x40n, data: bytesOf() }, // empty: skipped
    ],
  });

function codeOf(f: () => unknown): string {
  try {
    f();
    return "none";
  } catch (e) {
    return isAmpError(e) ? e.code : `other:${String(e)}`;
  }
}

describe("loadElf", () => {
  it("writes file bytes at p_paddr and zero-fills to p_memsz", () => {
    const m = memorySink(0n, 0x40);
    const r = loadElf(image(), m.sink);
    expect(r.entry).toBe(0x10n);
    expect(r.segments.map((s) => [s.index, s.pa, s.filesz, s.memsz])).toEqual([
      [0, 0x10n, 5n, 8n],
      [2, 0x20n, 0n, 4n],
      [3, 0x30n, 3n, 3n],
    ]);
    expect(toHex(m.mem.subarray(0x10, 0x34))).toBe(
      "0102030405000000" + "aa".repeat(8) + "00000000" + "aa".repeat(12) + "090807aa",
    );
    expect(m.calls).toEqual(["write 0x10 5", "fill 0x15 3 0", "fill 0x20 4 0", "write 0x30 3"]);
  });

  it("accepts a parsed ElfFile too", () => {
    const m = memorySink(0n, 0x40);
    expect(loadElf(parseElf(image()), m.sink).segments.length).toBe(3);
  });

  it("refuses the whole image before writing when the sink does not accept a segment", () => {
    const m = memorySink(0n, 0x32);
    try {
      loadElf(image(), m.sink);
      expect.unreachable();
    } catch (e) {
      expect(isAmpError(e) && e.code).toBe("ERR_SINK");
      expect((e as Error).message).toContain("segment 3");
      expect((e as Error).message).toContain("0x30");
    }
    expect(m.calls).toEqual([]);
  });

  it("wraps a throwing sink as ERR_SINK with the cause", () => {
    const boom = new Error("bus error");
    const sink: LoadSink = {
      write: () => {
        throw boom;
      },
      fill: () => undefined,
    };
    try {
      loadElf(image(), sink);
      expect.unreachable();
    } catch (e) {
      expect(isAmpError(e) && e.code).toBe("ERR_SINK");
      expect((e as Error).cause).toBe(boom);
      expect((e as Error).message).toMatch(/segment 0: .*0x10.*bus error/);
    }
  });

  it("throws TypeError for a sink without write/fill", () => {
    expect(() => loadElf(image(), {} as LoadSink)).toThrow(TypeError);
  });

  it("refuses invalid images with the diagnostic's code", () => {
    const b = image();
    new DataView(b.buffer).setUint32(52 + 16, 0x1000, true); // filesz past EOF (and > memsz)
    expect(codeOf(() => loadElf(b, memorySink(0n, 0x40).sink))).toBe("ERR_MALFORMED");
  });
});

describe("ElfStreamLoader", () => {
  const splits = [1, 3, 7, 52, 64, 100, 1 << 20];
  it.each(splits)("gives the same memory as loadElf with %i-byte chunks", async (n) => {
    const img = image();
    const whole = memorySink(0n, 0x40);
    loadElf(img, whole.sink);
    const streamed = memorySink(0n, 0x40);
    const chunks: Uint8Array[] = [];
    for (let i = 0; i < img.length; i += n) chunks.push(img.slice(i, i + n));
    const r = await loadElfFromChunks(chunks, streamed.sink);
    expect(r.entry).toBe(0x10n);
    expect(toHex(streamed.mem)).toBe(toHex(whole.mem));
  });

  it("handles a segment that contains the ELF header (offset 0)", () => {
    const img = buildElf({ elfClass: 64, le: false, segments: [{ paddr: 0x100n, data: bytesOf(1, 2) }] });
    const v = new DataView(img.buffer);
    const filesz = v.getBigUint64(64 + 32, false) + v.getBigUint64(64 + 8, false);
    v.setBigUint64(64 + 8, 0n, false);
    v.setBigUint64(64 + 32, filesz, false);
    v.setBigUint64(64 + 40, filesz, false);
    const m = memorySink(0x100n, 0x200);
    const loader = new ElfStreamLoader(m.sink);
    for (const b of img) loader.push(Uint8Array.of(b));
    loader.finish();
    expect(toHex(m.mem.subarray(0, Number(filesz)))).toBe(toHex(img.subarray(0, Number(filesz))));
  });

  it("reports a stream that ends inside a segment as ERR_TRUNCATED", () => {
    const img = image();
    const loader = new ElfStreamLoader(memorySink(0n, 0x40).sink);
    loader.push(img.subarray(0, Number(parseElf(img).programHeaders[3]!.offset) + 2));
    expect(codeOf(() => loader.finish())).toBe("ERR_TRUNCATED");
    expect(
      codeOf(() => {
        loader.push(new Uint8Array(1));
      }),
    ).toBe("ERR_STATE");
  });

  it("reports a stream that ends inside the headers", () => {
    const l = new ElfStreamLoader(memorySink(0n, 0x40).sink);
    l.push(image().subarray(0, 60));
    expect(codeOf(() => l.finish())).toBe("ERR_TRUNCATED");
    const m = new ElfStreamLoader(memorySink(0n, 0x40).sink);
    expect(
      codeOf(() => {
        m.push(bytesOf(1, 2, 3, 4));
      }),
    ).toBe("ERR_MALFORMED");
  });

  it("bounds header buffering", () => {
    const img = image();
    new DataView(img.buffer).setUint32(28, 0x20_0000, true); // e_phoff at 2 MiB
    const l = new ElfStreamLoader(memorySink(0n, 0x40).sink);
    expect(
      codeOf(() => {
        l.push(img);
      }),
    ).toBe("ERR_LIMIT");
    expect(() => new ElfStreamLoader(memorySink(0n, 1).sink, { maxHeaderBytes: 10 })).toThrow(RangeError);
  });

  it("checks totalSize up front", () => {
    const img = image();
    const l = new ElfStreamLoader(memorySink(0n, 0x40).sink, { totalSize: 100 });
    expect(
      codeOf(() => {
        l.push(img);
      }),
    ).toBe("ERR_TRUNCATED");
  });

  it("passes segment bytes to the sink as views of the pushed chunks (no buffering of segments)", () => {
    const img = image();
    const headers = 52 + 5 * 32;
    const head = img.slice(0, headers);
    const body = img.slice(headers);
    const buffers: ArrayBufferLike[] = [];
    const l = new ElfStreamLoader({
      write: (_pa, b) => {
        buffers.push(b.buffer);
      },
      fill: () => undefined,
    });
    l.push(head);
    l.push(body);
    l.finish();
    expect(buffers.length).toBe(2);
    expect(buffers.every((b) => b === body.buffer)).toBe(true);
  });

  it("exposes the header and program headers once parsed", () => {
    const l = new ElfStreamLoader(memorySink(0n, 0x40).sink);
    expect(l.header).toBeUndefined();
    l.push(image());
    expect(l.header?.entry).toBe(0x10n);
    expect(l.programHeaders?.length).toBe(5);
    expect(l.bytesReceived).toBe(image().length);
  });
});
