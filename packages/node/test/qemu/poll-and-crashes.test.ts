// The polling doorbell (the firmware busy-polls, the host polls the notify counter), the raw
// ping-pong word pair, and the crash sources other than a HardFault record reached over UART:
// a divide-by-zero trap seen through the control block's state word, a hung main loop caught by
// the watchdog (NMI record), a guest reset request
// (QMP SHUTDOWN event), and QEMU dying (process exit). Each crash recovers in a new QEMU.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireTools } from "@amp/test-utils";
import {
  AmpqCtrl,
  AMPQ_CTRL_DA,
  MPS2_RAM_BASE,
  createQemuRemoteproc,
  type QemuCrashReport,
  type QemuRemoteproc,
} from "@amp/node";
import type { RpmsgHost } from "@amp/rpmsg";
import { buildFirmware, echoOnce, waitFor } from "./helpers.ts";

const missing = requireTools("qemu-system-arm", "arm-none-eabi-gcc");
const enc = new TextEncoder();

describe.skipIf(missing)("QEMU remote: polling doorbell, other crash sources", () => {
  let q: QemuRemoteproc;
  const hosts: RpmsgHost[] = [];
  const crashes: QemuCrashReport[] = [];
  const ctrl = AMPQ_CTRL_DA - MPS2_RAM_BASE;

  beforeAll(async () => {
    q = createQemuRemoteproc({ firmware: buildFirmware().bytes, doorbell: "poll", pollIntervalMs: 0 });
    q.onRpmsg((h) => hosts.push(h));
    q.onCrash((c) => crashes.push(c));
    await q.rproc.boot();
  });
  afterAll(async () => {
    await q.close();
  });

  /** An echo through the latest host. */
  function echo(text: string): Promise<string> {
    return echoOnce(hosts[hosts.length - 1]!, text);
  }

  async function command(text: string): Promise<void> {
    const host = hosts[hosts.length - 1]!;
    await host.waitForService("amp-ctrl", { timeoutMs: 5000 });
    const ep = host.createEndpoint({ dst: 1025 });
    await ep.send(enc.encode(text));
  }

  it("echoes with both sides polling; the firmware took no doorbell interrupt", async () => {
    for (const n of [0, 1, 100, 496]) expect(await echo("p".repeat(n))).toBe("p".repeat(n));
    expect(q.driver.memory.getU32(ctrl + AmpqCtrl.IRQS)).toBe(0);
    expect(q.driver.memory.getU32(ctrl + AmpqCtrl.NOTIFY)).toBeGreaterThan(0);
  });

  it("raw ping-pong through two control words", async () => {
    const m = q.driver.memory;
    for (let i = 1; i <= 100; i++) {
      const v = (0x5000 + i) >>> 0;
      m.setU32(ctrl + AmpqCtrl.PING, v);
      await waitFor("pong", () => m.getU32(ctrl + AmpqCtrl.PONG) === v, 2000, 0);
    }
  });

  it("divide by zero: DIVBYZERO fault record found by polling, recovered", async () => {
    await command("crash-div0");
    await waitFor("recovery 1", () => hosts.length === 2 && q.rproc.state === "running", 10_000);
    expect(crashes[0]!.fault!.faults).toEqual(["DIVBYZERO", "FORCED"]);
    expect(await echo("after div0")).toBe("after div0");
  });

  it("hung main loop: the watchdog NMI records where it hung; crash type watchdog, recovered", async () => {
    await command("hang");
    await waitFor("watchdog recovery", () => hosts.length === 3 && q.rproc.state === "running", 10_000);
    expect(crashes[1]!.type).toBe("watchdog");
    expect(crashes[1]!.fault!.kind).toBe("watchdog");
    expect(crashes[1]!.message).toMatch(/^watchdog timeout at pc 0x210[0-9a-f]{5} /);
    expect(await echo("after watchdog")).toBe("after watchdog");
  });

  it("guest reset request: QMP SHUTDOWN {guest: true} is a crash, recovered", async () => {
    await command("reset");
    await waitFor("recovery 3", () => hosts.length === 4 && q.rproc.state === "running", 10_000);
    expect(crashes[2]!.event?.event).toBe("SHUTDOWN");
    expect(crashes[2]!.message).toBe("the firmware requested a guest-reset");
    expect(await echo("after reset")).toBe("after reset");
  });

  it("QEMU killed: process exit is a crash, recovered in a new QEMU", async () => {
    process.kill(q.driver.machine!.pid!, "SIGKILL");
    await waitFor("recovery 4", () => hosts.length === 5 && q.rproc.state === "running", 10_000);
    expect(crashes[3]!.message).toMatch(/^QEMU exited \(signal SIGKILL\)/);
    expect(crashes[3]!.exit?.signal).toBe("SIGKILL");
    expect(q.rproc.crashCount).toBe(4);
    expect(await echo("after kill")).toBe("after kill");
  });
});
