// Device side of virtio-gpio: requestq (queue 0) answers GET_NAMES, GET/SET_DIRECTION,
// GET/SET_VALUE and IRQ_TYPE; eventq (queue 1) holds one "unmask" pair per line and returns it
// with status VALID when the line's interrupt fires. docs/wire-formats.md, "Virtio devices".
//
// Interrupt rules implemented here (the spec's): lines start with interrupts disabled; a
// non-NONE IRQ_TYPE enables, NONE disables and returns any pending pair with INVALID; changing
// from one trigger type to another needs NONE first; interrupts are refused on output lines; an
// unmask pair for a line whose interrupt is disabled returns INVALID at once. An edge that comes
// while the line is masked (no pair queued) is latched and delivered when a pair arrives, like
// an interrupt controller's pending bit; a level trigger fires whenever a pair is queued while
// the level holds.
import type { DeviceServer, ReplyFn } from "../channel.js";
import { viewOf } from "../internal/bytes.js";
import {
  VIRTIO_GPIO_CONFIG_SIZE,
  VIRTIO_GPIO_F_IRQ,
  VIRTIO_GPIO_IRQ_REQUEST_SIZE,
  VIRTIO_GPIO_IRQ_STATUS_INVALID,
  VIRTIO_GPIO_IRQ_STATUS_VALID,
  VIRTIO_GPIO_REQUEST_SIZE,
  VIRTIO_GPIO_RESPONSE_SIZE,
  VIRTIO_GPIO_STATUS_ERR,
  VIRTIO_GPIO_STATUS_OK,
  VIRTIO_ID_GPIO,
  VirtioGpioDirection,
  VirtioGpioIrqType,
  VirtioGpioMsg,
  decodeGpioIrqRequest,
  decodeGpioRequest,
  encodeGpioConfig,
  encodeGpioNames,
} from "../wire/gpio.js";
import type { GpioLines } from "./gpio-bank.js";

/** Options of {@link GpioServer}. */
export interface GpioServerOptions {
  /** Offer VIRTIO_GPIO_F_IRQ and serve the eventq (default true). */
  readonly irq?: boolean;
}

/** A virtio-gpio device over a bank of lines. */
export class GpioServer implements DeviceServer {
  readonly deviceId: number = VIRTIO_ID_GPIO;
  readonly numQueues: number;
  readonly features: bigint;
  private readonly lines: GpioLines;
  private readonly namesBlock: Uint8Array;
  private readonly irqType: Uint8Array;
  private readonly latched: Uint8Array;
  private readonly pairs = new Map<number, ReplyFn>();
  private readonly unsubscribe: () => void;

  constructor(lines: GpioLines, options: GpioServerOptions = {}) {
    this.lines = lines;
    const irq = options.irq ?? true;
    this.numQueues = irq ? 2 : 1;
    this.features = irq ? 1n << BigInt(VIRTIO_GPIO_F_IRQ) : 0n;
    this.namesBlock = lines.names.length === 0 ? new Uint8Array(0) : encodeGpioNames(lines.names);
    this.irqType = new Uint8Array(lines.ngpio);
    this.latched = new Uint8Array(lines.ngpio);
    this.unsubscribe = lines.onChange((line, level) => {
      this.onLevel(line, level);
    });
  }

  get config(): Uint8Array {
    const b = new Uint8Array(VIRTIO_GPIO_CONFIG_SIZE);
    encodeGpioConfig({ ngpio: this.lines.ngpio, gpioNamesSize: this.namesBlock.length }, viewOf(b), 0);
    return b;
  }

  handle(queue: number, out: Uint8Array, inLength: number, reply: ReplyFn): void {
    if (queue === 0) {
      reply(this.request(out, inLength));
    } else if (queue === 1 && this.numQueues === 2) {
      this.unmask(out, inLength, reply);
    } else {
      reply(new Uint8Array(0));
    }
  }

  /** Returns every queued unmask pair with INVALID (link going down). */
  reset(): void {
    for (const [line, r] of [...this.pairs]) {
      this.pairs.delete(line);
      r(Uint8Array.of(VIRTIO_GPIO_IRQ_STATUS_INVALID));
    }
    this.irqType.fill(0);
    this.latched.fill(0);
  }

  /** Detaches from the line bank (stops listening for level changes) after a reset. */
  dispose(): void {
    this.reset();
    this.unsubscribe();
  }

