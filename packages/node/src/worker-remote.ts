// One call to get a remote processor you can boot without a board: a WorkerProcessor driven by
// remoteproc-core, with crash reports and vring interrupts wired, and rpmsg (host role) bound
// to every rpmsg vdev the firmware declares.
import {
  createElfLoader,
  createRemoteproc,
  isAmpError,
  type FirmwareLoader,
  type Remoteproc,
  type RemoteprocOptions,
} from "@amp/remoteproc-core";
import type { RpmsgHost, RpmsgHostOptions } from "@amp/rpmsg";
import { trackRpmsgHosts } from "./internal/rpmsg-hosts.js";
import type { RpmsgHostListener } from "./rpmsg-vdev.js";
import { WorkerProcessor, type ProcessorCrash, type WorkerProcessorOptions } from "./worker-processor.js";

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
  onRpmsg(listener: RpmsgHostListener): () => void;
  /** Calls `listener` with every crash the processor detects (before recovery runs). */
  onCrash(listener: (crash: ProcessorCrash) => void): () => void;
  /**
   * Shuts the remote down if it runs and stops the worker; safe at any moment, a crash recovery
   * in progress included (it waits for the recovery, then shuts down). A remote left crashed is
   * released as `rproc.delete()` does. Idempotent: every call returns the same promise.
   */
  close(): Promise<void>;
}

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
  const rproc = createRemoteproc({
    ...rest,
    loader: effectiveLoader,
    name: name ?? "worker0",
    driver: processor,
    regions: processor.regions,
  });
  ref.rproc = rproc;
  const offs: (() => void)[] = [];
  offs.push(processor.onCrash((c) => void rproc.reportCrash(c.type)));
  offs.push(
    processor.onInterrupt((id) => {
      rproc.handleInterrupt(id);
    }),
  );
  const rpmsg = rpmsgOptions === false ? undefined : trackRpmsgHosts(rproc, rpmsgOptions ?? {});

  let closing: Promise<void> | undefined;
  return {
    processor,
    rproc,
    get rpmsg() {
      return rpmsg?.current;
    },
    onRpmsg(listener) {
      return rpmsg?.onHost(listener) ?? (() => undefined);
    },
    onCrash(listener) {
      return processor.onCrash(listener);
    },
    close() {
      closing ??= closeRemote(rproc, processor, offs);
      return closing;
    },
  };
}

/**
 * WorkerRemote.close(), the way QEMU's close does it: first stop forwarding crashes (no new
 * recovery), then let the core finish what it is doing (a recovery in progress holds its lock;
 * shutdown() is queued behind it), shut a running remote down, release one left crashed or not
 * stopped (delete), and only then stop the CPU. Stopping the worker first killed a CPU that a
 * recovery was starting (the recovery then waited forever, holding the lock) or let the recovery
 * start a new one after close, with its memory still allocated.
 */
async function closeRemote(
  rproc: Remoteproc,
  processor: WorkerProcessor,
  offs: readonly (() => void)[],
): Promise<void> {
  for (const off of offs) off();
  let failure: Error | undefined;
  try {
    try {
      await rproc.shutdown();
    } catch (e) {
      // ERR_STATE: nothing to shut down (offline, crashed, deleted); anything else is a real failure.
      if (!(isAmpError(e) && e.code === "ERR_STATE")) failure = e instanceof Error ? e : new Error(String(e));
    }
    const s = rproc.state;
    if (s !== "offline" && s !== "detached" && s !== "deleted") await rproc.delete();
  } finally {
    await processor.stop();
  }
  if (failure !== undefined) throw failure;
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
          // core's target refuses anything at or beyond 2^53, so after it accepted a range the
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
