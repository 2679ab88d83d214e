// The C firmware's trace records on a real CPU (QEMU mps2-an386): every line parses as a record
// (seq from 0, +1 each; remote time from the CMSDK timer, monotonic), the ring wraps without
// losing a record the host polls for, the durable log goes on across a crash and recovery, and
// the crash core holds the last records in its trace note.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readCoredump } from "@amp/elf-loader";
import { decodeTraceNote, isTraceNote, parseTraceBuffer, TraceFollower, type TraceEntry } from "@amp/remoteproc-core";
import { attachTraceLog, createQemuRemoteproc, createTraceLog, type QemuRemoteproc } from "@amp/node";
import type { RpmsgHost } from "@amp/rpmsg";
import { makeTempDir, requireTools } from "@amp/test-utils";
import { buildFirmware, waitFor } from "./helpers.ts";

const missing = requireTools("qemu-system-arm", "arm-none-eabi-gcc");
const enc = new TextEncoder();
const dec = new TextDecoder();

async function ask(host: RpmsgHost, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no reply to "${text}" within 5 s`)), 5000);
    const ep = host.createEndpoint({
      dst: 1025,
      onMessage: (m) => {
        clearTimeout(t);
        ep.destroy();
        resolve(dec.decode(m.data));
      },
    });
    ep.send(enc.encode(text)).catch(reject);
  });
}

describe.skipIf(missing)("QEMU C firmware: timestamped trace records", () => {
  const dir = makeTempDir("amp-qemu-trace-");
  let q: QemuRemoteproc;
  const hosts: RpmsgHost[] = [];
  let stopLog: () => void;
  const logged: TraceEntry[] = [];

  beforeAll(async () => {
    q = createQemuRemoteproc({
      firmware: buildFirmware().bytes,
      doorbell: "irq",
      crashCoredumpPath: join(dir, "crash-%n.core"),
    });
    q.onRpmsg((h) => hosts.push(h));
    const log = createTraceLog({ json: join(dir, "remote.jsonl"), text: join(dir, "remote.log"), maxBytes: 1 << 20 });
    stopLog = attachTraceLog(q, log, { intervalMs: 5, onRecord: (e) => logged.push(e) });
    await q.rproc.boot();
    await waitFor("rpmsg host", () => hosts[0]);
    await hosts[0]!.waitForService("amp-ctrl", { timeoutMs: 5000 });
  });
  afterAll(async () => {
    stopLog();
    await q.close();
  });

  it("every line is a record: seq 0, 1, 2, ..., monotonic remote time, levels", async () => {
    const trace = q.rproc.traces[0]!;
    await waitFor("announcement traced", () => trace.readText().includes("ns: announced amp-ctrl at 1025"));
    const recs = parseTraceBuffer(trace.readRaw()!);
    expect(recs.length).toBeGreaterThanOrEqual(5);
    expect(recs.map((r) => r.seq)).toEqual(recs.map((_, i) => i));
    for (const r of recs) expect(r.level).toBe("I");
    for (let i = 1; i < recs.length; i++) expect(recs[i]!.remoteUs!).toBeGreaterThanOrEqual(recs[i - 1]!.remoteUs!);
    expect(recs[0]!.text).toBe("amp-echo: boot, vtor 0x21000000");
    // Linux's view (up to the first NUL) is still lines of text.
    expect(trace.readText()).toMatch(/^0 \d+ I amp-echo: boot, vtor 0x21000000\n1 \d+ I /);
  });

  it("the ring wraps: a follower that polls sees every record once, none lost, time still monotonic", async () => {
    const trace = q.rproc.traces[0]!;
    const f = new TraceFollower();
    const seen: TraceEntry[] = [...f.update(trace.readRaw()).records];
    const start = seen.length;
    for (let i = 0; i < 150; i++) {
      expect(await ask(hosts[0]!, `trace wrap test record ${String(i)} ${"x".repeat(20)}`)).toBe("ok");
      seen.push(...f.update(trace.readRaw()).records);
    }
    expect(seen.map((e) => e.seq)).toEqual(seen.map((_, i) => i));
    expect(f.lost).toBe(0);
    expect(seen.slice(start).filter((e) => e.text.startsWith("wrap test record")).length).toBe(150);
    for (let i = 1; i < seen.length; i++) expect(seen[i]!.remoteUs!).toBeGreaterThanOrEqual(seen[i - 1]!.remoteUs!);
    // The clock runs: 150 rpmsg round trips take well over a millisecond of remote time.
    expect(seen[seen.length - 1]!.remoteUs! - seen[start]!.remoteUs!).toBeGreaterThan(1000);
    // 150 records of ~60 bytes do not fit in 4 KiB: the writer went round, and the buffer still parses in order.
    const now = parseTraceBuffer(trace.readRaw()!);
    expect(now[0]!.seq).toBeGreaterThan(0);
    expect(now.map((r) => r.seq)).toEqual(now.map((_, i) => now[0]!.seq! + i));
  });

  it("crash: the core's trace note holds the last records; the log goes on after recovery", async () => {
    void ask(hosts[0]!, "crash").catch(() => undefined);
    await waitFor("recovered rpmsg host", () => hosts[1], 15_000);
    await waitFor("running", () => q.rproc.state === "running");
    await hosts[1]!.waitForService("amp-ctrl", { timeoutMs: 5000 });
    expect(await ask(hosts[1]!, "trace after recovery")).toBe("ok");
    await waitFor("record after recovery logged", () => logged.some((e) => e.text === "after recovery"));

    const core = new Uint8Array(readFileSync(join(dir, "crash-1.core")));
    const note = readCoredump(core).notes.find(isTraceNote);
    expect(note).toBeDefined();
    const last = decodeTraceNote(note!.desc);
    expect(last[last.length - 1]).toMatchObject({ level: "W", text: "ctrl: crash on purpose (undefined instruction)" });

    const lines = readFileSync(join(dir, "remote.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const kinds = lines.map((l) =>
      l["kind"] === "trace" ? `trace:${String(l["text"])}` : `event:${String(l["event"])}`,
    );
    const crashAt = kinds.indexOf("event:crash");
    const recoveryAt = kinds.indexOf("event:recovery");
    expect(crashAt).toBeGreaterThan(0);
    expect(kinds.lastIndexOf("trace:ctrl: crash on purpose (undefined instruction)", crashAt)).toBeGreaterThan(0);
    expect(recoveryAt).toBeGreaterThan(crashAt);
    expect(kinds.indexOf("trace:amp-echo: boot, vtor 0x21000000", recoveryAt)).toBeGreaterThan(recoveryAt);
    expect(kinds.indexOf("trace:after recovery")).toBeGreaterThan(recoveryAt);
    const links = lines.filter((l) => l["event"] === "rpmsg-link").map((l) => l["up"]);
    expect(links.slice(0, 3)).toEqual([true, false, true]); // up, down at the crash, up after recovery
    // The new run starts again at seq 0 and nothing was lost in either run.
    const traces = lines.filter((l) => l["kind"] === "trace");
    expect(traces.every((l) => l["lostBefore"] === 0)).toBe(true);
    expect(readFileSync(join(dir, "remote.log"), "utf8")).toMatch(/event recovery: running again after crash #1\n/);
  });
});
