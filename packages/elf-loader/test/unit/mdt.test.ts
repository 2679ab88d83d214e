import { describe, expect, it } from "vitest";
import {
  QCOM_MDT_RELOCATABLE,
  QCOM_MDT_TYPE_HASH,
  assembleMdt,
  isAmpError,
  loadElf,
  loadMdt,
  mdtMetadata,
  mdtSegmentFileName,
  parseElf,
  parseMdt,
  validateElf,
} from "@amp/elf-loader";
import { toHex } from "@amp/test-utils";
import { buildElf, bytesOf, memorySink } from "../helpers/elf-builder.ts";

function firmware(flags = 7) {
  const headerSize = 52 + 4 * 32;
  const full = buildElf({
    elfClass: 32,
    entry: 0x8000_0000n,
    segments: [
      { type: 0, paddr: 0n, offset: 0n, filesz: BigInt(headerSize), flags: 0x07000000 },
      { type: 0, paddr: 0n, data: bytesOf(0x11, 0x22, 0x33, 0x44), flags: QCOM_MDT_TYPE_HASH },
      { paddr: 0x8000_0000n, data: bytesOf(1, 2, 3, 4, 5, 6, 7, 8), memsz: 0x10n, flags },
      { paddr: 0x8000_2000n, data: bytesOf(9, 10, 11, 12), flags },
    ],
    noSections: true,
  });
  const v = new DataView(full.buffer);
  const off = (i: number): number => v.getUint32(52 + i * 32 + 4, true);
  const mdt = full.slice(0, off(2));
  const files = new Map<string, Uint8Array>([
    ["modem.b02", full.slice(off(2), off(2) + 8)],
    ["modem.b03", full.slice(off(3), off(3) + 4)],
  ]);
  return { full, mdt, files };
}

