// The firmware's C header and src/qemu/abi.ts must agree number for number: compile the header
// with the host gcc into a program that prints every constant, and compare.
import { describe, expect, it } from "vitest";
import { compileC, requireTools, run } from "@amp/test-utils";
import {
  AMPQ_CRASH_MAGIC,
  AMPQ_CRASH_REASON_HARDFAULT,
  AMPQ_CRASH_REASON_WATCHDOG,
  AMPQ_CTRL_DA,
  AMPQ_CTRL_LEN,
  AMPQ_DB_CRASH,
  AMPQ_DB_PONG,
  AMPQ_MAGIC,
  AMPQ_VERSION,
  AmpqCrash,
  AmpqCtrl,
  AmpqMode,
  AmpqState,
  MPS2_RAM_BASE,
  MPS2_RAM_SIZE,
} from "@amp/node";
import { FIRMWARE_DIR } from "./helpers.ts";

const missing = requireTools("gcc");

const pairs: [string, number][] = [
  ["AMPQ_RAM_BASE", MPS2_RAM_BASE],
  ["AMPQ_RAM_SIZE", MPS2_RAM_SIZE],
  ["AMPQ_CTRL_DA", AMPQ_CTRL_DA],
  ["AMPQ_CTRL_LEN", AMPQ_CTRL_LEN],
  ["AMPQ_CTRL_MAGIC", AmpqCtrl.MAGIC],
  ["AMPQ_CTRL_VERSION", AmpqCtrl.VERSION],
  ["AMPQ_CTRL_BOOTS", AmpqCtrl.BOOTS],
  ["AMPQ_CTRL_STATE", AmpqCtrl.STATE],
  ["AMPQ_CTRL_MODE", AmpqCtrl.MODE],
  ["AMPQ_CTRL_NOTIFY", AmpqCtrl.NOTIFY],
  ["AMPQ_CTRL_IRQS", AmpqCtrl.IRQS],
  ["AMPQ_CTRL_WAKEUPS", AmpqCtrl.WAKEUPS],
  ["AMPQ_CTRL_RX", AmpqCtrl.RX],
  ["AMPQ_CTRL_TX", AmpqCtrl.TX],
  ["AMPQ_CTRL_PING", AmpqCtrl.PING],
  ["AMPQ_CTRL_PONG", AmpqCtrl.PONG],
  ["AMPQ_CTRL_CRASH", AmpqCtrl.CRASH],
  ["AMPQ_MAGIC", AMPQ_MAGIC],
  ["AMPQ_VERSION", AMPQ_VERSION],
  ["AMPQ_STATE_RESET", AmpqState.RESET],
  ["AMPQ_STATE_WAIT_DRIVER_OK", AmpqState.WAIT_DRIVER_OK],
  ["AMPQ_STATE_RUNNING", AmpqState.RUNNING],
  ["AMPQ_STATE_CRASHED", AmpqState.CRASHED],
  ["AMPQ_MODE_POLL", AmpqMode.POLL],
  ["AMPQ_MODE_IRQ", AmpqMode.IRQ],
  ["AMPQ_CRASH_MAGIC_OFF", AmpqCrash.MAGIC],
  ["AMPQ_CRASH_REASON_OFF", AmpqCrash.REASON],
  ["AMPQ_CRASH_R0_OFF", AmpqCrash.FRAME],
  ["AMPQ_CRASH_CFSR_OFF", AmpqCrash.CFSR],
  ["AMPQ_CRASH_HFSR_OFF", AmpqCrash.HFSR],
  ["AMPQ_CRASH_MMFAR_OFF", AmpqCrash.MMFAR],
  ["AMPQ_CRASH_BFAR_OFF", AmpqCrash.BFAR],
  ["AMPQ_CRASH_EXC_RETURN_OFF", AmpqCrash.EXC_RETURN],
  ["AMPQ_CRASH_SP_OFF", AmpqCrash.SP],
  ["AMPQ_CRASH_SIZE", AmpqCrash.SIZE],
  ["AMPQ_CRASH_MAGIC", AMPQ_CRASH_MAGIC],
  ["AMPQ_CRASH_REASON_HARDFAULT", AMPQ_CRASH_REASON_HARDFAULT],
  ["AMPQ_CRASH_REASON_WATCHDOG", AMPQ_CRASH_REASON_WATCHDOG],
  ["AMPQ_DB_CRASH", AMPQ_DB_CRASH],
  ["AMPQ_DB_PONG", AMPQ_DB_PONG],
];

describe.skipIf(missing)("firmware/qemu/amp-qemu.h agrees with src/qemu/abi.ts", () => {
  it("every constant has the same value", () => {
    const body = pairs.map(([n]) => `  printf("%s %lu\\n", "${n}", (unsigned long)(${n}));`).join("\n");
    const exe = compileC(`#include <stdio.h>\n#include "amp-qemu.h"\nint main(void) {\n${body}\n  return 0;\n}\n`, {
      flags: ["-O0", "-Wall", "-Werror", `-I${FIRMWARE_DIR}`],
      name: "abi",
    });
    const printed = new Map(
      run(exe, [])
        .trim()
        .split("\n")
        .map((l) => {
          const [k, v] = l.split(" ");
          return [k!, Number(v)];
        }),
    );
    expect(printed.size).toBe(pairs.length);
    for (const [name, value] of pairs) expect([name, printed.get(name)]).toEqual([name, value]);
  });
});
