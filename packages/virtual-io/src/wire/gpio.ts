// virtio-gpio (device ID 41): config space, request/response, IRQ request/response and the
// line-names block. Structs from <linux/virtio_gpio.h>; docs/wire-formats.md, "Virtio devices".
import { vioError } from "../errors.js";
import { LE, need, room } from "../internal/bytes.js";

/** VIRTIO_ID_GPIO. */
export const VIRTIO_ID_GPIO = 41;
/** Feature bit 0: the device has an eventq (queue 1) and supports interrupts. */
export const VIRTIO_GPIO_F_IRQ = 0;

/** Request types (`type` of struct virtio_gpio_request). */
export const VirtioGpioMsg = {
  GET_NAMES: 0x0001,
  GET_DIRECTION: 0x0002,
  SET_DIRECTION: 0x0003,
  GET_VALUE: 0x0004,
  SET_VALUE: 0x0005,
  IRQ_TYPE: 0x0006,
} as const;
/** VIRTIO_GPIO_STATUS_OK / _ERR (response status). */
export const VIRTIO_GPIO_STATUS_OK = 0;
export const VIRTIO_GPIO_STATUS_ERR = 1;
/** Line directions (VIRTIO_GPIO_DIRECTION_*). */
export const VirtioGpioDirection = { NONE: 0, OUT: 1, IN: 2 } as const;
/** Interrupt trigger types (VIRTIO_GPIO_IRQ_TYPE_*). */
export const VirtioGpioIrqType = {
  NONE: 0x00,
  EDGE_RISING: 0x01,
  EDGE_FALLING: 0x02,
  EDGE_BOTH: 0x03,
  LEVEL_HIGH: 0x04,
  LEVEL_LOW: 0x08,
} as const;
/** virtio_gpio_irq_response.status: the pair was returned without an interrupt. */
export const VIRTIO_GPIO_IRQ_STATUS_INVALID = 0;
/** virtio_gpio_irq_response.status: the interrupt fired. */
export const VIRTIO_GPIO_IRQ_STATUS_VALID = 1;

/** sizeof(struct virtio_gpio_config). */
export const VIRTIO_GPIO_CONFIG_SIZE = 8;
const OFF_CFG_NGPIO = 0; // __le16 ngpio
const OFF_CFG_NAMES_SIZE = 4; // __le32 gpio_names_size (after __u8 padding[2])

/** struct virtio_gpio_config. */
export interface GpioConfig {
  /** `ngpio`: number of lines. */
  readonly ngpio: number;
  /** `gpio_names_size`: size of the GET_NAMES block, 0 = no names. */
  readonly gpioNamesSize: number;
}

/** Decodes struct virtio_gpio_config. @throws AmpError ERR_TRUNCATED. */
export function decodeGpioConfig(view: DataView, offset: number): GpioConfig {
  need(view, offset, VIRTIO_GPIO_CONFIG_SIZE, "virtio_gpio_config");
  return {
    ngpio: view.getUint16(offset + OFF_CFG_NGPIO, LE),
    gpioNamesSize: view.getUint32(offset + OFF_CFG_NAMES_SIZE, LE),
  };
}

/** Encodes struct virtio_gpio_config (padding 0). */
export function encodeGpioConfig(value: GpioConfig, view: DataView, offset: number): void {
  room(view, offset, VIRTIO_GPIO_CONFIG_SIZE, "virtio_gpio_config");
  view.setUint16(offset + OFF_CFG_NGPIO, value.ngpio, LE);
  view.setUint16(offset + 2, 0, LE);
  view.setUint32(offset + OFF_CFG_NAMES_SIZE, value.gpioNamesSize >>> 0, LE);
}

/** sizeof(struct virtio_gpio_request). */
export const VIRTIO_GPIO_REQUEST_SIZE = 8;
const OFF_REQ_TYPE = 0; // __le16 type
const OFF_REQ_GPIO = 2; // __le16 gpio
const OFF_REQ_VALUE = 4; // __le32 value

/** struct virtio_gpio_request. */
export interface GpioRequest {
  /** `type`: one of {@link VirtioGpioMsg}. */
  readonly type: number;
  /** `gpio`: line number. */
  readonly gpio: number;
  /** `value`: direction, level or IRQ type depending on `type`. */
  readonly value: number;
}

/** Decodes struct virtio_gpio_request (no semantic checks: the server answers ERR). @throws AmpError ERR_TRUNCATED. */
export function decodeGpioRequest(view: DataView, offset: number): GpioRequest {
  need(view, offset, VIRTIO_GPIO_REQUEST_SIZE, "virtio_gpio_request");
  return {
    type: view.getUint16(offset + OFF_REQ_TYPE, LE),
    gpio: view.getUint16(offset + OFF_REQ_GPIO, LE),
    value: view.getUint32(offset + OFF_REQ_VALUE, LE),
  };
}

