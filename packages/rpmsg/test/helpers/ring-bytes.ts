import { splitRingLayout } from "@amp/virtio-ring";

/** Bytes of two legacy vrings placed one after the other at `align` boundaries. */
export function ringsBytes(num: number, align: number): number {
  const stride = Math.ceil(splitRingLayout(num, align).size / align) * align;
  return 2 * stride;
}
