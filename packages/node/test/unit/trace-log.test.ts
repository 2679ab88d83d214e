import { describe, expect, it } from "vitest";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createRotatingFile, createTraceLog } from "@amp/node";
import { makeTempDir } from "@amp/test-utils";

describe("createRotatingFile", () => {
  it("rotates by size: path -> path.1 -> path.2, keeping maxFiles rotated files", () => {
    const path = join(makeTempDir("amp-rot-"), "x.log");
    const f = createRotatingFile(path, { maxBytes: 10, maxFiles: 2 });
    for (const l of ["aaaa\n", "bbbb\n", "cccc\n", "dddd\n", "eeee\n", "ffff\n", "gggg\n"]) f.write(l);
    f.close();
    expect(readFileSync(path, "utf8")).toBe("gggg\n");
    expect(readFileSync(`${path}.1`, "utf8")).toBe("eeee\nffff\n");
    expect(readFileSync(`${path}.2`, "utf8")).toBe("cccc\ndddd\n");
    expect(existsSync(`${path}.3`)).toBe(false);
    expect(() => {
      f.write("x");
    }).toThrow(/closed/);
  });

  it("continues an existing file (a restarted process keeps one history) and writes an oversized line whole", () => {
    const path = join(makeTempDir("amp-rot-"), "x.log");
    writeFileSync(path, "old\n");
    const f = createRotatingFile(path, { maxBytes: 8, maxFiles: 1 });
    f.write("new\n");
    expect(readFileSync(path, "utf8")).toBe("old\nnew\n");
    f.write("a line longer than the limit\n");
    f.write("z\n");
    f.close();
    expect(readFileSync(`${path}.1`, "utf8")).toBe("a line longer than the limit\n");
    expect(readFileSync(path, "utf8")).toBe("z\n");
  });

  it("maxFiles 0 truncates instead of keeping old files; bad limits are refused", () => {
    const path = join(makeTempDir("amp-rot-"), "x.log");
    const f = createRotatingFile(path, { maxBytes: 4, maxFiles: 0 });
    f.write("abc\n");
    f.write("def\n");
    f.close();
    expect(readFileSync(path, "utf8")).toBe("def\n");
    expect(existsSync(`${path}.1`)).toBe(false);
    expect(() => createRotatingFile(path, { maxBytes: 0 })).toThrow(RangeError);
    expect(() => createRotatingFile(path, { maxFiles: -1 })).toThrow(RangeError);
  });
});

describe("createTraceLog", () => {
  it("writes records and events as JSON lines and human lines, host time labelled", () => {
    const dir = makeTempDir("amp-tlog-");
    const log = createTraceLog({
      json: join(dir, "r.jsonl"),
      text: join(dir, "r.log"),
      now: () => Date.UTC(2026, 11, 1, 12, 0, 0, 500),
    });
    log.event({ event: "state", from: "offline", to: "running" });
    log.record({ seq: 0, remoteUs: 1500, level: "I", text: "boot", lostBefore: 0 });
    log.record(
      {
        seq: 5,
        remoteUs: 2500,
        level: "E",
        text: "fault",
        lostBefore: 4,
        hostMs: Date.UTC(2026, 11, 1, 12, 0, 0, 250),
        hostErrorMs: 0.5,
      },
      1,
    );
    log.record({ text: "plain old line", lostBefore: 0 });
    log.event({ event: "crash", type: "fatal error", detail: "HardFault" });
    log.close();
    const json = readFileSync(join(dir, "r.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as unknown);
    expect(json).toEqual([
      { t: 1796126400500, kind: "event", event: "state", from: "offline", to: "running" },
      { t: 1796126400500, kind: "trace", trace: 0, seq: 0, remoteUs: 1500, level: "I", text: "boot", lostBefore: 0 },
      {
        t: 1796126400500,
        kind: "trace",
        trace: 1,
        seq: 5,
        remoteUs: 2500,
        level: "E",
        text: "fault",
        lostBefore: 4,
        hostMs: 1796126400250,
        hostErrorMs: 0.5,
      },
      {
        t: 1796126400500,
        kind: "trace",
        trace: 0,
        seq: null,
        remoteUs: null,
        level: null,
        text: "plain old line",
        lostBefore: 0,
      },
      { t: 1796126400500, kind: "event", event: "crash", type: "fatal error", detail: "HardFault" },
    ]);
    expect(readFileSync(join(dir, "r.log"), "utf8")).toBe(
      [
        "2026-12-01T12:00:00.500Z event state offline -> running",
        "2026-12-01T12:00:00.500Z (read) trace0 [remote 0.001500s] I boot",
        "2026-12-01T12:00:00.500Z trace1 !! 4 records lost (overwritten before the host read them)",
        "2026-12-01T12:00:00.250Z ±0.5ms trace1 [remote 0.002500s] E fault",
        "2026-12-01T12:00:00.500Z (read) trace0 - plain old line",
        "2026-12-01T12:00:00.500Z event crash fatal error: HardFault",
        "",
      ].join("\n"),
    );
  });

  it("rotates both files by size and count", () => {
    const dir = makeTempDir("amp-tlog-");
    const log = createTraceLog({ json: join(dir, "r.jsonl"), text: join(dir, "r.log"), maxBytes: 300, maxFiles: 2 });
    for (let i = 0; i < 40; i++)
      log.record({ seq: i, remoteUs: i, level: "D", text: `record ${String(i)}`, lostBefore: 0 });
    log.close();
    for (const f of ["r.jsonl", "r.jsonl.1", "r.jsonl.2", "r.log", "r.log.1", "r.log.2"])
      expect(existsSync(join(dir, f))).toBe(true);
    expect(existsSync(join(dir, "r.jsonl.3"))).toBe(false);
    const newest = readFileSync(join(dir, "r.jsonl"), "utf8").trim().split("\n");
    expect(JSON.parse(newest[newest.length - 1]!)).toMatchObject({ seq: 39 });
    for (const f of ["r.jsonl", "r.jsonl.1", "r.log", "r.log.1"])
      expect(readFileSync(join(dir, f)).length).toBeLessThanOrEqual(300);
  });
});
