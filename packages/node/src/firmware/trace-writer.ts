// The remote side of a trace buffer (RSC_TRACE): timestamped records, one text line each,
// `<seq> <remote-us> <level> <text>\n` (docs/wire-formats.md, "Trace records"), so Linux's
// debugfs reader (a NUL-terminated string from offset 0) still shows text. The buffer is a ring:
// when a record does not fit before the end, the tail is cleared and writing starts again at
// offset 0; a NUL always follows the newest record, so the host finds the newest and the oldest
// records and, from the seq numbers, counts the ones it missed. Runtime-agnostic.
import type { Memory } from "@amp/virtio-ring";

/** Record severity: Error, Warning, Info, Debug. */
export type TraceLevel = "E" | "W" | "I" | "D";

const LEVELS: readonly string[] = ["E", "W", "I", "D"];

/** Longest record line in bytes (newline included); longer text is cut. */
const MAX_RECORD = 256;

/** Options of {@link TraceWriter}. */
export interface TraceWriterOptions {
  /** The remote's monotonic clock in microseconds (default: 0 for every record). */
  readonly clockUs?: () => number;
}

/** Writes trace records into a buffer of `length` bytes at `offset` of `memory`. */
export class TraceWriter {
  private readonly memory: Memory;
  private readonly offset: number;
  private readonly length: number;
  private readonly clockUs: () => number;
  private readonly maxRecord: number;
  /** Where the NUL after the newest record is. */
  private pos = 0;
  private nextSeq = 0;

  constructor(memory: Memory, offset: number, length: number, options: TraceWriterOptions = {}) {
    if (length < 2) throw new RangeError("a trace buffer needs at least 2 bytes");
    this.memory = memory;
    this.offset = offset;
    this.length = length;
    this.clockUs = options.clockUs ?? (() => 0);
    // Half the buffer at most: a ring must hold at least one whole record beside the one being written.
    this.maxRecord = Math.max(1, Math.min(MAX_RECORD, Math.floor((length - 1) / 2)));
    memory.fill(offset, length, 0);
  }

  /** Records written since boot (the seq of the next one). */
  get written(): number {
    return this.nextSeq;
  }

  /** Appends one record. Non-ASCII and control characters are written as "?" and " ". */
  record(level: TraceLevel, text: string): void {
    const lvl: string = level;
    if (!LEVELS.includes(lvl)) throw new RangeError(`trace level must be E, W, I or D, got ${lvl}`);
    const us = Math.max(0, Math.floor(this.clockUs()));
    const bytes = recordBytes(`${String(this.nextSeq)} ${String(us)} ${lvl} `, text, this.maxRecord);
    this.nextSeq++;
    const n = bytes.length;
    const m = this.memory;
    const base = this.offset;
    if (this.pos + n + 1 > this.length) {
      // Wrap: clear what is left after the newest record (so no stale text of an earlier lap
      // survives), then start again at 0. The NUL at 0 comes first: a reader never sees the new
      // record's bytes glued to an old record's first byte.
      m.fill(base + this.pos, this.length - this.pos, 0);
      m.setU8(base, 0);
      this.pos = 0;
    }
    // Everything but the first byte, the new NUL, then the first byte (over the old NUL): the
    // text Linux shows grows by one whole record at a time.
    m.write(base + this.pos + 1, bytes.subarray(1));
    m.setU8(base + this.pos + n, 0);
    m.setU8(base + this.pos, bytes[0] ?? 0x3f);
    this.pos += n;
  }

  /** Appends an Info record (the plain-line API of earlier versions). */
  line(text: string): void {
    this.record("I", text);
  }
}

function recordBytes(head: string, text: string, max: number): Uint8Array {
  const n = Math.max(1, Math.min(head.length + text.length + 1, max));
  const out = new Uint8Array(n);
  let i = 0;
  for (; i < n - 1 && i < head.length; i++) out[i] = head.charCodeAt(i);
  for (let j = 0; i < n - 1; i++, j++) {
    const c = text.charCodeAt(j);
    out[i] = c >= 0x20 && c < 0x7f ? c : c < 0x20 || c === 0x7f ? 0x20 : 0x3f;
  }
  out[n - 1] = 0x0a;
  return out;
}
