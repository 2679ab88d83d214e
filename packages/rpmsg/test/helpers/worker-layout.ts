// Where things live in the SharedArrayBuffer shared by the host (main thread) and the remote
// (worker) in the worker tests and the benchmark.
import { AtomicsDoorbell } from "@amp/virtio-ring";
import { staticLinkLayout } from "@amp/rpmsg";
import { ringsBytes } from "./ring-bytes.ts";

export const TRANSPORT_AT = 0x0;
export const KICK_AT = 0x100; // host -> remote ("queue N has buffers")
export const IRQ_AT = 0x200; // remote -> host ("queue N has used buffers")
export const CTRL_AT = 0x300; // free words for raw hand-off measurements
export const RINGS_AT = 0x1000;

export interface WorkerConfig {
  mode: "virtio" | "static";
  num: number;
  align: number;
  bufferSize: number;
  /** Remote: offer big buffers with this max. */
  bigBuffers?: number;
  /** Remote: offer VIRTIO_RING_F_EVENT_IDX (the host accepts it). */
  eventIdx?: boolean;
}

export function poolAt(c: WorkerConfig): number {
  return c.mode === "static"
    ? staticLinkLayout({ base: RINGS_AT, numBuffers: c.num, align: c.align, bufferSize: c.bufferSize }).pool
    : RINGS_AT + ringsBytes(c.num, c.align);
}

export function sabBytes(c: WorkerConfig): number {
  return poolAt(c) + 2 * c.num * c.bufferSize;
}

export function bells(sab: SharedArrayBuffer): { kick: AtomicsDoorbell; irq: AtomicsDoorbell } {
  return {
    kick: new AtomicsDoorbell(sab, KICK_AT, { queues: 2 }),
    irq: new AtomicsDoorbell(sab, IRQ_AT, { queues: 2 }),
  };
}
