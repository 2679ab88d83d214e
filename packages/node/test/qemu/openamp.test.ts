// OpenAMP's own rpmsg on a real CPU: libmetal (generic system) + open-amp cross-built for a
// Cortex-M4 from the pinned sources (scripts/peers/build-openamp-cm4.sh), linked into our echo
// firmware (firmware/openamp) and run on QEMU mps2-an386, booted, driven and recovered by the
// same @amp QEMU host as our own C firmware. Byte-exact echoes past the first recycled host-tx
// buffer, several in flight; name service; crash and watchdog recovery; stop.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeTempDir, requireTools, run } from "@amp/test-utils";
import { findResourceTable, parseElf } from "@amp/elf-loader";
import { parseResourceTable, validateResourceTable } from "@amp/resource-table";
import type { CarveoutResource, TraceResource, VdevResource } from "@amp/resource-table";
import { AMPQ_CTRL_DA, AmpqCtrl, MPS2_RAM_BASE, checkImage, createQemuRemoteproc } from "@amp/node";
import type { QemuCrashReport, QemuRemoteproc } from "@amp/node";
import type { RpmsgHost } from "@amp/rpmsg";
import { PKG_DIR, waitFor } from "./helpers.ts";
import { attachTo, launchRunning, useLateAttach } from "./late-attach.ts";

const missing = requireTools(
  "qemu-system-arm",
  "arm-none-eabi-gcc",
  "arm-none-eabi-size",
  "arm-none-eabi-objcopy",
  "cmake",
  "gzip",
  "gdb-multiarch",
);
const enc = new TextEncoder();
const dec = new TextDecoder();
const ECHO = "rpmsg-openamp-echo";
const CTRL = AMPQ_CTRL_DA - MPS2_RAM_BASE;

/** Builds OpenAMP for Cortex-M4 and the firmware (cached by the script); a failed build fails the test. */
function buildOpenampFirmware(): { prefix: string; elf: string; bytes: Uint8Array } {
  const script = join(PKG_DIR, "..", "..", "scripts", "peers", "build-openamp-cm4.sh");
  const out = execFileSync("bash", [script], { encoding: "utf8", timeout: 900_000, stdio: ["ignore", "pipe", "pipe"] });
  const [prefix, elf] = out.trim().split("\n");
  if (prefix === undefined || elf === undefined) throw new Error(`build-openamp-cm4.sh printed ${JSON.stringify(out)}`);
  return { prefix, elf, bytes: new Uint8Array(readFileSync(elf)) };
}

/** Payload i: size i % 497 (0..496), bytes derived from i so a reply to the wrong message shows. */
function payload(i: number): Uint8Array {
  const n = i % 497;
  return Uint8Array.from({ length: n }, (_, k) => (k * 7 + i * 13 + (i >> 8)) & 0xff);
}

/** One ask/answer over a fresh endpoint. */
async function ask(host: RpmsgHost, dst: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      ep.destroy();
      reject(new Error(`no answer to "${text}" within 5 s`));
    }, 5000);
    const ep = host.createEndpoint({
      dst,
      onMessage: (m) => {
        clearTimeout(t);
        ep.destroy();
        resolve(dec.decode(m.data));
      },
    });
    ep.send(enc.encode(text)).catch(reject);
  });
}

/**
 * Sends `count` messages to `dst` with at most `window` unanswered at any time and checks that
 * the replies come back in order, byte for byte. Returns how many matched.
 */
async function echoMany(host: RpmsgHost, dst: number, count: number, window: number, first = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    let sent = 0;
    let matched = 0;
    const guard = setTimeout(() => {
      ep.destroy();
      reject(new Error(`echo stalled: ${matched}/${count} replies, ${sent} sent`));
    }, 60_000);
    const fail = (e: unknown): void => {
      clearTimeout(guard);
      ep.destroy();
      reject(e instanceof Error ? e : new Error(String(e)));
    };
    const pump = (): void => {
      while (sent < count && sent - matched < window) {
        const i = first + sent++;
        ep.send(payload(i)).catch(fail);
      }
    };
    const ep = host.createEndpoint({
      dst,
      onMessage: (m) => {
        const want = payload(first + matched);
        if (m.data.length !== want.length || Buffer.compare(m.data, want) !== 0) {
          fail(
            new Error(
              `reply ${matched} (message ${first + matched}): ${m.data.length} bytes, expected ${want.length} (${Buffer.from(m.data.slice(0, 8)).toString("hex")}...)`,
            ),
          );
          return;
        }
        matched++;
        if (matched === count) {
          clearTimeout(guard);
          ep.destroy();
          resolve(matched);
          return;
        }
        pump();
      },
    });
    pump();
  });
}

