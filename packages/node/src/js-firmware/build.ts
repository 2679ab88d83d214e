// The JS-firmware builder: bundled program text + resource table -> a firmware ELF for the
// worker-thread processor (format: ./format.ts, address map: ../firmware/memory-map.ts).
import { alignUp } from "@amp/virtio-ring";
import {
  serializeResourceTable,
  FW_RSC_ADDR_ANY,
  type ResourceInit,
  type ResourceTableInit,
} from "@amp/resource-table";
import {
  ProgramFlag,
  SectionFlag,
  SymbolType,
  writeElfExecutable,
  type ElfExecutableSegment,
  type ElfExecutableSymbol,
} from "@amp/elf-loader";
import { DEFAULT_SRAM_SIZE, JS_FIRMWARE_LOAD_ADDRESS } from "../firmware/memory-map.js";
import { encodeProgramImage, JS_FIRMWARE_FLAGS, JS_FIRMWARE_MACHINE } from "./format.js";

/** Input of {@link buildJsFirmware}. */
export interface JsFirmwareInput {
  /**
   * The remote program: the text (or UTF-8 bytes) of ONE self-contained ES module whose default
   * export is the firmware entry `main(cpu)` (see `defineFirmware` in `@amp/node/firmware`).
   * Bundle it first (esbuild, `amp firmware build`): the CPU cannot resolve imports.
   */
  readonly program: string | Uint8Array;
  /**
   * The resource table (builder input of @amp/resource-table). A trace entry whose `da` is
   * FW_RSC_ADDR_ANY gets a buffer placed by the builder in the zero-filled `.noinit` segment.
   */
  readonly resourceTable?: ResourceTableInit;
  /** Size of the processor's firmware area the image must fit in (default 4 MiB). */
  readonly sramSize?: number;
}

const PAGE = 0x1000;
const ALIGN = 0x100;

function utf8(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

/**
 * Builds a JS-firmware ELF: `.text` (the program image, at the boot address 0x1000),
 * `.resource_table` and `.noinit` (trace buffers), each in its own PT_LOAD segment, plus
 * symbols `_start`, `resource_table` and one per trace buffer.
 * @throws RangeError when the image does not fit the processor's firmware area, or the table is invalid input
 */
export function buildJsFirmware(input: JsFirmwareInput): Uint8Array {
  const code = typeof input.program === "string" ? utf8(input.program) : input.program;
  const sramSize = input.sramSize ?? DEFAULT_SRAM_SIZE;
  const textAddr = JS_FIRMWARE_LOAD_ADDRESS;
  // First pass: the table's size does not depend on the addresses we fill in.
  const init = input.resourceTable;
  const tableSize = init === undefined ? 0 : serializeResourceTable(init).length;
  const imageSize = 32 + code.length;
  const tableAddr = alignUp(textAddr + imageSize, PAGE);
  const noinitAddr = alignUp(tableAddr + tableSize, PAGE);

  // Place trace buffers with da ANY in .noinit.
  let noinitSize = 0;
  const symbols: ElfExecutableSymbol[] = [
    { name: "_start", value: BigInt(textAddr), size: BigInt(imageSize), type: SymbolType.STT_FUNC, section: ".text" },
  ];
  let finalInit: ResourceTableInit | undefined;
  if (init !== undefined) {
    let traceIndex = 0;
    const entries: ResourceInit[] = init.entries.map((e) => {
      if (e.kind !== "trace" || e.da !== FW_RSC_ADDR_ANY) return e;
      const da = noinitAddr + alignUp(noinitSize, ALIGN);
      noinitSize = alignUp(noinitSize, ALIGN) + e.len;
      symbols.push({
        name: `trace_buf${traceIndex === 0 ? "" : String(traceIndex)}`,
        value: BigInt(da),
        size: BigInt(e.len),
        type: SymbolType.STT_OBJECT,
        section: ".noinit",
      });
      traceIndex++;
      return { ...e, da };
    });
    finalInit = { ...init, entries };
    symbols.push({
      name: "resource_table",
      value: BigInt(tableAddr),
      size: BigInt(tableSize),
      type: SymbolType.STT_OBJECT,
      section: ".resource_table",
    });
  }
  const table = finalInit === undefined ? undefined : serializeResourceTable(finalInit);
  if (table !== undefined && table.length !== tableSize)
    throw new Error("resource table size changed while placing buffers");
  const end =
    noinitSize > 0 ? noinitAddr + noinitSize : table !== undefined ? tableAddr + tableSize : textAddr + imageSize;
  if (end > sramSize) {
    throw new RangeError(
      `the firmware needs ${end} bytes of memory but the processor's firmware area has ${sramSize}: shrink the program or raise sramSize`,
    );
  }
  const RX = ProgramFlag.PF_R | ProgramFlag.PF_X;
  const RW = ProgramFlag.PF_R | ProgramFlag.PF_W;
  const AX = SectionFlag.SHF_ALLOC | SectionFlag.SHF_EXECINSTR;
  const AW = SectionFlag.SHF_ALLOC | SectionFlag.SHF_WRITE;
  const segments: ElfExecutableSegment[] = [
    {
      name: ".text",
      addr: BigInt(textAddr),
      data: encodeProgramImage(code, table === undefined ? undefined : tableAddr, tableSize),
      memsz: BigInt(imageSize),
      flags: RX,
      sectionFlags: AX,
    },
  ];
  if (table !== undefined) {
    segments.push({
      name: ".resource_table",
      addr: BigInt(tableAddr),
      data: table,
      flags: RW,
      sectionFlags: AW,
    });
  }
  if (noinitSize > 0) {
    segments.push({
      name: ".noinit",
      addr: BigInt(noinitAddr),
      memsz: BigInt(noinitSize),
      flags: RW,
      sectionFlags: AW,
    });
  }
  return writeElfExecutable({
    machine: JS_FIRMWARE_MACHINE,
    flags: JS_FIRMWARE_FLAGS,
    entry: BigInt(textAddr),
    segments,
    symbols,
  });
}
