// The virtqueue transport: the standard virtio device formats carried directly on split (or
// packed) virtqueues from @amp/virtio-ring. Driver side: VirtqueueChannel places each request in
// a buffer region, offers it as a chain (readable out part, writable in part) and settles it when
// the device returns it used. Device side: VirtqueueDeviceRunner takes chains, hands them to a
// DeviceServer and returns them used with the bytes written. Both are poll-driven: call
// process() when the doorbell rings (or in a loop).
import { DescriptorChain } from "@amp/virtio-ring";
import type {
  AddressSpaceLike,
  BufferSegment,
  DescriptorChainLike,
  Memory,
  UsedBuffer,
  VirtqueueDevice,
  VirtqueueDriver,
} from "@amp/virtio-ring";
import type { DeviceServer, RequestChannel } from "../channel.js";
import { isAmpError, vioError } from "../errors.js";
import { BufferPool } from "../internal/pool.js";
import { PendingTable } from "../internal/pending.js";
import type { ChannelOptions } from "./direct.js";

/** Options of {@link VirtqueueChannel}. */
export interface VirtqueueChannelOptions extends ChannelOptions {
  /** The device's queues in the driver role; index = virtqueue number of the device type. */
  readonly queues: readonly VirtqueueDriver<number>[];
  /** Translates device addresses (the buffer region must be mapped in it). */
  readonly space: AddressSpaceLike;
  /** Device address and size of the region where request buffers are placed. */
  readonly bufferAddr: number;
  readonly bufferSize: number;
  /** Device features as negotiated (from the transport or the resource table). */
  readonly features: bigint;
  /** Device config space bytes (from the transport). */
  readonly config?: Uint8Array;
}

/** No segments: a request without an out or an in part. */
const NONE: readonly BufferSegment[] = [];

interface InFlight {
  readonly queue: number;
  readonly block: { addr: number; size: number };
  readonly outLength: number;
  readonly inLength: number;
}

/** Driver side over virtqueues: a RequestChannel for I2cClient, GpioClient, SpiClient, openConsoleUart. */
export class VirtqueueChannel implements RequestChannel {
  readonly features: bigint;
  readonly config: Uint8Array;
  private readonly queues: readonly VirtqueueDriver<number>[];
  private readonly space: AddressSpaceLike;
  private readonly pool: BufferPool;
  private readonly pending: PendingTable<Uint8Array>;
  private readonly inFlight = new Map<number, InFlight>();
  private readonly backlog: { tag: number; queue: number; out: Uint8Array; inLength: number }[] = [];
  private submitScheduled = false;
  /** The buffer region, translated once (the constructor checks it is mapped as a whole). */
  private readonly region: { memory: Memory; offset: number };
  private readonly regionAddr: number;
  // Per-request scratch, reused (the hot path allocates only what it hands to the caller):
  // the segment lists addChain reads synchronously, the used entry getUsed fills, and which
  // queues a submit round must kick.
  private readonly readSeg: BufferSegment[] = [{ addr: 0, len: 0 }];
  private readonly writeSeg: BufferSegment[] = [{ addr: 0, len: 0 }];
  private readonly used: UsedBuffer<number> = { id: 0, len: 0, declaredLen: 0, token: 0 };
  private readonly toKick: Uint8Array;

  constructor(options: VirtqueueChannelOptions) {
    this.queues = options.queues;
    this.space = options.space;
    this.pool = new BufferPool(options.bufferAddr, options.bufferSize);
    this.pending = new PendingTable(options);
    this.features = options.features;
    this.config = options.config ?? new Uint8Array(0);
    // the region must be translatable as a whole; fail early instead of at the first request
    this.region = this.space.translate(options.bufferAddr, options.bufferSize);
    this.regionAddr = options.bufferAddr;
    this.toKick = new Uint8Array(this.queues.length);
  }

