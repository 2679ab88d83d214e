// One call to get a remote processor you can boot without a board: a WorkerProcessor driven by
// remoteproc-core, with crash reports and vring interrupts wired, and rpmsg (host role) bound
// to every rpmsg vdev the firmware declares.
import {
  createElfLoader,
  createRemoteproc,
  type FirmwareLoader,
  type Remoteproc,
  type RemoteprocOptions,
  type RprocVdev,
  type VirtioDriver,
} from "@amp/remoteproc-core";
import { RpmsgHost, type RpmsgHostOptions } from "@amp/rpmsg";
import { WorkerProcessor, type ProcessorCrash, type WorkerProcessorOptions } from "./worker-processor.js";

/** VIRTIO_ID_RPMSG */
const VIRTIO_ID_RPMSG = 7;
const RPMSG_BUFFER_SIZE = 512;

/** Options of {@link createWorkerRemote}: remoteproc-core's options without the driver and memory. */
export interface WorkerRemoteOptions extends Omit<RemoteprocOptions, "driver" | "regions" | "name"> {
  /** Name of the remote processor (default "worker0"). */
  readonly name?: string;
  /** The simulated processor (memory sizes, worker entry, watchdog polling). */
  readonly processor?: WorkerProcessorOptions;
  /**
   * rpmsg host options for rpmsg vdevs (buffer count and size; default 512-byte buffers, one per
   * vring entry), or false to leave rpmsg vdevs to a virtio driver of your own.
   */
  readonly rpmsg?: Pick<RpmsgHostOptions, "numBuffers" | "bufferSize" | "maxEndpoints" | "onError"> | false;
  /**
   * Add every range the loader writes (the firmware's segments) to coredumps, beside the
   * carveouts the core dumps anyway (default true): a core then holds the program, its resource
   * table as the host left it, and its trace buffer.
   */
  readonly dumpFirmwareSegments?: boolean;
}

/** A worker-thread remote processor managed by remoteproc-core. */
export interface WorkerRemote {
  /** The simulated processor (memory, control block). */
  readonly processor: WorkerProcessor;
  /** The life-cycle manager: boot, shutdown, recovery, coredump, traces, events. */
  readonly rproc: Remoteproc;
  /** The rpmsg host of the running firmware's first rpmsg vdev (undefined while none runs). */
  readonly rpmsg: RpmsgHost | undefined;
  /** Calls `listener` with each new rpmsg host (every boot and every recovery makes one). */
  onRpmsg(listener: (host: RpmsgHost, vdev: RprocVdev) => void): () => void;
  /** Calls `listener` with every crash the processor detects (before recovery runs). */
  onCrash(listener: (crash: ProcessorCrash) => void): () => void;
  /** Shuts the remote down if it runs and stops the worker. Idempotent. */
  close(): Promise<void>;
}

const nodeScheduler = {
  setTimeout: (cb: () => void, ms: number): unknown => setTimeout(cb, ms),
  clearTimeout: (h: unknown): void => {
    clearTimeout(h as ReturnType<typeof setTimeout>);
  },
};

/**
 * Creates a remote processor whose CPU is a worker thread. Boot it with `remote.rproc.boot()`;
 * crashes of the firmware (exceptions, exit, watchdog) are reported to the core, which recovers
 * the remote when recovery is enabled.
 * @example
 * const remote = createWorkerRemote({ firmware: "echo.elf", firmwareSource: createDirectoryFirmwareSource(".") });
 * remote.onRpmsg((host) => host.onNameService((e) => console.log(e.name)));
 * await remote.rproc.boot();
 */