describe.skipIf(missing)("OpenAMP remote (libmetal + open-amp, Cortex-M4) under the @amp QEMU host", () => {
  const dir = makeTempDir("amp-openamp-cm4-");
  let fw: { prefix: string; elf: string; bytes: Uint8Array };
  let q: QemuRemoteproc;
  const hosts: RpmsgHost[] = [];
  const crashes: QemuCrashReport[] = [];
  const report: Record<string, unknown> = {};
  let echoAddr = 0;
  let ctrlAddr = 0;

  beforeAll(async () => {
    const t0 = performance.now();
    fw = buildOpenampFirmware();
    report["buildMs"] = Math.round(performance.now() - t0);
    q = createQemuRemoteproc({ firmware: fw.bytes, doorbell: "irq", crashCoredumpPath: join(dir, "crash-%n.core") });
    q.onRpmsg((h) => hosts.push(h));
    q.onCrash((c) => crashes.push(c));
    const t1 = performance.now();
    await q.rproc.boot();
    const host = await waitFor("rpmsg host", () => hosts[0]);
    echoAddr = (await host.waitForService(ECHO, { timeoutMs: 10_000 })).addr;
    report["bootToNsMs"] = Math.round(performance.now() - t1);
    ctrlAddr = (await host.waitForService("amp-ctrl", { timeoutMs: 10_000 })).addr;
  }, 900_000);

  afterAll(async () => {
    await (q as QemuRemoteproc | undefined)?.close(); // undefined when the build in beforeAll failed
    console.info(`openamp-cm4: ${JSON.stringify(report)}`);
  });

  it("image: two PT_LOADs in the first MiB, resource table (vdev 31 with vrings 1/2, trace, amp-ctrl) with no diagnostics; sizes", () => {
    const h = run("arm-none-eabi-readelf", ["-lW", fw.elf]);
    const loads = [...h.matchAll(/^\s+LOAD\s+0x[0-9a-f]+ 0x([0-9a-f]+) 0x([0-9a-f]+) 0x[0-9a-f]+ 0x([0-9a-f]+)/gm)];
    expect(loads).toHaveLength(2);
    for (const [, vaddr, paddr, memsz] of loads) {
      expect(vaddr).toBe(paddr);
      expect(parseInt(paddr!, 16) + parseInt(memsz!, 16)).toBeLessThanOrEqual(0x21100000);
    }
    const t = findResourceTable(parseElf(fw.bytes))!;
    expect(validateResourceTable(t.bytes)).toEqual([]);
    const table = parseResourceTable(t.bytes);
    expect(table.entries.map((e) => e.kind)).toEqual(["vdev", "trace", "carveout"]);
    const [vdev, trace, carveout] = table.entries as unknown as [VdevResource, TraceResource, CarveoutResource];
    expect(vdev).toMatchObject({ id: 7, notifyId: 31, dfeatures: 1, gfeatures: 0, status: 0 });
    expect(vdev.vrings.map((v) => [v.da, v.align, v.num, v.notifyId])).toEqual([
      [0x21100000, 4096, 64, 1],
      [0x21104000, 4096, 64, 2],
    ]);
    expect(trace).toMatchObject({ name: "trace0", len: 4096 });
    expect(carveout).toMatchObject({ name: "amp-ctrl", da: AMPQ_CTRL_DA, len: 0x1000 });
    expect(checkImage(fw.bytes).resourceTable).toEqual({ da: Number(t.address), size: t.bytes.length });
    // The libraries really are OpenAMP's: their entry points are in the image.
    const nm = run("arm-none-eabi-nm", [fw.elf]);
    for (const sym of [
      "rpmsg_init_vdev",
      "remoteproc_create_virtio",
      "virtqueue_add_consumed_buffer",
      "metal_io_init",
      "metal_machine_io_mem_map",
    ])
      expect(nm).toMatch(new RegExp(` T ${sym}$`, "m"));

    const [text, data, bss] = run("arm-none-eabi-size", [fw.elf]).split("\n")[1]!.trim().split(/\s+/).map(Number);
    const bin = join(dir, "openamp-echo.bin");
    run("arm-none-eabi-objcopy", ["-O", "binary", fw.elf, bin]);
    const gz = execFileSync("gzip", ["-9", "-c", bin]).length;
    Object.assign(report, { text, data, bss, gzip9: gz });
  });

  it("boots: the announcements named rpmsg-openamp-echo and amp-ctrl; the host rewrote the vring notify ids (0, 1) as Linux does", async () => {
    expect(q.rproc.state).toBe("running");
    expect([echoAddr, ctrlAddr]).toEqual([1024, 1025]);
    await waitFor("console", () => q.driver.machine!.consoleText().includes("ns: announced amp-ctrl"));
    expect(q.driver.machine!.consoleText()).toMatch(/^openamp-echo: boot, vtor 0x21000000\n/);
    const trace = q.rproc.traces[0]!.readText();
    expect(trace).toContain("vdev: DRIVER_OK, features 0x1\n");
    expect(trace).toContain(`ns: announced ${ECHO} at 1024\n`);
    expect(trace).not.toContain("metal:");
    const t = findResourceTable(parseElf(fw.bytes))!;
    const live = parseResourceTable(q.driver.memory.read(Number(t.address) - MPS2_RAM_BASE, t.bytes.length));
    const vdev = live.entries[0] as unknown as VdevResource;
    expect(vdev.notifyId).toBe(31);
    expect(vdev.vrings.map((v) => v.notifyId)).toEqual([0, 1]);
    expect(vdev.status & 4).toBe(4);
  });

  it("echoes 1200 messages, sizes 0..496 cycling, 8 in flight, byte for byte (well past message 65, the first recycled host-tx buffer)", async () => {
    const host = hosts[0]!;
    const before = {
      rx: host.stats.rxMessages,
      tx: host.stats.txMessages,
      fwRx: q.driver.memory.getU32(CTRL + AmpqCtrl.RX),
    };
    const t0 = performance.now();
    expect(await echoMany(host, echoAddr, 1200, 8)).toBe(1200);
    report["echo1200Ms"] = Math.round(performance.now() - t0);
    expect(host.stats.txMessages - before.tx).toBe(1200);
    expect(host.stats.rxMessages - before.rx).toBe(1200);
    expect(q.driver.memory.getU32(CTRL + AmpqCtrl.RX) - before.fwRx).toBe(1200);
    expect(host.stats.protocolErrors).toBe(0);
    expect(host.stats.dropped).toMatchObject({ badLength: 0, oversize: 0, short: 0, noRecipient: 0, badBuffer: 0 });
    // OpenAMP's device role returns every consumed host-tx buffer with used.len = its descriptor length.
    expect(host.stats.usedLenIgnored).toBeGreaterThan(0);
    report["usedLenIgnored"] = host.stats.usedLenIgnored;
    expect(host.mtu).toBe(496);
  });

  it("wire conventions of OpenAMP's device role, seen in the rings: used.len = descriptor length both ways, NO_NOTIFY on vring 0", async () => {
    const host = hosts[0]!;
    const m = q.driver.memory;
    const used = (vring: number): number => vring - MPS2_RAM_BASE + 0x1000; // 64 descriptors, align 4096
    const lastUsed = (vring: number): { id: number; len: number } => {
      const i = (m.getU16(used(vring) + 2) - 1) & 63;
      return { id: m.getU32(used(vring) + 4 + 8 * i), len: m.getU32(used(vring) + 8 + 8 * i) };
    };
    const txUsedBefore = m.getU16(used(0x21104000) + 2);
    const reply = await new Promise<Uint8Array>((resolve) => {
      const ep = host.createEndpoint({
        dst: echoAddr,
        onMessage: (msg) => {
          ep.destroy();
          resolve(msg.data.slice());
        },
      });
      void ep.send(payload(37));
    });
    expect(Buffer.compare(reply, payload(37))).toBe(0);
    // The firmware returns the host-tx buffer after its echo callback, so it may land after the reply.
    await waitFor("host-tx buffer returned", () => m.getU16(used(0x21104000) + 2) === ((txUsedBefore + 1) & 0xffff));
    const tx = lastUsed(0x21104000);
    const txDescLen = m.getU32(0x21104000 - MPS2_RAM_BASE + 16 * tx.id + 8);
    expect(tx.len).toBe(txDescLen); // not 0 (the virtio spec's "bytes written" for a read-only buffer)
    // OpenAMP also writes into that device-readable buffer: the header's `reserved` word keeps its
    // descriptor index (and a hold count while the callback runs). Harmless: the host rewrites the header.
    const txBuf = Number(m.getU64(0x21104000 - MPS2_RAM_BASE + 16 * tx.id)) - MPS2_RAM_BASE;
    expect(m.getU32(txBuf + 8)).toBe(tx.id);
    const rx = lastUsed(0x21100000);
    expect(rx.len).toBe(512); // the whole host-rx buffer, not 16 + 37: the rpmsg header carries the length
    expect(m.getU16(used(0x21100000)) & 1).toBe(1); // VRING_USED_F_NO_NOTIFY: no kicks when the host refills rx
    Object.assign(report, {
      hostTxUsedLen: tx.len,
      hostTxDescLen: txDescLen,
      hostRxUsedLen: rx.len,
      hostTxDescId: tx.id,
    });
  });

  it("replies go to each sender: three endpoints interleaved, 3 x 200 messages", async () => {
    const host = hosts[0]!;
    const counts = await Promise.all([0, 1, 2].map((k) => echoMany(host, echoAddr, 200, 4, 10_000 * (k + 1))));
    expect(counts).toEqual([200, 200, 200]);
  });

  it("amp-ctrl: ping, trace into the resource table's trace buffer, stats with heap and stack use", async () => {
    const host = hosts[0]!;
    expect(await ask(host, ctrlAddr, "ping")).toBe("pong");
    expect(await ask(host, ctrlAddr, "trace hello from the @amp host")).toBe("ok");
    expect(q.rproc.traces[0]!.readText()).toContain("hello from the @amp host\n");
    expect(await ask(host, ctrlAddr, "nonsense")).toBe("unknown command");
    const stats = await ask(host, ctrlAddr, "stats");
    const m = /^rx (\d+) tx (\d+) irqs (\d+) heap (\d+) stack (\d+)$/.exec(stats);
    expect(m).not.toBeNull();
    const [, rx, tx, irqs, heap, stack] = m!.map(Number);
    expect(rx).toBeGreaterThanOrEqual(1800 + 4);
    expect(tx).toBeGreaterThanOrEqual(rx! - 1); // every message answered (stats itself is counted before its reply)
    expect(irqs).toBeGreaterThan(0);
    expect(heap).toBeGreaterThan(0);
    expect(stack).toBeGreaterThan(0);
    expect(stack).toBeLessThan(8192);
    Object.assign(report, { heapBytes: heap, stackBytes: stack });
  });

  it("crash on purpose -> HardFault record -> recovery in a new QEMU -> announces and echoes again", async () => {
    const pid = q.driver.machine!.pid;
    const ep = hosts[0]!.createEndpoint({ dst: ctrlAddr });
    await ep.send(enc.encode("crash"));
    await waitFor("recovered rpmsg host", () => hosts[1], 15_000);
    expect(crashes).toHaveLength(1);
    expect(crashes[0]!.type).toBe("fatal error");
    expect(crashes[0]!.fault!.faults).toEqual(["UNDEFINSTR", "FORCED"]);
    expect(crashes[0]!.message).toMatch(/^HardFault at pc 0x210[0-9a-f]{5} .*UNDEFINSTR FORCED$/);
    await waitFor("running", () => q.rproc.state === "running", 15_000);
    expect(q.driver.machine!.pid).not.toBe(pid);
    const host = hosts[1]!;
    expect((await host.waitForService(ECHO, { timeoutMs: 10_000 })).addr).toBe(1024);
    expect(await echoMany(host, 1024, 200, 8)).toBe(200);
    const gdb = run("gdb-multiarch", ["-batch", "-nx", fw.elf, q.driver.coreFiles[0]!, "-ex", "bt"], {
      timeoutMs: 60_000,
    });
    expect(gdb).toMatch(/crash_undefined/);
    expect(gdb).toMatch(/ctrl_cb/);
  });

  it("hung main loop -> the watchdog NMI records where it hung -> recovery -> echoes again", async () => {
    const ep = hosts[1]!.createEndpoint({ dst: ctrlAddr });
    await ep.send(enc.encode("hang"));
    await waitFor("watchdog recovery", () => hosts.length === 3 && q.rproc.state === "running", 20_000);
    expect(crashes[1]!.type).toBe("watchdog");
    expect(crashes[1]!.message).toMatch(/^watchdog timeout at pc 0x210[0-9a-f]{5} /);
    const host = hosts[2]!;
    await host.waitForService(ECHO, { timeoutMs: 10_000 });
    expect(await echoMany(host, 1024, 100, 8)).toBe(100);
    expect(q.rproc.crashCount).toBe(2);
  });

  it("stops: offline, QEMU gone with exit code 0", async () => {
    const m = q.driver.machine!;
    await q.rproc.shutdown();
    expect(q.rproc.state).toBe("offline");
    expect(q.driver.machine).toBeUndefined();
    expect((await m.exited).code).toBe(0);
  });
});

