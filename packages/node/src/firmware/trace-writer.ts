// The remote side of a trace buffer (RSC_TRACE): text the firmware appends, read by the host
// as Linux reads it: a NUL-terminated string from offset 0 (wire-formats.md §8). When the text
// would overflow, the writer starts again at offset 0, so the buffer always holds the newest
// text and a terminating NUL. Runtime-agnostic.
import type { Memory } from "@amp/virtio-ring";

/** Appends text to a trace buffer of `length` bytes at `offset` of `memory`. */
export class TraceWriter {
  private readonly memory: Memory;
  private readonly offset: number;
  private readonly length: number;
  private pos = 0;

  constructor(memory: Memory, offset: number, length: number) {
    if (length < 2) throw new RangeError("a trace buffer needs at least 2 bytes");
    this.memory = memory;
    this.offset = offset;
    this.length = length;
    memory.fill(offset, length, 0);
  }

  /** Appends one line (a newline is added). Non-ASCII characters are written as "?". */
  line(text: string): void {
    const bytes = asciiBytes(`${text}\n`, this.length - 1);
    if (this.pos + bytes.length > this.length - 1) {
      // Wrap: clear and restart, keeping the reader's "string from offset 0" view consistent.
      this.memory.fill(this.offset, this.length, 0);
      this.pos = 0;
    }
    this.memory.write(this.offset + this.pos, bytes);
    this.pos += bytes.length;
    this.memory.setU8(this.offset + this.pos, 0);
  }
}

function asciiBytes(s: string, max: number): Uint8Array {
  const n = Math.min(s.length, max);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    out[i] = c === 10 || (c >= 0x20 && c < 0x7f) ? c : 0x3f;
  }
  return out;
}
