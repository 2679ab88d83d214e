// The QEMU pieces that need no QEMU: `info registers` parsing, the crash record, the ARM
// NT_PRSTATUS note, and the QMP client against a scripted peer.
import { createServer } from "node:net";
import type { Socket } from "node:net";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { fcParams, makeTempDir } from "@amp/test-utils";
import { ArrayBufferMemory } from "@amp/virtio-ring";
import { existsSync } from "node:fs";
import {
  AMPQ_CRASH_MAGIC,
  AMPQ_CTRL_DA,
  AmpqCrash,
  AmpqCtrl,
  DEFAULT_QEMU_MEMORY_MAP,
  MPS2_RAM_BASE,
  MPS2_RAM_SIZE,
  QemuDriver,
  QmpClient,
  armPrstatusNote,
  describeFault,
  faultNames,
  parseRegisters,
  qemuArgs,
  readFaultRecord,
  writeQemuCoredump,
} from "@amp/node";
import { readCoredump } from "@amp/elf-loader";
import { isAmpError } from "@amp/resource-table";

const INFO_REGISTERS = `CPU#0
R00=21003fe6 R01=00000000 R02=04e1e4ef R03=00000000
R04=21004084 R05=2100403c R06=00000001 R07=21001080
R08=cccccccd R09=00000000 R10=00000000 R11=00000000
R12=0000001f R13=21004030 R14=fffffff9 R15=21000c3c
XPSR=81000003 N--- T handler
s00=00000000 s01=3f800000 d00=3f80000000000000
${Array.from({ length: 15 }, (_, i) => `s${String(2 * i + 2).padStart(2, "0")}=00000000 s${String(2 * i + 3).padStart(2, "0")}=00000000 d${String(i + 1).padStart(2, "0")}=0000000000000000`).join("\n")}
FPSCR: 00000010
`;

describe("parseRegisters", () => {
  it("reads r0..r15, xpsr, the mode, s0..s31 and FPSCR of an M4", () => {
    const r = parseRegisters(INFO_REGISTERS);
    expect(r.r.map((v) => v.toString(16))).toEqual([
      "21003fe6",
      "0",
      "4e1e4ef",
      "0",
      "21004084",
      "2100403c",
      "1",
      "21001080",
      "cccccccd",
      "0",
      "0",
      "0",
      "1f",
      "21004030",
      "fffffff9",
      "21000c3c",
    ]);
    expect(r.xpsr).toBe(0x81000003);
    expect(r.mode).toBe("handler");
    expect(r.s).toHaveLength(32);
    expect(r.s[1]).toBe(0x3f800000);
    expect(r.fpscr).toBe(0x10);
  });
  it("an M3 (no FPU) gives empty s and no fpscr; thread mode", () => {
    const r = parseRegisters(INFO_REGISTERS.split("\ns00")[0]!.replace("T handler", "T priv-thread"));
    expect([r.s.length, r.fpscr, r.mode]).toEqual([0, undefined, "thread"]);
  });
  it("text without all of R00..R15 and XPSR is ERR_MALFORMED", () => {
    for (const bad of [
      "",
      "R00=00000000",
      INFO_REGISTERS.replace("R07=21001080", ""),
      INFO_REGISTERS.replace(/XPSR=\S+/, ""),
    ]) {
      try {
        parseRegisters(bad);
        expect.unreachable();
      } catch (e) {
        expect(isAmpError(e) && e.code).toBe("ERR_MALFORMED");
      }
    }
  });
});

describe("parseRegisters on arbitrary text (property)", () => {
  it("returns registers or throws ERR_MALFORMED, nothing else", () => {
    const line = fc.oneof(
      fc.string(),
      fc.constantFrom(...INFO_REGISTERS.split("\n")),
      fc.stringMatching(/^R\d\d=[0-9a-f]{8}$/),
    );
    fc.assert(
      fc.property(fc.array(line, { maxLength: 30 }), (lines) => {
        try {
          const r = parseRegisters(lines.join("\n"));
          return r.r.length === 16 && r.r.every((v) => Number.isInteger(v) && v >= 0 && v <= 0xffffffff);
        } catch (e) {
          return isAmpError(e) && e.code === "ERR_MALFORMED";
        }
      }),
      fcParams(),
    );
  });
});

