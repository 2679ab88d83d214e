import { describe, expect, it } from "vitest";
import {
  decodeTraceNote,
  formatTraceEntry,
  formatTraceRecord,
  isTraceNote,
  parseTraceBuffer,
  parseTraceLine,
  TraceFollower,
  traceNoteFor,
  TRACE_MAX_TEXT,
  type TraceLevel,
} from "@amp/remoteproc-core";

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

/** A ring writer that follows the documented layout (the firmware writers do the same). */
class Ring {
  readonly buf: Uint8Array;
  pos = 0;
  seq = 0;
  constructor(len: number) {
    this.buf = new Uint8Array(len);
  }
  write(text: string, us = this.seq * 10, level: TraceLevel = "I"): void {
    const b = enc(formatTraceRecord(this.seq++, us, level, text));
    if (this.pos + b.length + 1 > this.buf.length) {
      this.buf.fill(0, this.pos);
      this.buf[0] = 0;
      this.pos = 0;
    }
    this.buf.set(b.subarray(1), this.pos + 1);
    this.buf[this.pos + b.length] = 0;
    this.buf[this.pos] = b[0] ?? 0;
    this.pos += b.length;
  }
  /** What Linux's debugfs reader shows. */
  linux(): string {
    const nul = this.buf.indexOf(0);
    return new TextDecoder().decode(this.buf.subarray(0, nul < 0 ? this.buf.length : nul));
  }
}

describe("parseTraceLine", () => {
  it("reads seq, remote time, level and text", () => {
    expect(parseTraceLine("7 1234567 W low battery: 3.1 V")).toEqual({
      seq: 7,
      remoteUs: 1234567,
      level: "W",
      text: "low battery: 3.1 V",
    });
    expect(parseTraceLine("0 0 E")).toEqual({ seq: 0, remoteUs: 0, level: "E", text: "" });
  });

  it("keeps anything else as a plain record (old firmware)", () => {
    expect(parseTraceLine("echo: firmware started")).toEqual({ text: "echo: firmware started" });
    expect(parseTraceLine("12 34 X not a level")).toEqual({ text: "12 34 X not a level" });
    expect(parseTraceLine("1 2I text")).toEqual({ text: "1 2I text" });
    expect(parseTraceLine("1234567890123456 1 I too many digits")).toEqual({
      text: "1234567890123456 1 I too many digits",
    });
  });

  it("cuts a huge line and flags it", () => {
    const r = parseTraceLine(`3 4 I ${"x".repeat(100_000)}`);
    expect(r.seq).toBe(3);
    expect(r.text.length).toBe(TRACE_MAX_TEXT);
    expect(r.truncated).toBe(true);
    const p = parseTraceLine("y".repeat(100_000));
    expect(p.text.length).toBe(TRACE_MAX_TEXT);
    expect(p.truncated).toBe(true);
  });

  it("formatTraceRecord makes one line whatever the text holds", () => {
    expect(formatTraceRecord(1, 2, "D", "a\nb\0c")).toBe("1 2 D a b c\n");
    expect(() => formatTraceRecord(-1, 0, "I", "")).toThrow(RangeError);
    expect(() => formatTraceRecord(0, 0.5, "I", "")).toThrow(RangeError);
    expect(() => formatTraceRecord(0, 0, "X" as TraceLevel, "")).toThrow(RangeError);
  });
});

