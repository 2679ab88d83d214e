import { expect, it } from "vitest";

it("the public API of @amp/node (worker processor part) is what the README lists", async () => {
  const names = Object.keys(await import("@amp/node")).sort();
  for (const n of [
    "CONTROL_BLOCK_SIZE",
    "CpuState",
    "DEFAULT_DDR_SIZE",
    "DEFAULT_SRAM_SIZE",
    "DOORBELL_QUEUES",
    "JS_FIRMWARE_FLAGS",
    "JS_FIRMWARE_LOAD_ADDRESS",
    "JS_FIRMWARE_MACHINE",
    "PROGRAM_HEADER_SIZE",
    "PROGRAM_MAGIC",
    "ProcessorBus",
    "WorkerProcessor",
    "buildJsFirmware",
    "createDirectoryFirmwareSource",
    "createFileCoredumpSink",
    "createWorkerRemote",
    "decodeProgramHeader",
    "followTrace",
  ])
    expect(names).toContain(n);
});

it("the shared-file platform and the rpmsg vdev binding are public", async () => {
  const names = Object.keys(await import("@amp/node")).sort();
  for (const n of [
    "OPENAMP_LINUX_MACHINE",
    "RemoteVdevTransport",
    "SharedFileDriver",
    "UnixSocketDoorbell",
    "bindRpmsgHost",
    "createSharedFileRemoteproc",
    "deliverInterrupt",
    "rpmsgHostDriver",
  ])
    expect(names).toContain(n);
});

it("the timeline (host events and remote trace in host time) is public", async () => {
  const names = Object.keys(await import("@amp/node")).sort();
  for (const n of ["Timeline", "createTimeline", "describeEstimate", "formatTimelineEntry"]) expect(names).toContain(n);
});

it("the firmware runtime entry exports only the firmware-side names", async () => {
  expect(Object.keys(await import("@amp/node/firmware")).sort()).toEqual([
    "CpuState",
    "Firmware",
    "ProcessorBus",
    "RemoteVdevTransport",
    "TraceWriter",
    "defineFirmware",
    "serveFirmwareClock",
  ]);
});
