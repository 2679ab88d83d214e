// The framing that carries virtio-i2c/gpio/spi requests over an rpmsg endpoint. It is ours (no
// standard exists); it wraps the *same* device messages as the virtqueue transport, so device
// servers and typed clients do not know which transport they run on. All fields LE.
//
//   off size field
//   0   u8   version     VIO_FRAME_VERSION (1)
//   1   u8   kind        1 REQUEST (driver → device), 2 RESPONSE, 3 REJECT (device could not parse)
//   2   u8   queue       the virtqueue the chain would use (gpio: 0 requestq, 1 eventq);
//                       255 = VIO_FRAME_QUEUE_INFO, a request for the device's features + config
//   3   u8   reserved    0
//   4   le32 tag         chosen by the driver, echoed in the RESPONSE/REJECT
//   8   le32 length      REQUEST: device-writable bytes offered (the in-buffer size);
//                        RESPONSE: bytes the device wrote, which follow; REJECT: 0
//   12  ...  body        REQUEST: the device-readable bytes (out); RESPONSE: the written bytes
//
// A REQUEST body runs to the end of the rpmsg payload, so one frame fits in one rpmsg message
// (payload ≤ 496 bytes with Linux's 512-byte buffers). The INFO response body is le64 features
// followed by the config space bytes.
import { vioError } from "../errors.js";
import { need, viewOf } from "../internal/bytes.js";

/** Version byte of the frame. */
export const VIO_FRAME_VERSION = 1;
/** Size of the frame header. */
export const VIO_FRAME_HEADER_SIZE = 12;
/** Frame kinds. */
export const VioFrameKind = { REQUEST: 1, RESPONSE: 2, REJECT: 3 } as const;
/** The pseudo-queue that asks for le64 features + config space. */
export const VIO_FRAME_QUEUE_INFO = 255;

const OFF_VERSION = 0,
  OFF_KIND = 1,
  OFF_QUEUE = 2,
  OFF_RESERVED = 3,
  OFF_TAG = 4,
  OFF_LENGTH = 8;

/** A decoded frame. */
export interface VioFrame {
  /** One of {@link VioFrameKind}. */
  readonly kind: number;
  /** Virtqueue index (or {@link VIO_FRAME_QUEUE_INFO}). */
  readonly queue: number;
  /** Request tag. */
  readonly tag: number;
  /** REQUEST: writable bytes offered; RESPONSE: body length. */
  readonly length: number;
  /** REQUEST: device-readable bytes; RESPONSE: written bytes; REJECT: empty. A view into the input. */
  readonly body: Uint8Array;
}

/**
 * Decodes one frame from a whole rpmsg payload.
 * @throws AmpError ERR_TRUNCATED (short header or body), ERR_MALFORMED (version, kind,
 *   reserved, or a RESPONSE body longer than its length field).
 */
export function decodeVioFrame(payload: Uint8Array): VioFrame {
  // read byte by byte (no DataView per frame); `need` on a view only to report a short header
  if (payload.length < VIO_FRAME_HEADER_SIZE) need(viewOf(payload), 0, VIO_FRAME_HEADER_SIZE, "vio frame header");
  const version = payload[OFF_VERSION] as number;
  if (version !== VIO_FRAME_VERSION)
    throw vioError("ERR_MALFORMED", `vio frame version ${version}, expected ${VIO_FRAME_VERSION}`, {
      offset: OFF_VERSION,
    });
  const kind = payload[OFF_KIND] as number;
  if (kind < VioFrameKind.REQUEST || kind > VioFrameKind.REJECT)
    throw vioError("ERR_MALFORMED", `vio frame kind ${kind} unknown`, { offset: OFF_KIND });
  if (payload[OFF_RESERVED] !== 0)
    throw vioError("ERR_MALFORMED", "vio frame reserved byte is not 0", { offset: OFF_RESERVED });
  const length = getU32(payload, OFF_LENGTH);
  const body = payload.subarray(VIO_FRAME_HEADER_SIZE);
  if (kind === VioFrameKind.RESPONSE) {
    if (body.length < length)
      throw vioError("ERR_TRUNCATED", `vio response declares ${length} bytes, carries ${body.length}`, {
        offset: VIO_FRAME_HEADER_SIZE + body.length,
      });
    if (body.length > length)
      throw vioError("ERR_MALFORMED", `vio response carries ${body.length - length} bytes past its length`, {
        offset: VIO_FRAME_HEADER_SIZE + length,
      });
  }
  if (kind === VioFrameKind.REJECT && (length !== 0 || body.length !== 0))
    throw vioError("ERR_MALFORMED", "vio reject frame must be empty", { offset: OFF_LENGTH });
  return { kind, queue: payload[OFF_QUEUE] as number, tag: getU32(payload, OFF_TAG), length, body };
}

/**
 * Encodes a frame into a fresh byte array.
 * @throws RangeError for fields out of range (caller misuse).
 */
export function encodeVioFrame(frame: VioFrame): Uint8Array {
  return encodeVioFrameParts(frame.kind, frame.queue, frame.tag, frame.length, frame.body);
}

/**
 * {@link encodeVioFrame} from its fields, without a frame object (the transports' hot path).
 * @throws RangeError for fields out of range (caller misuse).
 */
export function encodeVioFrameParts(
  kind: number,
  queue: number,
  tag: number,
  length: number,
  body: Uint8Array,
): Uint8Array {
  if (!Number.isInteger(queue) || queue < 0 || queue > 255) throw new RangeError("queue must be in 0..255");
  if (!Number.isInteger(tag) || tag < 0 || tag > 0xffffffff) throw new RangeError("tag must be a u32");
  if (!Number.isInteger(length) || length < 0 || length > 0xffffffff) throw new RangeError("length must be a u32");
  const out = new Uint8Array(VIO_FRAME_HEADER_SIZE + body.length);
  out[OFF_VERSION] = VIO_FRAME_VERSION;
  out[OFF_KIND] = kind;
  out[OFF_QUEUE] = queue;
  out[OFF_RESERVED] = 0;
  putU32(out, OFF_TAG, tag);
  putU32(out, OFF_LENGTH, length);
  out.set(body, VIO_FRAME_HEADER_SIZE);
  return out;
}

function getU32(b: Uint8Array, at: number): number {
  return (
    ((b[at] as number) |
      ((b[at + 1] as number) << 8) |
      ((b[at + 2] as number) << 16) |
      ((b[at + 3] as number) << 24)) >>>
    0
  );
}

function putU32(b: Uint8Array, at: number, v: number): void {
  b[at] = v & 0xff;
  b[at + 1] = (v >>> 8) & 0xff;
  b[at + 2] = (v >>> 16) & 0xff;
  b[at + 3] = (v >>> 24) & 0xff;
}
