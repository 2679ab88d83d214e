// Timestamped trace records in a remote's trace buffer (docs/wire-formats.md, "Trace records").
//
// A record is one text line, so Linux's debugfs `trace<N>` (the buffer read from offset 0 up to
// the first NUL) still shows it as text:
//
//     <seq> <remote-us> <level> <text>\n
//
// seq: decimal record number, 0 for the first record after the remote boots, +1 per record.
// remote-us: decimal microseconds of the remote's own monotonic clock. level: E, W, I or D.
// The buffer is circular: a writer that reaches the end clears the tail and starts again at
// offset 0; a NUL always follows the newest record. So the buffer holds, in address order,
// [newer records][NUL][older records, the first one damaged][NUL or end]. A line that does not
// have this shape (old firmware, plain text) is a record without seq, time or level.
// Runtime-agnostic: ECMAScript built-ins only.
import { decodeUtf8 } from "./trace.js";

/** Record severity: Error, Warning, Info, Debug. */
export type TraceLevel = "E" | "W" | "I" | "D";

/** The levels, most severe first. */
export const TRACE_LEVELS: readonly TraceLevel[] = ["E", "W", "I", "D"];

/** One line of a trace buffer. `seq`, `remoteUs` and `level` are absent for a plain-text line. */
export interface TraceRecord {
  /** Record number since the remote booted (0, 1, 2, ...). */
  readonly seq?: number;
  /** Remote clock in microseconds when the record was written. */
  readonly remoteUs?: number;
  readonly level?: TraceLevel;
  /** The text (without the newline); at most {@link TRACE_MAX_TEXT} characters. */
  readonly text: string;
  /** The line was longer than {@link TRACE_MAX_TEXT} characters and was cut. */
  readonly truncated?: boolean;
}

/** Maps a remote timestamp to host time (milliseconds since the epoch) with an error bound. */
export type RemoteToHostTime = (remoteUs: number) => { hostMs: number; errorMs: number };

/** A record as a follower reports it: where it sits in the stream and, when known, host time. */
export interface TraceEntry extends TraceRecord {
  /** Records missing right before this one (overwritten before the host read them). */
  readonly lostBefore: number;
  /** Host time (ms since the epoch) when the host read the buffer and saw this record. */
  readonly readAtMs?: number;
  /** Host time of `remoteUs` (from the clock mapping), when one was given. */
  readonly hostMs?: number;
  /** Error bound of `hostMs`, in ms. */
  readonly hostErrorMs?: number;
}

/** Longest text kept per record; a longer (hostile or corrupted) line is cut and flagged. */
export const TRACE_MAX_TEXT = 4096;

const LF = 0x0a;
// Digits are bounded so that a number stays an exact integer (below 2^53).
const RECORD = /^(\d{1,15}) (\d{1,15}) ([EWID])(?: (.*))?$/s;

/**
 * Parses one line (without its newline). A line in the record shape gets seq, time and level;
 * anything else is a plain record holding the whole line as text.
 */
export function parseTraceLine(line: string): TraceRecord {
  const cut = line.length > TRACE_MAX_TEXT;
  const m = RECORD.exec(cut ? line.slice(0, TRACE_MAX_TEXT + 40) : line);
  if (m !== null) {
    const text = m[4] ?? "";
    const t = text.length > TRACE_MAX_TEXT ? text.slice(0, TRACE_MAX_TEXT) : text;
    return {
      seq: Number(m[1]),
      remoteUs: Number(m[2]),
      level: m[3] as TraceLevel,
      text: t,
      ...(cut ? { truncated: true } : {}),
    };
  }
  return cut ? { text: line.slice(0, TRACE_MAX_TEXT), truncated: true } : { text: line };
}

/**
 * The text of one record line (newline included), as a writer puts it into the buffer. Control
 * characters in `text` become spaces so that one record stays one line.
 */
export function formatTraceRecord(seq: number, remoteUs: number, level: TraceLevel, text: string): string {
  if (!Number.isSafeInteger(seq) || seq < 0)
    throw new RangeError(`trace seq must be a non-negative integer, got ${String(seq)}`);
  if (!Number.isSafeInteger(remoteUs) || remoteUs < 0)
    throw new RangeError(`trace time must be a non-negative integer (µs), got ${String(remoteUs)}`);
  if (!TRACE_LEVELS.includes(level)) throw new RangeError(`trace level must be E, W, I or D, got ${level}`);
  // eslint-disable-next-line no-control-regex -- replacing control characters is the point
  return `${String(seq)} ${String(remoteUs)} ${level} ${text.replace(/[\u0000-\u001f\u007f]/g, " ")}\n`;
}

