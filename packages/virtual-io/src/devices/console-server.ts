// Device side of virtio-console for one UART, port 0 only (no MULTIPORT, so no control queues):
// queue 0 holds the driver's empty writable buffers (device → driver), queue 1 carries the
// driver's bytes (driver → device). docs/wire-formats.md, "Virtio devices".
import type { DeviceServer, ReplyFn } from "../channel.js";
import { viewOf } from "../internal/bytes.js";
import { VIRTIO_CONSOLE_CONFIG_SIZE, VIRTIO_ID_CONSOLE, encodeConsoleConfig } from "../wire/console.js";

/**
 * The device end of a UART: the server hands it the driver's bytes (`receive`) and gives it a
 * `send` function for bytes going to the driver. Models and real UART hooks implement this.
 */
export interface UartDevice {
  /** Called once by the server that carries the UART, with the function that sends to the driver. */
  attach(send: (bytes: Uint8Array) => void): void;
  /** Bytes written by the driver. */
  receive(bytes: Uint8Array): void;
}

/**
 * A loopback UART: every byte the driver writes comes straight back.
 * @example new ConsoleServer(createLoopbackUart())
 */
export function createLoopbackUart(): UartDevice {
  let send: ((bytes: Uint8Array) => void) | undefined;
  return {
    attach(s): void {
      send = s;
    },
    receive(bytes): void {
      send?.(bytes.slice());
    },
  };
}

/** Options of {@link ConsoleServer}. */
export interface ConsoleServerOptions {
  /** Bytes kept while the driver has no receive buffer posted (default 65536); more are dropped. */
  readonly maxBuffered?: number;
}

/** A virtio-console device (port 0) in front of a {@link UartDevice}. */
export class ConsoleServer implements DeviceServer {
  readonly deviceId: number = VIRTIO_ID_CONSOLE;
  readonly numQueues: number = 2;
  readonly features: bigint = 0n;
  /** Bytes dropped because the driver posted no buffers and the backlog was full. */
  dropped = 0;
  private readonly rxBuffers: { reply: ReplyFn; length: number }[] = [];
  private backlog: Uint8Array[] = [];
  private backlogBytes = 0;
  private readonly maxBuffered: number;
  private readonly device: UartDevice;

  constructor(device: UartDevice, options: ConsoleServerOptions = {}) {
    this.maxBuffered = options.maxBuffered ?? 65536;
    this.device = device;
    device.attach((bytes) => {
      this.send(bytes);
    });
  }

  get config(): Uint8Array {
    const b = new Uint8Array(VIRTIO_CONSOLE_CONFIG_SIZE);
    encodeConsoleConfig({ cols: 0, rows: 0, maxNrPorts: 1, emergWr: 0 }, viewOf(b), 0);
    return b;
  }

  handle(queue: number, out: Uint8Array, inLength: number, reply: ReplyFn): void {
    if (queue === 1) {
      // transmitq holds only device-readable buffers; a writable part is ignored
      reply(new Uint8Array(0));
      if (out.length > 0) {
        try {
          this.device.receive(out);
        } catch {
          // a UART hook that throws loses these bytes, not the server
        }
      }
      return;
    }
    if (queue !== 0 || out.length !== 0 || inLength === 0) {
      reply(new Uint8Array(0)); // receiveq holds only writable buffers
      return;
    }
    this.rxBuffers.push({ reply, length: inLength });
    this.flush();
  }

  /** Returns every posted receive buffer empty and drops the backlog. */
  reset(): void {
    for (const b of this.rxBuffers.splice(0)) b.reply(new Uint8Array(0));
    this.backlog = [];
    this.backlogBytes = 0;
  }

  private send(bytes: Uint8Array): void {
    const room = this.maxBuffered - this.backlogBytes;
    if (bytes.length > room) this.dropped += bytes.length - Math.max(0, room);
    const keep = bytes.subarray(0, Math.max(0, room));
    if (keep.length > 0) {
      this.backlog.push(keep.slice());
      this.backlogBytes += keep.length;
    }
    this.flush();
  }

  private flush(): void {
    while (this.backlogBytes > 0 && this.rxBuffers.length > 0) {
      const buf = this.rxBuffers.shift();
      if (buf === undefined) break;
      const out = new Uint8Array(Math.min(buf.length, this.backlogBytes));
      let o = 0;
      while (o < out.length) {
        const head = this.backlog[0];
        if (head === undefined) break;
        const n = Math.min(head.length, out.length - o);
        out.set(head.subarray(0, n), o);
        o += n;
        if (n === head.length) this.backlog.shift();
        else this.backlog[0] = head.subarray(n);
      }
      this.backlogBytes -= out.length;
      buf.reply(out);
    }
  }
}
