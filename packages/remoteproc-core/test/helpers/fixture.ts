// A fake platform: in-memory regions, a driver that records calls and fails on demand, a loader
// wrapper that counts loads and releases, firmware images built with @amp/resource-table.
import { serializeResourceTable, type ResourceInit } from "@amp/resource-table";
import { ArrayBufferMemory } from "@amp/virtio-ring";
import {
  createMemoryFirmwareSource,
  createElfLoader,
  createRemoteproc,
  type FirmwareLoader,
  type MemoryRegion,
  type RemoteprocDriver,
  type RemoteprocOptions,
  type Subdevice,
  type Remoteproc,
  type MemoryFirmwareSource,
} from "@amp/remoteproc-core";
import { buildElf } from "./elf.ts";

export const TCM_DA = 0x0000_0000;
export const TCM_SIZE = 0x1_0000;
export const SRAM_DA = 0x1000_0000;
export const SRAM_SIZE = 0x4_0000;
export const RSC_DA = 0x8000;
export const TRACE_DA = 0x9000;
export const TRACE_LEN = 256;
export const ENTRY = 0x101;

export function defaultTable(extra: ResourceInit[] = []): Uint8Array {
  return serializeResourceTable({
    entries: [
      { kind: "carveout", name: "ddr", len: 0x4000 },
      {
        kind: "vdev",
        id: 7,
        dfeatures: 1,
        vrings: [
          { align: 16, num: 16 },
          { align: 16, num: 16 },
        ],
      },
      { kind: "trace", name: "trace0", da: TRACE_DA, len: TRACE_LEN },
      ...extra,
    ],
  });
}

export function firmware(opts: { table?: Uint8Array | null; code?: Uint8Array; entry?: number } = {}): Uint8Array {
  const code = opts.code ?? new Uint8Array(64).map((_, i) => i + 1);
  const table = opts.table === undefined ? defaultTable() : opts.table;
  return buildElf({
    entry: opts.entry ?? ENTRY,
    segments: [{ paddr: 0x100, data: code, memsz: code.length + 32 }],
    ...(table === null ? {} : { resourceTable: { addr: RSC_DA, bytes: table } }),
  });
}

export type Hook = "prepare" | "unprepare" | "start" | "stop" | "attach" | "detach" | "getLoadedResourceTable" | "kick";

export class FakeDriver implements RemoteprocDriver {
  readonly log: string[] = [];
  readonly fail = new Set<string>();
  /** Hooks that fail only once. */
  readonly failOnce = new Set<string>();
  loadedTable: { da: number; size: number } | undefined;
  tableLocation: number | undefined;
  prepared = 0;
  running = false;
  kicks: number[] = [];

  private check(hook: string): void {
    if (this.failOnce.has(hook)) {
      this.failOnce.delete(hook);
      throw new Error(`injected ${hook} failure`);
    }
    if (this.fail.has(hook)) throw new Error(`injected ${hook} failure`);
  }
  prepare(): void {
    this.log.push("prepare");
    this.check("prepare");
    this.prepared++;
  }
  unprepare(): void {
    this.log.push("unprepare");
    this.prepared--;
    this.check("unprepare");
  }
  start(bootAddr: bigint): Promise<void> {
    this.log.push(`start ${bootAddr}`);
    this.check("start");
    this.running = true;
    return Promise.resolve();
  }
  stop(): void {
    this.log.push("stop");
    this.check("stop");
    this.running = false;
  }
  attach(): void {
    this.log.push("attach");
    this.check("attach");
    this.running = true;
  }
  detach(): void {
    this.log.push("detach");
    this.check("detach");
  }
  kick(notifyId: number): void {
    this.kicks.push(notifyId);
  }
  getLoadedResourceTable(): { da: number; size: number } | undefined {
    this.log.push("getLoadedResourceTable");
    this.check("getLoadedResourceTable");
    return this.loadedTable;
  }
  resourceTableLocation(): number | undefined {
    return this.tableLocation;
  }
  panic(): number {
    return 5;
  }
}