/** The complete lines of `bytes[start, end)`, decoded; an unterminated last line is left out. */
function lines(bytes: Uint8Array, start: number, end: number, skipFirst: boolean): TraceRecord[] {
  const out: TraceRecord[] = [];
  let at = start;
  if (skipFirst) {
    const lf = bytes.indexOf(LF, at);
    if (lf < 0 || lf >= end) return out;
    at = lf + 1;
  }
  while (at < end) {
    const lf = bytes.indexOf(LF, at);
    if (lf < 0 || lf >= end) break; // a record still being written, or cut by the buffer end
    // Decode at most a little more than the kept text: a huge line costs no more than a short one.
    const stop = Math.min(lf, at + TRACE_MAX_TEXT * 4 + 64);
    const rec = parseTraceLine(decodeUtf8(bytes.subarray(at, stop)));
    out.push(stop < lf && rec.truncated !== true ? { ...rec, truncated: true } : rec);
    at = lf + 1;
  }
  return out;
}

function seqRange(records: readonly TraceRecord[]): { min: number; max: number } | undefined {
  let min = Infinity;
  let max = -Infinity;
  for (const r of records) {
    if (r.seq === undefined) continue;
    min = Math.min(min, r.seq);
    max = Math.max(max, r.seq);
  }
  return min === Infinity ? undefined : { min, max };
}

/**
 * Every complete record in a trace buffer, oldest first. The part after the first NUL (older
 * records, from before the writer last wrapped) is used only when it holds records whose seq
 * all come before the newer part's; otherwise (old firmware's stale text, garbage) it is
 * ignored, as Linux ignores it.
 */
export function parseTraceBuffer(raw: Uint8Array): TraceRecord[] {
  const nul = raw.indexOf(0);
  const newer = lines(raw, 0, nul < 0 ? raw.length : nul, false);
  if (nul < 0) return newer;
  const end2 = raw.indexOf(0, nul + 1);
  // The byte at the NUL was the start of an older record (or free space): the rest of that line is damaged.
  const older = lines(raw, nul + 1, end2 < 0 ? raw.length : end2, true);
  const o = seqRange(older);
  if (o === undefined) return newer;
  const n = seqRange(newer);
  if (n !== undefined && o.max >= n.min) return newer;
  return [...older.filter((r) => r.seq !== undefined), ...newer];
}

/** What one {@link TraceFollower.update} found. */
export interface TraceUpdate {
  /** New records, oldest first. */
  readonly records: readonly TraceEntry[];
  /** Records lost in this update (sum of their `lostBefore`). */
  readonly lost: number;
  /** The remote started over (rebooted: seq or clock went back); `records` are from the new run. */
  readonly restarted: boolean;
}

/** Options of {@link TraceFollower}. */
export interface TraceFollowerOptions {
  /** Host clock in ms since the epoch, to stamp `readAtMs` (e.g. `performance.timeOrigin + performance.now()`). */
  readonly now?: () => number;
  /** Remote time to host time (a clock-sync estimate); without it entries carry remote time only. */
  readonly toHostTime?: RemoteToHostTime;
}

interface Key {
  readonly anchor: number;
  readonly sub: number;
}

function after(a: Key, b: Key): boolean {
  return a.anchor > b.anchor || (a.anchor === b.anchor && a.sub > b.sub);
}

/**
 * Reads a live trace buffer again and again and reports only what is new. With records that
 * carry a seq it counts the ones the writer overwrote before they were read (a lap of the ring
 * between two reads, or the host starting late) and notices a reboot (seq or clock going back).
 * For old plain-text buffers it reports lines that were appended since the last read and treats
 * any other change as the remote starting over. It never throws on buffer contents.
 */
export class TraceFollower {
  private last: Key | undefined;
  private lastUs = -1;
  /** The next seq expected in the stream (seq starts at 0 at boot). */
  private expected = 0;
  private plainSeen = "";
  private mode: "none" | "records" | "plain" = "none";
  private lostTotal = 0;
  private readonly now: (() => number) | undefined;
  private readonly toHostTime: RemoteToHostTime | undefined;

