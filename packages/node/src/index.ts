// Public API of @amp/node, listed by name: the Node.js platform of @amp. The firmware-side
// runtime (bundled into JS firmware, no Node built-ins) is the separate entry "@amp/node/firmware".

// Worker-thread remote processor
export { WorkerProcessor } from "./worker-processor.js";
export type { WorkerProcessorOptions, ProcessorCrash } from "./worker-processor.js";
export { ProcessorBus, CpuState, CONTROL_BLOCK_SIZE, DOORBELL_QUEUES } from "./firmware/bus.js";
export { createWorkerRemote } from "./worker-remote.js";
export type { WorkerRemote, WorkerRemoteOptions } from "./worker-remote.js";
export { DEFAULT_SRAM_SIZE, DEFAULT_DDR_SIZE, JS_FIRMWARE_LOAD_ADDRESS } from "./firmware/memory-map.js";

// JS firmware format and builder
export { buildJsFirmware } from "./js-firmware/build.js";
export type { JsFirmwareInput } from "./js-firmware/build.js";
export {
  JS_FIRMWARE_MACHINE,
  JS_FIRMWARE_FLAGS,
  PROGRAM_MAGIC,
  PROGRAM_HEADER_SIZE,
  decodeProgramHeader,
} from "./js-firmware/format.js";
export type { ProgramHeader } from "./js-firmware/format.js";

// Firmware on the file system
export { createDirectoryFirmwareSource } from "./firmware-directory.js";
export type { DirectoryFirmwareSource, DirectoryFirmwareSourceOptions } from "./firmware-directory.js";

// Coredump and trace sinks
export { createFileCoredumpSink, followTrace } from "./sinks.js";
export type { FileCoredumpSink, TraceSource, FollowTraceOptions } from "./sinks.js";

// --- qemu ---
// File-backed memory (pread/pwrite on a file another process maps, e.g. QEMU's RAM)
export { FileMemory } from "./file-memory.js";
export type { FileMemoryOptions } from "./file-memory.js";

// QEMU remote processor (Cortex-M4, mps2-an386, RAM = a 16 MiB file at 0x21000000)
export { QemuDriver, DEFAULT_QEMU_MEMORY_MAP } from "./qemu/driver.js";
export type { QemuDriverOptions, QemuDoorbellMode, QemuCrashReport, QemuRegionSpec } from "./qemu/driver.js";
export { QemuMachine, qemuArgs } from "./qemu/machine.js";
export type { QemuArgsOptions, QemuLaunchOptions, QemuConnectOptions, QemuSocketPaths, QemuExit, Mps2Board } from "./qemu/machine.js";
export { createQemuRemoteproc } from "./qemu/remoteproc.js";
export type { QemuRemoteprocOptions, QemuRemoteproc } from "./qemu/remoteproc.js";
export { QmpClient } from "./qemu/qmp.js";
export type { QmpEvent } from "./qemu/qmp.js";
export { parseRegisters } from "./qemu/registers.js";
export type { CpuRegisters } from "./qemu/registers.js";
export { checkImage, loadImage } from "./qemu/image.js";
export type { QemuImage, ImageTable } from "./qemu/image.js";
export { readFaultRecord, describeFault, faultNames } from "./qemu/crash.js";
export type { FaultRecord } from "./qemu/crash.js";
export { writeQemuCoredump, armPrstatusNote } from "./qemu/coredump.js";
export type { QemuCoredumpOptions } from "./qemu/coredump.js";
export {
  MPS2_RAM_BASE,
  MPS2_RAM_SIZE,
  AMPQ_CTRL_DA,
  AMPQ_CTRL_LEN,
  AMPQ_MAGIC,
  AMPQ_VERSION,
  AMPQ_CRASH_MAGIC,
  AMPQ_CRASH_REASON_HARDFAULT,
  AMPQ_CRASH_REASON_WATCHDOG,
  AMPQ_DB_CRASH,
  AMPQ_DB_PONG,
  AmpqCtrl,
  AmpqState,
  AmpqMode,
  AmpqCrash,
} from "./qemu/abi.js";
export type { QemuErrorCode } from "./qemu/errors.js";
// --- end qemu ---
