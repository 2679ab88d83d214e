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

/**
 * One request, from request() until its used buffer comes back. Records are recycled: the hot
 * path allocates none. `addr` is -1 while the request waits for buffer space; it then keeps a
 * copy of its out bytes (otherwise they are written to the region at once).
 */
class Request {
  /** The ring token: tells this request's used buffer from every other in flight. */
  token = 0;
  /** Pending-table tag of the request, or of its group. */
  tag = 0;
  /** The group this request is part {@link index} of (undefined: a single request). */
  group: Group | undefined = undefined;
  index = 0;
  queue = 0;
  outLength = 0;
  inLength = 0;
  addr = -1;
  blockSize = 0;
  copy: Uint8Array | undefined = undefined;
}

/** The requests of one requestGroup(): settled together once all are answered. */
class Group {
  remaining: number;
  readonly results: Uint8Array[];
  /** Index of the first failed request (results.length while none failed). */
  failedAt: number;
  failure: unknown = undefined;
  constructor(n: number) {
    this.remaining = n;
    this.results = new Array<Uint8Array>(n);
    this.failedAt = n;
  }
}

/** Records kept for reuse at most. */
const MAX_SPARE = 64;

/** Driver side over virtqueues: a RequestChannel for I2cClient, GpioClient, SpiClient, openConsoleUart. */
export class VirtqueueChannel implements RequestChannel {
  readonly features: bigint;
  readonly config: Uint8Array;
  private readonly queues: readonly VirtqueueDriver<number>[];
  private readonly space: AddressSpaceLike;
  private readonly pool: BufferPool;
  private readonly pending: PendingTable<Uint8Array | Uint8Array[]>;
  /**
   * Offered requests by ring token: the token is the slot's index (free slots are reused, so
   * the table stays as small as the most requests ever in flight, and nothing is allocated per
   * request). Tokens never leave this side: the queue maps the used id back to the token it
   * was given, so a device cannot name a slot it was not handed.
   */
  private readonly inFlight: (Request | undefined)[] = [];
  private readonly freeTokens: number[] = [];
  private inFlightCount = 0;
  /** Requests not yet offered, in order; those with `addr` -1 wait for buffer space. */
  private readonly backlog: Request[] = [];
  /** How many backlog requests wait for buffer space (later ones then wait behind them). */
  private unplaced = 0;
  private readonly spare: Request[] = [];
  private submitScheduled = false;
  private readonly submitLater = (): void => {
    this.submitScheduled = false;
    this.submit();
  };
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

  /**
   * Submits one request. `out` is read before this returns (written to the buffer region, or
   * copied while the request waits for space): the caller may reuse it at once.
   */
  request(queue: number, out: Uint8Array, inLength: number): Promise<Uint8Array> {
    const bad = this.check(queue, out, inLength);
    if (bad !== undefined) return Promise.reject(bad);
    const p = this.pending.open() as Promise<Uint8Array>;
    const tag = this.pending.lastTag;
    if (tag === 0) return p;
    this.enqueue(tag, undefined, 0, queue, out, inLength);
    this.scheduleSubmit();
    return p;
  }

  /**
   * Submits the requests of one operation back to back and settles once, when all are answered
   * (see {@link RequestChannel.requestGroup}). The outs are read before this returns. The group
   * counts as one pending request (maxPending, timeoutMs).
   */
  requestGroup(queue: number, outs: readonly Uint8Array[], inLengths: readonly number[]): Promise<Uint8Array[]> {
    const n = outs.length;
    if (inLengths.length !== n) return Promise.reject(new RangeError("outs and inLengths differ in length"));
    if (n === 0) return Promise.resolve([]);
    for (let i = 0; i < n; i++) {
      const bad = this.check(queue, outs[i] as Uint8Array, inLengths[i] as number);
      if (bad !== undefined) return Promise.reject(bad);
    }
    const p = this.pending.open() as Promise<Uint8Array[]>;
    const tag = this.pending.lastTag;
    if (tag === 0) return p;
    const group = new Group(n);
    for (let i = 0; i < n; i++) this.enqueue(tag, group, i, queue, outs[i] as Uint8Array, inLengths[i] as number);
    this.scheduleSubmit();
    return p;
  }

  private check(queue: number, out: Uint8Array, inLength: number): RangeError | undefined {
    if (!Number.isInteger(queue) || queue < 0 || queue >= this.queues.length)
      return new RangeError(`queue ${String(queue)} out of 0..${this.queues.length - 1}`);
    if (!Number.isInteger(inLength) || inLength < 0 || inLength > 0xffffffff)
      return new RangeError("inLength must be a u32");
    if (out.length + inLength === 0) return new RangeError("a request needs at least one byte");
    return undefined;
  }

  /** Adds one request to the backlog, its out bytes already in the region when it fits now. */
  private enqueue(
    tag: number,
    group: Group | undefined,
    index: number,
    queue: number,
    out: Uint8Array,
    inLength: number,
  ): void {
    const outLength = out.length;
    const r = this.spare.pop() ?? new Request();
    r.tag = tag;
    r.group = group;
    r.index = index;
    r.queue = queue;
    r.outLength = outLength;
    r.inLength = inLength;
    r.blockSize = BufferPool.blockSize(outLength + inLength);
    // Place it now unless an earlier request waits for space (it must get the space first).
    r.addr = this.unplaced === 0 ? this.pool.alloc(outLength + inLength) : -1;
    if (r.addr < 0) {
      r.copy = out.slice();
      this.unplaced++;
    } else if (outLength > 0) this.write(r.addr, out);
    this.backlog.push(r);
  }

