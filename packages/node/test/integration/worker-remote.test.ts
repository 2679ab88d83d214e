import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { readCoredump, readCoredumpMemory } from "@amp/elf-loader";
import { createMemoryFirmwareSource, type FirmwareLoader } from "@amp/remoteproc-core";
import { createFileCoredumpSink, createWorkerRemote, followTrace, type WorkerRemote } from "@amp/node";
import { makeTempDir } from "@amp/test-utils";
import { cpuWorkerEntry, echoFirmware, inlineFirmware, until } from "../helpers.ts";

let entry: string;
let echo: Uint8Array;
const remotes: WorkerRemote[] = [];

beforeAll(async () => {
  entry = await cpuWorkerEntry();
  echo = await echoFirmware();
});

afterEach(async () => {
  for (const r of remotes.splice(0)) await r.close();
});

function make(
  image: Uint8Array,
  extra: Parameters<typeof createWorkerRemote>[0] extends infer O ? Partial<O> : never = {},
): WorkerRemote {
  const remote = createWorkerRemote({
    firmware: "fw.elf",
    firmwareSource: createMemoryFirmwareSource({ "fw.elf": image }),
    processor: { workerEntry: entry, sramSize: 0x100000, ddrSize: 0x100000 },
    ...extra,
  });
  remotes.push(remote);
  return remote;
}

async function echoOnce(remote: WorkerRemote, text: string): Promise<string> {
  const host = remote.rpmsg!;
  const svc = await host.waitForService("rpmsg-amp-echo", { timeoutMs: 10_000 });
  const ep = host.createEndpoint({ dst: svc.addr });
  try {
    await ep.send(new TextEncoder().encode(text), { timeoutMs: 10_000 });
    for await (const m of ep.messages()) return new TextDecoder().decode(m.data);
    return "";
  } finally {
    ep.destroy();
  }
}

