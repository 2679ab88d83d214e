// End to end on a real CPU: our C firmware (firmware/qemu, built with arm-none-eabi-gcc) on QEMU
// mps2-an386, driven by @amp/remoteproc-core + @amp/rpmsg (host role) through the QEMU driver,
// interrupt doorbells (the firmware sleeps in WFI). One QEMU boot, plus one per recovery.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeTempDir, requireTools, run } from "@amp/test-utils";
import { createQemuRemoteproc, type QemuCrashReport, type QemuRemoteproc } from "@amp/node";
import type { RpmsgEndpoint, RpmsgHost } from "@amp/rpmsg";
import { buildFirmware, waitFor } from "./helpers.ts";

const missing = requireTools("qemu-system-arm", "arm-none-eabi-gcc");
const enc = new TextEncoder();
const dec = new TextDecoder();

/** A request/reply helper over one endpoint bound to a remote service. */
function client(host: RpmsgHost, dst: number): { ep: RpmsgEndpoint; ask(data: Uint8Array): Promise<Uint8Array> } {
  let waiting: ((d: Uint8Array) => void) | undefined;
  const ep = host.createEndpoint({
    dst,
    onMessage: (m) => {
      const w = waiting;
      waiting = undefined;
      w?.(m.data.slice());
    },
  });
  return {
    ep,
    ask(data) {
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error("no reply within 5 s")), 5000);
        waiting = (d) => {
          clearTimeout(t);
          resolve(d);
        };
        ep.send(data).catch(reject);
      });
    },
  };
}

describe.skipIf(missing)("QEMU remote: boot, rpmsg echo, trace, crash and recovery, coredump, stop", () => {
  const dir = makeTempDir("amp-qemu-e2e-");
  let q: QemuRemoteproc;
  let host: RpmsgHost;
  let fwPath: string;
  const crashes: QemuCrashReport[] = [];
  const hosts: RpmsgHost[] = [];

  beforeAll(async () => {
    const fw = buildFirmware();
    fwPath = fw.path;
    q = createQemuRemoteproc({ firmware: fw.bytes, doorbell: "irq", crashCoredumpPath: join(dir, "crash-%n.core") });
    q.onRpmsg((h) => hosts.push(h));
    q.onCrash((c) => crashes.push(c));
    await q.rproc.boot();
    host = await waitFor("rpmsg host", () => hosts[0]);
  });
  afterAll(async () => {
    await q.close();
  });

  it("boots: running, console says so, both services announced through the name service", async () => {
    expect(q.rproc.state).toBe("running");
    const echo = await host.waitForService("rpmsg-echo", { timeoutMs: 5000 });
    const ctrl = await host.waitForService("amp-ctrl", { timeoutMs: 5000 });
    expect([echo.addr, ctrl.addr]).toEqual([1024, 1025]);
    await waitFor("console", () => q.driver.machine!.consoleText().includes("ns: announced amp-ctrl"));
    expect(q.driver.machine!.consoleText()).toMatch(/^amp-echo: boot, vtor 0x21000000\n/);
  });

  it("echoes every payload size from 0 to 496 bytes, byte for byte", async () => {
    const c = client(host, 1024);
    for (let n = 0; n <= 496; n++) {
      const p = Uint8Array.from({ length: n }, (_, i) => (i * 31 + n) & 0xff);
      const r = await c.ask(p);
      if (r.length !== n || Buffer.compare(r, p) !== 0) expect({ n, r: [...r] }).toEqual({ n, r: [...p] });
    }
    expect(host.mtu).toBe(496);
    await expect(c.ep.send(new Uint8Array(497))).rejects.toMatchObject({ name: "AmpError" });
    c.ep.destroy();
  });

  it("reads the trace buffer from the resource table, live, including a line asked for over rpmsg", async () => {
    const trace = q.rproc.traces[0]!;
    expect(trace.name).toBe("trace0");
    expect(trace.readText()).toContain("vdev: DRIVER_OK, features 0x1\n");
    expect(trace.readText()).toContain("ns: announced rpmsg-echo at 1024\n");
    const c = client(host, 1025);
    expect(dec.decode(await c.ask(enc.encode("trace hello from the host")))).toBe("ok");
    expect(trace.readText()).toContain("hello from the host\n");
    expect(dec.decode(await c.ask(enc.encode("nonsense")))).toBe("unknown command");
    c.ep.destroy();
  });

  it("crash on purpose -> HardFault record -> recovery in a new QEMU -> echo again; core file opens in gdb", async () => {
    const pid = q.driver.machine!.pid;
    const c = client(host, 1025);
    await c.ep.send(enc.encode("crash"));
    await waitFor("recovered rpmsg host", () => hosts[1], 10_000);
    expect(crashes).toHaveLength(1);
    expect(crashes[0]!.type).toBe("fatal error");
    expect(crashes[0]!.fault!.faults).toEqual(["UNDEFINSTR", "FORCED"]);
    expect(crashes[0]!.message).toMatch(/^HardFault at pc 0x210[0-9a-f]{5} .*UNDEFINSTR FORCED$/);
    await waitFor("running", () => q.rproc.state === "running");
    expect(q.rproc.crashCount).toBe(1);
    expect(q.driver.machine!.pid).not.toBe(pid); // one QEMU process per start
    host = hosts[1]!;
    await host.waitForService("rpmsg-echo", { timeoutMs: 5000 });
    const e = client(host, 1024);
    expect(dec.decode(await e.ask(enc.encode("alive again")))).toBe("alive again");
    e.ep.destroy();

    const core = q.driver.coreFiles[0]!;
    expect(existsSync(core)).toBe(true);
    const gdb = run(
      "gdb-multiarch",
      ["-batch", "-nx", fwPath, core, "-ex", "bt", "-ex", "x/2wx 0x21fff040", "-ex", "info registers pc"],
      { timeoutMs: 60_000 },
    );
    expect(gdb).toMatch(/#0 .* in fault_record /);
    expect(gdb).toMatch(/<signal handler called>\n#2 +crash_undefined \(\)/);
    expect(gdb).toMatch(/0x21fff040:\s+0xdeadc0de\s+0x00000001/);
    expect(gdb).toMatch(/pc +0x210[0-9a-f]{5} +0x210[0-9a-f]{5} <fault_record\+\d+>/);
  });

  it("stops: offline, QEMU gone", async () => {
    const m = q.driver.machine!;
    await q.rproc.shutdown();
    expect(q.rproc.state).toBe("offline");
    expect(q.driver.machine).toBeUndefined();
    const exit = await m.exited;
    expect(exit.code).toBe(0);
  });
});
