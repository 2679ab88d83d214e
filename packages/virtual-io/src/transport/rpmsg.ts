// The rpmsg transport: the same virtio device messages carried over an rpmsg endpoint, one
// request or response per rpmsg message, in the framing of wire/vio-frame.ts. And the UART over
// rpmsg, which follows Linux's rpmsg-tty instead (raw bytes, channel "rpmsg-tty"), so a remote
// that serves it appears on a Linux host as /dev/ttyRPMSGn.
//
// The endpoint types are structural (the subset of @amp/rpmsg's RpmsgHost/RpmsgRemote and
// RpmsgEndpoint used here), so any rpmsg implementation with the same shape plugs in.
import { RPMSG_ADDR_ANY } from "@amp/rpmsg";
import type { DeviceServer, RequestChannel } from "../channel.js";
import type { UartDevice } from "../devices/console-server.js";
import { UartStream } from "../driver/uart-stream.js";
import type { UartStreamOptions } from "../driver/uart-stream.js";
import { isAmpError, vioError } from "../errors.js";
import { LE, concatBytes, viewOf } from "../internal/bytes.js";
import { PendingTable } from "../internal/pending.js";
import { RPMSG_TTY_NAME, splitTtyChunks } from "../wire/rpmsg-tty.js";
import {
  VIO_FRAME_HEADER_SIZE,
  VIO_FRAME_QUEUE_INFO,
  VioFrameKind,
  decodeVioFrame,
  encodeVioFrameParts,
} from "../wire/vio-frame.js";
import type { ChannelOptions } from "./direct.js";

const ignore = (): void => undefined;
const EMPTY = new Uint8Array(0);

/** A received rpmsg message (the subset of @amp/rpmsg's RpmsgMessage used here). */
export interface RpmsgMessageLike {
  /** Sender address. */
  readonly src: number;
  /** Payload (may be valid only during the callback: copied before keeping). */
  readonly data: Uint8Array;
}

/** An rpmsg endpoint (the subset of @amp/rpmsg's RpmsgEndpoint used here). */
export interface RpmsgEndpointLike {
  /** Bound peer address (0xFFFFFFFF while unbound). */
  readonly dst: number;
  /** Largest payload. */
  readonly mtu: number;
  sendTo(dst: number, data: Uint8Array): Promise<void>;
  /**
   * Optional: sends now when a tx buffer is free (true), else returns false; throws what
   * `sendTo` would reject with. Used first when present: a send that needs no wait then costs
   * no promise.
   */
  trySendTo?(dst: number, data: Uint8Array): boolean;
  /** Resolves with the peer address once bound (by name service or a first message). */
  waitBound(): Promise<number>;
  destroy(): void;
}

/** Something that creates endpoints: an @amp/rpmsg RpmsgHost or RpmsgRemote. */
export interface RpmsgEndpointFactory {
  createEndpoint(options: {
    readonly name?: string;
    readonly announce?: boolean;
    readonly onMessage?: (message: RpmsgMessageLike) => void;
    readonly onClose?: (reason: Error) => void;
  }): RpmsgEndpointLike;
}

/** Options of {@link serveOverRpmsg}. */
export interface RpmsgServeOptions {
  /** Service name announced for the device (e.g. "amp-gpio"). */
  readonly name: string;
  /** Announce it through the name service (default true). */
  readonly announce?: boolean;
  /** Called with frames that were dropped as malformed (for logging). */
  readonly onMalformed?: (error: unknown) => void;
}

/** A device served on an rpmsg endpoint. */
export interface RpmsgService {
  readonly endpoint: RpmsgEndpointLike;
  /** Destroys the endpoint and resets the server (pending interrupt pairs are returned). */
  close(): void;
}

/**
 * Lends a device over rpmsg: creates an endpoint named `options.name` and answers each request
 * frame with `server`. Malformed frames get a REJECT frame when their tag is readable, and are
 * dropped otherwise; they never reach the server.
 */