  request(queue: number, out: Uint8Array, inLength: number): Promise<Uint8Array> {
    if (!Number.isInteger(queue) || queue < 0 || queue >= this.queues.length)
      return Promise.reject(new RangeError(`queue ${String(queue)} out of 0..${this.queues.length - 1}`));
    if (!Number.isInteger(inLength) || inLength < 0 || inLength > 0xffffffff)
      return Promise.reject(new RangeError("inLength must be a u32"));
    if (out.length + inLength === 0) return Promise.reject(new RangeError("a request needs at least one byte"));
    return this.pending.add((tag) => {
      this.backlog.push({ tag, queue, out: out.slice(), inLength });
      this.scheduleSubmit();
    });
  }

  /**
   * Takes every used buffer and settles its request; retries requests that waited for ring or
   * buffer space. Returns the number settled.
   * @throws nothing: a device that breaks the ring protocol fails the pending requests of that
   *   queue with its AmpError (ERR_BAD_USED, ...), and the queue stays in error until reset.
   */
  process(): number {
    let n = 0;
    for (let qi = 0; qi < this.queues.length; qi++) {
      const q = this.queues[qi] as VirtqueueDriver<number>;
      try {
        for (let u = q.getUsed(this.used); u !== null; u = q.getUsed(this.used)) {
          const tag = u.token;
          const f = this.inFlight.get(tag);
          if (f === undefined) continue;
          this.inFlight.delete(tag);
          const len = Math.min(u.len, f.inLength);
          const written = len === 0 ? new Uint8Array(0) : this.read(f.block.addr + f.outLength, len);
          this.pool.release(f.block);
          this.pending.settle(tag, written);
          n++;
        }
      } catch (e) {
        this.failQueue(qi, e);
      }
    }
    this.submit();
    return n;
  }

  close(): void {
    this.pending.close();
    this.backlog.length = 0;
  }

  // Requests made in one synchronous run (an I2C group, an SPI command) go out together with one
  // kick, on the next microtask: the device then sees the whole group at once.
  private scheduleSubmit(): void {
    if (this.submitScheduled) return;
    this.submitScheduled = true;
    void Promise.resolve().then(() => {
      this.submitScheduled = false;
      this.submit();
    });
  }

  private submit(): void {
    const kick = this.toKick;
    let any = false;
    while (this.backlog.length > 0) {
      const r = this.backlog[0];
      if (r === undefined) break;
      const q = this.queues[r.queue];
      if (q === undefined) break;
      const total = r.out.length + r.inLength;
      const block = this.pool.alloc(total);
      if (block === undefined) {
        if (this.inFlight.size === 0) {
          this.backlog.shift();
          this.pending.fail(r.tag, vioError("ERR_LIMIT", `request of ${total} bytes does not fit the buffer region`));
          continue;
        }
        break; // wait for buffers to come back
      }
      if (r.out.length > 0) this.write(block.addr, r.out);
      const readable = r.out.length > 0 ? segment(this.readSeg, block.addr, r.out.length) : NONE;
      const writable = r.inLength > 0 ? segment(this.writeSeg, block.addr + r.out.length, r.inLength) : NONE;
      let id: number;
      try {
        id = q.addChain(readable, writable, r.tag);
      } catch (e) {
        this.pool.release(block);
        this.backlog.shift();
        this.pending.fail(r.tag, e);
        continue;
      }
      if (id < 0) {
        this.pool.release(block);
        break; // ring full: retried on the next process()
      }
      this.backlog.shift();
      this.inFlight.set(r.tag, { queue: r.queue, block, outLength: r.out.length, inLength: r.inLength });
      kick[r.queue] = 1;
      any = true;
    }
    if (!any) return;
    for (let qi = 0; qi < kick.length; qi++) {
      if (kick[qi] === 0) continue;
      kick[qi] = 0;
      this.queues[qi]?.kick();
    }
  }

  private failQueue(qi: number, e: unknown): void {
    const err = isAmpError(e) ? e : vioError("ERR_IO", "virtqueue failure", { cause: e });
    for (const [tag, f] of [...this.inFlight]) {
      if (f.queue !== qi) continue;
      this.inFlight.delete(tag);
      this.pool.release(f.block);
      this.pending.fail(tag, err);
    }
  }

  // Blocks come from the pool, so they lie inside the region; the memory still checks bounds.
  private write(addr: number, bytes: Uint8Array): void {
    this.region.memory.write(this.region.offset + (addr - this.regionAddr), bytes);
  }