describe("parseTraceBuffer", () => {
  it("reads records in order before the writer wraps", () => {
    const r = new Ring(256);
    r.write("a");
    r.write("b");
    expect(parseTraceBuffer(r.buf).map((x) => [x.seq, x.text])).toEqual([
      [0, "a"],
      [1, "b"],
    ]);
  });

  it("after wrapping: older records after the NUL come first, Linux still sees text", () => {
    const r = new Ring(64);
    for (let i = 0; i < 7; i++) r.write(`rec${String(i)}`);
    const recs = parseTraceBuffer(r.buf);
    const seqs = recs.map((x) => x.seq ?? -1);
    expect(seqs[seqs.length - 1]).toBe(6);
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBe((seqs[i - 1] ?? 0) + 1);
    // Linux's view: the newest records since the wrap, as plain text lines.
    expect(r.linux().endsWith("6 60 I rec6\n")).toBe(true);
    expect(
      r
        .linux()
        .split("\n")
        .every((l) => l === "" || /^\d+ \d+ I rec\d$/.test(l)),
    ).toBe(true);
  });

  it("ignores stale text after the NUL when it has no records (old firmware)", () => {
    const buf = enc("new line\n\0ld stale line\nanother stale\n\0");
    expect(parseTraceBuffer(buf)).toEqual([{ text: "new line" }]);
  });

  it("survives hostile bytes: garbage, no NUL, no newline, seq going backwards", () => {
    const garbage = new Uint8Array(4096);
    for (let i = 0; i < garbage.length; i++) garbage[i] = (i * 7919 + 13) & 0xff;
    expect(() => parseTraceBuffer(garbage)).not.toThrow();
    expect(parseTraceBuffer(enc("no terminator at all"))).toEqual([]);
    expect(parseTraceBuffer(enc("5 1 I a\n6 2 I b\npartial"))).toEqual([
      { seq: 5, remoteUs: 1, level: "I", text: "a" },
      { seq: 6, remoteUs: 2, level: "I", text: "b" },
    ]);
    // Older part whose seqs are not below the newer part's: not trusted, left out.
    const back = enc("3 30 I newer\n\0x\n9 90 I bogus older\n\0");
    expect(parseTraceBuffer(back).map((x) => x.text)).toEqual(["newer"]);
    expect(parseTraceBuffer(new Uint8Array(0))).toEqual([]);
    expect(parseTraceBuffer(new Uint8Array(16))).toEqual([]);
  });
});