export function serveOverRpmsg(
  rpmsg: RpmsgEndpointFactory,
  server: DeviceServer,
  options: RpmsgServeOptions,
): RpmsgService {
  let closed = false;
  const send = (dst: number, frame: Uint8Array): void => {
    if (closed) return;
    // a send that fails (link down, peer gone) loses the answer; the driver times out or closes
    try {
      if (ep.trySendTo?.(dst, frame) === true) return;
    } catch {
      return;
    }
    ep.sendTo(dst, frame).catch(ignore);
  };
  const respond = (dst: number, queue: number, tag: number, written: Uint8Array): void => {
    send(dst, encodeVioFrameParts(VioFrameKind.RESPONSE, queue, tag, written.length, written));
  };
  const reject = (dst: number, queue: number, tag: number): void => {
    send(dst, encodeVioFrameParts(VioFrameKind.REJECT, queue, tag, 0, EMPTY));
  };
  const onMessage = (m: RpmsgMessageLike): void => {
    if (closed) return;
    const src = m.src;
    let frame;
    try {
      frame = decodeVioFrame(m.data);
    } catch (e) {
      if (!isAmpError(e)) throw e;
      options.onMalformed?.(e);
      if (m.data.length >= VIO_FRAME_HEADER_SIZE) reject(src, m.data[2] ?? 0, viewOf(m.data).getUint32(4, LE));
      return;
    }
    if (frame.kind !== VioFrameKind.REQUEST) {
      options.onMalformed?.(vioError("ERR_MALFORMED", `unexpected frame kind ${frame.kind} at the device`));
      return;
    }
    const maxAnswer = ep.mtu - VIO_FRAME_HEADER_SIZE;
    if (frame.queue === VIO_FRAME_QUEUE_INFO) {
      const info = new Uint8Array(8 + server.config.length);
      viewOf(info).setBigUint64(0, server.features, LE);
      info.set(server.config, 8);
      if (info.length > Math.min(frame.length, maxAnswer)) reject(src, frame.queue, frame.tag);
      else respond(src, frame.queue, frame.tag, info);
      return;
    }
    if (frame.queue >= server.numQueues || frame.length > maxAnswer) {
      reject(src, frame.queue, frame.tag);
      return;
    }
    const { queue, tag } = frame;
    const state = { replied: false };
    try {
      server.handle(queue, frame.body.slice(), frame.length, (written) => {
        if (state.replied) return;
        state.replied = true;
        respond(src, queue, tag, written.subarray(0, Math.min(written.length, frame.length)));
      });
    } catch (e) {
      options.onMalformed?.(e);
      if (!state.replied) reject(src, queue, tag);
    }
  };
  const ep = rpmsg.createEndpoint({ name: options.name, announce: options.announce ?? true, onMessage });
  return {
    endpoint: ep,
    close(): void {
      if (closed) return;
      server.reset?.();
      closed = true;
      ep.destroy();
    },
  };
}

/** Options of {@link connectOverRpmsg}. */
export interface RpmsgConnectOptions extends ChannelOptions {
  /** Service name of the device (what the lender announced). */
  readonly name: string;
}

/** A RequestChannel on an rpmsg endpoint. */
export interface RpmsgChannel extends RequestChannel {
  readonly endpoint: RpmsgEndpointLike;
}

/**
 * Borrows a device over rpmsg: creates an endpoint named `options.name`, waits until it is bound
 * to the lender's, asks for the device's features and config, and returns a RequestChannel for
 * I2cClient, GpioClient, SpiClient.
 * @throws AmpError ERR_MALFORMED when the device answers the info request with garbage,
 *   ERR_TIMEOUT / ERR_CLOSED from the channel.
 */
export async function connectOverRpmsg(
  rpmsg: RpmsgEndpointFactory,
  options: RpmsgConnectOptions,
): Promise<RpmsgChannel> {
  const pending = new PendingTable<Uint8Array>(options);
  const offered = new Map<number, number>();
  const onMessage = (m: RpmsgMessageLike): void => {
    let frame;
    try {
      frame = decodeVioFrame(m.data);
    } catch (e) {
      if (!isAmpError(e)) throw e;
      return; // garbage from the peer: nothing to settle
    }
    const want = offered.get(frame.tag);
    if (want === undefined || frame.kind === VioFrameKind.REQUEST) return;
    offered.delete(frame.tag);
    if (frame.kind === VioFrameKind.REJECT)
      pending.fail(frame.tag, vioError("ERR_MALFORMED", "the device rejected the request frame"));
    else if (frame.length > want)
      pending.fail(
        frame.tag,
        vioError("ERR_MALFORMED", `the device wrote ${frame.length} bytes, only ${want} were offered`),
      );
    else pending.settle(frame.tag, frame.body.slice());
  };
  const ep = rpmsg.createEndpoint({
    name: options.name,
    announce: false,
    onMessage,
    onClose: () => {
      pending.close("ERR_CLOSED", "rpmsg endpoint closed");
    },
  });
  const request = (queue: number, out: Uint8Array, inLength: number): Promise<Uint8Array> => {
    if (!Number.isInteger(queue) || queue < 0 || queue > 255)
      return Promise.reject(new RangeError("queue must be in 0..255"));
    if (!Number.isInteger(inLength) || inLength < 0)
      return Promise.reject(new RangeError("inLength must be a non-negative integer"));
    const max = ep.mtu - VIO_FRAME_HEADER_SIZE;
    if (out.length > max || inLength > max)
      return Promise.reject(
        vioError("ERR_LIMIT", `request of ${out.length}/${inLength} bytes exceeds the rpmsg payload limit of ${max}`),
      );
    const p = pending.open();
    const tag = pending.lastTag;
    if (tag === 0) return p;
    offered.set(tag, inLength);
    let frame: Uint8Array;
    try {
      frame = encodeVioFrameParts(VioFrameKind.REQUEST, queue, tag, inLength, out);
      // a free tx buffer: sent now, no promise; else the waiting send
      if (ep.trySendTo?.(ep.dst, frame) === true) return p;
    } catch (e) {
      offered.delete(tag);
      pending.fail(tag, e);
      return p;
    }
    ep.sendTo(ep.dst, frame).catch((e: unknown) => {
      offered.delete(tag);
      pending.fail(tag, e);
    });
    return p;
  };
  try {
    await ep.waitBound();
    const info = await request(VIO_FRAME_QUEUE_INFO, new Uint8Array(0), ep.mtu - VIO_FRAME_HEADER_SIZE);
    if (info.length < 8) throw vioError("ERR_MALFORMED", `device info is ${info.length} bytes, need at least 8`);
    const features = viewOf(info).getBigUint64(0, LE);
    const config = info.slice(8);
    return {
      endpoint: ep,
      features,
      config,
      request,
      close(): void {
        if (pending.isClosed) return;
        pending.close();
        ep.destroy();
      },
    };
  } catch (e) {
    pending.close();
    ep.destroy();
    throw e;
  }
}

