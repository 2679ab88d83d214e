// The CPU of the worker-thread processor: runs in the worker. It receives nothing but the
// memory, the control block and the boot address, reads the program image stored at the boot
// address, and runs it. No code or configuration travels any other way.
import { workerData } from "node:worker_threads";
import { decodeProgramHeader, PROGRAM_HEADER_SIZE } from "../js-firmware/format.js";
import { CpuState, ProcessorBus } from "../firmware/bus.js";
import type { Cpu, FirmwareMain } from "../firmware/runtime.js";

interface BootData {
  readonly memory: SharedArrayBuffer;
  readonly control: SharedArrayBuffer;
  readonly bootAddress: number;
}

async function run(boot: BootData): Promise<void> {
  const bytes = new Uint8Array(boot.memory);
  const header = decodeProgramHeader(bytes, boot.bootAddress);
  const start = boot.bootAddress + PROGRAM_HEADER_SIZE;
  const code = new TextDecoder("utf-8", { fatal: true }).decode(bytes.slice(start, start + header.codeLength));
  // The program is an ES module; a data: URL lets the module loader run it without a file.
  const mod = (await import(`data:text/javascript;base64,${Buffer.from(code, "utf8").toString("base64")}`)) as { default?: unknown };
  const main = mod.default;
  if (typeof main !== "function") throw new Error("the firmware program has no default export main(cpu)");
  const bus = new ProcessorBus(boot.control);
  bus.cpuState = CpuState.RUNNING;
  const cpu: Cpu = { memory: boot.memory, control: boot.control, bootAddress: boot.bootAddress };
  await (main as FirmwareMain)(cpu);
  bus.cpuState = CpuState.HALTED;
}

// A fault of the program (an exception, a rejected promise) is an uncaught exception of the
// worker: the host sees it as the CPU's fatal error.
run(workerData as BootData).catch((e: unknown) => {
  process.nextTick(() => {
    throw e;
  });
});