describe("TraceFollower", () => {
  it("reports each record once while the writer appends and wraps", () => {
    const r = new Ring(128);
    const f = new TraceFollower();
    const seen: number[] = [];
    for (let i = 0; i < 200; i++) {
      r.write(`msg ${String(i)}`);
      if (i % 3 === 0) for (const e of f.update(r.buf).records) seen.push(e.seq ?? -1);
    }
    for (const e of f.update(r.buf).records) seen.push(e.seq ?? -1);
    expect(seen).toEqual(Array.from({ length: 200 }, (_, i) => i));
    expect(f.lost).toBe(0);
  });

  it("counts records the writer overwrote before the reader came back", () => {
    const r = new Ring(128);
    const f = new TraceFollower();
    r.write("first");
    expect(f.update(r.buf).records.map((e) => e.seq)).toEqual([0]);
    for (let i = 1; i <= 50; i++) r.write(`lap ${String(i)}`);
    const u = f.update(r.buf);
    const first = u.records[0];
    expect(first?.seq).toBeGreaterThan(1);
    expect(first?.lostBefore).toBe((first?.seq ?? 0) - 1);
    expect(u.lost).toBe((first?.seq ?? 0) - 1);
    expect(u.records[u.records.length - 1]?.seq).toBe(50);
    expect(f.lost).toBe(u.lost);
    // Every record is either reported or counted as lost.
    expect(1 + u.records.length + u.lost).toBe(51);
  });

  it("counts records lost before the reader started (seq starts at 0 at boot)", () => {
    const r = new Ring(64);
    for (let i = 0; i < 20; i++) r.write(`x${String(i)}`);
    const u = new TraceFollower().update(r.buf);
    expect(u.lost).toBe(u.records[0]?.seq);
    expect(u.lost + u.records.length).toBe(20);
  });

  it("notices a reboot: seq and clock start again", () => {
    let r = new Ring(256);
    const f = new TraceFollower();
    r.write("run 1 a", 100);
    r.write("run 1 b", 200);
    f.update(r.buf);
    r = new Ring(256);
    r.write("run 2 a", 5);
    const u = f.update(r.buf);
    expect(u.restarted).toBe(true);
    expect(u.records.map((e) => e.text)).toEqual(["run 2 a"]);
    // Same seq count reached again but a different clock: also a new run.
    r.write("run 2 b", 6);
    const r3 = new Ring(256);
    r3.write("run 3 a", 1);
    r3.write("run 3 b", 2);
    const u3 = f.update(r3.buf);
    expect(u3.restarted).toBe(true);
    expect(u3.records.map((e) => e.text)).toEqual(["run 3 a", "run 3 b"]);
  });

  it("follows plain text from old firmware, by prefix", () => {
    const f = new TraceFollower();
    expect(f.update(enc("one\ntwo\n\0")).records.map((e) => e.text)).toEqual(["one", "two"]);
    expect(f.update(enc("one\ntwo\nthr")).records).toEqual([]);
    expect(f.update(enc("one\ntwo\nthree\n\0")).records.map((e) => e.text)).toEqual(["three"]);
    const u = f.update(enc("[trace wrapped]\nfour\n\0two\nthree\n"));
    expect(u.restarted).toBe(true);
    expect(u.records.map((e) => e.text)).toEqual(["[trace wrapped]", "four"]);
  });

  it("reports plain lines between records once", () => {
    const f = new TraceFollower();
    expect(f.update(enc("0 1 I a\nplain\n\0")).records.map((e) => e.text)).toEqual(["a", "plain"]);
    expect(f.update(enc("0 1 I a\nplain\nplain 2\n1 2 I b\n\0")).records.map((e) => e.text)).toEqual(["plain 2", "b"]);
  });

  it("stamps read time and host time from a clock mapping", () => {
    const f = new TraceFollower({
      now: () => 1_700_000_000_000,
      toHostTime: (us) => ({ hostMs: 1_699_999_999_000 + us / 1000, errorMs: 0.25 }),
    });
    const [e] = f.update(enc("0 2500 I hi\n\0")).records;
    expect(e).toMatchObject({ readAtMs: 1_700_000_000_000, hostMs: 1_699_999_999_002.5, hostErrorMs: 0.25 });
    expect(formatTraceEntry(e!)).toBe("22:13:19.002±0.3ms remote 0.002500s I hi");
    const plain = new TraceFollower().update(enc("0 2500 I hi\n\0")).records[0]!;
    expect(formatTraceEntry(plain)).toBe("remote 0.002500s I hi");
    const early = new TraceFollower({ toHostTime: () => ({ hostMs: NaN, errorMs: Infinity }) }).update(
      enc("0 2500 I hi\n\0"),
    ).records[0]!;
    expect(early.hostMs).toBeUndefined();
    expect(formatTraceEntry({ text: "old", lostBefore: 2 })).toBe(
      "!! 2 trace records lost (overwritten before they were read)\n- old",
    );
  });

  it("never throws on random buffers", () => {
    const f = new TraceFollower();
    let x = 12345;
    for (let n = 0; n < 300; n++) {
      const b = new Uint8Array(64);
      for (let i = 0; i < b.length; i++) {
        x = (x * 1103515245 + 12345) & 0x7fffffff;
        const pick = x % 8;
        b[i] = pick === 0 ? 0 : pick === 1 ? 0x0a : pick === 2 ? 0x20 : pick < 5 ? 0x30 + (x % 10) : (x >> 8) & 0xff;
      }
      expect(() => f.update(b)).not.toThrow();
    }
  });
});

describe("trace note", () => {
  it("round-trips the last records, newest kept within the budget", () => {
    const recs = [parseTraceLine("0 10 I boot"), parseTraceLine("plain"), parseTraceLine("2 30 E fault at 0x21000100")];
    const note = traceNoteFor(recs);
    expect(isTraceNote(note)).toBe(true);
    expect(new TextDecoder().decode(note.desc)).toBe("0 10 I boot\nplain\n2 30 E fault at 0x21000100\n");
    expect(decodeTraceNote(note.desc)).toEqual(recs);
    expect(decodeTraceNote(traceNoteFor(recs, 30).desc).map((r) => r.text)).toEqual(["fault at 0x21000100"]);
  });
});