  /** Settles a request (or counts it in its group): `written` when answered, else `error`. */
  private finish(
    tag: number,
    group: Group | undefined,
    index: number,
    written: Uint8Array | undefined,
    error: unknown,
  ): void {
    if (group === undefined) {
      if (written !== undefined) this.pending.settle(tag, written);
      else this.pending.fail(tag, error);
      return;
    }
    if (written !== undefined) group.results[index] = written;
    else if (index < group.failedAt) {
      group.failedAt = index;
      group.failure = error;
    }
    if (--group.remaining > 0) return;
    if (group.failedAt < group.results.length) this.pending.fail(tag, group.failure);
    else this.pending.settle(tag, group.results);
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
          const r = this.inFlight[u.token];
          if (r === undefined) continue;
          this.untrack(r);
          // the device's length is its claim: never more than offered
          const len = Math.min(u.len, r.inLength);
          const written = len === 0 ? new Uint8Array(0) : this.read(r.addr + r.outLength, len);
          this.pool.release(r.addr, r.blockSize);
          const { tag, group, index } = r;
          this.recycle(r);
          this.finish(tag, group, index, written, undefined);
          n++;
        }
      } catch (e) {
        this.failQueue(qi, e);
      }
    }
    if (this.backlog.length > 0) this.submit();
    return n;
  }

  close(): void {
    this.pending.close();
    for (const r of this.backlog) if (r.addr >= 0) this.pool.release(r.addr, r.blockSize);
    this.backlog.length = 0;
    this.unplaced = 0;
  }

  // Requests made in one synchronous run (an I2C group, an SPI command) go out together with one
  // kick, on the next microtask: the device then sees the whole group at once.
  private scheduleSubmit(): void {
    if (this.submitScheduled) return;
    this.submitScheduled = true;
    void Promise.resolve().then(this.submitLater);
  }

  private submit(): void {
    const kick = this.toKick;
    const backlog = this.backlog;
    let any = false;
    while (backlog.length > 0) {
      const r = backlog[0] as Request;
      const q = this.queues[r.queue] as VirtqueueDriver<number>;
      const total = r.outLength + r.inLength;
      if (r.addr < 0) {
        const addr = this.pool.alloc(total);
        if (addr < 0) {
          if (this.inFlightCount === 0) {
            this.drop(r, vioError("ERR_LIMIT", `request of ${total} bytes does not fit the buffer region`));
            continue;
          }
          break; // wait for buffers to come back
        }
        r.addr = addr;
        if (r.copy !== undefined && r.outLength > 0) this.write(addr, r.copy);
        r.copy = undefined;
        this.unplaced--;
      }
      const readable = r.outLength > 0 ? segment(this.readSeg, r.addr, r.outLength) : NONE;
      const writable = r.inLength > 0 ? segment(this.writeSeg, r.addr + r.outLength, r.inLength) : NONE;
      const token = this.freeTokens.length > 0 ? (this.freeTokens.pop() as number) : this.inFlight.length;
      let id: number;
      try {
        id = q.addChain(readable, writable, token);
      } catch (e) {
        if (token < this.inFlight.length) this.freeTokens.push(token);
        this.drop(r, e);
        continue;
      }
      if (id < 0) {
        if (token < this.inFlight.length) this.freeTokens.push(token);
        break; // ring full: retried (block kept) on the next process()
      }
      backlog.shift();
      r.token = token;
      this.inFlight[token] = r;
      this.inFlightCount++;
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

  /** Fails the backlog's first request (before it was offered) and frees its block. */
  private drop(r: Request, error: unknown): void {
    this.backlog.shift();
    if (r.addr >= 0) this.pool.release(r.addr, r.blockSize);
    else this.unplaced--;
    const { tag, group, index } = r;
    this.recycle(r);
    this.finish(tag, group, index, undefined, error);
  }

  /** Frees the ring token of an offered request. */
  private untrack(r: Request): void {
    this.inFlight[r.token] = undefined;
    this.freeTokens.push(r.token);
    this.inFlightCount--;
  }

  private recycle(r: Request): void {
    r.copy = undefined;
    r.group = undefined;
    r.addr = -1;
    if (this.spare.length < MAX_SPARE) this.spare.push(r);
  }

  private failQueue(qi: number, e: unknown): void {
    const err = isAmpError(e) ? e : vioError("ERR_IO", "virtqueue failure", { cause: e });
    for (const r of [...this.inFlight]) {
      if (r?.queue !== qi) continue;
      this.untrack(r);
      this.pool.release(r.addr, r.blockSize);
      const { tag, group, index } = r;
      this.recycle(r);
      this.finish(tag, group, index, undefined, err);
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
      const len = written.length > 0 ? scatterInto(c, written) : 0;
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
      this.server.handle(qi, gatherAll(c), c.writableBytes, reply);
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

/**
 * The chain's readable bytes as a new array. A one-segment part (what every driver of ours
 * offers) is one copy out of its memory; only a scattered part goes through readAll's gather.
 */
function gatherAll(c: DescriptorChainLike): Uint8Array {
  if (c.readable === 1) return c.memory(0).read(c.offset(0), c.len(0));
  return c.readAll();
}

/**
 * Copies `written` into the chain's writable part, never past its end; returns the bytes
 * copied. A one-segment part is one write; a scattered one goes through scatter.
 */
function scatterInto(c: DescriptorChainLike, written: Uint8Array): number {
  if (c.count - c.readable !== 1) return c.scatter(written);
  const i = c.readable;
  const room = c.len(i);
  if (written.length > room) return c.scatter(written);
  c.memory(i).write(c.offset(i), written);
  return written.length;
}
