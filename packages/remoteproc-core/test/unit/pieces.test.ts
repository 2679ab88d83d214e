import { describe, expect, it } from "vitest";
import { createElfLoader, decodeUtf8, isAmpError, TraceBuffer } from "@amp/remoteproc-core";
import { ArrayBufferMemory } from "@amp/virtio-ring";
import { serializeResourceTable } from "@amp/resource-table";
import { firmware, makePlatform } from "../helpers/fixture.ts";

describe("decodeUtf8", () => {
  it("decodes UTF-8 and replaces invalid sequences", () => {
    const enc = new TextEncoder();
    for (const s of ["plain", "héllo", "€ 100", "𝄞 clef", ""]) expect(decodeUtf8(enc.encode(s))).toBe(s);
    expect(decodeUtf8(new Uint8Array([0x41, 0xc0, 0x80, 0x42]))).toBe("A\ufffd\ufffdB");
    expect(decodeUtf8(new Uint8Array([0xed, 0xa0, 0x80]))).toBe("\ufffd\ufffd\ufffd");
    expect(decodeUtf8(new Uint8Array([0xe2, 0x82]))).toBe("\ufffd\ufffd");
  });
});

describe("TraceBuffer", () => {
  it("reads up to the first NUL, or the whole buffer without one", () => {
    const mem = new ArrayBufferMemory(new ArrayBuffer(16));
    mem.write(0, new Uint8Array([0x61, 0x62, 0x63, 0, 0x64]));
    const t = new TraceBuffer(0, "t", 0x100, 8, () => ({ da: 0x100, size: 8, memory: mem, offset: 0 }));
    expect(t.readText()).toBe("abc");
    mem.fill(0, 16, 0x7a);
    expect(t.readText()).toBe("zzzzzzzz");
    const gone = new TraceBuffer(0, "t", 0, 8, () => undefined);
    expect(gone.read()).toBeUndefined();
    expect(gone.readText()).toBe("");
  });
});

describe("the ELF loader", () => {
  it("refuses a big-endian image and non-ELF bytes with an AmpError", async () => {
    const loader = createElfLoader();
    const be = firmware();
    be[5] = 2; // EI_DATA = ELFDATA2MSB
    for (const img of [be, new Uint8Array(16)]) {
      const e = await Promise.resolve()
        .then(() => loader.loadAndVerify(img, { firmwareName: "x", rprocName: "y" }))
        .then(
          () => undefined,
          (x: unknown) => x,
        );
      expect(isAmpError(e)).toBe(true);
    }
  });

  it("reports the table's sh_addr, the entry and the ELF class", async () => {
    const fw = await createElfLoader().loadAndVerify(firmware({ entry: 0x1234 }), {
      firmwareName: "x",
      rprocName: "y",
    });
    expect(fw.bootAddr).toBe(0x1234n);
    expect(fw.resourceTable?.da).toBe(0x8000);
    expect(fw.elf).toEqual({ elfClass: 32, machine: 40 });
  });
});

describe("named regions", () => {
  it("a region claimed by one carveout cannot serve a second of the same name", async () => {
    const base = makePlatform();
    const regions = [
      ...base.regions,
      { name: "dup", da: 0x2000_0000, size: 0x1000, memory: base.memory, offset: 0x20000 },
    ];
    const table = serializeResourceTable({
      entries: [
        { kind: "carveout", name: "dup", len: 0x100 },
        { kind: "carveout", name: "dup", len: 0x100 },
      ],
    });
    const p = makePlatform({ fw: firmware({ table }), regions: regions.map((r) => ({ ...r, memory: base.memory })) });
    const e = await p.rproc.boot().catch((x: unknown) => x);
    expect(((e as Error).cause as { code?: string }).code).toBe("ERR_RESOURCE_CONFLICT");
    expect(p.rproc.allocatedBytes).toBe(0);
  });
});
