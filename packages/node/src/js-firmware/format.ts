// The JS-firmware format: a real ELF32 little-endian executable for the worker-thread
// processor. Its first loadable segment (section ".text", at the entry address) holds a
// program image: a 32-byte header followed by the bundled remote program as UTF-8 ES module
// text. A ".resource_table" section in its own loadable segment holds the resource table, and
// a zero-filled ".noinit" segment holds buffers the table points at (the trace buffer).
//
// ELF identification, documented here because no ABI registers "JavaScript":
//   EI_CLASS = ELFCLASS32, EI_DATA = ELFDATA2LSB, EI_OSABI = 0,
//   e_machine = EM_NONE (0), e_flags = JS_FIRMWARE_FLAGS (0x4a504d41, the bytes "AMPJ").
//
// Program image header (little-endian), at the boot address:
//   off 0  u8[8] magic   "AMPJSFW\0"
//   off 8  u32   version (1)
//   off 12 u32   header size (32)
//   off 16 u32   code length in bytes
//   off 20 u32   resource table device address (0xffffffff: none)
//   off 24 u32   resource table size in bytes
//   off 28 u32   reserved (0)
//   off 32       code (UTF-8 text of an ES module whose default export is `main(cpu)`)
import { AmpError } from "@amp/virtio-ring";

const LE = true;

/** e_machine of JS firmware: EM_NONE, since no machine number exists for JavaScript. */
export const JS_FIRMWARE_MACHINE = 0;
/** e_flags of JS firmware: the ASCII bytes "AMPJ" read as a little-endian u32. */
export const JS_FIRMWARE_FLAGS = 0x4a504d41;
/** Magic at the start of the program image. */
export const PROGRAM_MAGIC = "AMPJSFW\0";
/** Size of the program image header. */
export const PROGRAM_HEADER_SIZE = 32;
/** Program image version written and accepted. */
export const PROGRAM_VERSION = 1;
/** "No resource table" in the program header. */
export const NO_TABLE = 0xffffffff;

// Field offsets in the program header; the boot ROM (../internal/boot-rom.ts) reads the same ones.
export const OFF_VERSION = 8;
export const OFF_HEADER_SIZE = 12;
export const OFF_CODE_LEN = 16;
const OFF_TABLE_DA = 20;
const OFF_TABLE_SIZE = 24;

/** The decoded program image header. */
export interface ProgramHeader {
  readonly codeLength: number;
  /** Device address of the firmware's resource table, or undefined when it has none. */
  readonly resourceTableAddress: number | undefined;
  readonly resourceTableSize: number;
}

/** Encodes the header plus code into one program image. */
export function encodeProgramImage(code: Uint8Array, tableDa: number | undefined, tableSize: number): Uint8Array {
  const out = new Uint8Array(PROGRAM_HEADER_SIZE + code.length);
  const v = new DataView(out.buffer);
  for (let i = 0; i < PROGRAM_MAGIC.length; i++) out[i] = PROGRAM_MAGIC.charCodeAt(i);
  v.setUint32(OFF_VERSION, PROGRAM_VERSION, LE);
  v.setUint32(OFF_HEADER_SIZE, PROGRAM_HEADER_SIZE, LE);
  v.setUint32(OFF_CODE_LEN, code.length, LE);
  v.setUint32(OFF_TABLE_DA, tableDa ?? NO_TABLE, LE);
  v.setUint32(OFF_TABLE_SIZE, tableDa === undefined ? 0 : tableSize, LE);
  out.set(code, PROGRAM_HEADER_SIZE);
  return out;
}

/**
 * Decodes the program header found at byte `offset` of `bytes` (the processor's memory seen
 * from the boot address) and checks that the code fits.
 * @throws AmpError ERR_MALFORMED (no magic, wrong version), ERR_TRUNCATED (code past the end)
 */
export function decodeProgramHeader(bytes: Uint8Array, offset: number): ProgramHeader {
  if (offset < 0 || offset > bytes.length || bytes.length - offset < PROGRAM_HEADER_SIZE) {
    throw new AmpError("ERR_TRUNCATED", "no program image at the boot address: memory ends first", { offset });
  }
  for (let i = 0; i < PROGRAM_MAGIC.length; i++) {
    if (bytes[offset + i] !== PROGRAM_MAGIC.charCodeAt(i)) {
      throw new AmpError("ERR_MALFORMED", "no JS program image at the boot address (bad magic)", {
        offset: offset + i,
      });
    }
  }
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = v.getUint32(offset + OFF_VERSION, LE);
  if (version !== PROGRAM_VERSION) {
    throw new AmpError("ERR_UNSUPPORTED", `program image version ${version} is not supported`, {
      offset: offset + OFF_VERSION,
    });
  }
  const headerSize = v.getUint32(offset + OFF_HEADER_SIZE, LE);
  if (headerSize !== PROGRAM_HEADER_SIZE) {
    throw new AmpError("ERR_MALFORMED", `program header size ${headerSize}, expected ${PROGRAM_HEADER_SIZE}`, {
      offset: offset + OFF_HEADER_SIZE,
    });
  }
  const codeLength = v.getUint32(offset + OFF_CODE_LEN, LE);
  if (codeLength > bytes.length - offset - PROGRAM_HEADER_SIZE) {
    throw new AmpError("ERR_TRUNCATED", `program code (${codeLength} bytes) runs past the end of memory`, {
      offset: offset + OFF_CODE_LEN,
    });
  }
  const da = v.getUint32(offset + OFF_TABLE_DA, LE);
  return {
    codeLength,
    resourceTableAddress: da === NO_TABLE ? undefined : da,
    resourceTableSize: da === NO_TABLE ? 0 : v.getUint32(offset + OFF_TABLE_SIZE, LE),
  };
}