describe("crash record", () => {
  it("names the CFSR/HFSR bits", () => {
    expect(faultNames(0x00010000, 0x40000000)).toEqual(["UNDEFINSTR", "FORCED"]);
    expect(faultNames(0x02008200, 0)).toEqual(["PRECISERR", "BFARVALID", "DIVBYZERO"]);
    expect(faultNames(0, 0)).toEqual([]);
  });
  it("reads a complete record and ignores one without the magic", () => {
    const mem = new ArrayBufferMemory(new ArrayBuffer(16 << 20));
    const at = AMPQ_CTRL_DA - MPS2_RAM_BASE + AmpqCtrl.CRASH;
    expect(readFaultRecord(mem)).toBeUndefined();
    const words = [
      0, 1, 0xa0, 0xa1, 0xa2, 0xa3, 0xac, 0x21000101, 0x21000200, 0x01000000, 0x00010000, 0x40000000, 0, 0, 0xfffffff9,
      0x21003fe0,
    ];
    words.forEach((w, i) => mem.setU32(at + 4 * i, w));
    expect(readFaultRecord(mem)).toBeUndefined(); // magic not written yet
    mem.setU32(at + AmpqCrash.MAGIC, AMPQ_CRASH_MAGIC);
    const f = readFaultRecord(mem)!;
    expect(f).toMatchObject({
      reason: 1,
      kind: "hardfault",
      r0: 0xa0,
      r3: 0xa3,
      r12: 0xac,
      lr: 0x21000101,
      pc: 0x21000200,
      xpsr: 0x01000000,
      excReturn: 0xfffffff9,
      sp: 0x21003fe0,
      faults: ["UNDEFINSTR", "FORCED"],
    });
    expect(describeFault(f)).toBe("HardFault at pc 0x21000200 (lr 0x21000101, sp 0x21003fe0): UNDEFINSTR FORCED");
    expect(readFaultRecord(new ArrayBufferMemory(new ArrayBuffer(64)))).toBeUndefined(); // control block outside the memory
    mem.setU32(at + AmpqCrash.REASON, 2);
    expect(describeFault(readFaultRecord(mem)!)).toBe(
      "watchdog timeout at pc 0x21000200 (lr 0x21000101, sp 0x21003fe0)",
    );
  });
});

describe("armPrstatusNote", () => {
  it("lays out struct elf_prstatus of 32-bit ARM: 148 bytes, pr_reg at 72, cpsr at 136", () => {
    const regs = parseRegisters(INFO_REGISTERS);
    const n = armPrstatusNote(regs);
    expect([n.name, n.type, n.desc.length]).toEqual(["CORE", 1, 148]);
    const dv = new DataView(n.desc.buffer);
    expect(dv.getUint16(12, true)).toBe(11);
    expect(dv.getUint32(72 + 15 * 4, true)).toBe(0x21000c3c);
    expect(dv.getUint32(72 + 16 * 4, true)).toBe(0x81000003);
  });
});

/** A scripted QMP peer: greets, then answers each command with `answer(cmd)`. */
async function fakeQmp(
  answer: (cmd: Record<string, unknown>, s: Socket) => string | undefined,
): Promise<{ path: string; close(): void }> {
  const path = join(makeTempDir("amp-qmp-"), "q.sock");
  const server = createServer((s) => {
    s.write(
      '{"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": ""}, "capabilities": []}}\r\n',
    );
    let buf = "";
    s.on("data", (d) => {
      buf += d.toString();
      let i: number;
      while ((i = buf.indexOf("\n")) >= 0) {
        const cmd = JSON.parse(buf.slice(0, i));
        buf = buf.slice(i + 1);
        const a = answer(cmd, s);
        if (a !== undefined) s.write(a + "\r\n");
      }
    });
  });
  await new Promise<void>((r) => server.listen(path, r));
  return { path, close: () => server.close() };
}

describe("QmpClient", () => {
  it("handshakes, runs commands in order, delivers events, maps errors and timeouts", async () => {
    const peer = await fakeQmp((cmd, s) => {
      if (cmd["execute"] === "qmp_capabilities") return '{"return": {}}';
      if (cmd["execute"] === "query-status") {
        s.write('not json\r\n[1,2]\r\n"str"\r\n{"timestamp": {"seconds": 1, "microseconds": 5}, "event": "STOP"}\r\n');
        return '{"return": {"status": "paused", "running": false}}';
      }
      if (cmd["execute"] === "human-monitor-command") return JSON.stringify({ return: INFO_REGISTERS });
      if (cmd["execute"] === "silent") return undefined;
      return '{"error": {"class": "CommandNotFound", "desc": "The command nope has not been found"}}';
    });
    const { connect } = await import("node:net");
    const sock = connect(peer.path);
    const qmp = await QmpClient.handshake(sock, 2000);
    expect(qmp.version).toBe("7.2.22");
    const events: string[] = [];
    qmp.onEvent((e) => events.push(`${e.event}@${e.timestampUs}`));
    expect(await qmp.execute("query-status")).toEqual({ status: "paused", running: false });
    expect(events).toEqual(["STOP@1000005"]);
    expect(parseRegisters(await qmp.hmp("info registers")).r[15]).toBe(0x21000c3c);
    await expect(qmp.execute("nope")).rejects.toMatchObject({
      code: "ERR_QMP",
      message: "QMP nope: The command nope has not been found",
    });
    await expect(qmp.execute("silent", undefined, 50)).rejects.toMatchObject({ code: "ERR_TIMEOUT" });
    qmp.close();
    await expect(qmp.execute("query-status")).rejects.toMatchObject({ code: "ERR_QEMU_CLOSED" });
    peer.close();
  });

  it("a peer that never greets is ERR_TIMEOUT", async () => {
    const path = join(makeTempDir("amp-qmp-"), "mute.sock");
    const server = createServer(() => undefined);
    await new Promise<void>((r) => server.listen(path, r));
    const { connect } = await import("node:net");
    const sock = connect(path);
    await expect(QmpClient.handshake(sock, 50)).rejects.toMatchObject({ code: "ERR_TIMEOUT" });
    sock.destroy();
    server.close();
  });
});

