// Type-checked by scripts/check-install.mjs against the installed tarballs (never run): a user's
// TypeScript project importing every entry point of every package, with values crossing
// package boundaries the way applications pass them.
import { AmpError, isAmpError } from "@amp/resource-table";
import { AmpError as RpmsgAmpError } from "@amp/rpmsg";
import { FW_RSC_ADDR_ANY, parseResourceTable, serializeResourceTable } from "@amp/resource-table";
import { parseElf, type ElfFile } from "@amp/elf-loader";
import {
  AddressSpace,
  ArrayBufferMemory,
  InMemoryTransport,
  LocalDoorbell,
  type AddressSpaceLike,
} from "@amp/virtio-ring";
import { RpmsgHost, RpmsgRemote, createStaticHost, staticLinkLayout, type RpmsgEndpoint } from "@amp/rpmsg";
import { createMemoryFirmwareSource, createRemoteproc, type Remoteproc } from "@amp/remoteproc-core";
import { I2cBusServer, I2cClient, createDirectChannel } from "@amp/virtual-io";
import { buildJsFirmware, createWorkerRemote, type WorkerRemote } from "@amp/node";
import { defineFirmware } from "@amp/node/firmware";
import { main, type CliIo } from "@amp/cli";

const bytes: Uint8Array = serializeResourceTable({
  entries: [{ kind: "carveout", da: FW_RSC_ADDR_ANY, len: 0x1000, name: "buf" }],
});
export const entries: number = parseResourceTable(bytes).entries.length;
export const elf: ElfFile = parseElf(
  buildJsFirmware({ program: "export default async function main() {}", resourceTable: { entries: [] } }),
);

const space: AddressSpaceLike = new AddressSpace().map(0, new ArrayBufferMemory(new ArrayBuffer(0x10000)));
const transport = new InMemoryTransport({ deviceId: 7, deviceFeatures: 0n, legacy: true, queues: [16, 16] });
export const remote: RpmsgRemote = new RpmsgRemote({ transport, space });
export const host: RpmsgHost = new RpmsgHost({
  transport,
  space: new AddressSpace(),
  rings: { addr: 0 },
  poolAddr: 0x8000,
  numBuffers: 16,
});
export const staticHost: RpmsgHost = createStaticHost({
  layout: staticLinkLayout({ base: 0, numBuffers: 16 }),
  space,
  doorbell: new LocalDoorbell(),
});
export type Ep = RpmsgEndpoint;

export const rproc: Remoteproc = createRemoteproc({
  name: "m4",
  firmware: "fw.elf",
  firmwareSource: createMemoryFirmwareSource({}),
  driver: { start: () => undefined, stop: () => undefined },
  regions: [{ name: "shm", da: 0, size: 0x8000, memory: new ArrayBufferMemory(new ArrayBuffer(0x8000)), pool: true }],
});
export const i2c: I2cClient = new I2cClient(createDirectChannel(new I2cBusServer()));
export const worker = (): WorkerRemote =>
  createWorkerRemote({ firmware: "fw.elf", firmwareSource: createMemoryFirmwareSource({}) });
export const fw = defineFirmware(async (f) => {
  f.trace("hello");
});
const io: CliIo = { stdout: () => undefined, stderr: () => undefined, cwd: ".", interactive: false };
export const code: Promise<number> = main(["--version"], io);

// One AmpError type: rpmsg's class (virtio-ring's) and resource-table's copy are interchangeable
// to the type checker, and `instanceof` agrees at run time.
const err: AmpError<"ERR_X"> = new RpmsgAmpError("ERR_X", "x");
export const same: boolean = isAmpError(err) && err.code === "ERR_X" && err instanceof AmpError;