describe("Qualcomm split firmware", () => {
  it("names companion files by program header index", () => {
    expect(mdtSegmentFileName("modem.mdt", 0)).toBe("modem.b00");
    expect(mdtSegmentFileName("fw/adsp.mdt", 12)).toBe("fw/adsp.b12");
    expect(mdtSegmentFileName("x.mdt", 123)).toBe("x.b123");
    expect(() => mdtSegmentFileName("mdt", 1)).toThrow(RangeError);
  });

  it("parses the .mdt: hash segment, loadable segments, split, region", () => {
    const { mdt } = firmware();
    const info = parseMdt(mdt);
    expect(info.split).toBe(true);
    expect(info.hashSegment?.index).toBe(1);
    expect(info.loadSegments.map((p) => p.index)).toEqual([2, 3]);
    expect(info.minAddr).toBe(0x8000_0000n);
    expect(info.maxAddr).toBe(0x8000_3000n);
    expect(info.relocatable).toBe(false);
  });

  it("loads segments from .bNN files at p_paddr, zero-filling", async () => {
    const { mdt, files } = firmware();
    const m = memorySink(0x8000_0000n, 0x3000);
    const r = await loadMdt(mdt, "modem.mdt", (n) => files.get(n), m.sink);
    expect(r.entry).toBe(0x8000_0000n);
    expect(toHex(m.mem.subarray(0, 0x10))).toBe("0102030405060708" + "00".repeat(8));
    expect(toHex(m.mem.subarray(0x2000, 0x2004))).toBe("090a0b0c");
  });

  it("relocates a relocatable image into its region", async () => {
    const { mdt, files } = firmware(7 | QCOM_MDT_RELOCATABLE);
    const m = memorySink(0x1000_0000n, 0x3000);
    const r = await loadMdt(mdt, "modem.mdt", async (n) => Promise.resolve(files.get(n)), m.sink, {
      region: { pa: 0x1000_0000n, size: 0x3000n },
    });
    expect(r.segments.map((s) => s.pa)).toEqual([0x1000_0000n, 0x1000_2000n]);
    expect(toHex(m.mem.subarray(0x2000, 0x2004))).toBe("090a0b0c");
  });

  it("refuses a non-relocatable image outside its region, and a missing or short companion", async () => {
    const { mdt, files } = firmware();
    const code = async (p: Promise<unknown>): Promise<string> =>
      p.then(
        () => "none",
        (e: unknown) => (isAmpError(e) ? e.code : "other"),
      );
    expect(
      await code(
        loadMdt(mdt, "modem.mdt", (n) => files.get(n), memorySink(0x1000_0000n, 0x3000).sink, {
          region: { pa: 0x1000_0000n, size: 0x3000n },
        }),
      ),
    ).toBe("ERR_RANGE");
    expect(await code(loadMdt(mdt, "modem.mdt", () => undefined, memorySink(0x8000_0000n, 0x3000).sink))).toBe(
      "ERR_SINK",
    );
    expect(
      await code(loadMdt(mdt, "modem.mdt", (n) => files.get(n)?.subarray(1), memorySink(0x8000_0000n, 0x3000).sink)),
    ).toBe("ERR_TRUNCATED");
    expect(
      await code(
        loadMdt(
          mdt,
          "modem.mdt",
          () => {
            throw new Error("io");
          },
          memorySink(0x8000_0000n, 0x3000).sink,
        ),
      ),
    ).toBe("ERR_SINK");
  });

  it("assembles the single-file image, which loads like the split one", async () => {
    const { full, mdt, files } = firmware();
    const image = await assembleMdt(mdt, "modem.mdt", (n) => files.get(n));
    expect(toHex(image)).toBe(toHex(full.subarray(0, image.length)));
    const a = memorySink(0x8000_0000n, 0x3000);
    loadElf(image, a.sink);
    const b = memorySink(0x8000_0000n, 0x3000);
    await loadMdt(mdt, "modem.mdt", (n) => files.get(n), b.sink);
    expect(toHex(a.mem)).toBe(toHex(b.mem));
  });

  it("assembles a split whose section headers no file kept into an image that parses (issue 15 item 6)", async () => {
    // As splitting tools do: the .mdt copies the ELF header, whose e_shoff points at a section
    // header table after the last segment, which no .bNN file holds.
    const full = buildElf({
      elfClass: 32,
      entry: 0x1000n,
      segments: [
        { paddr: 0x1000n, data: bytesOf(1, 2, 3, 4) },
        { paddr: 0x2000n, data: bytesOf(5, 6) },
      ],
      sections: [{ name: ".resource_table", type: 1, addr: 0x2000n, segment: 1, segmentOffset: 0, size: 2n }],
    });
    const elf = parseElf(full);
    const [p0, p1] = elf.programHeaders;
    const mdt = full.slice(0, Number(p0!.offset));
    const files = new Map([
      ["fw.b00", full.slice(Number(p0!.offset), Number(p0!.offset + p0!.filesz))],
      ["fw.b01", full.slice(Number(p1!.offset), Number(p1!.offset + p1!.filesz))],
    ]);
    const image = await assembleMdt(mdt, "fw.mdt", (n) => files.get(n));
    const back = parseElf(image);
    expect(back.header).toMatchObject({ shoff: 0n, shnum: 0, shstrndx: 0 });
    expect(back.sections).toEqual([]);
    expect(validateElf(image).filter((d) => d.severity === "error")).toEqual([]);
    // Every other byte is the original's.
    const keep = (b: Uint8Array): string =>
      toHex(
        Uint8Array.from(b.subarray(0, image.length), (x, i) => ((i >= 32 && i < 36) || (i >= 48 && i < 52) ? 0 : x)),
      );
    expect(keep(image)).toBe(keep(full));
  });

  it("keeps a section header table that the split files do carry", async () => {
    const { mdt, files } = firmware();
    const withShoff = mdt.slice();
    new DataView(withShoff.buffer).setUint32(32, 52, true); // e_shoff inside the .mdt
    new DataView(withShoff.buffer).setUint16(48, 1, true); // one (null) section header
    const image = await assembleMdt(withShoff, "modem.mdt", (n) => files.get(n));
    expect(parseElf(image).header.shoff).toBe(52n);
  });

  it("builds the authentication metadata: headers then the hash segment", async () => {
    const { mdt, files } = firmware();
    const meta = await mdtMetadata(mdt, "modem.mdt", (n) => files.get(n));
    expect(meta.length).toBe(52 + 4 * 32 + 4);
    expect(toHex(meta.subarray(0, 4))).toBe("7f454c46");
    expect(toHex(meta.subarray(-4))).toBe("11223344");
  });
});
