// Streams an ELF core of the remote's memory through @amp/elf-loader's writer: one PT_LOAD per
// segment (Linux remoteproc_coredump.c layout), each chunk read just before it is written.
import { coredumpChunks } from "@amp/elf-loader";
import type { CoredumpLayout, CoredumpRegion, ElfNote } from "@amp/elf-loader";
import type { CoredumpElfInfo, CoredumpSegmentSpec } from "../coredump.js";
import type { MemoryWindow } from "../memory.js";

/** What to dump and how to reach it. */
export interface DumpSource {
  readonly elf: CoredumpElfInfo;
  /** e_entry (Linux writes the boot address). */
  readonly entry: bigint;
  readonly segments: readonly CoredumpSegmentSpec[];
  /** Notes written before the memory (the trace note: the last records before the dump). */
  readonly notes?: readonly ElfNote[];
  translate(da: number, length: number): MemoryWindow | undefined;
}

/** Writes the core chunk by chunk to `write`; returns the total size. Untranslatable bytes read as 0xFF. */
export async function streamCoredump(
  src: DumpSource,
  write: (chunk: Uint8Array) => void | Promise<void>,
): Promise<number> {
  const specs = src.segments;
  const regions: CoredumpRegion[] = specs.map((x) => ({
    da: BigInt(x.da),
    size: BigInt(x.size),
    ...(x.name === undefined ? {} : { name: x.name }),
  }));
  const layout: CoredumpLayout = {
    elfClass: src.elf.elfClass,
    machine: src.elf.machine,
    entry: src.entry,
    regions,
    ...(src.notes !== undefined && src.notes.length > 0 ? { notes: src.notes } : {}),
  };
  const reader = (_region: CoredumpRegion, index: number, offset: bigint, out: Uint8Array): boolean => {
    const spec = specs[index];
    if (spec === undefined) return false;
    const off = Number(offset);
    if (spec.read !== undefined) return spec.read(off, out);
    const w = src.translate(spec.da + off, out.length);
    if (w === undefined) return false;
    w.memory.readInto(w.offset, out);
    return true;
  };
  let size = 0;
  for (const chunk of coredumpChunks(layout, reader)) {
    size += chunk.length;
    await write(chunk);
  }
  return size;
}