  private request(out: Uint8Array, inLength: number): Uint8Array {
    const err = (): Uint8Array =>
      Uint8Array.of(VIRTIO_GPIO_STATUS_ERR, 0).subarray(0, Math.min(inLength, VIRTIO_GPIO_RESPONSE_SIZE));
    if (out.length !== VIRTIO_GPIO_REQUEST_SIZE || inLength < 1) return err();
    const req = decodeGpioRequest(viewOf(out), 0);
    if (req.type === VirtioGpioMsg.GET_NAMES) {
      // special response: status + the names block, and the driver must offer room for all of it
      if (req.gpio !== 0 || req.value !== 0 || this.namesBlock.length === 0 || inLength < 1 + this.namesBlock.length)
        return err();
      const r = new Uint8Array(1 + this.namesBlock.length);
      r.set(this.namesBlock, 1);
      return r;
    }
    if (inLength < VIRTIO_GPIO_RESPONSE_SIZE || req.gpio >= this.lines.ngpio) return err();
    const ok = (value: number): Uint8Array => Uint8Array.of(VIRTIO_GPIO_STATUS_OK, value);
    const line = req.gpio;
    try {
      switch (req.type) {
        case VirtioGpioMsg.GET_DIRECTION:
          return req.value === 0 ? ok(this.lines.getDirection(line)) : err();
        case VirtioGpioMsg.SET_DIRECTION:
          if (req.value > VirtioGpioDirection.IN) return err();
          if (req.value === VirtioGpioDirection.OUT && this.irqType[line] !== VirtioGpioIrqType.NONE) return err();
          return this.lines.setDirection(line, req.value) ? ok(0) : err();
        case VirtioGpioMsg.GET_VALUE:
          return req.value === 0 ? ok(this.lines.getValue(line) ? 1 : 0) : err();
        case VirtioGpioMsg.SET_VALUE:
          if (req.value > 1) return err();
          return this.lines.setValue(line, req.value === 1) ? ok(0) : err();
        case VirtioGpioMsg.IRQ_TYPE:
          return this.setIrqType(line, req.value) ? ok(0) : err();
        default:
          return err();
      }
    } catch {
      return err(); // a hardware hook that throws is an ERR answer, never a crash
    }
  }

  private setIrqType(line: number, type: number): boolean {
    if (this.numQueues !== 2 || !isIrqType(type)) return false;
    const current = this.irqType[line] ?? 0;
    if (type === VirtioGpioIrqType.NONE) {
      this.irqType[line] = 0;
      this.latched[line] = 0;
      this.complete(line, VIRTIO_GPIO_IRQ_STATUS_INVALID);
      return true;
    }
    if (current !== VirtioGpioIrqType.NONE && current !== type) return false; // disable first
    if (this.lines.getDirection(line) === VirtioGpioDirection.OUT) return false;
    this.irqType[line] = type;
    this.fireIfLevel(line);
    return true;
  }

  private unmask(out: Uint8Array, inLength: number, reply: ReplyFn): void {
    if (inLength < 1) {
      reply(new Uint8Array(0));
      return;
    }
    const invalid = Uint8Array.of(VIRTIO_GPIO_IRQ_STATUS_INVALID);
    if (out.length !== VIRTIO_GPIO_IRQ_REQUEST_SIZE) {
      reply(invalid);
      return;
    }
    const line = decodeGpioIrqRequest(viewOf(out), 0);
    // a line out of range, with interrupts disabled, or with a pair already queued: INVALID now
    if (line >= this.lines.ngpio || this.irqType[line] === VirtioGpioIrqType.NONE || this.pairs.has(line)) {
      reply(invalid);
      return;
    }
    this.pairs.set(line, reply);
    if (this.latched[line] === 1) {
      this.latched[line] = 0;
      this.complete(line, VIRTIO_GPIO_IRQ_STATUS_VALID);
      return;
    }
    this.fireIfLevel(line);
  }

  private onLevel(line: number, level: boolean): void {
    const type = this.irqType[line] ?? 0;
    if (type === VirtioGpioIrqType.NONE) return;
    const edge = level ? VirtioGpioIrqType.EDGE_RISING : VirtioGpioIrqType.EDGE_FALLING;
    if ((type & edge) !== 0) {
      if (this.pairs.has(line)) this.complete(line, VIRTIO_GPIO_IRQ_STATUS_VALID);
      else this.latched[line] = 1;
      return;
    }
    this.fireIfLevel(line);
  }

  private fireIfLevel(line: number): void {
    const type = this.irqType[line] ?? 0;
    if (!this.pairs.has(line)) return;
    const level = this.lines.getValue(line);
    if ((type === VirtioGpioIrqType.LEVEL_HIGH && level) || (type === VirtioGpioIrqType.LEVEL_LOW && !level))
      this.complete(line, VIRTIO_GPIO_IRQ_STATUS_VALID);
  }

  private complete(line: number, status: number): void {
    const r = this.pairs.get(line);
    if (r === undefined) return;
    this.pairs.delete(line); // masked again until the driver queues a new pair
    r(Uint8Array.of(status));
  }
}

function isIrqType(type: number): boolean {
  return (
    type === VirtioGpioIrqType.NONE ||
    type === VirtioGpioIrqType.EDGE_RISING ||
    type === VirtioGpioIrqType.EDGE_FALLING ||
    type === VirtioGpioIrqType.EDGE_BOTH ||
    type === VirtioGpioIrqType.LEVEL_HIGH ||
    type === VirtioGpioIrqType.LEVEL_LOW
  );
}
