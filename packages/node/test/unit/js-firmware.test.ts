import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { findResourceTable, findSymbol, parseElf, validateElf } from "@amp/elf-loader";
import { FW_RSC_ADDR_ANY, isAmpError, parseResourceTable } from "@amp/resource-table";
import {
  buildJsFirmware,
  decodeProgramHeader,
  JS_FIRMWARE_FLAGS,
  JS_FIRMWARE_MACHINE,
  PROGRAM_HEADER_SIZE,
} from "@amp/node";

const PROGRAM = "export default async function main(cpu) { return cpu; }\n";
const TABLE = {
  entries: [
    {
      kind: "vdev" as const,
      id: 7,
      dfeatures: 1,
      vrings: [
        { align: 4096, num: 16 },
        { align: 4096, num: 16 },
      ],
    },
    { kind: "trace" as const, da: FW_RSC_ADDR_ANY, len: 1024, name: "trace" },
  ],
};

describe("buildJsFirmware", () => {
  // Expected digests computed from buildJsFirmware at commit a8f5614, when it still wrote the ELF
  // with its own writer (src/internal/elf32-writer.ts, now @amp/elf-loader's writeElfExecutable):
  // the same input must keep giving the same image, byte for byte.
  it.each([
    [
      "a trace buffer placed in .noinit",
      {
        program: "export default async () => {};\n",
        resourceTable: { entries: [{ kind: "trace" as const, da: FW_RSC_ADDR_ANY, len: 512, name: "trace" }] },
      },
      740,
      "a23043f788474a530fdcda9425695d756dc7ec392be637ef0e2f507a4f40f5ff",
    ],
    [
      "no resource table",
      { program: PROGRAM },
      460,
      "584a7b9d2fe9a3e7916f46ca485fa5255ade912edfe5292cce49e30d17006dfb",
    ],
  ])("writes the same bytes as before the writer moved (%s)", (_what, input, length, digest) => {
    const bytes = buildJsFirmware(input);
    expect([bytes.length, createHash("sha256").update(bytes).digest("hex")]).toEqual([length, digest]);
  });

  it("writes an ELF32 LE executable with the documented machine, flags and entry", () => {
    const elf = parseElf(buildJsFirmware({ program: PROGRAM, resourceTable: TABLE }));
    expect(elf.header.elfClass).toBe(32);
    expect(elf.header.littleEndian).toBe(true);
    expect(elf.header.type).toBe(2);
    expect(elf.header.machine).toBe(JS_FIRMWARE_MACHINE);
    expect(elf.header.flags).toBe(JS_FIRMWARE_FLAGS);
    expect(elf.header.entry).toBe(0x1000n);
    expect(elf.programHeaders.map((p) => p.type)).toEqual([1, 1, 1]);
    expect(elf.sections.map((s) => s.name)).toEqual([
      "",
      ".text",
      ".resource_table",
      ".noinit",
      ".symtab",
      ".strtab",
      ".shstrtab",
    ]);
  });

  it("passes the ELF validator with no errors", () => {
    const bytes = buildJsFirmware({ program: PROGRAM, resourceTable: TABLE });
    expect(validateElf(bytes).filter((d) => d.severity === "error")).toEqual([]);
  });

  it("stores the program image at the entry and points it at the resource table", () => {
    const bytes = buildJsFirmware({ program: PROGRAM, resourceTable: TABLE });
    const elf = parseElf(bytes);
    const text = elf.programHeaders[0]!;
    const image = bytes.subarray(Number(text.offset), Number(text.offset + text.filesz));
    const h = decodeProgramHeader(image, 0);
    const rsc = findResourceTable(elf)!;
    expect(h.resourceTableAddress).toBe(Number(rsc.address));
    expect(h.resourceTableSize).toBe(rsc.bytes.length);
    expect(new TextDecoder().decode(image.subarray(PROGRAM_HEADER_SIZE, PROGRAM_HEADER_SIZE + h.codeLength))).toBe(
      PROGRAM,
    );
  });

  it("places a trace buffer with da ANY in .noinit and names it trace_buf", () => {
    const elf = parseElf(buildJsFirmware({ program: PROGRAM, resourceTable: TABLE }));
    const table = parseResourceTable(findResourceTable(elf)!.bytes);
    const trace = table.entries.find((e) => e.kind === "trace");
    const noinit = elf.sections.find((s) => s.name === ".noinit")!;
    expect(trace?.kind === "trace" ? BigInt(trace.da) : -1n).toBe(noinit.addr);
    expect(findSymbol(elf, "trace_buf")?.value).toBe(noinit.addr);
    expect(noinit.type).toBe(8); // SHT_NOBITS
  });

  it("builds a firmware without a resource table", () => {
    const bytes = buildJsFirmware({ program: PROGRAM });
    const elf = parseElf(bytes);
    expect(findResourceTable(elf)).toBeUndefined();
    const text = elf.programHeaders[0]!;
    expect(decodeProgramHeader(bytes.subarray(Number(text.offset)), 0).resourceTableAddress).toBeUndefined();
  });

  it("refuses a program larger than the processor's firmware area", () => {
    expect(() => buildJsFirmware({ program: "x".repeat(70_000), sramSize: 65536 })).toThrow(RangeError);
  });
});

describe("decodeProgramHeader", () => {
  it("rejects memory without the magic", () => {
    try {
      decodeProgramHeader(new Uint8Array(64), 0);
      expect.unreachable();
    } catch (e) {
      expect(isAmpError(e) && e.code).toBe("ERR_MALFORMED");
    }
  });

  it("rejects a code length that runs past the end of memory", () => {
    const bytes = buildJsFirmware({ program: PROGRAM });
    const elf = parseElf(bytes);
    const off = Number(elf.programHeaders[0]!.offset);
    const image = bytes.slice(off, off + PROGRAM_HEADER_SIZE + 4);
    try {
      decodeProgramHeader(image, 0);
      expect.unreachable();
    } catch (e) {
      expect(isAmpError(e) && e.code).toBe("ERR_TRUNCATED");
    }
  });

  it("rejects a boot address past the end of memory", () => {
    expect(() => decodeProgramHeader(new Uint8Array(16), 100)).toThrow(/memory ends/);
  });
});