  private read(addr: number, length: number): Uint8Array {
    return this.region.memory.read(this.region.offset + (addr - this.regionAddr), length);
  }
}

/** Sets the one segment of a reused list (addChain copies what it needs before returning). */
function segment(list: BufferSegment[], addr: number, len: number): readonly BufferSegment[] {
  const s = list[0] as { addr: number; len: number };
  s.addr = addr;
  s.len = len;
  return list;
}

/** Options of {@link VirtqueueDeviceRunner}. */
export interface VirtqueueDeviceRunnerOptions {
  /** The device's queues in the device role; index = virtqueue number. */
  readonly queues: readonly VirtqueueDevice[];
  /** Called with a ring violation by the driver (the queue then refuses work until reset). */
  readonly onError?: (error: unknown, queue: number) => void;
  /** Largest readable part accepted (default 65536); larger chains are returned with 0 bytes. */
  readonly maxRequestSize?: number;
}

/** Device side over virtqueues: feeds each offered chain to a DeviceServer. */
export class VirtqueueDeviceRunner {
  private readonly server: DeviceServer;
  private readonly queues: readonly VirtqueueDevice[];
  private readonly onError: ((error: unknown, queue: number) => void) | undefined;
  private readonly maxRequestSize: number;
  private readonly failed = new Set<number>();
  /** One reusable chain per queue: a chain is copied only when its reply is deferred. */
  private readonly scratch: DescriptorChain[];
  /** True inside process(): replies then push used buffers, and one interrupt per queue follows. */
  private batching = false;

  constructor(server: DeviceServer, options: VirtqueueDeviceRunnerOptions) {
    this.server = server;
    this.queues = options.queues;
    this.onError = options.onError;
    this.maxRequestSize = options.maxRequestSize ?? 65536;
    this.scratch = this.queues.map((q) => new DescriptorChain(Math.max(1, q.size)));
  }

  /** Serves every chain the driver has offered; returns how many were taken. */
  process(): number {
    let n = 0;
    this.batching = true;
    try {
      for (let qi = 0; qi < this.queues.length; qi++) {
        const q = this.queues[qi] as VirtqueueDevice;
        if (this.failed.has(qi)) continue;
        try {
          for (let chain = q.getAvail(this.scratch[qi]); chain !== null; chain = q.getAvail(this.scratch[qi])) {
            n++;
            this.serve(q, qi, chain);
          }
        } catch (e) {
          this.fail(qi, e);
        }
      }
    } finally {
      this.batching = false;
    }
    // The replies of this round, one interrupt per queue (the driver wakes once for a group).
    for (let qi = 0; qi < this.queues.length; qi++) {
      if (this.failed.has(qi)) continue;
      try {
        this.queues[qi]?.interrupt();
      } catch (e) {
        this.fail(qi, e);
      }
    }
    return n;
  }

  /** Hands one chain to the server; its reply pushes it used (and interrupts, when deferred). */
  private serve(q: VirtqueueDevice, qi: number, chain: DescriptorChainLike): void {
    let c = chain;
    let done = false;
    const reply = (written: Uint8Array): void => {
      if (done) return;
      done = true;
      const len = written.length > 0 ? c.scatter(written) : 0;
      try {
        q.pushUsed(c.id, len);
        if (!this.batching) q.interrupt();
      } catch (e) {
        this.fail(qi, e); // the queue was reset meanwhile
      }
    };
    if (c.readableBytes > this.maxRequestSize) {
      reply(new Uint8Array(0));
      return;
    }
    try {
      this.server.handle(qi, c.readAll(), c.writableBytes, reply);
    } catch (e) {
      reply(new Uint8Array(0)); // servers never throw for bad bytes; a bug still answers
      this.onError?.(e, qi);
    }
    // A reply still to come keeps its own copy: the scratch chain is refilled by the next getAvail.
    // (`reply` may have set `done` during handle(); the type checker cannot see that.)
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition
    if (!done && c instanceof DescriptorChain) c = c.copy();
  }

  private fail(qi: number, e: unknown): void {
    this.failed.add(qi);
    this.onError?.(e, qi);
  }
}
