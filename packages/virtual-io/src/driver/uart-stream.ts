// The driver side of a UART as a byte stream: write(), data callbacks and an async iterator,
// over virtio-console (openConsoleUart) or an rpmsg-tty endpoint (in the rpmsg transport).
import type { RequestChannel } from "../channel.js";
import { vioError } from "../errors.js";
import { consoleRxQueue, consoleTxQueue } from "../wire/console.js";

/** What a UartStream runs on: sends bytes, delivers received bytes, closes. */
export interface BytePipe {
  /** Sends bytes to the far side (the pipe cuts them into messages/buffers as it needs). */
  send(bytes: Uint8Array): Promise<void>;
  /** Registers the one receiver of incoming bytes. */
  setReceiver(receiver: (bytes: Uint8Array) => void): void;
  /** Stops the pipe. */
  close(): void;
}

/** Options of {@link UartStream} iterators. */
export interface UartStreamOptions {
  /** Bytes an iterator keeps while nobody awaits it (default 65536); older chunks are dropped. */
  readonly maxBuffered?: number;
}

/** A UART owned by the other side, as a byte stream. */
export class UartStream implements AsyncIterable<Uint8Array> {
  private readonly pipe: BytePipe;
  private readonly listeners = new Set<(bytes: Uint8Array) => void>();
  private readonly closers = new Set<() => void>();
  private readonly maxBuffered: number;
  private closed = false;

  constructor(pipe: BytePipe, options: UartStreamOptions = {}) {
    this.pipe = pipe;
    this.maxBuffered = options.maxBuffered ?? 65536;
    pipe.setReceiver((bytes) => {
      for (const l of [...this.listeners]) l(bytes);
    });
  }

  /** Sends bytes. @throws AmpError ERR_CLOSED after close(), or what the transport reports. */
  async write(bytes: Uint8Array | string): Promise<void> {
    if (this.closed) throw vioError("ERR_CLOSED", "UART stream is closed");
    const data = typeof bytes === "string" ? utf8Bytes(bytes) : bytes;
    if (data.length === 0) return;
    await this.pipe.send(data);
  }

  /** Calls `listener` with each chunk received; returns a function that unsubscribes. */
  onData(listener: (bytes: Uint8Array) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Received chunks, in order, until close(). */
  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    const queue: Uint8Array[] = [];
    let queued = 0;
    let wake: ((r: IteratorResult<Uint8Array>) => void) | undefined;
    let done = this.closed;
    const end = (): void => {
      done = true;
      this.listeners.delete(listener);
      this.closers.delete(end);
      const w = wake;
      wake = undefined;
      w?.({ value: undefined, done: true });
    };
    const listener = (bytes: Uint8Array): void => {
      const w = wake;
      if (w !== undefined) {
        wake = undefined;
        w({ value: bytes, done: false });
        return;
      }
      queue.push(bytes);
      queued += bytes.length;
      while (queued > this.maxBuffered && queue.length > 1) queued -= queue.shift()?.length ?? 0;
    };
    if (!done) {
      this.listeners.add(listener);
      this.closers.add(end);
    }
    return {
      next: () => {
        const c = queue.shift();
        if (c !== undefined) {
          queued -= c.length;
          return Promise.resolve({ value: c, done: false });
        }
        if (done) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => (wake = resolve));
      },
      return: () => {
        end();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }

  /** Closes the stream and its transport; iterators finish. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const c of [...this.closers]) c();
    this.listeners.clear();
    this.pipe.close();
  }
}

/** Options of {@link openConsoleUart}. */
export interface ConsoleUartOptions extends UartStreamOptions {
  /** Receive buffers kept posted on the receiveq (default 4). */
  readonly rxBuffers?: number;
  /** Size of each receive buffer (default 512). */
  readonly rxBufferSize?: number;
  /** Console port (default 0; ports ≥ 1 need MULTIPORT, not served by ConsoleServer). */
  readonly port?: number;
}

/**
 * Opens port 0 of a virtio-console device as a UART stream: keeps receive buffers posted on
 * the receiveq and sends on the transmitq.
 */
export function openConsoleUart(channel: RequestChannel, options: ConsoleUartOptions = {}): UartStream {
  const rxBuffers = options.rxBuffers ?? 4;
  const rxSize = options.rxBufferSize ?? 512;
  const port = options.port ?? 0;
  if (!Number.isInteger(rxBuffers) || rxBuffers < 1 || rxBuffers > 256)
    throw new RangeError("rxBuffers must be in 1..256");
  if (!Number.isInteger(rxSize) || rxSize < 1 || rxSize > 65536)
    throw new RangeError("rxBufferSize must be in 1..65536");
  let receiver: ((bytes: Uint8Array) => void) | undefined;
  let closed = false;
  const empty = new Uint8Array(0);
  const post = (): void => {
    if (closed) return;
    channel.request(consoleRxQueue(port), empty, rxSize).then(
      (bytes) => {
        if (closed) return;
        post();
        if (bytes.length > 0) receiver?.(bytes);
      },
      () => undefined, // channel closed: stop posting
    );
  };
  const pipe: BytePipe = {
    async send(bytes) {
      await channel.request(consoleTxQueue(port), bytes, 0);
    },
    setReceiver(r) {
      receiver = r;
    },
    close() {
      closed = true;
      channel.close();
    },
  };
  const stream = new UartStream(pipe, options);
  for (let i = 0; i < rxBuffers; i++) post();
  return stream;
}

function utf8Bytes(s: string): Uint8Array {
  // UTF-8 without TextEncoder (not available in every engine the core runs on)
  const out: number[] = [];
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
  }
  return Uint8Array.from(out);
}