/** Options of {@link serveRpmsgTty}. */
export interface RpmsgTtyServeOptions {
  /** Channel name (default "rpmsg-tty", what Linux's rpmsg_tty driver binds). */
  readonly name?: string;
  /** Bytes kept until the peer's address is known (default 4096); more are dropped. */
  readonly maxBuffered?: number;
}

/**
 * Lends a UART over rpmsg-tty: announces "rpmsg-tty"; the driver's bytes go to `uart.receive`,
 * and what the UART sends goes back in messages of at most the MTU. As in Linux, the peer's
 * address is learned from its first message; output before that is kept (bounded).
 */
export function serveRpmsgTty(
  rpmsg: RpmsgEndpointFactory,
  uart: UartDevice,
  options: RpmsgTtyServeOptions = {},
): RpmsgService {
  const maxBuffered = options.maxBuffered ?? 4096;
  let peer = RPMSG_ADDR_ANY;
  let early: Uint8Array[] = [];
  let earlyBytes = 0;
  let closed = false;
  // one send at a time, so chunks arrive in order even when the sender has to wait for buffers
  let tail: Promise<void> = Promise.resolve();
  const sendNow = (bytes: Uint8Array): void => {
    for (const chunk of splitTtyChunks(bytes, ep.mtu)) {
      const copy = chunk.slice();
      const to = peer;
      tail = tail.then(() => ep.sendTo(to, copy)).catch(() => undefined); // a lost chunk (link down) is not retried
    }
  };
  const ep = rpmsg.createEndpoint({
    name: options.name ?? RPMSG_TTY_NAME,
    announce: true,
    onMessage: (m) => {
      if (closed || m.data.length === 0) return; // rpmsg-tty rejects empty messages
      if (peer === RPMSG_ADDR_ANY) {
        peer = m.src;
        if (earlyBytes > 0) sendNow(concatBytes(early));
        early = [];
        earlyBytes = 0;
      }
      try {
        uart.receive(m.data.slice());
      } catch {
        // a UART hook that throws loses these bytes, not the endpoint
      }
    },
  });
  uart.attach((bytes) => {
    if (closed || bytes.length === 0) return;
    if (peer !== RPMSG_ADDR_ANY) {
      sendNow(bytes);
      return;
    }
    const keep = bytes.subarray(0, Math.max(0, maxBuffered - earlyBytes));
    if (keep.length > 0) {
      early.push(keep.slice());
      earlyBytes += keep.length;
    }
  });
  return {
    endpoint: ep,
    close(): void {
      if (closed) return;
      closed = true;
      ep.destroy();
    },
  };
}

/** Options of {@link openRpmsgTty}. */
export interface RpmsgTtyOpenOptions extends UartStreamOptions {
  /** Channel name (default "rpmsg-tty"). */
  readonly name?: string;
}

/**
 * Borrows a UART over rpmsg-tty: waits for the "rpmsg-tty" service and returns a byte stream.
 * Writes are cut into messages of at most the MTU, never empty.
 */
export async function openRpmsgTty(
  rpmsg: RpmsgEndpointFactory,
  options: RpmsgTtyOpenOptions = {},
): Promise<UartStream> {
  let receiver: ((bytes: Uint8Array) => void) | undefined;
  const holder: { stream?: UartStream } = {};
  const ep = rpmsg.createEndpoint({
    name: options.name ?? RPMSG_TTY_NAME,
    announce: false,
    onMessage: (m) => {
      if (m.data.length > 0) receiver?.(m.data.slice());
    },
    onClose: () => {
      holder.stream?.close();
    },
  });
  // writes are serialised: concurrent write() calls never interleave their chunks
  let tail: Promise<void> = Promise.resolve();
  const stream = new UartStream(
    {
      send(bytes) {
        const mine = tail.then(async () => {
          for (const chunk of splitTtyChunks(bytes, ep.mtu)) await ep.sendTo(ep.dst, chunk.slice());
        });
        tail = mine.catch(() => undefined);
        return mine;
      },
      setReceiver(r) {
        receiver = r;
      },
      close() {
        ep.destroy();
      },
    },
    options,
  );
  holder.stream = stream;
  try {
    await ep.waitBound();
  } catch (e) {
    stream.close();
    throw e;
  }
  return stream;
}
