// CPU registers of an M-profile core as QEMU's HMP `info registers` prints them (QEMU 7.2):
//   R00=21003fe6 R01=00000000 R02=04e1e4ef R03=00000000
//   ...
//   R12=0000001f R13=21004030 R14=21003fe6 R15=21000c3c
//   XPSR=81000000 N--- T priv-thread
//   s00=00000000 s01=00000000 d00=0000000000000000      (cores with an FPU)
//   ...
//   FPSCR: 00000000
// QMP `human-monitor-command` returns that text in 1 ms (qemu-remote.md §4); no gdb needed.

import { AmpError } from "@amp/virtio-ring";
import type { QemuErrorCode } from "./errors.js";

/** Registers of a Cortex-M CPU. */
export interface CpuRegisters {
  /** r0..r15 (r13 = sp of the current mode, r14 = lr, r15 = pc). */
  readonly r: readonly number[];
  /** Combined program status register. */
  readonly xpsr: number;
  /** "handler" inside an exception (HardFault...), else "thread". */
  readonly mode: "handler" | "thread";
  /** Single-precision FPU registers s0..s31 when the core has an FPU (Cortex-M4F), else empty. */
  readonly s: readonly number[];
  /** FPSCR when printed, else undefined. */
  readonly fpscr: number | undefined;
}

/**
 * Parses HMP `info registers` text of an M-profile CPU.
 *
 * @throws AmpError ERR_MALFORMED when R00..R15 or XPSR is missing.
 */
export function parseRegisters(text: string): CpuRegisters {
  const r: number[] = [];
  const s: number[] = [];
  for (const m of text.matchAll(/\b(R|s)(\d\d)=([0-9a-fA-F]{8})\b/g)) {
    const [, kind, idx, hex] = m as unknown as [string, string, string, string];
    const i = Number(idx);
    const v = Number.parseInt(hex, 16);
    if (kind === "R" && i < 16) r[i] = v;
    else if (kind === "s" && i < 32) s[i] = v;
  }
  const x = /\bXPSR=([0-9a-fA-F]{8})\b[^\n]*/.exec(text);
  if (!isComplete(r, 16) || x?.[1] === undefined) {
    throw new AmpError<QemuErrorCode>(
      "ERR_MALFORMED",
      `'info registers' output without R00..R15 and XPSR: ${text.slice(0, 120)}`,
    );
  }
  const fp = /FPSCR:\s*([0-9a-fA-F]{8})/.exec(text);
  return {
    r,
    xpsr: Number.parseInt(x[1], 16),
    mode: /handler/.test(x[0]) ? "handler" : "thread",
    s: isComplete(s, 32) ? s : [],
    fpscr: fp?.[1] === undefined ? undefined : Number.parseInt(fp[1], 16),
  };
}

function isComplete(values: readonly number[], n: number): boolean {
  if (values.length !== n) return false;
  for (let i = 0; i < n; i++) if (values[i] === undefined) return false;
  return true;
}
