import type { MemoryWindow } from "./memory.js";

/**
 * A trace buffer (`RSC_TRACE`): `length` bytes at `da` that the remote writes as a NUL-terminated
 * log (docs/wire-formats.md, "Trace buffers"). Reads translate the address at read time, like Linux debugfs
 * `trace<N>`, so the log is live while the remote runs, readable after a crash (memory is kept
 * while crashed) and after shutdown from the snapshot taken just before memory was released.
 */
export class TraceBuffer {
  /** Index among the table's trace entries (Linux `trace<index>`). */
  readonly index: number;
  /** Entry name. */
  readonly name: string;
  /** Device address. */
  readonly da: number;
  /** Buffer length in bytes. */
  readonly length: number;
  private readonly resolve: () => MemoryWindow | undefined;
  private last: Uint8Array | undefined;

  /** @internal created by the core. */
  constructor(index: number, name: string, da: number, length: number, resolve: () => MemoryWindow | undefined) {
    this.index = index;
    this.name = name;
    this.da = da;
    this.length = length;
    this.resolve = resolve;
  }

  /** True when the bytes come from live device memory (false: from the last snapshot, or none). */
  get live(): boolean {
    return this.resolve() !== undefined;
  }

  /** The whole buffer, `length` bytes (live, else the snapshot, else undefined). */
  readRaw(): Uint8Array | undefined {
    const w = this.resolve();
    if (w === undefined) return this.last?.slice();
    return w.memory.read(w.offset, this.length);
  }

  /** The log bytes: from offset 0 up to the first NUL (Linux `strnlen`), or the whole buffer. */
  read(): Uint8Array | undefined {
    const raw = this.readRaw();
    if (raw === undefined) return undefined;
    const nul = raw.indexOf(0);
    return nul < 0 ? raw : raw.subarray(0, nul);
  }

  /** {@link read} decoded as UTF-8 (invalid sequences become U+FFFD); "" when unavailable. */
  readText(): string {
    const b = this.read();
    return b === undefined ? "" : decodeUtf8(b);
  }

  /** @internal keep the current contents before memory is released. */
  snapshot(): void {
    const w = this.resolve();
    if (w !== undefined) this.last = w.memory.read(w.offset, this.length);
  }
}

/** A small UTF-8 decoder (no TextDecoder in a runtime-agnostic package). */
export function decodeUtf8(b: Uint8Array): string {
  let out = "";
  let i = 0;
  while (i < b.length) {
    const c = b[i] ?? 0;
    let cp = 0xfffd;
    let n = 1;
    if (c < 0x80) cp = c;
    else if (c >= 0xc2 && c <= 0xdf && cont(b, i + 1)) {
      cp = ((c & 0x1f) << 6) | ((b[i + 1] ?? 0) & 0x3f);
      n = 2;
    } else if (c >= 0xe0 && c <= 0xef && cont(b, i + 1) && cont(b, i + 2)) {
      const v = ((c & 0x0f) << 12) | (((b[i + 1] ?? 0) & 0x3f) << 6) | ((b[i + 2] ?? 0) & 0x3f);
      if (v >= 0x800 && (v < 0xd800 || v > 0xdfff)) {
        cp = v;
        n = 3;
      }
    } else if (c >= 0xf0 && c <= 0xf4 && cont(b, i + 1) && cont(b, i + 2) && cont(b, i + 3)) {
      const v =
        ((c & 0x07) << 18) |
        (((b[i + 1] ?? 0) & 0x3f) << 12) |
        (((b[i + 2] ?? 0) & 0x3f) << 6) |
        ((b[i + 3] ?? 0) & 0x3f);
      if (v >= 0x10000 && v <= 0x10ffff) {
        cp = v;
        n = 4;
      }
    }
    out += String.fromCodePoint(cp);
    i += n;
  }
  return out;
}

function cont(b: Uint8Array, i: number): boolean {
  const x = b[i];
  return x !== undefined && (x & 0xc0) === 0x80;
}