describe("worker-thread remote processor", () => {
  it("boots the echo firmware, sees its announcement and echoes", async () => {
    const remote = make(echo);
    const announced: string[] = [];
    remote.onRpmsg((host) => host.onNameService((e) => announced.push(`${e.type} ${e.name}`)));
    await remote.rproc.boot();
    expect(remote.rproc.state).toBe("running");
    expect(await echoOnce(remote, "hello remote")).toBe("hello remote");
    expect(announced).toContain("create rpmsg-amp-echo");
  });

  it("lets the host read the remote's trace buffer live", async () => {
    const remote = make(echo);
    await remote.rproc.boot();
    const lines: string[] = [];
    const stop = followTrace(remote.rproc.traces[0]!, (l) => lines.push(l), { intervalMs: 10 });
    await until(() => lines.some((l) => l.includes("link up")), 10_000, "trace");
    stop();
    expect(lines[0]).toBe("echo: firmware started");
  });

  it("reports a fatal-error crash when the firmware throws, recovers, and writes a coredump", async () => {
    const dir = makeTempDir("amp-core-");
    const core = join(dir, "crash.core");
    const remote = make(echo, { recovery: "enabled", coredump: "inline", coredumpSink: createFileCoredumpSink(core) });
    const crashes: string[] = [];
    remote.rproc.on("crash", (c) => crashes.push(c.type));
    await remote.rproc.boot();
    expect(await echoOnce(remote, "before")).toBe("before");
    const vringDas = remote.rproc.vdevs[0]!.vrings.map((v) => v.da);
    const host = remote.rpmsg!;
    const svc = await host.waitForService("rpmsg-amp-echo", { timeoutMs: 10_000 });
    const ep = host.createEndpoint({ dst: svc.addr });
    await ep.send(new TextEncoder().encode("crash!"), { timeoutMs: 10_000 });
    await until(
      () =>
        crashes.length === 1 && remote.rproc.state === "running" && remote.rpmsg !== undefined && remote.rpmsg !== host,
      15_000,
      "recovery",
    );
    expect(crashes).toEqual(["fatal error"]);
    expect(await echoOnce(remote, "after recovery")).toBe("after recovery");
    await until(() => existsSync(core), 5000, "core file");
    const bytes = new Uint8Array(readFileSync(core));
    const summary = readCoredump(bytes);
    expect(summary.elfClass).toBe(32);
    // Beside the firmware segments: the vrings (pool-allocated) and the rpmsg buffers.
    for (const da of vringDas) expect(summary.regions.some((r) => r.da === BigInt(da))).toBe(true);
    // vring0 carries the host's rx buffers: its avail index (at num * 16 + 2) moved.
    const availIdx = readCoredumpMemory(bytes, summary, BigInt(vringDas[0]! + 256 * 16 + 2), 2)!;
    expect(availIdx[0]! | (availIdx[1]! << 8)).toBeGreaterThan(0);
    // The last message the host sent is still in its tx buffer in the dumped rpmsg buffer pool.
    const pool = summary.regions.filter((r) => r.da >= 0x100000n && !vringDas.some((da) => r.da === BigInt(da)));
    const text = pool
      .map((r) => Buffer.from(readCoredumpMemory(bytes, summary, r.da, Number(r.size))!).toString("latin1"))
      .join("");
    expect(text).toContain("crash!");
  });

  it("reports a watchdog crash when the firmware stops kicking", async () => {
    const remote = make(echo, { recovery: "disabled" });
    const crashes: string[] = [];
    remote.rproc.on("crash", (c) => crashes.push(c.type));
    await remote.rproc.boot();
    const host = remote.rpmsg!;
    const svc = await host.waitForService("rpmsg-amp-echo", { timeoutMs: 10_000 });
    const ep = host.createEndpoint({ dst: svc.addr });
    await ep.send(new TextEncoder().encode("hang!"), { timeoutMs: 10_000 });
    await until(() => crashes.length > 0, 15_000, "watchdog");
    expect(crashes).toEqual(["watchdog"]);
    expect(remote.rproc.state).toBe("crashed");
  });

  it("reports a crash when the program returns", async () => {
    const remote = make(inlineFirmware("export default async () => {};\n"), { recovery: "disabled" });
    const details: string[] = [];
    remote.onCrash((c) => details.push(`${c.type}: ${c.detail}`));
    await remote.rproc.boot();
    await until(() => details.length > 0, 10_000, "crash");
    expect(details[0]).toMatch(/^fatal error: the firmware program returned/);
  });

  it("dumps what the loader wrote and zero-filled (bigint SegmentTarget lengths) as one firmware segment", async () => {
    const loader: FirmwareLoader = {
      loadAndVerify: () => ({
        bootAddr: 0x2000n,
        resourceTable: undefined,
        elf: { elfClass: 32, machine: 0 },
        loadSegments: (t) => {
          t.write(0x2000n, new Uint8Array(16).fill(0x77));
          t.fill(0x2010n, 0x30n, 0);
        },
      }),
      release: () => undefined,
    };
    const remote = make(new Uint8Array(0), { recovery: "disabled", loader });
    const crashes: string[] = [];
    remote.onCrash((c) => crashes.push(c.type));
    await remote.rproc.boot();
    await until(() => remote.rproc.state === "crashed", 10_000, "crash at a boot address without a program");
    const chunks: Uint8Array[] = [];
    await remote.rproc.coredump({
      write: (c) => {
        chunks.push(c.slice());
      },
    });
    const bytes = Uint8Array.from(chunks.flatMap((c) => [...c]));
    const summary = readCoredump(bytes);
    expect(summary.regions.map((r) => [r.da, r.size])).toContainEqual([0x2000n, 0x40n]);
    expect([...readCoredumpMemory(bytes, summary, 0x200en, 4)!]).toEqual([0x77, 0x77, 0, 0]);
  });

  it("reports a crash when the boot address holds no program", async () => {
    // A valid ELF whose program image was damaged after building: the CPU faults at boot.
    const image = inlineFirmware("export default async () => {};\n");
    const broken = image.slice();
    const phoff = new DataView(broken.buffer).getUint32(28, true);
    const textOff = new DataView(broken.buffer).getUint32(phoff + 4, true);
    broken[textOff] = 0; // the magic
    const remote = make(broken, { recovery: "disabled" });
    const details: string[] = [];
    remote.onCrash((c) => details.push(c.detail));
    await remote.rproc.boot();
    await until(() => details.length > 0, 10_000, "crash");
    expect(details[0]).toMatch(/bad magic/);
  });

  it("stops the worker on shutdown", async () => {
    const remote = make(echo);
    await remote.rproc.boot();
    expect(remote.processor.running).toBe(true);
    await remote.rproc.shutdown();
    expect(remote.processor.running).toBe(false);
    expect(remote.rproc.state).toBe("offline");
  });
});

describe("WorkerProcessor", () => {
  it("translates device addresses inside its memory only", async () => {
    const { WorkerProcessor } = await import("@amp/node");
    const p = new WorkerProcessor({ workerEntry: entry, sramSize: 0x10000, ddrSize: 0x10000 });
    expect(p.regions.map((r) => [r.name, r.da, r.size, r.pool === true])).toEqual([
      ["sram", 0, 0x10000, false],
      ["ddr", 0x10000, 0x10000, true],
    ]);
    expect(p.translate(0x1fff0, 16)?.offset).toBe(0x1fff0);
    expect(p.translate(0x1fff0, 17)).toBeUndefined();
    expect(p.translate(-1, 1)).toBeUndefined();
  });

  it("refuses a boot address outside memory, a second start, and bad sizes", async () => {
    const { WorkerProcessor } = await import("@amp/node");
    expect(() => new WorkerProcessor({ sramSize: 1000 })).toThrow(RangeError);
    const p = new WorkerProcessor({ workerEntry: entry, sramSize: 0x10000, ddrSize: 0x10000 });
    await expect(p.start(0x100000n)).rejects.toThrow(RangeError);
    // Empty memory: the CPU starts, then faults (no program image); a second start is refused meanwhile.
    await p.start(0x1000n);
    await expect(p.start(0x1000n)).rejects.toThrow(/already running/);
    await p.stop();
    expect(p.running).toBe(false);
  });
});
