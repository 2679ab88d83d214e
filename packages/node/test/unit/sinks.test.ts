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
  it("reports each complete line once, including those left at stop", () => {
    const { writer, source } = traceBuffer(256);
    const lines: string[] = [];
    const stop = followTrace(source, (l) => lines.push(l), { intervalMs: 1_000_000 });
    writer.line("one");
    writer.line("two");
    stop();
    expect(lines).toEqual(["one", "two"]);
  });

  it("notices that the writer started over when the buffer filled up", () => {
    const { writer, source } = traceBuffer(32);
    const lines: string[] = [];
    let stop = followTrace(source, (l) => lines.push(l), { intervalMs: 1_000_000 });
    writer.line("0123456789");
    writer.line("abcdefghij");
    stop();
    stop = followTrace(source, (l) => lines.push(`again ${l}`), { intervalMs: 1_000_000 });
    writer.line("after wrap"); // 11 bytes do not fit after 22: the writer restarts at 0
    stop();
    expect(source.readText()).toBe("after wrap\n");
    expect(lines.slice(0, 2)).toEqual(["0123456789", "abcdefghij"]);
    expect(lines).toContain("again after wrap");
  });

  it("replaces non-ASCII characters and keeps the buffer NUL-terminated", () => {
    const { writer, source } = traceBuffer(16);
    writer.line("é".repeat(40));
    expect(source.readText()).toBe("?".repeat(15));
  });
});