describe.skipIf(missing)("OpenAMP remote with the polling doorbell; crash sources without a doorbell byte", () => {
  let q: QemuRemoteproc;
  const hosts: RpmsgHost[] = [];
  const crashes: QemuCrashReport[] = [];

  beforeAll(async () => {
    q = createQemuRemoteproc({ firmware: buildOpenampFirmware().bytes, doorbell: "poll", pollIntervalMs: 0 });
    q.onRpmsg((h) => hosts.push(h));
    q.onCrash((c) => crashes.push(c));
    await q.rproc.boot();
  }, 900_000);
  afterAll(async () => {
    await (q as QemuRemoteproc | undefined)?.close(); // undefined when the build in beforeAll failed
  });

  it("echoes 300 messages with both sides polling; the firmware took no doorbell interrupt", async () => {
    const host = await waitFor("rpmsg host", () => hosts[0]);
    const addr = (await host.waitForService(ECHO, { timeoutMs: 10_000 })).addr;
    expect(await echoMany(host, addr, 300, 8)).toBe(300);
    expect(q.driver.memory.getU32(CTRL + AmpqCtrl.IRQS)).toBe(0);
    expect(q.driver.memory.getU32(CTRL + AmpqCtrl.NOTIFY)).toBeGreaterThan(0);
  });

  it("divide by zero: the fault record is found through the state word (no doorbell byte in poll mode), recovered", async () => {
    const ep = hosts[0]!.createEndpoint({ dst: 1025 });
    await ep.send(enc.encode("crash-div0"));
    await waitFor("recovery", () => hosts.length === 2 && q.rproc.state === "running", 15_000);
    expect(crashes[0]!.fault!.faults).toEqual(["DIVBYZERO", "FORCED"]);
    await hosts[1]!.waitForService(ECHO, { timeoutMs: 10_000 });
    expect(await echoMany(hosts[1]!, 1024, 100, 8)).toBe(100);
  });

  it("guest reset request (SYSRESETREQ): QMP SHUTDOWN {guest: true} is a crash, recovered", async () => {
    const ep = hosts[1]!.createEndpoint({ dst: 1025 });
    await ep.send(enc.encode("reset"));
    await waitFor("recovery", () => hosts.length === 3 && q.rproc.state === "running", 15_000);
    expect(crashes[1]!.message).toBe("the firmware requested a guest-reset");
    await hosts[2]!.waitForService(ECHO, { timeoutMs: 10_000 });
    expect(await echoMany(hosts[2]!, 1024, 100, 8)).toBe(100);
  });
});

