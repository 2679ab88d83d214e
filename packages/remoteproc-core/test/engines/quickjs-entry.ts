// Bundled into QuickJS by quickjs.test.ts: ECMAScript only.
import { ArrayBufferMemory } from "@amp/virtio-ring";
import { createMemoryFirmwareSource, createRemoteproc, type FirmwareLoader } from "@amp/remoteproc-core";

export async function run(): Promise<string> {
  const memory = new ArrayBufferMemory(new ArrayBuffer(0x10000));
  const loader: FirmwareLoader = {
    loadAndVerify: (image) => ({
      bootAddr: 0n,
      resourceTable: undefined,
      loadSegments: (t) => {
        t.write(0n, image);
      },
    }),
    release: () => undefined,
  };
  const rproc = createRemoteproc({
    name: "qjs",
    firmware: "fw",
    firmwareSource: createMemoryFirmwareSource({ fw: new Uint8Array([1, 2, 3]) }),
    loader,
    driver: {
      start: () => undefined,
      stop: () => undefined,
      kick: () => undefined,
      resourceTableLocation: () => 0x7000,
    },
    regions: [
      { name: "code", da: 0, size: 0x8000, memory },
      { name: "shm", da: 0x1000_0000, size: 0x8000, memory, offset: 0x8000, pool: true },
    ],
    resources: [
      {
        kind: "vdev",
        id: 7,
        vrings: [
          { num: 16, align: 16 },
          { num: 16, align: 16 },
        ],
      },
    ],
  });
  await rproc.boot();
  const out = [rproc.state, `vdev${rproc.vdevs[0]?.id ?? -1}`];
  await rproc.reportCrash("watchdog");
  out.push(`${rproc.state}/${rproc.crashCount}`);
  await rproc.shutdown();
  out.push(rproc.state, String(rproc.allocatedBytes));
  return out.join(" ");
}
