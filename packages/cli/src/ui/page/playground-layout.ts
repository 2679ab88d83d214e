// What the playground's page (host) and Web Worker (remote) agree on: where the doorbells and
// the rpmsg-only link live in their SharedArrayBuffer, and the echo service's name.
import { staticLinkLayout, type StaticLinkLayout } from "@amp/rpmsg";

/** Host -> remote doorbell ("queue N has buffers"). */
export const KICK_AT = 0x0;
/** Remote -> host doorbell ("queue N has used buffers"). */
export const IRQ_AT = 0x40;
/** vring 0, vring 1, then the buffer pool. */
export const RINGS_AT = 0x100;
/** The echo service the worker announces (the name `amp demo`'s firmware uses). */
export const PLAYGROUND_SERVICE = "rpmsg-amp-echo";

/** The agreed layout: 16 buffers of 512 bytes each way, rings aligned to 16 bytes. */
export function playgroundLayout(): StaticLinkLayout {
  return staticLinkLayout({ base: RINGS_AT, numBuffers: 16, bufferSize: 512, align: 16 });
}

/** Size of the SharedArrayBuffer. */
export function playgroundBytes(): number {
  const l = playgroundLayout();
  return l.base + l.size;
}

/** Messages between the page and the worker. */
export type ToWorker = { readonly kind: "boot"; readonly sab: SharedArrayBuffer } | { readonly kind: "stop" };
export type FromWorker =
  | { readonly kind: "ready" }
  | { readonly kind: "link"; readonly up: boolean }
  | { readonly kind: "fault"; readonly reason: string }
  | { readonly kind: "stopped"; readonly rx: number; readonly tx: number }
  | { readonly kind: "error"; readonly message: string };
