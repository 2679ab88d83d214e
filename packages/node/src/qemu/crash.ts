// The crash record the firmware's HardFault handler leaves in the control block (abi.ts), decoded
// into what a firmware engineer looks at first: the faulting pc, lr, and the fault status
// registers with their bits named (ARMv7-M ARM, B3.2.15 CFSR and B3.2.16 HFSR).
import type { Memory } from "@amp/virtio-ring";
import {
  AMPQ_CRASH_MAGIC,
  AMPQ_CRASH_REASON_WATCHDOG,
  AMPQ_CTRL_DA,
  AmpqCrash,
  AmpqCtrl,
  MPS2_RAM_BASE,
} from "./abi.js";

/** A decoded HardFault record. */
export interface FaultRecord {
  /** 1 = HardFault, 2 = watchdog (NMI); see {@link FaultRecord.kind}. */
  readonly reason: number;
  /** "watchdog" when the watchdog fired (the frame shows where the firmware hung), else "hardfault". */
  readonly kind: "hardfault" | "watchdog";
  /** The exception frame the CPU stacked: r0 r1 r2 r3 r12 lr pc xpsr. */
  readonly r0: number;
  readonly r1: number;
  readonly r2: number;
  readonly r3: number;
  readonly r12: number;
  readonly lr: number;
  /** Address of the faulting instruction. */
  readonly pc: number;
  readonly xpsr: number;
  /** Configurable Fault Status Register (MMFSR | BFSR << 8 | UFSR << 16). */
  readonly cfsr: number;
  /** HardFault Status Register. */
  readonly hfsr: number;
  readonly mmfar: number;
  readonly bfar: number;
  /** EXC_RETURN of the handler (which stack held the frame). */
  readonly excReturn: number;
  /** Address of the stacked frame (the faulting code's sp). */
  readonly sp: number;
  /** Names of the fault bits set in CFSR and HFSR, e.g. ["UNDEFINSTR", "FORCED"]. */
  readonly faults: readonly string[];
}

const CFSR_BITS: readonly (readonly [number, string])[] = [
  [0, "IACCVIOL"],
  [1, "DACCVIOL"],
  [3, "MUNSTKERR"],
  [4, "MSTKERR"],
  [5, "MLSPERR"],
  [7, "MMARVALID"],
  [8, "IBUSERR"],
  [9, "PRECISERR"],
  [10, "IMPRECISERR"],
  [11, "UNSTKERR"],
  [12, "STKERR"],
  [13, "LSPERR"],
  [15, "BFARVALID"],
  [16, "UNDEFINSTR"],
  [17, "INVSTATE"],
  [18, "INVPC"],
  [19, "NOCP"],
  [24, "UNALIGNED"],
  [25, "DIVBYZERO"],
];
const HFSR_BITS: readonly (readonly [number, string])[] = [
  [1, "VECTTBL"],
  [30, "FORCED"],
  [31, "DEBUGEVT"],
];

/** Names of the bits set in CFSR and HFSR. */
export function faultNames(cfsr: number, hfsr: number): string[] {
  const out: string[] = [];
  for (const [bit, name] of CFSR_BITS) if ((cfsr >>> bit) & 1) out.push(name);
  for (const [bit, name] of HFSR_BITS) if ((hfsr >>> bit) & 1) out.push(name);
  return out;
}

/**
 * Reads the crash record from the remote's RAM (`memory` byte 0 = device address `base`), or
 * undefined when there is none (the magic word is written last, so a record is complete or absent).
 */
export function readFaultRecord(
  memory: Memory,
  base: number = MPS2_RAM_BASE,
  ctrlDa: number = AMPQ_CTRL_DA,
): FaultRecord | undefined {
  const at = ctrlDa - base + AmpqCtrl.CRASH;
  if (at < 0 || at > memory.byteLength - AmpqCrash.SIZE) return undefined;
  const bytes = memory.read(at, AmpqCrash.SIZE);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const w = (off: number): number => dv.getUint32(off, true);
  if (w(AmpqCrash.MAGIC) !== AMPQ_CRASH_MAGIC) return undefined;
  const f = AmpqCrash.FRAME;
  const cfsr = w(AmpqCrash.CFSR);
  const hfsr = w(AmpqCrash.HFSR);
  const reason = w(AmpqCrash.REASON);
  return {
    reason,
    kind: reason === AMPQ_CRASH_REASON_WATCHDOG ? "watchdog" : "hardfault",
    r0: w(f),
    r1: w(f + 4),
    r2: w(f + 8),
    r3: w(f + 12),
    r12: w(f + 16),
    lr: w(f + 20),
    pc: w(f + 24),
    xpsr: w(f + 28),
    cfsr,
    hfsr,
    mmfar: w(AmpqCrash.MMFAR),
    bfar: w(AmpqCrash.BFAR),
    excReturn: w(AmpqCrash.EXC_RETURN),
    sp: w(AmpqCrash.SP),
    faults: faultNames(cfsr, hfsr),
  };
}

/**
 * One line for logs: "HardFault at pc 0x21000a3c (lr 0x21000b01, sp 0x21003fe0): UNDEFINSTR FORCED",
 * or "watchdog timeout at pc ... (lr ..., sp ...)".
 */
export function describeFault(f: FaultRecord): string {
  const hex32 = (v: number): string => `0x${v.toString(16).padStart(8, "0")}`;
  const where = `pc ${hex32(f.pc)} (lr ${hex32(f.lr)}, sp ${hex32(f.sp)})`;
  if (f.kind === "watchdog") return `watchdog timeout at ${where}`;
  return `HardFault at ${where}: ${f.faults.join(" ") || "no fault bits"}`;
}
