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
import { LE, need, room, viewOf } from "../internal/bytes.js";

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
  const v = viewOf(payload);
  need(v, 0, VIO_FRAME_HEADER_SIZE, "vio frame header");
  const version = v.getUint8(OFF_VERSION);
  if (version !== VIO_FRAME_VERSION)
    throw vioError("ERR_MALFORMED", `vio frame version ${version}, expected ${VIO_FRAME_VERSION}`, {
      offset: OFF_VERSION,
    });
  const kind = v.getUint8(OFF_KIND);
  if (kind < VioFrameKind.REQUEST || kind > VioFrameKind.REJECT)
    throw vioError("ERR_MALFORMED", `vio frame kind ${kind} unknown`, { offset: OFF_KIND });
  if (v.getUint8(OFF_RESERVED) !== 0)
    throw vioError("ERR_MALFORMED", "vio frame reserved byte is not 0", { offset: OFF_RESERVED });
  const length = v.getUint32(OFF_LENGTH, LE);
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
  return { kind, queue: v.getUint8(OFF_QUEUE), tag: v.getUint32(OFF_TAG, LE), length, body };
}

/**
 * Encodes a frame into a fresh byte array.
 * @throws RangeError for fields out of range (caller misuse).
 */
export function encodeVioFrame(frame: VioFrame): Uint8Array {
  const out = new Uint8Array(VIO_FRAME_HEADER_SIZE + frame.body.length);
  const v = viewOf(out);
  room(v, 0, VIO_FRAME_HEADER_SIZE, "vio frame");
  if (!Number.isInteger(frame.queue) || frame.queue < 0 || frame.queue > 255)
    throw new RangeError("queue must be in 0..255");
  if (!Number.isInteger(frame.tag) || frame.tag < 0 || frame.tag > 0xffffffff)
    throw new RangeError("tag must be a u32");
  if (!Number.isInteger(frame.length) || frame.length < 0 || frame.length > 0xffffffff)
    throw new RangeError("length must be a u32");
  v.setUint8(OFF_VERSION, VIO_FRAME_VERSION);
  v.setUint8(OFF_KIND, frame.kind);
  v.setUint8(OFF_QUEUE, frame.queue);
  v.setUint8(OFF_RESERVED, 0);
  v.setUint32(OFF_TAG, frame.tag, LE);
  v.setUint32(OFF_LENGTH, frame.length, LE);
  out.set(frame.body, VIO_FRAME_HEADER_SIZE);
  return out;
}