export class CountingLoader implements FirmwareLoader {
  loads = 0;
  releases = 0;
  readonly inner: FirmwareLoader = createElfLoader();
  failLoad = false;
  failSegments = false;
  async loadAndVerify(image: Uint8Array, ctx: Parameters<FirmwareLoader["loadAndVerify"]>[1]) {
    if (this.failLoad) throw new Error("injected loadAndVerify failure");
    const fw = await this.inner.loadAndVerify(image, ctx);
    this.loads++;
    const failSegments = () => this.failSegments;
    return {
      ...fw,
      loadSegments: async (t: Parameters<typeof fw.loadSegments>[0]) => {
        if (failSegments()) throw new Error("injected load segments failure");
        await fw.loadSegments(t);
      },
    };
  }
  async release(fw: Parameters<FirmwareLoader["release"]>[0]) {
    this.releases++;
    await this.inner.release(fw);
  }
}

export class RecordingSubdevice implements Subdevice {
  readonly name: string;
  readonly log: string[];
  readonly fail = new Set<string>();
  state: "idle" | "prepared" | "started" = "idle";
  constructor(name: string, log: string[]) {
    this.name = name;
    this.log = log;
  }
  prepare(): void {
    this.log.push(`${this.name}.prepare`);
    if (this.fail.has("prepare")) throw new Error(`injected ${this.name}.prepare failure`);
    this.state = "prepared";
  }
  start(): void {
    this.log.push(`${this.name}.start`);
    if (this.fail.has("start")) throw new Error(`injected ${this.name}.start failure`);
    this.state = "started";
  }
  stop(crashed: boolean): void {
    this.log.push(`${this.name}.stop(${crashed})`);
    this.state = "prepared";
    if (this.fail.has("stop")) throw new Error(`injected ${this.name}.stop failure`);
  }
  unprepare(): void {
    this.log.push(`${this.name}.unprepare`);
    this.state = "idle";
    if (this.fail.has("unprepare")) throw new Error(`injected ${this.name}.unprepare failure`);
  }
}

export interface Platform {
  memory: ArrayBufferMemory;
  regions: MemoryRegion[];
  driver: FakeDriver;
  loader: CountingLoader;
  source: MemoryFirmwareSource;
  rproc: Remoteproc;
  errors: unknown[];
  /** Bytes at a device address. */
  read(da: number, len: number): Uint8Array;
}

export function makePlatform(options: Partial<RemoteprocOptions> & { fw?: Uint8Array | null } = {}): Platform {
  const memory = new ArrayBufferMemory(new ArrayBuffer(TCM_SIZE + SRAM_SIZE));
  const regions: MemoryRegion[] = options.regions
    ? [...options.regions]
    : [
        { name: "tcm", da: TCM_DA, size: TCM_SIZE, memory, offset: 0 },
        { name: "sram", da: SRAM_DA, size: SRAM_SIZE, memory, offset: TCM_SIZE, pa: 0x8000_0000, pool: true },
      ];
  const driver = (options.driver as FakeDriver | undefined) ?? new FakeDriver();
  const loader = new CountingLoader();
  const source = createMemoryFirmwareSource();
  const fw = options.fw === undefined ? firmware() : options.fw;
  if (fw !== null) source.set("fw.elf", fw);
  const rproc = createRemoteproc({
    name: "m4",
    firmware: "fw.elf",
    firmwareSource: source,
    loader,
    ...options,
    driver,
    regions,
  });
  const errors: unknown[] = [];
  rproc.on("error", (e) => errors.push(e.error));
  const read = (da: number, len: number): Uint8Array => {
    const w = rproc.translate(da, len);
    if (!w) throw new Error(`no memory at ${da.toString(16)}`);
    return w.memory.read(w.offset, len);
  };
  return { memory, regions, driver, loader, source, rproc, errors, read };
}

/** Puts a table into device memory as a bootloader would have, and tells the driver where. */
export function preinstall(p: Platform): Uint8Array {
  const table = serializeResourceTable({
    entries: [
      { kind: "carveout", name: "ddr", da: 0x1000_0000, len: 0x4000 },
      {
        kind: "vdev",
        id: 7,
        dfeatures: 1,
        vrings: [
          { align: 16, num: 16 },
          { align: 16, num: 16 },
        ],
      },
      { kind: "trace", name: "trace0", da: 0x9000, len: 256 },
    ],
  });
  p.memory.write(RSC_DA, table);
  p.driver.loadedTable = { da: RSC_DA, size: table.length };
  return table;
}
