// Driver side of virtio-gpio: line get/set/direction over requestq, and interrupts over eventq
// as callbacks or async iterators. docs/wire-formats.md, "Virtio devices".
import type { RequestChannel } from "../channel.js";
import { vioError } from "../errors.js";
import { viewOf } from "../internal/bytes.js";
import {
  VIRTIO_GPIO_CONFIG_SIZE,
  VIRTIO_GPIO_F_IRQ,
  VIRTIO_GPIO_IRQ_REQUEST_SIZE,
  VIRTIO_GPIO_IRQ_RESPONSE_SIZE,
  VIRTIO_GPIO_IRQ_STATUS_VALID,
  VIRTIO_GPIO_REQUEST_SIZE,
  VIRTIO_GPIO_RESPONSE_SIZE,
  VIRTIO_GPIO_STATUS_OK,
  VirtioGpioDirection,
  VirtioGpioIrqType,
  VirtioGpioMsg,
  decodeGpioConfig,
  decodeGpioNames,
  encodeGpioIrqRequest,
  encodeGpioRequest,
} from "../wire/gpio.js";

/** Line direction. */
export type GpioDirection = "none" | "in" | "out";
/** Interrupt trigger. */
export type GpioTrigger = "rising" | "falling" | "both" | "high" | "low";

/** One interrupt delivered by the device. */
export interface GpioEvent {
  /** The line that fired. */
  readonly line: number;
  /** The trigger it was armed with. */
  readonly trigger: GpioTrigger;
}

const TRIGGER: Readonly<Record<GpioTrigger, number>> = {
  rising: VirtioGpioIrqType.EDGE_RISING,
  falling: VirtioGpioIrqType.EDGE_FALLING,
  both: VirtioGpioIrqType.EDGE_BOTH,
  high: VirtioGpioIrqType.LEVEL_HIGH,
  low: VirtioGpioIrqType.LEVEL_LOW,
};
const DIRECTIONS: readonly GpioDirection[] = ["none", "out", "in"];

/** Options of {@link GpioClient.events}. */
export interface GpioEventsOptions {
  /** Events kept while nobody awaits the iterator (default 1024); older ones are dropped. */
  readonly maxQueued?: number;
}

/** Options of {@link GpioClient}. */
export interface GpioClientOptions {
  /** Largest names block accepted from the config space (default 65536); larger: ERR_LIMIT. */
  readonly maxNamesSize?: number;
}

/** A GPIO bank owned by the other side. */
export class GpioClient {
  /** Number of lines (config `ngpio`). */
  readonly ngpio: number;
  /** Whether the device supports interrupts (VIRTIO_GPIO_F_IRQ). */
  readonly hasIrq: boolean;
  private readonly channel: RequestChannel;
  private readonly namesSize: number;
  private readonly watching = new Set<number>();
  private readonly maxNamesSize: number;

  /** @throws AmpError ERR_TRUNCATED when the channel carries no 8-byte virtio_gpio_config. */
  constructor(channel: RequestChannel, options: GpioClientOptions = {}) {
    if (channel.config.length < VIRTIO_GPIO_CONFIG_SIZE)
      throw vioError(
        "ERR_TRUNCATED",
        `virtio-gpio config is ${channel.config.length} bytes, need ${VIRTIO_GPIO_CONFIG_SIZE}`,
      );
    const cfg = decodeGpioConfig(viewOf(channel.config), 0);
    this.channel = channel;
    this.ngpio = cfg.ngpio;
    this.namesSize = cfg.gpioNamesSize;
    this.maxNamesSize = options.maxNamesSize ?? 65536;
    this.hasIrq = (channel.features & (1n << BigInt(VIRTIO_GPIO_F_IRQ))) !== 0n;
  }

  /** Line names in order ("" = unnamed); [] when the device has none. @throws AmpError ERR_BAD_LINE, ERR_MALFORMED, ERR_LIMIT. */
  async names(): Promise<string[]> {
    if (this.namesSize === 0) return [];
    if (this.namesSize > this.maxNamesSize)
      throw vioError("ERR_LIMIT", `gpio_names_size ${this.namesSize} exceeds maxNamesSize ${this.maxNamesSize}`);
    const out = new Uint8Array(VIRTIO_GPIO_REQUEST_SIZE);
    encodeGpioRequest({ type: VirtioGpioMsg.GET_NAMES, gpio: 0, value: 0 }, viewOf(out), 0);
    const w = await this.channel.request(0, out, 1 + this.namesSize);
    if (w.length < 1 || w[0] !== VIRTIO_GPIO_STATUS_OK)
      throw vioError("ERR_BAD_LINE", "GET_NAMES refused by the device");
    return decodeGpioNames(w.subarray(1), this.ngpio);
  }

  /** Level of `line`. @throws AmpError ERR_BAD_LINE when the device refuses. */
  async get(line: number): Promise<boolean> {
    return (await this.req(VirtioGpioMsg.GET_VALUE, line, 0)) === 1;
  }

  /** Sets the output latch of `line` (the line drives it once it is an output). */
  async set(line: number, value: boolean): Promise<void> {
    await this.req(VirtioGpioMsg.SET_VALUE, line, value ? 1 : 0);
  }

  /** Direction of `line`. */
  async direction(line: number): Promise<GpioDirection> {
    const v = await this.req(VirtioGpioMsg.GET_DIRECTION, line, 0);
    const d = DIRECTIONS[v];
    if (d === undefined) throw vioError("ERR_MALFORMED", `GET_DIRECTION answered ${v}`);
    return d;
  }

