// Public API of @amp/remoteproc-core, listed by name (STYLE.md point 14). Internals live in
// src/internal/ and are not re-exported.

// --- errors ---
/** The @amp error class and its guard (re-exported from @amp/virtio-ring). */
export { AmpError, isAmpError, StepError, isStepError } from "./errors.js";
export type { RemoteprocErrorCode, LifecycleStep } from "./errors.js";

// --- states ---
/** State, crash-type names and the sysfs-like modes. */
export { RprocState, CrashType } from "./state.js";
export type { RprocStateName, CrashTypeName, RecoveryMode, CoredumpMode } from "./state.js";

// --- the manager ---
/** One remote processor's life cycle. */
export { Remoteproc, createRemoteproc } from "./remoteproc.js";
export type {
  RemoteprocOptions,
  RemoteprocLimits,
  RemoteprocEvents,
  SnapshotWindow,
  ShutdownOptions,
} from "./options.js";
export type { ResourceRequest, CarveoutRequest, TraceRequest, VdevRequest, CarveoutInfo } from "./resources.js";
export type { ControlAttribute, ControlSurface } from "./control.js";

// --- platform interfaces ---
/** What a platform implements: the driver, its memory regions. */
export type { RemoteprocDriver, TableLocation, VendorResource, VendorResourceResult, DevmemRequest } from "./driver.js";
export { FW_RSC_ADDR_ANY } from "./memory.js";
export type { MemoryRegion, MemoryWindow } from "./memory.js";
export type { AbortSignalLike } from "./abort.js";

// --- firmware: sources and loaders ---
/** Firmware sources (in-memory here; file systems in platform packages). */
export { createMemoryFirmwareSource } from "./firmware-source.js";
export type { FirmwareSource, MemoryFirmwareSource } from "./firmware-source.js";
/** The loader interface, the ELF default. */
export type { FirmwareLoader, LoadedFirmware, LoaderContext, SegmentTarget, ImageResourceTable } from "./loader.js";
export { createElfLoader } from "./elf-loader.js";
export type { ElfLoaderOptions } from "./elf-loader.js";

// --- authenticated loading ---
/** The @amp signed image: sign, verify, and a loader that verifies before anything is parsed. */
export { signImage, verifySignedImage, SignatureAlgorithm, SignedImageType } from "./signed-image.js";
export type {
  SignImageOptions,
  VerifySignedImageOptions,
  VerifiedImage,
  TrustedKey,
  SubtleCryptoLike,
  CryptoKeyLike,
  SignatureAlgorithmName,
} from "./signed-image.js";
export { createSignedImageLoader } from "./signed-loader.js";
export type { SignedImageLoaderOptions } from "./signed-loader.js";

// --- subdevices and virtio ---
/** Subdevices; vdevs exposed to virtio drivers (rpmsg or any other). */
export type { Subdevice } from "./subdevice.js";
export { RprocVdev } from "./vdev/rproc-vdev.js";
export type { RprocVdevLike, VirtioDriver, VirtioDriverBinding, VringInfo } from "./vdev/rproc-vdev.js";

// --- trace and coredump ---
/** Trace buffer readers and coredump sinks. */
export { TraceBuffer, decodeUtf8 } from "./trace.js";
/** Timestamped trace records: the line format, a buffer parser, a live follower, the coredump note. */
export {
  parseTraceLine,
  parseTraceBuffer,
  formatTraceRecord,
  traceRecordLine,
  TraceFollower,
  traceNoteFor,
  decodeTraceNote,
  isTraceNote,
  formatTraceEntry,
  formatHostTime,
  formatRemoteTime,
  TRACE_LEVELS,
  TRACE_MAX_TEXT,
  TRACE_NOTE_NAME,
  NT_AMP_TRACE,
  TRACE_NOTE_MAX_BYTES,
} from "./trace-record.js";
export type {
  TraceLevel,
  TraceRecord,
  TraceEntry,
  TraceUpdate,
  TraceFollowerOptions,
  TraceNote,
  RemoteToHostTime,
} from "./trace-record.js";
export type { CoredumpSink, CoredumpInfo, CoredumpSegmentSpec, CoredumpElfInfo } from "./coredump.js";
