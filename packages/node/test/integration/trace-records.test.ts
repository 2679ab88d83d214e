// The JS firmware runtime's trace records in a worker-thread processor: `fw.trace(text, level)`
// writes `<seq> <remote-us> <level> <text>` lines stamped with the processor's own clock, and the
// host's durable log follows them across a crash and recovery.
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createMemoryFirmwareSource, parseTraceBuffer } from "@amp/remoteproc-core";
import { attachTraceLog, createTraceLog, createWorkerRemote, type WorkerRemote } from "@amp/node";
import { makeTempDir } from "@amp/test-utils";
import { cpuWorkerEntry, echoFirmware, until } from "../helpers.ts";

let entry: string;
let echo: Uint8Array;
const remotes: WorkerRemote[] = [];

beforeAll(async () => {
  entry = await cpuWorkerEntry();
  echo = await echoFirmware();
});

afterEach(async () => {
  for (const r of remotes.splice(0)) await r.close();
});

function make(): WorkerRemote {
  const remote = createWorkerRemote({
    firmware: "fw.elf",
    firmwareSource: createMemoryFirmwareSource({ "fw.elf": echo }),
    processor: { workerEntry: entry, sramSize: 0x100000, ddrSize: 0x100000 },
    recovery: "enabled",
  });
  remotes.push(remote);
  return remote;
}

async function send(remote: WorkerRemote, text: string): Promise<void> {
  const host = remote.rpmsg!;
  const svc = await host.waitForService("rpmsg-amp-echo", { timeoutMs: 10_000 });
  const ep = host.createEndpoint({ dst: svc.addr });
  await ep.send(new TextEncoder().encode(text), { timeoutMs: 10_000 });
  ep.destroy();
}

describe("JS firmware trace records", () => {
  it("are numbered from 0 with the remote's monotonic clock, and read as text by Linux", async () => {
    const remote = make();
    await remote.rproc.boot();
    const trace = remote.rproc.traces[0]!;
    await until(() => trace.readText().includes("link up"), 10_000, "link up traced");
    const recs = parseTraceBuffer(trace.readRaw()!);
    expect(recs[0]).toMatchObject({ seq: 0, level: "I", text: "echo: firmware started" });
    expect(recs.map((r) => r.seq)).toEqual(recs.map((_, i) => i));
    for (let i = 1; i < recs.length; i++) expect(recs[i]!.remoteUs!).toBeGreaterThanOrEqual(recs[i - 1]!.remoteUs!);
    expect(trace.readText()).toMatch(/^0 \d+ I echo: firmware started\n1 \d+ I echo: rpmsg link up/);
  });

  it("the durable log holds the last records before a crash, a recovery line, then the new run", async () => {
    const dir = makeTempDir("amp-worker-tlog-");
    const remote = make();
    const log = createTraceLog({ json: join(dir, "w.jsonl"), text: join(dir, "w.log") });
    const stop = attachTraceLog(remote, log, { intervalMs: 5 });
    await remote.rproc.boot();
    await send(remote, "crash!");
    await until(() => remote.rproc.crashCount === 1 && remote.rproc.state === "running", 15_000, "recovered");
    await until(
      () => parseTraceBuffer(remote.rproc.traces[0]!.readRaw()!).some((r) => r.text.includes("link up")),
      10_000,
      "new run traced",
    );
    stop();
    log.close();
    const lines = readFileSync(join(dir, "w.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const kinds = lines.map((l) =>
      l["kind"] === "trace" ? `trace:${String(l["text"])}` : `event:${String(l["event"])}`,
    );
    const crashAt = kinds.indexOf("event:crash");
    const recoveryAt = kinds.indexOf("event:recovery");
    expect(kinds.lastIndexOf("trace:echo: crash requested, faulting now", crashAt)).toBeGreaterThan(0);
    expect(recoveryAt).toBeGreaterThan(crashAt);
    expect(kinds.indexOf("trace:echo: firmware started", recoveryAt)).toBeGreaterThan(recoveryAt);
    const afterRecovery = lines.slice(recoveryAt).find((l) => l["kind"] === "trace");
    expect(afterRecovery).toMatchObject({ seq: 0, level: "I", lostBefore: 0 });
    expect(readFileSync(join(dir, "w.log"), "utf8")).toMatch(/event recovery: running again after crash #1\n/);
  });
});