  constructor(options: TraceFollowerOptions = {}) {
    this.now = options.now;
    this.toHostTime = options.toHostTime;
  }

  /** Records lost since this follower started. */
  get lost(): number {
    return this.lostTotal;
  }

  /** Forget what was seen: the next update reports the whole buffer (call it when the remote reboots). */
  reset(): void {
    this.last = undefined;
    this.lastUs = -1;
    this.expected = 0;
    this.plainSeen = "";
    this.mode = "none";
  }

  /** Takes the buffer's current bytes (the whole `length`, not only up to the NUL). */
  update(raw: Uint8Array | undefined): TraceUpdate {
    if (raw === undefined) return { records: [], lost: 0, restarted: false };
    const view = parseTraceBuffer(raw);
    if (view.length === 0) return { records: [], lost: 0, restarted: false };
    const readAtMs = this.now?.();
    return view.some((r) => r.seq !== undefined) ? this.updateRecords(view, readAtMs) : this.updatePlain(raw, readAtMs);
  }

  private stamp(r: TraceRecord, lostBefore: number, readAtMs: number | undefined): TraceEntry {
    let host = r.remoteUs !== undefined && this.toHostTime !== undefined ? this.toHostTime(r.remoteUs) : undefined;
    // A mapping with no estimate yet answers NaN / Infinity: keep the remote time only.
    if (host !== undefined && !(Number.isFinite(host.hostMs) && Number.isFinite(host.errorMs))) host = undefined;
    return {
      ...r,
      lostBefore,
      ...(readAtMs === undefined ? {} : { readAtMs }),
      ...(host === undefined ? {} : { hostMs: host.hostMs, hostErrorMs: host.errorMs }),
    };
  }

  private updateRecords(view: readonly TraceRecord[], readAtMs: number | undefined): TraceUpdate {
    const keyed: { r: TraceRecord; k: Key }[] = [];
    let anchor = -1;
    let sub = 0;
    for (const r of view) {
      if (r.seq !== undefined) {
        anchor = r.seq;
        sub = 0;
      } else sub++;
      keyed.push({ r, k: { anchor, sub } });
    }
    let restarted = this.mode === "plain";
    const last = this.last;
    if (!restarted && last !== undefined) {
      const seqs = keyed.filter((e) => e.r.seq !== undefined);
      const newest = seqs[seqs.length - 1]?.r.seq ?? -1;
      const same = seqs.find((e) => e.r.seq === last.anchor);
      const clockBack = seqs.some((e) => (e.r.seq ?? 0) > last.anchor && (e.r.remoteUs ?? 0) < this.lastUs);
      restarted = newest < last.anchor || (same !== undefined && same.r.remoteUs !== this.lastUs) || clockBack;
    }
    if (restarted) this.reset();
    this.mode = "records";
    const out: TraceEntry[] = [];
    let lost = 0;
    for (const { r, k } of keyed) {
      if (this.last !== undefined && !after(k, this.last)) continue;
      let lostBefore = 0;
      if (r.seq !== undefined) {
        if (r.seq > this.expected) lostBefore = r.seq - this.expected;
        this.expected = Math.max(this.expected, r.seq + 1);
        this.lastUs = r.remoteUs ?? this.lastUs;
      }
      lost += lostBefore;
      this.last = k;
      out.push(this.stamp(r, lostBefore, readAtMs));
    }
    this.lostTotal += lost;
    return { records: out, lost, restarted };
  }

  private updatePlain(raw: Uint8Array, readAtMs: number | undefined): TraceUpdate {
    // Old firmware: the text Linux shows (offset 0 up to the first NUL), complete lines only.
    const nul = raw.indexOf(0);
    const end = raw.lastIndexOf(LF, nul < 0 ? raw.length - 1 : nul - 1);
    const text = end < 0 ? "" : decodeUtf8(raw.subarray(0, end + 1));
    let restarted = this.mode === "records";
    if (!text.startsWith(this.plainSeen)) restarted = true;
    if (restarted) this.reset();
    this.mode = "plain";
    const fresh = text.slice(this.plainSeen.length);
    this.plainSeen = text;
    const out: TraceEntry[] = [];
    if (fresh !== "")
      for (const line of fresh.slice(0, -1).split("\n")) out.push(this.stamp(parseTraceLine(line), 0, readAtMs));
    return { records: out, lost: 0, restarted };
  }
}

