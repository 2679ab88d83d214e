// QemuMachine + FileMemory without the rest of the stack: the QEMU recipe (file-backed RAM,
// init-nsvtor, -S, system_reset, cont), QMP life cycle and status, registers, the UART doorbell
// both ways, gdbstub access, and the firmware checked by a minimal byte-level rpmsg host written in
// the test (mini-host.ts), independent of @amp/rpmsg. One QEMU boot.
import { rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { requireTools, run } from "@amp/test-utils";
import {
  AMPQ_CTRL_DA,
  AmpqCtrl,
  AmpqMode,
  AmpqState,
  FileMemory,
  MPS2_RAM_BASE,
  MPS2_RAM_SIZE,
  QemuMachine,
  loadImage,
  type QmpEvent,
} from "@amp/node";
import { buildFirmware, ramDir, waitFor } from "./helpers.ts";
import { MiniRpmsgHost, readLayout, type Message } from "./mini-host.ts";

const missing = requireTools("qemu-system-arm", "arm-none-eabi-gcc", "gdb-multiarch");
const CTRL = AMPQ_CTRL_DA - MPS2_RAM_BASE;

describe.skipIf(missing)("QemuMachine on a file-backed mps2-an386", () => {
  const memoryPath = join(ramDir(), `amp-machine-${process.pid}.mem`);
  let machine: QemuMachine | undefined;
  afterAll(async () => {
    await machine?.quit();
    rmSync(memoryPath, { force: true });
  });

  it("runs the firmware the host wrote into the file; lifecycle, doorbells, registers, gdb, echo", async () => {
    const fw = buildFirmware();
    const mem = FileMemory.open(memoryPath, { size: MPS2_RAM_SIZE });
    mem.fill(0, MPS2_RAM_SIZE, 0);
    const image = loadImage(mem, fw.bytes);
    mem.setU32(CTRL + AmpqCtrl.MODE, AmpqMode.IRQ);

    const m = await QemuMachine.launch({ memoryPath, gdb: true });
    machine = m;
    const events: QmpEvent[] = [];
    m.onEvent((e) => events.push(e));
    expect(await m.status()).toBe("prelaunch");
    expect(mem.getU32(CTRL + AmpqCtrl.MAGIC)).toBe(0); // nothing ran yet
    await m.reset();
    await m.cont();
    expect(await m.status()).toBe("running");
    await waitFor("firmware boot", () => mem.getU32(CTRL + AmpqCtrl.STATE) === AmpqState.WAIT_DRIVER_OK);
    expect(events.map((e) => e.event)).toEqual(expect.arrayContaining(["RESET", "RESUME"]));

    // The firmware, driven by the byte-level host; kicks are UART1 bytes, notifications come back as bytes.
    const notified: number[] = [];
    m.onDoorbell((b) => notified.push(b));
    const host = new MiniRpmsgHost(mem, readLayout(mem, image.resourceTable!.da), (id) => m.ring(id));
    host.start();
    const got: Message[] = [];
    await waitFor("three NS announcements", () => {
      got.push(...host.receive());
      return got.length >= 3;
    });
    const dec = new TextDecoder();
    expect(
      got.map((g) => [
        g.src,
        g.dst,
        dec.decode(g.payload.subarray(0, 32)).replace(/\0+$/, ""),
        new DataView(g.payload.buffer, g.payload.byteOffset).getUint32(32, true),
      ]),
    ).toEqual([
      [1024, 53, "rpmsg-echo", 1024],
      [1025, 53, "amp-ctrl", 1025],
      [1026, 53, "amp-clock", 1026],
    ]);
    expect(got.every((g) => g.payload.length === 40)).toBe(true);
    for (const n of [0, 1, 2, 15, 16, 17, 255, 256, 495, 496]) {
      const p = Uint8Array.from({ length: n }, (_, i) => (i ^ n) & 0xff);
      expect(host.send(0x4000, 1024, p)).toBe(true);
      const [r] = await waitFor(
        "echo",
        () => {
          const x = host.receive();
          return x.length > 0 ? x : undefined;
        },
        5000,
        0,
      );
      expect(r).toEqual({ src: 1024, dst: 0x4000, payload: p });
    }
    await waitFor("a vring 0 notification byte", () => notified.includes(0)); // UART1 TX -> socket

    // A hostile host: a buffer outside the RAM, a 64-bit address, a header claiming more bytes
    // than the buffer holds. The firmware drops each with a trace line and keeps serving.
    const hdr = new Uint8Array(16);
    new DataView(hdr.buffer).setUint32(4, 1024, true);
    new DataView(hdr.buffer).setUint16(12, 400, true);
    expect(host.sendRawDescriptor(0x1000_0000n, 64)).toBe(true);
    expect(host.sendRawDescriptor(0x1_2100_0000n, 64)).toBe(true);
    expect(host.sendRawDescriptor(0n, 100, hdr)).toBe(true); // hdr.len 400 > 100 - 16
    await waitFor(
      "three drops traced",
      () => (m.consoleText().match(/bad descriptor from host|dropped malformed message, len 400/g) ?? []).length === 3,
    );
    const ok = Uint8Array.of(1, 2, 3);
    host.send(0x4000, 1024, ok);
    const [after] = await waitFor(
      "echo after garbage",
      () => {
        const x = host.receive();
        return x.length > 0 ? x : undefined;
      },
      5000,
      0,
    );
    expect(after!.payload).toEqual(ok);
    expect(mem.getU32(CTRL + AmpqCtrl.IRQS)).toBeGreaterThan(0); // the firmware took doorbell interrupts
    expect(m.consoleText()).toContain("ns: announced rpmsg-echo at 1024\n");

    // stop freezes the CPU exactly (poll mode: the idle counter would move every microsecond)
    mem.setU32(CTRL + AmpqCtrl.MODE, AmpqMode.POLL);
    const before = mem.getU32(CTRL + AmpqCtrl.WAKEUPS);
    await waitFor("polling", () => (mem.getU32(CTRL + AmpqCtrl.WAKEUPS) - before) >>> 0 > 1000);
    await m.stop();
    expect(await m.status()).toBe("paused");
    const frozen = mem.getU32(CTRL + AmpqCtrl.WAKEUPS);
    await new Promise((r) => setTimeout(r, 50));
    expect(mem.getU32(CTRL + AmpqCtrl.WAKEUPS)).toBe(frozen);
    const regs = await m.registers();
    expect(["thread", "handler"]).toContain(regs.mode); // may stop inside the SysTick handler
    expect(regs.r[15]! >= MPS2_RAM_BASE && regs.r[15]! < MPS2_RAM_BASE + 0x100000).toBe(true);
    expect(regs.s).toHaveLength(32); // Cortex-M4F

    // gdb through the gdbstub socket sees the same pc
    const gdb = run(
      "gdb-multiarch",
      [
        "-batch",
        "-nx",
        fw.path,
        "-ex",
        `target remote ${m.sockets.gdb!}`,
        "-ex",
        "info registers pc",
        "-ex",
        "x/wx 0x21fff000",
      ],
      { timeoutMs: 30_000 },
    );
    expect(gdb).toContain(`0x${regs.r[15]!.toString(16)}`);
    expect(gdb).toMatch(/0x21fff000:\s+0x51504d41/);

    await m.cont();
    await waitFor("running again", () => mem.getU32(CTRL + AmpqCtrl.WAKEUPS) !== frozen);
    const exit = await m.quit();
    expect(exit).toMatchObject({ code: 0, signal: null });
    expect(m.hasExited).toBe(true);
    mem.close();
  });

  it("a QEMU that cannot start is a one-line ERR_QEMU_EXITED / ERR_QEMU_SPAWN", async () => {
    await expect(QemuMachine.launch({ memoryPath, extraArgs: ["-no-such-option"] })).rejects.toMatchObject({
      code: "ERR_QEMU_EXITED",
      message: expect.stringContaining("-no-such-option"),
    });
    await expect(QemuMachine.launch({ memoryPath, qemu: "/nonexistent/qemu-system-arm" })).rejects.toMatchObject({
      code: "ERR_QEMU_SPAWN",
    });
  });
});