export function createWorkerRemote(options: WorkerRemoteOptions): WorkerRemote {
  const { processor: processorOptions, rpmsg: rpmsgOptions, name, dumpFirmwareSegments, loader, ...rest } = options;
  const processor = new WorkerProcessor(processorOptions);
  const dumped = new Set<string>();
  const ref: { rproc?: Remoteproc } = {};
  const baseLoader = loader ?? createElfLoader();
  const effectiveLoader: FirmwareLoader =
    dumpFirmwareSegments === false
      ? baseLoader
      : recordingLoader(baseLoader, (da, size) => {
          const key = `${da}:${size}`;
          if (dumped.has(key) || ref.rproc === undefined) return;
          dumped.add(key);
          ref.rproc.addCoredumpSegment({ da, size, name: `fw@0x${da.toString(16)}` });
        });
  const rproc = createRemoteproc({ ...rest, loader: effectiveLoader, name: name ?? "worker0", driver: processor, regions: processor.regions });
  ref.rproc = rproc;
  let current: RpmsgHost | undefined;
  const rpmsgListeners = new Set<(host: RpmsgHost, vdev: RprocVdev) => void>();
  const offs: (() => void)[] = [];
  offs.push(processor.onCrash((c) => void rproc.reportCrash(c.type)));
  offs.push(processor.onInterrupt((id) => { rproc.handleInterrupt(id); }));

  if (rpmsgOptions !== false) {
    const driver: VirtioDriver = {
      name: "rpmsg",
      deviceIds: [VIRTIO_ID_RPMSG],
      probe(vdev) {
        const n = rpmsgOptions?.numBuffers ?? Math.min(256, vdev.vrings[0]?.num ?? 256);
        const size = rpmsgOptions?.bufferSize ?? RPMSG_BUFFER_SIZE;
        const pool = vdev.buffer ?? vdev.allocate(2 * n * size, 4096);
        const host = new RpmsgHost({ scheduler: nodeScheduler, ...rpmsgOptions, numBuffers: n, bufferSize: size, transport: vdev.transport, space: vdev.addressSpace, poolAddr: pool.da });
        const off = vdev.onInterrupt(() => {
          host.process();
        });
        host.start();
        if (current === undefined) current = host;
        for (const l of [...rpmsgListeners]) l(host, vdev);
        host.process();
        return {
          remove(crashed: boolean) {
            off();
            host.stop(crashed ? "the remote crashed" : "the remote is shutting down", { reset: !crashed });
            if (current === host) current = undefined;
          },
        };
      },
    };
    void rproc.registerVirtioDriver(driver);
  }

  let closed = false;
  return {
    processor,
    rproc,
    get rpmsg() {
      return current;
    },
    onRpmsg(listener) {
      rpmsgListeners.add(listener);
      return () => {
        rpmsgListeners.delete(listener);
      };
    },
    onCrash(listener) {
      return processor.onCrash(listener);
    },
    async close() {
      if (closed) return;
      closed = true;
      try {
        if (rproc.state === "running" || rproc.state === "attached") await rproc.shutdown();
      } finally {
        for (const off of offs) off();
        await processor.stop();
      }
    },
  };
}

/**
 * Wraps a loader so that the ranges its `loadSegments` writes are reported (merged when they
 * touch), after the load completes.
 */
function recordingLoader(inner: FirmwareLoader, onRange: (da: number, size: number) => void): FirmwareLoader {
  return {
    async loadAndVerify(image, context) {
      const fw = await inner.loadAndVerify(image, context);
      return {
        ...fw,
        async loadSegments(target) {
          const ranges: [number, number][] = [];
          // Device addresses and lengths are bigint (SegmentTarget = elf-loader's LoadSink); the
          // core's target refuses anything beyond 32 bits, so after it accepted a range the
          // conversion to number is exact.
          const note = (da: bigint, length: bigint): void => {
            const start = Number(da);
            const len = Number(length);
            const last = ranges[ranges.length - 1];
            if (last !== undefined && last[1] === start) last[1] = start + len;
            else ranges.push([start, start + len]);
          };
          await fw.loadSegments({
            write(da, bytes) {
              target.write(da, bytes);
              note(da, BigInt(bytes.length));
            },
            fill(da, length, value) {
              target.fill(da, length, value);
              note(da, length);
            },
          });
          for (const [start, end] of ranges) if (end > start) onRange(start, end - start);
        },
      };
    },
    release(fw) {
      return inner.release(fw);
    },
  };
}