// ---- coredump note ----

/** Owner name of the trace note in @amp coredumps. */
export const TRACE_NOTE_NAME = "AMP";
/** n_type of the trace note: the last records as text lines, oldest first. */
export const NT_AMP_TRACE = 0x54524345; // "TRCE" read as a big-endian u32
/** Default byte budget of the note's text. */
export const TRACE_NOTE_MAX_BYTES = 16384;

/** One ELF note, shaped like @amp/elf-loader's `ElfNote`. */
export interface TraceNote {
  readonly name: string;
  readonly type: number;
  readonly desc: Uint8Array;
}

function encodeAscii(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    out[i] = c === LF || (c >= 0x20 && c < 0x7f) ? c : 0x3f;
  }
  return out;
}

/** A record back as the line a writer wrote (plain records: their text). */
export function traceRecordLine(r: TraceRecord): string {
  if (r.seq === undefined || r.remoteUs === undefined || r.level === undefined) return r.text;
  return formatTraceRecord(r.seq, r.remoteUs, r.level, r.text).slice(0, -1);
}

/**
 * The coredump note holding the last records before a crash (owner "AMP", type
 * {@link NT_AMP_TRACE}): the record lines, oldest first, newline-terminated, keeping the newest
 * that fit in `maxBytes`. Non-ASCII characters become "?". Decode with {@link decodeTraceNote}.
 */
export function traceNoteFor(records: readonly TraceRecord[], maxBytes: number = TRACE_NOTE_MAX_BYTES): TraceNote {
  const kept: string[] = [];
  let size = 0;
  for (let i = records.length - 1; i >= 0; i--) {
    const r = records[i];
    if (r === undefined) continue;
    const line = `${traceRecordLine(r)}\n`;
    if (size + line.length > maxBytes) break;
    kept.push(line);
    size += line.length;
  }
  return { name: TRACE_NOTE_NAME, type: NT_AMP_TRACE, desc: encodeAscii(kept.reverse().join("")) };
}

/** The records of a trace note's descriptor (see {@link traceNoteFor}). */
export function decodeTraceNote(desc: Uint8Array): TraceRecord[] {
  return lines(desc, 0, desc.length, false);
}

/** Is this ELF note the trace note? */
export function isTraceNote(note: { readonly name: string; readonly type: number }): boolean {
  return note.name === TRACE_NOTE_NAME && note.type === NT_AMP_TRACE;
}

// ---- human form ----

function pad(n: number, w: number): string {
  return String(n).padStart(w, "0");
}

/** `HH:MM:SS.mmm` (UTC) of a host time in ms since the epoch. */
export function formatHostTime(ms: number): string {
  const d = new Date(ms);
  return `${pad(d.getUTCHours(), 2)}:${pad(d.getUTCMinutes(), 2)}:${pad(d.getUTCSeconds(), 2)}.${pad(d.getUTCMilliseconds(), 3)}`;
}

/** Remote µs as seconds with 6 decimals: `12.345678`. */
export function formatRemoteTime(us: number): string {
  return `${String(Math.floor(us / 1e6))}.${pad(us % 1e6, 6)}`;
}

/**
 * One human line for an entry. With a host time from the clock mapping:
 * `14:03:07.123±0.2ms remote 12.345678s I text`; without one the remote clock is shown as is,
 * labelled: `remote 12.345678s I text` (plus `read 14:03:07.150` when the read time is known);
 * a plain line: `- text`. Lost records are announced on a line of their own before it.
 */
export function formatTraceEntry(e: TraceEntry): string {
  const parts: string[] = [];
  if (e.lostBefore > 0)
    parts.push(
      `!! ${String(e.lostBefore)} trace record${e.lostBefore === 1 ? "" : "s"} lost (overwritten before they were read)\n`,
    );
  let head: string;
  if (e.hostMs !== undefined) head = `${formatHostTime(e.hostMs)}±${(e.hostErrorMs ?? 0).toFixed(1)}ms `;
  else if (e.readAtMs !== undefined) head = `read ${formatHostTime(e.readAtMs)} `;
  else head = "";
  const remote = e.remoteUs === undefined ? "" : `remote ${formatRemoteTime(e.remoteUs)}s `;
  parts.push(`${head}${remote}${e.level ?? "-"} ${e.text}${e.truncated === true ? " [cut]" : ""}`);
  return parts.join("");
}
