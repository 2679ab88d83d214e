// "@amp/node/firmware": the firmware-side runtime of the worker-thread processor. Bundled into
// every JS firmware, so it uses ECMAScript built-ins and @amp packages only (no node: modules).

// The program's view of its processor
export { defineFirmware, Firmware } from "./runtime.js";
export type { Cpu, FirmwareMain } from "./runtime.js";
export { ProcessorBus, CpuState } from "./bus.js";
export { TraceWriter } from "./trace-writer.js";
export type { TraceLevel, TraceWriterOptions } from "./trace-writer.js";
export { RemoteVdevTransport } from "./vdev-transport.js";
export type { RemoteVdevTransportOptions } from "./vdev-transport.js";
export type { CallbackErrorPolicy, FirmwareRpmsgOptions, FirmwareRunOptions } from "./runtime.js";
// The remote half of the clock exchange ("amp-clock")
export { serveFirmwareClock } from "./clock-service.js";
export type { FirmwareClockOptions } from "./clock-service.js";
