// Coredump of a QEMU remote: an ELF ET_CORE with one PT_LOAD per memory region (Linux layout,
// docs/wire-formats.md, "Firmware ELF and coredumps") plus a "CORE"/NT_PRSTATUS note holding the
// CPU registers in the 32-bit ARM Linux `struct elf_prstatus` layout, which is what gdb reads
// registers from (`gdb-multiarch firmware.elf core` then `bt`, `info registers`,
// `x/4wx 0x21fff000`).
import { ElfMachine, NoteType, writeCoredump } from "@amp/elf-loader";
import type { CoredumpRegion, ElfNote } from "@amp/elf-loader";
import type { Memory } from "@amp/virtio-ring";
import { MPS2_RAM_BASE } from "./abi.js";
import type { CpuRegisters } from "./registers.js";

// struct elf_prstatus for 32-bit ARM (linux/elfcore.h + asm/ptrace.h): pr_info (3 ints),
// pr_cursig (short + pad), pr_sigpend, pr_sighold, pr_pid, pr_ppid, pr_pgrp, pr_sid, four
// struct timeval (2 longs each), pr_reg (elf_gregset_t: 18 longs = r0..r15, cpsr, orig_r0),
// pr_fpvalid: 148 bytes.
const PRSTATUS_SIZE = 148;
const OFF_CURSIG = 12;
const OFF_PID = 24;
const OFF_REG = 72;
const SIGSEGV = 11;

/**
 * The NT_PRSTATUS note of a 32-bit ARM core for these registers (r0..r15 and xpsr in the cpsr
 * slot; cursig SIGSEGV, pid 1).
 */
export function armPrstatusNote(regs: CpuRegisters, signal: number = SIGSEGV): ElfNote {
  const desc = new Uint8Array(PRSTATUS_SIZE);
  const dv = new DataView(desc.buffer);
  dv.setUint32(0, signal, true); // pr_info.si_signo
  dv.setUint16(OFF_CURSIG, signal, true);
  dv.setUint32(OFF_PID, 1, true);
  for (let i = 0; i < 16; i++) dv.setUint32(OFF_REG + 4 * i, regs.r[i] ?? 0, true);
  dv.setUint32(OFF_REG + 64, regs.xpsr, true);
  dv.setUint32(OFF_REG + 68, regs.r[0] ?? 0, true); // orig_r0
  return { name: "CORE", type: NoteType.NT_PRSTATUS, desc };
}

/** Options of {@link writeQemuCoredump}. */
export interface QemuCoredumpOptions {
  /** Registers for the NT_PRSTATUS note (omit for a memory-only dump). */
  readonly registers?: CpuRegisters;
  /** Regions to dump (default: the whole RAM, one PT_LOAD at 0x21000000). */
  readonly regions?: readonly CoredumpRegion[];
  /** e_entry (default 0). */
  readonly entry?: number;
  /** Device address of `memory` byte 0 (default 0x21000000). */
  readonly base?: number;
  /** More notes after NT_PRSTATUS (e.g. the @amp trace note). */
  readonly notes?: readonly ElfNote[];
}

/**
 * Writes the coredump through `write` (called with consecutive chunks; 64 KiB of region data at a
 * time) and returns its size. Regions outside `memory` are filled with 0xFF, as Linux does.
 *
 * @example
 * const fd = fs.openSync("remote.core", "w");
 * writeQemuCoredump(driver.memory, (c) => fs.writeSync(fd, c), { registers: driver.lastRegisters });
 */
export function writeQemuCoredump(
  memory: Memory,
  write: (chunk: Uint8Array) => void,
  options: QemuCoredumpOptions = {},
): number {
  const base = options.base ?? MPS2_RAM_BASE;
  const regions = options.regions ?? [{ da: BigInt(base), size: BigInt(memory.byteLength), name: "ram" }];
  const notes = [
    ...(options.registers === undefined ? [] : [armPrstatusNote(options.registers)]),
    ...(options.notes ?? []),
  ];
  const size = writeCoredump(
    { elfClass: 32, machine: ElfMachine.EM_ARM, entry: BigInt(options.entry ?? 0), regions, notes },
    (region, _i, offset, out) => {
      const at = region.da + offset - BigInt(base);
      if (at < 0n || at + BigInt(out.length) > BigInt(memory.byteLength)) return false;
      memory.readInto(Number(at), out);
      return true;
    },
    write,
  );
  return Number(size);
}
