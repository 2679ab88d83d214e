import { describe, expect, it } from "vitest";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { SharedMemory } from "@amp/virtio-ring";
import { TraceWriter } from "@amp/node/firmware";
import { createFileCoredumpSink, followTrace } from "@amp/node";
import { makeTempDir } from "@amp/test-utils";

describe("createFileCoredumpSink", () => {
  it("writes chunks to a partial file and renames it on close", async () => {
    const path = join(makeTempDir("amp-sink-"), "x.core");
    const sink = createFileCoredumpSink(path);
    await sink.write(Uint8Array.of(1, 2));
    await sink.write(Uint8Array.of(3));
    expect(existsSync(path)).toBe(false);
    await sink.close?.({ reason: "manual", mode: "inline", size: 3, segments: 1 });
    expect([...readFileSync(path)]).toEqual([1, 2, 3]);
    expect(sink.info?.size).toBe(3);
  });
});

/** A trace buffer the test writes with the firmware-side writer and reads as Linux does. */
function traceBuffer(len: number): { writer: TraceWriter; source: { readText(): string } } {
  const mem = new SharedMemory(new SharedArrayBuffer(len));
  const writer = new TraceWriter(mem, 0, len);
  const source = {
    readText(): string {
      const b = mem.read(0, len);
      const nul = b.indexOf(0);
      return new TextDecoder().decode(nul < 0 ? b : b.subarray(0, nul));
    },
  };
  return { writer, source };
}

describe("TraceWriter + followTrace", () => {
  it("reports each record's text once, including those left at stop", () => {
    const { writer, source } = traceBuffer(256);
    const lines: string[] = [];
    const stop = followTrace(source, (l) => lines.push(l), { intervalMs: 1_000_000 });
    writer.line("one");
    writer.line("two");
    stop();
    expect(lines).toEqual(["one", "two"]);
  });

  it("writes records Linux shows as text lines: seq, remote µs, level, text", () => {
    let us = 1000;
    const mem = new SharedMemory(new SharedArrayBuffer(256));
    const writer = new TraceWriter(mem, 0, 256, { clockUs: () => (us += 250) });
    writer.record("W", "low battery");
    writer.record("E", "fault\nat\u0000x");
    expect(new TextDecoder().decode(mem.read(0, 256).subarray(0, mem.read(0, 256).indexOf(0)))).toBe(
      "0 1250 W low battery\n1 1500 E fault at x\n",
    );
    expect(writer.written).toBe(2);
    expect(() => writer.record("X" as "E", "")).toThrow(RangeError);
  });

  it("keeps following across the writer's wrap; a reader that fell a lap behind counts the lost records", () => {
    const { writer, source } = traceBuffer(64);
    const lines: string[] = [];
    const lost: number[] = [];
    let stop = followTrace(source, (l) => lines.push(l), {
      intervalMs: 1_000_000,
      onRecord: (e) => lost.push(e.lostBefore),
    });
    writer.line("0123456789");
    writer.line("abcdefghij");
    stop();
    expect(lines).toEqual(["0123456789", "abcdefghij"]);
    const later: string[] = [];
    let missed = 0;
    stop = followTrace(source, (l) => later.push(l), {
      intervalMs: 1_000_000,
      onRecord: (e) => {
        missed += e.lostBefore;
      },
    });
    for (let i = 0; i < 10; i++) writer.line(`after wrap ${String(i)}`);
    stop();
    expect(later[later.length - 1]).toBe("after wrap 9");
    // seq counts from 0 at boot: 12 records in all, each either seen or counted as lost.
    expect(later.length + missed).toBe(12);
    expect(missed).toBeGreaterThan(0);
    expect(lost).toEqual([0, 0]);
  });

  it("replaces non-ASCII characters, cuts long text and keeps the buffer NUL-terminated", () => {
    const { writer, source } = traceBuffer(40);
    writer.line("é".repeat(40));
    // At most half the buffer per record (19 bytes here), newline included.
    expect(source.readText()).toBe(`0 0 I ${"?".repeat(12)}\n`);
  });
});
