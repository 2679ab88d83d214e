// Host as loader (qemu-remote.md §3): the firmware's PT_LOAD segments go into the RAM file at
// p_paddr - 0x21000000, nothing through QEMU's -kernel. The CPU then takes SP and PC from the
// vector table at 0x21000000 when QEMU resets it, so the image must start with one: checked here
// because a bad reset vector makes QEMU 7.2 abort with a lockup instead of reporting anything.

import { AmpError } from "@amp/virtio-ring";
import { ElfMachine, findResourceTable, loadElf, parseElf } from "@amp/elf-loader";
import type { ElfFile, LoadSink } from "@amp/elf-loader";
import type { Memory } from "@amp/virtio-ring";
import { MPS2_RAM_BASE } from "./abi.js";
import type { QemuErrorCode } from "./errors.js";

/** Where a firmware's resource table is: section `.resource_table` (sh_addr, sh_size). */
export interface ImageTable {
  readonly da: number;
  readonly size: number;
}

/** What {@link checkImage} found in a firmware ELF. */
export interface QemuImage {
  readonly elf: ElfFile;
  /** e_entry. */
  readonly entry: number;
  /** The initial stack pointer and reset vector in the image's vector table. */
  readonly initialSp: number;
  readonly resetVector: number;
  readonly resourceTable: ImageTable | undefined;
}

function fail(message: string, offset?: number): never {
  throw new AmpError<QemuErrorCode>("ERR_MALFORMED", message, offset === undefined ? undefined : { offset });
}

function ramContains(da: bigint, size: bigint, base: number, ramSize: number): boolean {
  const b = BigInt(base);
  return da >= b && size <= BigInt(ramSize) && da - b <= BigInt(ramSize) - size;
}

/**
 * Checks that a firmware ELF can run on the file-backed mps2 RAM: 32-bit little-endian ARM, every
 * PT_LOAD inside [base, base + ramSize), and a vector table at `base` whose reset vector is a Thumb
 * address inside the RAM.
 *
 * @throws AmpError ERR_MALFORMED (not such an image), ERR_RANGE (a segment outside the RAM), and
 *   the elf-loader's errors for a broken ELF.
 */
export function checkImage(bytes: Uint8Array, base: number = MPS2_RAM_BASE, ramSize = 0x0100_0000): QemuImage {
  const elf = parseElf(bytes);
  const h = elf.header;
  if (h.elfClass !== 32 || !h.littleEndian || h.machine !== ElfMachine.EM_ARM) {
    fail(`not a 32-bit little-endian ARM ELF (class ${h.elfClass}, machine ${h.machine})`);
  }
  let vectors: Uint8Array | undefined;
  for (const p of elf.programHeaders) {
    if (p.type !== 1 || p.memsz === 0n) continue;
    if (!ramContains(p.paddr, p.memsz, base, ramSize)) {
      throw new AmpError<QemuErrorCode>(
        "ERR_RANGE",
        `segment at 0x${p.paddr.toString(16)} (+0x${p.memsz.toString(16)}) is outside the RAM 0x${base.toString(16)}..0x${(base + ramSize).toString(16)}`,
      );
    }
    if (p.paddr === BigInt(base) && p.filesz >= 8n) vectors = bytes.subarray(Number(p.offset), Number(p.offset) + 8);
  }
  if (vectors?.length !== 8)
    fail(`no vector table at 0x${base.toString(16)}: the first PT_LOAD must start there (the CPU boots from it)`);
  const dv = new DataView(vectors.buffer, vectors.byteOffset, 8);
  const initialSp = dv.getUint32(0, true);
  const resetVector = dv.getUint32(4, true);
  if ((resetVector & 1) !== 1 || !ramContains(BigInt(resetVector & ~1), 2n, base, ramSize)) {
    fail(`reset vector 0x${resetVector.toString(16)} is not a Thumb address inside the RAM`);
  }
  const t = findResourceTable(elf);
  const resourceTable = t === undefined ? undefined : { da: Number(t.address), size: Number(t.section.size) };
  return { elf, entry: Number(h.entry), initialSp, resetVector, resourceTable };
}

/**
 * Writes the image's PT_LOAD segments into `memory` (byte 0 = device address `base`), zero-filling
 * p_memsz - p_filesz. Returns what {@link checkImage} found.
 *
 * @throws as {@link checkImage}.
 */
export function loadImage(memory: Memory, bytes: Uint8Array, base: number = MPS2_RAM_BASE): QemuImage {
  const image = checkImage(bytes, base, memory.byteLength);
  const b = BigInt(base);
  const sink: LoadSink = {
    accepts: (pa, size) => ramContains(pa, size, base, memory.byteLength),
    write: (pa, chunk) => {
      memory.write(Number(pa - b), chunk);
    },
    fill: (pa, length, value) => {
      memory.fill(Number(pa - b), Number(length), value);
    },
  };
  loadElf(image.elf, sink);
  return image;
}
