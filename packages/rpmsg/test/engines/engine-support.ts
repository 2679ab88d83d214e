// What both QuickJS entries (remote-entry.ts, lean-remote-entry.ts) do alike: the "upper"
// service's answer and the memory image they exchange with the host in Node between steps.

/** The "upper" service's answer: the payload with its ASCII letters upper-cased. */
export function upperCased(data: Uint8Array): Uint8Array {
  const out = data.slice();
  for (let i = 0; i < out.length; i++) {
    const c = out[i] ?? 0;
    if (c >= 97 && c <= 122) out[i] = c - 32;
  }
  return out;
}

/** The remote's memory as one image: the host's copy comes in before a step, ours goes out after it. */
export class MemoryImage {
  readonly buffer: ArrayBuffer;
  private readonly bytes: Uint8Array<ArrayBuffer>;
  constructor(size: number) {
    this.buffer = new ArrayBuffer(size);
    this.bytes = new Uint8Array(this.buffer);
  }
  /** Takes the host's image. */
  load(image: ArrayBuffer): void {
    this.bytes.set(new Uint8Array(image));
  }
  /** A copy of the image, for the host. */
  copy(): ArrayBuffer {
    return this.buffer.slice(0);
  }
}
