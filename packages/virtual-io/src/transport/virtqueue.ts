// The virtqueue transport: the standard virtio device formats carried directly on split (or
// packed) virtqueues from @amp/virtio-ring. Driver side: VirtqueueChannel places each request in
// a buffer region, offers it as a chain (readable out part, writable in part) and settles it when
// the device returns it used. Device side: VirtqueueDeviceRunner takes chains, hands them to a
// DeviceServer and returns them used with the bytes written. Both are poll-driven: call
// process() when the doorbell rings (or in a loop).
import type { AddressSpaceLike, BufferSegment, VirtqueueDevice, VirtqueueDriver } from "@amp/virtio-ring";
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

  constructor(options: VirtqueueChannelOptions) {
    this.queues = options.queues;
    this.space = options.space;
    this.pool = new BufferPool(options.bufferAddr, options.bufferSize);
    this.pending = new PendingTable(options);
    this.features = options.features;
    this.config = options.config ?? new Uint8Array(0);
    // the region must be translatable as a whole; fail early instead of at the first request
    this.space.translate(options.bufferAddr, options.bufferSize);
  }

  request(queue: number, out: Uint8Array, inLength: number): Promise<Uint8Array> {
    if (!Number.isInteger(queue) || queue < 0 || queue >= this.queues.length) return Promise.reject(new RangeError(`queue ${String(queue)} out of 0..${this.queues.length - 1}`));
    if (!Number.isInteger(inLength) || inLength < 0 || inLength > 0xffffffff) return Promise.reject(new RangeError("inLength must be a u32"));
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
    this.queues.forEach((q, qi) => {
      try {
        for (let u = q.getUsed(); u !== null; u = q.getUsed()) {
          const f = this.inFlight.get(u.token);
          if (f === undefined) continue;
          this.inFlight.delete(u.token);
          const len = Math.min(u.len, f.inLength);
          const written = len === 0 ? new Uint8Array(0) : this.read(f.block.addr + f.outLength, len);
          this.pool.release(f.block);
          this.pending.settle(u.token, written);
          n++;
        }
      } catch (e) {
        this.failQueue(qi, e);
      }
    });
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
    const kicked = new Set<number>();
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
      const readable: BufferSegment[] = r.out.length > 0 ? [{ addr: block.addr, len: r.out.length }] : [];
      const writable: BufferSegment[] = r.inLength > 0 ? [{ addr: block.addr + r.out.length, len: r.inLength }] : [];
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
      kicked.add(r.queue);
    }
    for (const qi of kicked) this.queues[qi]?.kick();
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

  private write(addr: number, bytes: Uint8Array): void {
    const { memory, offset } = this.space.translate(addr, bytes.length);
    memory.write(offset, bytes);
  }

  private read(addr: number, length: number): Uint8Array {
    const { memory, offset } = this.space.translate(addr, length);
    return memory.read(offset, length);
  }
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

  constructor(server: DeviceServer, options: VirtqueueDeviceRunnerOptions) {
    this.server = server;
    this.queues = options.queues;
    this.onError = options.onError;
    this.maxRequestSize = options.maxRequestSize ?? 65536;
  }

  /** Serves every chain the driver has offered; returns how many were taken. */
  process(): number {
    let n = 0;
    this.queues.forEach((q, qi) => {
      if (this.failed.has(qi)) return;
      try {
        for (let chain = q.getAvail(); chain !== null; chain = q.getAvail()) {
          n++;
          const c = chain;
          let done = false;
          const reply = (written: Uint8Array): void => {
            if (done) return;
            done = true;
            const len = written.length > 0 ? c.scatter(written) : 0;
            try {
              q.pushUsed(c.id, len);
              q.interrupt();
            } catch (e) {
              this.fail(qi, e); // the queue was reset meanwhile
            }
          };
          if (c.readableBytes > this.maxRequestSize) {
            reply(new Uint8Array(0));
            continue;
          }
          try {
            this.server.handle(qi, c.readAll(), c.writableBytes, reply);
          } catch (e) {
            reply(new Uint8Array(0)); // servers never throw for bad bytes; a bug still answers
            this.onError?.(e, qi);
          }
        }
      } catch (e) {
        this.fail(qi, e);
      }
    });
    return n;
  }

  private fail(qi: number, e: unknown): void {
    this.failed.add(qi);
    this.onError?.(e, qi);
  }
}
