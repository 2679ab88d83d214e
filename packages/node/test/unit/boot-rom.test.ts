// The worker-thread CPU (the boot ROM the processor starts from its source text, and the file
// form src/internal/cpu-worker.ts) against decodeProgramHeader: the ROM repeats the header checks
// in plain JavaScript, so both must agree on every good and bad image, message for message.
// Also: the default processor needs no workerEntry, and a missing workerEntry is ERR_WORKER_ENTRY
// before any worker starts.
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { pathToFileURL } from "node:url";
import { join, relative } from "node:path";
import { CpuState, decodeProgramHeader, PROGRAM_HEADER_SIZE, WorkerProcessor, type ProcessorCrash } from "@amp/node";
import { makeTempDir } from "@amp/test-utils";
import { cpuWorkerEntry, until } from "../helpers.ts";

const MEMORY = 0x20000; // sram 64 KiB + ddr 64 KiB
const MARK = 0x8000; // the good program writes here

let fileEntry: string;
const processors: WorkerProcessor[] = [];

beforeAll(async () => {
  fileEntry = await cpuWorkerEntry();
});

afterEach(async () => {
  for (const p of processors.splice(0)) await p.stop();
});

/** A program image: magic, version, header size, code length, no table; fields overridable. */
function image(
  code: string,
  fields: { magic?: string; version?: number; headerSize?: number; codeLength?: number } = {},
): Uint8Array {
  const text = new TextEncoder().encode(code);
  const out = new Uint8Array(PROGRAM_HEADER_SIZE + text.length);
  const magic = fields.magic ?? "AMPJSFW\0";
  for (let i = 0; i < 8; i++) out[i] = magic.charCodeAt(i);
  const v = new DataView(out.buffer);
  v.setUint32(8, fields.version ?? 1, true);
  v.setUint32(12, fields.headerSize ?? PROGRAM_HEADER_SIZE, true);
  v.setUint32(16, fields.codeLength ?? text.length, true);
  v.setUint32(20, 0xffffffff, true);
  out.set(text, PROGRAM_HEADER_SIZE);
  return out;
}

const GOOD = `export default async function main(cpu) { new Int32Array(cpu.memory, ${MARK}, 1)[0] = 0x600d; }`;

interface Case {
  readonly name: string;
  readonly bytes: Uint8Array;
  readonly at: number;
}

const CASES: readonly Case[] = [
  { name: "a good image", bytes: image(GOOD), at: 0x1000 },
  { name: "bad magic", bytes: image(GOOD, { magic: "AMPJSFX\0" }), at: 0x1000 },
  { name: "an unknown version", bytes: image(GOOD, { version: 2 }), at: 0x1000 },
  { name: "a wrong header size", bytes: image(GOOD, { headerSize: 64 }), at: 0x1000 },
  { name: "code running past the end of memory", bytes: image(GOOD, { codeLength: MEMORY }), at: 0x1000 },
  { name: "a header cut by the end of memory", bytes: image(GOOD).slice(0, 16), at: MEMORY - 16 },
  { name: "no default export", bytes: image("export const main = 1;"), at: 0x1000 },
  {
    name: "a program that throws",
    bytes: image('export default async function main() { throw new Error("firmware fault 42"); }'),
    at: 0x1000,
  },
];

/** What decodeProgramHeader says about the case: undefined = accepted. */
function decoderVerdict(c: Case): string | undefined {
  const mem = new Uint8Array(MEMORY);
  mem.set(c.bytes, c.at);
  try {
    decodeProgramHeader(mem, c.at);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

/** Runs the case on a processor and returns its crash detail and CPU state. */
async function cpuVerdict(
  c: Case,
  workerEntry: string | URL | undefined,
): Promise<{ crash: string; state: number; mark: number }> {
  const p = new WorkerProcessor({
    sramSize: 0x10000,
    ddrSize: 0x10000,
    ...(workerEntry === undefined ? {} : { workerEntry }),
  });
  processors.push(p);
  new Uint8Array(p.memory.buffer).set(c.bytes, c.at);
  const crashes: ProcessorCrash[] = [];
  p.onCrash((x) => crashes.push(x));
  await p.start(BigInt(c.at));
  await until(() => crashes.length > 0, 10_000, `the CPU's end (${c.name})`);
  const mark = new Int32Array(p.memory.buffer, MARK, 1)[0] ?? 0;
  return { crash: crashes[0]?.detail ?? "", state: p.bus.cpuState, mark };
}

describe.each([
  ["the built-in CPU (no workerEntry)", (): string | URL | undefined => undefined],
  ["the file form as workerEntry", (): string | URL | undefined => fileEntry],
])("%s", (_name, entry) => {
  it.each(CASES.map((c) => [c.name, c] as const))("agrees with decodeProgramHeader on %s", async (_n, c) => {
    const expected = decoderVerdict(c);
    const got = await cpuVerdict(c, entry());
    if (c.name === "a good image") {
      expect(expected).toBeUndefined();
      expect(got).toEqual({ crash: "the firmware program returned", state: CpuState.HALTED, mark: 0x600d });
    } else if (c.name === "no default export") {
      expect(expected).toBeUndefined();
      expect(got.crash).toBe("the firmware program has no default export main(cpu)");
    } else if (c.name === "a program that throws") {
      expect(expected).toBeUndefined();
      expect(got.crash).toBe("firmware fault 42");
      expect(got.state).toBe(CpuState.RUNNING);
    } else {
      expect(expected).toBeDefined();
      expect(got.crash).toBe(expected);
      expect(got.state).toBe(CpuState.RESET);
    }
  });
});

describe("workerEntry", () => {
  it("accepts a file: URL and a path relative to the working directory", async () => {
    for (const entry of [pathToFileURL(fileEntry), relative(process.cwd(), fileEntry)]) {
      const got = await cpuVerdict(CASES[0]!, entry);
      expect(got.mark).toBe(0x600d);
    }
  });

  it("refuses a missing file with ERR_WORKER_ENTRY before a worker starts", async () => {
    const missing = join(makeTempDir("amp-rom-"), "cpu-worker.js");
    for (const entry of [missing, pathToFileURL(missing)]) {
      const p = new WorkerProcessor({ sramSize: 0x10000, ddrSize: 0x10000, workerEntry: entry });
      processors.push(p);
      const e = (await p.start(0x1000n).catch((x: unknown) => x)) as { name: string; code: string; message: string };
      expect(e.name).toBe("AmpError");
      expect(e.code).toBe("ERR_WORKER_ENTRY");
      expect(e.message).toContain(missing);
      expect(e.message).toContain("workerEntry");
      expect(p.running).toBe(false);
      // Nothing was left half-started: the next start is checked the same way, not "already running".
      await expect(p.start(0x1000n)).rejects.toMatchObject({ code: "ERR_WORKER_ENTRY" });
    }
  });

  it("refuses a directory", async () => {
    const p = new WorkerProcessor({ sramSize: 0x10000, ddrSize: 0x10000, workerEntry: makeTempDir("amp-rom-") });
    processors.push(p);
    await expect(p.start(0x1000n)).rejects.toMatchObject({ code: "ERR_WORKER_ENTRY" });
  });
});
