// The CPU of the worker-thread processor, as the source text of one ES module: the processor
// starts its worker from this text (a data: URL), so no file of @amp/node has to be found at
// run time. A file next to this module broke as soon as a user bundled their application:
// `new URL("./internal/cpu-worker.js", import.meta.url)` then points beside the bundle, where
// nothing is (ES module output), or cannot be built at all (CommonJS output, where esbuild
// leaves import.meta empty).
//
// Like a boot ROM it is fixed code that knows one thing: the program image format. It reads the
// header at the boot address, imports the code behind it and calls its `main(cpu)`. It receives
// nothing but the memory, the control block and the boot address (workerData), so no code or
// configuration reaches the firmware any other way.
//
// It is plain JavaScript in a string, not a function turned into text, so that no bundler,
// minifier or coverage tool can rewrite it into something that needs names from outside. The
// checks mirror decodeProgramHeader (../js-firmware/format.ts) message for message; a unit
// test runs both over the same good and bad images (test/unit/boot-rom.test.ts).
import {
  OFF_CODE_LEN,
  OFF_HEADER_SIZE,
  OFF_VERSION,
  PROGRAM_HEADER_SIZE,
  PROGRAM_MAGIC,
  PROGRAM_VERSION,
} from "../js-firmware/format.js";
import { CpuState } from "../firmware/bus.js";

/** The CPU's module source. */
export const CPU_BOOT_ROM: string = `// @amp/node worker-thread CPU (boot ROM)
import { workerData } from "node:worker_threads";

const MAGIC = ${JSON.stringify(PROGRAM_MAGIC)};
const HEADER_SIZE = ${PROGRAM_HEADER_SIZE};
const VERSION = ${PROGRAM_VERSION};
const OFF_VERSION = ${OFF_VERSION};
const OFF_HEADER_SIZE = ${OFF_HEADER_SIZE};
const OFF_CODE_LEN = ${OFF_CODE_LEN};
const STATE_RUNNING = ${CpuState.RUNNING};
const STATE_HALTED = ${CpuState.HALTED};

function codeLength(bytes, at) {
  if (at < 0 || at > bytes.length || bytes.length - at < HEADER_SIZE) {
    throw new Error("no program image at the boot address: memory ends first");
  }
  for (let i = 0; i < MAGIC.length; i++) {
    if (bytes[at + i] !== MAGIC.charCodeAt(i)) throw new Error("no JS program image at the boot address (bad magic)");
  }
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = v.getUint32(at + OFF_VERSION, true);
  if (version !== VERSION) throw new Error("program image version " + version + " is not supported");
  const headerSize = v.getUint32(at + OFF_HEADER_SIZE, true);
  if (headerSize !== HEADER_SIZE) throw new Error("program header size " + headerSize + ", expected " + HEADER_SIZE);
  const length = v.getUint32(at + OFF_CODE_LEN, true);
  if (length > bytes.length - at - HEADER_SIZE) {
    throw new Error("program code (" + length + " bytes) runs past the end of memory");
  }
  return length;
}

async function run(boot) {
  const bytes = new Uint8Array(boot.memory);
  const length = codeLength(bytes, boot.bootAddress);
  const start = boot.bootAddress + HEADER_SIZE;
  const code = new TextDecoder("utf-8", { fatal: true }).decode(bytes.slice(start, start + length));
  // The program is an ES module; a data: URL lets the module loader run it without a file.
  const mod = await import("data:text/javascript;base64," + Buffer.from(code, "utf8").toString("base64"));
  const main = mod.default;
  if (typeof main !== "function") throw new Error("the firmware program has no default export main(cpu)");
  const state = new Int32Array(boot.control, 0, 1);
  Atomics.store(state, 0, STATE_RUNNING);
  await main({ memory: boot.memory, control: boot.control, bootAddress: boot.bootAddress });
  Atomics.store(state, 0, STATE_HALTED);
}

// A fault of the program (an exception, a rejected promise) is an uncaught exception of the
// worker: the host sees it as the CPU's fatal error.
run(workerData).catch((e) => {
  process.nextTick(() => {
    throw e;
  });
});
`;

let romUrl: URL | undefined;

/** The boot ROM as a data: URL for `new Worker(url)` (made once). */
export function cpuBootRomUrl(): URL {
  romUrl ??= new URL(`data:text/javascript;base64,${Buffer.from(CPU_BOOT_ROM, "utf8").toString("base64")}`);
  return romUrl;
}