describe.skipIf(missing)(
  "OpenAMP remote, late attach: detach sends the firmware back to waiting, a second attach re-creates its rpmsg device",
  () => {
    const setup = useLateAttach("openamp-attach");

    it("attaches, echoes, detaches, attaches again and echoes; QEMU never restarted", async () => {
      const fw = buildOpenampFirmware();
      // The launcher: image into the RAM file, QEMU running with its sockets in server mode.
      const { mem, child, boots, bootCount, waitingAgain } = await launchRunning(setup, fw.bytes);
      const { q, hosts } = attachTo(setup, fw.bytes);
      try {
        await q.rproc.boot();
        expect(q.rproc.state).toBe("attached");
        const first = await waitFor("host", () => hosts[0]);
        expect(await echoMany(first, (await first.waitForService(ECHO, { timeoutMs: 10_000 })).addr, 150, 8)).toBe(150);

        await q.rproc.detach();
        await waitingAgain("firmware back to waiting");
        expect(child.exitCode).toBeNull();

        await q.rproc.boot();
        const second = await waitFor("second host", () => hosts[1]);
        expect(await echoMany(second, (await second.waitForService(ECHO, { timeoutMs: 10_000 })).addr, 150, 8)).toBe(
          150,
        );
        expect(bootCount()).toBe(boots);
        expect(q.rproc.traces[0]!.readText()).toContain("vdev: status reset by host, waiting for DRIVER_OK\n");
      } finally {
        await q.close();
        mem.close();
      }
      expect(child.exitCode).toBeNull();
    });
  },
);
