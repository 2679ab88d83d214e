// Public API of @amp/node, listed by name: the Node.js platform of @amp. The firmware-side
// runtime (bundled into JS firmware, no Node built-ins) is the separate entry "@amp/node/firmware".

// Worker-thread remote processor
export { WorkerProcessor } from "./worker-processor.js";
export type { WorkerProcessorOptions, ProcessorCrash, WorkerProcessorErrorCode } from "./worker-processor.js";
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

// One timeline: host events and remote trace records in host time, through the clock exchange
export { createTimeline, Timeline, describeEstimate, formatTimelineEntry } from "./timeline.js";
export type { TimelineEntry, TimelineKind, TimelineOptions, TimelineSource, TimelineTraceInput } from "./timeline.js";

// Coredump and trace sinks
export { createFileCoredumpSink, followTrace } from "./sinks.js";
export type { FileCoredumpSink, TraceSource, FollowTraceOptions } from "./sinks.js";
// Durable logs: trace records and host events, JSON lines and text, rotated by size and count
export {
  createTraceLog,
  attachTraceLog,
  createRotatingFile,
  hostNowMs,
  traceEntryJson,
  traceEntryText,
} from "./trace-log.js";
export type {
  TraceLog,
  TraceLogOptions,
  TraceLogEvent,
  LoggedRemote,
  AttachTraceLogOptions,
  RotatingFile,
  RotatingFileOptions,
} from "./trace-log.js";

// rpmsg on remoteproc vdevs: the host role (Linux's virtio_rpmsg_bus) bound to a started vdev
export { bindRpmsgHost, rpmsgHostDriver } from "./rpmsg-vdev.js";
export type { RpmsgVdevOptions, RpmsgVdevBinding, RpmsgHostListener, RpmsgHostVirtioDriver } from "./rpmsg-vdev.js";

// A remote processor that is another process: its memory a shared file, an external doorbell
// (OpenAMP's Linux machine, emulators that map a memory file)
export { SharedFileDriver } from "./shared-file/driver.js";
export type {
  SharedFileDriverOptions,
  SharedFileDoorbell,
  SharedFileRegionSpec,
  SharedFileLaunch,
  SharedFileCrashReport,
} from "./shared-file/driver.js";
export { createSharedFileRemoteproc, deliverInterrupt } from "./shared-file/remoteproc.js";
export type { SharedFileRemoteprocOptions, SharedFileRemoteproc, InterruptTarget } from "./shared-file/remoteproc.js";
export { UnixSocketDoorbell } from "./shared-file/unix-socket-doorbell.js";
export type {
  UnixSocketDoorbellOptions,
  UnixSocketDoorbellStats,
  DoorbellQueueIds,
} from "./shared-file/unix-socket-doorbell.js";
export { OPENAMP_LINUX_MACHINE } from "./shared-file/presets.js";
export type { SharedFileErrorCode } from "./shared-file/errors.js";
// The remote side of a resource-table vdev over plain memory (also in "@amp/node/firmware")
export { RemoteVdevTransport } from "./firmware/vdev-transport.js";
export type { RemoteVdevTransportOptions } from "./firmware/vdev-transport.js";

// --- qemu ---
// File-backed memory (pread/pwrite on a file another process maps, e.g. QEMU's RAM)
export { FileMemory } from "./file-memory.js";
export type { FileMemoryOptions } from "./file-memory.js";

// QEMU remote processor (Cortex-M4, mps2-an386, RAM = a 16 MiB file at 0x21000000)
export { QemuDriver, DEFAULT_QEMU_MEMORY_MAP } from "./qemu/driver.js";
export type { QemuDriverOptions, QemuDoorbellMode, QemuCrashReport, QemuRegionSpec } from "./qemu/driver.js";
export { QemuMachine, qemuArgs } from "./qemu/machine.js";
export type {
  QemuArgsOptions,
  QemuLaunchOptions,
  QemuConnectOptions,
  QemuSocketPaths,
  QemuExit,
  Mps2Board,
} from "./qemu/machine.js";
export { createQemuRemoteproc } from "./qemu/remoteproc.js";
export type { QemuRemoteprocOptions, QemuRemoteproc } from "./qemu/remoteproc.js";
// rpmsg-only mode on QEMU: firmware without a resource table for its link (e.g. NXP rpmsg-lite)
export { createQemuStaticLink } from "./qemu/static-link.js";
export type { QemuStaticLinkOptions, QemuStaticLink } from "./qemu/static-link.js";
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

// --- vhost-user ---
// vhost-user device backend: @amp devices served to a vhost-user frontend (User-Mode Linux's
// virtio_uml, and others) over a UNIX socket
export { VhostUserBackend } from "./vhost-user/backend.js";
export type {
  VhostUserBackendOptions,
  VhostUserEvent,
  VhostUserReadiness,
  VhostUserStats,
} from "./vhost-user/backend.js";
export { VhostUserTransport } from "./vhost-user/transport.js";
export { serveVhostUserDevice, serveVhostUserRpmsg } from "./vhost-user/serve.js";
export type {
  VhostUserServeOptions,
  VhostUserService,
  VhostUserRpmsgOptions,
  VhostUserRpmsgService,
} from "./vhost-user/serve.js";
export { relayBinary as vhostUserRelayBinary } from "./vhost-user/relay.js";
export type { VhostUserErrorCode } from "./vhost-user/errors.js";
// --- end vhost-user ---