/** Encodes struct virtio_gpio_request. */
export function encodeGpioRequest(value: GpioRequest, view: DataView, offset: number): void {
  room(view, offset, VIRTIO_GPIO_REQUEST_SIZE, "virtio_gpio_request");
  view.setUint16(offset + OFF_REQ_TYPE, value.type, LE);
  view.setUint16(offset + OFF_REQ_GPIO, value.gpio, LE);
  view.setUint32(offset + OFF_REQ_VALUE, value.value >>> 0, LE);
}

/** sizeof(struct virtio_gpio_response). */
export const VIRTIO_GPIO_RESPONSE_SIZE = 2;

/** struct virtio_gpio_response. */
export interface GpioResponse {
  /** `status`: VIRTIO_GPIO_STATUS_OK or _ERR. */
  readonly status: number;
  /** `value`: direction or level, 0 for setters. */
  readonly value: number;
}

/** Decodes struct virtio_gpio_response. @throws AmpError ERR_TRUNCATED. */
export function decodeGpioResponse(view: DataView, offset: number): GpioResponse {
  need(view, offset, VIRTIO_GPIO_RESPONSE_SIZE, "virtio_gpio_response");
  return { status: view.getUint8(offset), value: view.getUint8(offset + 1) };
}

/** Encodes struct virtio_gpio_response. */
export function encodeGpioResponse(value: GpioResponse, view: DataView, offset: number): void {
  room(view, offset, VIRTIO_GPIO_RESPONSE_SIZE, "virtio_gpio_response");
  view.setUint8(offset, value.status);
  view.setUint8(offset + 1, value.value);
}

/** sizeof(struct virtio_gpio_irq_request): `__le16 gpio`. */
export const VIRTIO_GPIO_IRQ_REQUEST_SIZE = 2;
/** sizeof(struct virtio_gpio_irq_response): `__u8 status`. */
export const VIRTIO_GPIO_IRQ_RESPONSE_SIZE = 1;

/** Decodes struct virtio_gpio_irq_request, returning the line. @throws AmpError ERR_TRUNCATED. */
export function decodeGpioIrqRequest(view: DataView, offset: number): number {
  need(view, offset, VIRTIO_GPIO_IRQ_REQUEST_SIZE, "virtio_gpio_irq_request");
  return view.getUint16(offset, LE);
}

/** Encodes struct virtio_gpio_irq_request. */
export function encodeGpioIrqRequest(gpio: number, view: DataView, offset: number): void {
  room(view, offset, VIRTIO_GPIO_IRQ_REQUEST_SIZE, "virtio_gpio_irq_request");
  view.setUint16(offset, gpio, LE);
}

/**
 * Encodes line names as the GET_NAMES block: NUL-terminated 7-bit ASCII strings in line order;
 * a line without a name contributes a single NUL.
 * @throws RangeError for a name with a NUL or a non-ASCII character.
 */
export function encodeGpioNames(names: readonly (string | undefined)[]): Uint8Array {
  let size = 0;
  for (const n of names) size += (n ?? "").length + 1;
  const out = new Uint8Array(size);
  let o = 0;
  for (const n of names) {
    const s = n ?? "";
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c === 0 || c > 0x7f)
        throw new RangeError(`GPIO line name ${JSON.stringify(s)} must be 7-bit ASCII without NUL`);
      out[o++] = c;
    }
    out[o++] = 0;
  }
  return out;
}

/**
 * Decodes a GET_NAMES block into `ngpio` names ("" for an unnamed line).
 * @throws AmpError ERR_TRUNCATED when fewer than `ngpio` strings are present; ERR_MALFORMED
 *   for a byte above 0x7f.
 */
export function decodeGpioNames(block: Uint8Array, ngpio: number): string[] {
  const names: string[] = [];
  let start = 0;
  for (let i = 0; i < block.length && names.length < ngpio; i++) {
    const c = block[i] ?? 0;
    if (c > 0x7f)
      throw vioError("ERR_MALFORMED", `GPIO names block: byte 0x${c.toString(16)} is not 7-bit ASCII`, { offset: i });
    if (c === 0) {
      let s = "";
      for (let j = start; j < i; j++) s += String.fromCharCode(block[j] ?? 0);
      names.push(s);
      start = i + 1;
    }
  }
  if (names.length < ngpio)
    throw vioError("ERR_TRUNCATED", `GPIO names block holds ${names.length} names, expected ${ngpio}`, {
      offset: block.length,
    });
  return names;
}