describe("QemuDriver without QEMU", () => {
  it("creates its RAM file, splits it into non-overlapping regions, deletes the file on dispose", async () => {
    const d = new QemuDriver();
    expect(existsSync(d.memoryPath)).toBe(true);
    expect(d.memory.byteLength).toBe(MPS2_RAM_SIZE);
    expect(d.regions.map((r) => r.name)).toEqual(DEFAULT_QEMU_MEMORY_MAP.map((r) => r.name));
    const spans = d.regions.map((r) => [r.da, r.da + r.size] as const).sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < spans.length; i++) expect(spans[i]![0]).toBeGreaterThanOrEqual(spans[i - 1]![1]);
    expect(d.regions.every((r) => r.offset === r.da - MPS2_RAM_BASE)).toBe(true);
    expect(d.machine).toBeUndefined();
    expect(d.getLoadedResourceTable()).toBeUndefined();
    d.kick(0); // no QEMU: nothing to ring, no throw
    await expect(d.attach()).rejects.toThrow(TypeError);
    await d.stop(); // nothing running: a no-op
    await d.dispose();
    expect(existsSync(d.memoryPath)).toBe(false);
  });
  it("rejects a control block or region outside the RAM before creating anything", () => {
    expect(() => new QemuDriver({ ctrlDa: 0x20000000 })).toThrow(RangeError);
    expect(() => new QemuDriver({ memoryMap: [{ name: "x", da: 0x21fff000, size: 0x2000 }] })).toThrow(RangeError);
  });
});

describe("qemuArgs", () => {
  it("is the recipe of qemu-remote.md: file-backed RAM, init-nsvtor, sockets as client or server", () => {
    const sockets = { qmp: "/r/q", console: "/r/c", doorbell: "/r/d" };
    const a = qemuArgs({ memoryPath: "/dev/shm/x.mem", sockets, role: "client" }).join(" ");
    expect(a).toContain("-M mps2-an386,memory-backend=amp-ram");
    expect(a).toContain("-object memory-backend-file,id=amp-ram,size=16777216,mem-path=/dev/shm/x.mem,share=on");
    expect(a).toContain("-global armv7m.init-nsvtor=0x21000000");
    expect(a).toContain("-chardev socket,id=amp-qmp,path=/r/q -mon chardev=amp-qmp,mode=control");
    expect(a.endsWith("-S")).toBe(true);
    const b = qemuArgs({
      memoryPath: "/m",
      sockets: { ...sockets, gdb: "/r/g" },
      role: "server",
      halted: false,
      board: "mps2-an385",
    }).join(" ");
    expect(b).toContain("socket,id=amp-db,path=/r/d,server=on,wait=off");
    expect(b).toContain("-gdb chardev:amp-gdb");
    expect(b).toContain("-M mps2-an385,");
    expect(b).not.toContain(" -S");
  });
});

describe("writeQemuCoredump", () => {
  it("writes an ARM ET_CORE with the note and one PT_LOAD per region; unreadable regions are 0xFF", () => {
    const mem = new ArrayBufferMemory(new ArrayBuffer(0x1000));
    mem.setU32(0x10, 0xcafef00d);
    const chunks: Uint8Array[] = [];
    const size = writeQemuCoredump(mem, (c) => chunks.push(c.slice()), {
      registers: parseRegisters(INFO_REGISTERS),
      regions: [
        { da: BigInt(MPS2_RAM_BASE), size: 0x1000n },
        { da: 0x30000000n, size: 0x10n },
      ],
    });
    const core = new Uint8Array(size);
    let o = 0;
    for (const c of chunks) {
      core.set(c, o);
      o += c.length;
    }
    const dump = readCoredump(core);
    expect([dump.machine, dump.elfClass, dump.regions.length]).toEqual([40, 32, 2]);
    expect(dump.notes.map((n) => [n.name, n.type, n.desc.length])).toEqual([["CORE", 1, 148]]);
    const r0 = dump.regions[0]!;
    expect(new DataView(core.buffer, Number(r0.fileOffset) + 0x10, 4).getUint32(0, true)).toBe(0xcafef00d);
    const r1 = dump.regions[1]!;
    expect([...core.subarray(Number(r1.fileOffset), Number(r1.fileOffset) + 16)].every((b) => b === 0xff)).toBe(true);
  });
});