  /** Sets the direction of `line`. @throws AmpError ERR_BAD_LINE (e.g. output with an interrupt armed). */
  async setDirection(line: number, direction: GpioDirection): Promise<void> {
    const v =
      direction === "out"
        ? VirtioGpioDirection.OUT
        : direction === "in"
          ? VirtioGpioDirection.IN
          : VirtioGpioDirection.NONE;
    await this.req(VirtioGpioMsg.SET_DIRECTION, line, v);
  }

  /** Makes `line` an output driving `value` (latch first, then direction, as Linux does). */
  async output(line: number, value: boolean): Promise<void> {
    await this.set(line, value);
    await this.setDirection(line, "out");
  }

  /**
   * Calls `callback` on each interrupt of `line`; resolves, once armed, with a function that
   * disarms it. The line should be an input.
   * @throws AmpError ERR_UNSUPPORTED without VIRTIO_GPIO_F_IRQ; ERR_BAD_LINE if refused.
   * @throws RangeError when `line` already has a watcher.
   */
  async onEdge(line: number, trigger: GpioTrigger, callback: (event: GpioEvent) => void): Promise<() => Promise<void>> {
    this.checkLine(line);
    if (!this.hasIrq) throw vioError("ERR_UNSUPPORTED", "the GPIO device has no interrupt support (VIRTIO_GPIO_F_IRQ)");
    if (this.watching.has(line)) throw new RangeError(`line ${line} already has a watcher`);
    this.watching.add(line);
    try {
      await this.req(VirtioGpioMsg.IRQ_TYPE, line, TRIGGER[trigger]);
    } catch (e) {
      this.watching.delete(line);
      throw e;
    }
    const event: GpioEvent = { line, trigger };
    const level = trigger === "high" || trigger === "low";
    const pair = new Uint8Array(VIRTIO_GPIO_IRQ_REQUEST_SIZE);
    encodeGpioIrqRequest(line, viewOf(pair), 0);
    const arm = (): void => {
      this.channel.request(1, pair, VIRTIO_GPIO_IRQ_RESPONSE_SIZE).then(
        (w) => {
          if (!this.watching.has(line)) return;
          if (w[0] === VIRTIO_GPIO_IRQ_STATUS_VALID) {
            // as Linux's flow handlers: an edge is unmasked before the handler runs, so no edge
            // is missed; a level only after, so the handler can clear its cause first
            if (level) {
              callback(event);
              if (this.watching.has(line)) arm();
            } else {
              arm();
              callback(event);
            }
          } else {
            this.watching.delete(line); // INVALID: the device disabled the interrupt
          }
        },
        () => {
          this.watching.delete(line); // channel closed
        },
      );
    };
    arm();
    return async () => {
      if (!this.watching.delete(line)) return;
      await this.req(VirtioGpioMsg.IRQ_TYPE, line, VirtioGpioIrqType.NONE);
    };
  }

  /**
   * Interrupts of `line` as an async iterator; leaving the loop (`break`) disarms the line.
   * @example for await (const e of gpio.events(3, "rising")) { console.log(e.line); break; }
   */
  events(line: number, trigger: GpioTrigger, options: GpioEventsOptions = {}): AsyncIterableIterator<GpioEvent> {
    const maxQueued = options.maxQueued ?? 1024;
    const queue: GpioEvent[] = [];
    const waiters: { resolve(r: IteratorResult<GpioEvent>): void; reject(e: unknown): void }[] = [];
    let failure: Error | undefined;
    let done = false;
    const armed = this.onEdge(line, trigger, (e) => {
      const w = waiters.shift();
      if (w !== undefined) w.resolve({ value: e, done: false });
      else {
        queue.push(e);
        if (queue.length > maxQueued) queue.shift();
      }
    });
    armed.catch((e: unknown) => {
      failure = e instanceof Error ? e : new Error(String(e));
      for (const w of waiters.splice(0)) w.reject(e);
    });
    const finish = async (): Promise<IteratorResult<GpioEvent>> => {
      if (!done) {
        done = true;
        for (const w of waiters.splice(0)) w.resolve({ value: undefined, done: true });
        const disarm = await armed.catch(() => undefined);
        await disarm?.();
      }
      return { value: undefined, done: true };
    };
    const it: AsyncIterableIterator<GpioEvent> = {
      next: () => {
        if (failure !== undefined) return Promise.reject(failure);
        const e = queue.shift();
        if (e !== undefined) return Promise.resolve({ value: e, done: false });
        if (done) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve, reject) => waiters.push({ resolve, reject }));
      },
      return: finish,
      [Symbol.asyncIterator]: () => it,
    };
    return it;
  }

  private checkLine(line: number): void {
    if (!Number.isInteger(line) || line < 0 || line >= this.ngpio)
      throw new RangeError(`line must be in 0..${this.ngpio - 1}, got ${String(line)}`);
  }

  private async req(type: number, line: number, value: number): Promise<number> {
    this.checkLine(line);
    const out = new Uint8Array(VIRTIO_GPIO_REQUEST_SIZE);
    encodeGpioRequest({ type, gpio: line, value }, viewOf(out), 0);
    const w = await this.channel.request(0, out, VIRTIO_GPIO_RESPONSE_SIZE);
    if (w.length < VIRTIO_GPIO_RESPONSE_SIZE)
      throw vioError(
        "ERR_MALFORMED",
        `virtio-gpio device wrote ${w.length} bytes, expected ${VIRTIO_GPIO_RESPONSE_SIZE}`,
      );
    if (w[0] !== VIRTIO_GPIO_STATUS_OK)
      throw vioError("ERR_BAD_LINE", `GPIO request ${type} on line ${line} refused by the device`);
    return w[1] ?? 0;
  }
}
