// `amp trace`: live from a firmware (worker thread), from a core file, from a JSON-lines log.
import { beforeAll, describe, expect, it } from "vitest";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { execFileSync } from "node:child_process";
import { makeTempDir, requireTools } from "@amp/test-utils";
import { runAmp } from "../helpers.ts";

const ECHO_SRC = fileURLToPath(new URL("../../firmware/echo.ts", import.meta.url));
const dir = makeTempDir("amp-trace-e2e-");
const elf = join(dir, "echo.elf");

beforeAll(async () => {
  const b = await runAmp(["firmware", "build", ECHO_SRC, "-o", elf]);
  expect(b.code, b.stderr).toBe(0);
}, 120_000);

describe("amp trace", () => {
  it("follows a live remote: records with remote time, host events, durable logs", async () => {
    const r = await runAmp([
      "trace",
      elf,
      "--duration",
      "3",
      "--recovery",
      "--log",
      join(dir, "t.log"),
      "--log-json",
      join(dir, "t.jsonl"),
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/\(read\) trace0 \[remote \d+\.\d{6}s\] I echo: firmware started\n/);
    expect(r.stdout).toMatch(/event state from="offline" to="running"/);
    const json = readFileSync(join(dir, "t.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(json.find((l) => l["kind"] === "trace")).toMatchObject({
      seq: 0,
      level: "I",
      text: "echo: firmware started",
      lostBefore: 0,
    });
    expect(existsSync(join(dir, "t.log"))).toBe(true);
  }, 60_000);

  it("reads the last records from a core file: the crash request is the newest", async () => {
    const core = join(dir, "demo.core");
    const d = await runAmp(["demo", "--firmware", elf, "--messages", "10", "--coredump", core]);
    expect(d.code, d.stderr).toBe(0);
    // The same core twice: as written (the trace note), and with the note's type wiped, so the
    // records come from the trace buffer found through the resource table in the dumped memory.
    const bytes = readFileSync(core);
    const noteAt = bytes.indexOf(Buffer.from([0x45, 0x43, 0x52, 0x54, 0x41, 0x4d, 0x50, 0x00])); // NT "TRCE" (LE), "AMP\0"
    expect(noteAt).toBeGreaterThan(0);
    const noNote = join(dir, "demo-no-note.core");
    writeFileSync(noNote, Buffer.concat([bytes.subarray(0, noteAt), Buffer.alloc(4), bytes.subarray(noteAt + 4)]));
    for (const [file, source, header] of [
      [core, "note", "the trace note \\(the last records before the dump\\)"],
      [noNote, "segment", "trace buffer\\(s\\) in the dumped memory"],
    ] as const) {
      const r = await runAmp(["trace", file, "--json"]);
      expect(r.code, r.stderr).toBe(0);
      const recs = r.stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(recs[0]).toMatchObject({
        kind: "trace",
        trace: 0,
        source,
        seq: 0,
        text: "echo: firmware started",
        lostBefore: 0,
      });
      expect(recs[recs.length - 1]).toMatchObject({ text: "echo: crash requested, faulting now", level: "E" });
      const seqs = recs.map((x) => x["seq"] as number);
      expect(seqs).toEqual(seqs.map((_, i) => i));
      const text = await runAmp(["trace", file, "--since", "0s"]);
      expect(text.stdout).toMatch(
        new RegExp(
          `^.*demo(-no-note)?\\.core: ${header}; remote clock only\\ntrace0 \\[remote \\d+\\.\\d{6}s\\] E echo: crash requested, faulting now\\n$`,
        ),
      );
    }
    const bad = await runAmp(["trace", core, "--since", "yesterday-ish"]);
    expect(bad.code).toBe(2);
  }, 120_000);

  it("replays a JSON-lines log, filtered by --since", async () => {
    const log = join(dir, "t.jsonl");
    expect(existsSync(log)).toBe(true);
    const all = await runAmp(["trace", log]);
    expect(all.code, all.stderr).toBe(0);
    expect(all.stdout).toMatch(/trace0 \[remote \d+\.\d{6}s\] I echo: firmware started\n/);
    expect(all.stdout).toMatch(/event state from="offline" to="running"/);
    const none = await runAmp(["trace", log, "--since", "2099-01-01T00:00:00Z"]);
    expect(none.stdout).toBe("");
    const recent = await runAmp(["trace", log, "--since", "1h", "--json"]);
    expect(recent.stdout.trim().split("\n").length).toBe(readFileSync(log, "utf8").trim().split("\n").length);
  });

  const noQemu = requireTools("qemu-system-arm", "arm-none-eabi-gcc");
  it.skipIf(noQemu)(
    "follows the QEMU C firmware live: records parse, remote time never goes back",
    async () => {
      const fwDir = fileURLToPath(new URL("../../../node/firmware/qemu/", import.meta.url));
      const out = join(dir, "qemu");
      execFileSync("sh", [join(fwDir, "build.sh"), out], { stdio: ["ignore", "pipe", "pipe"], timeout: 60_000 });
      const r = await runAmp([
        "trace",
        join(out, "amp-echo.elf"),
        "--machine",
        "qemu",
        "--duration",
        "2",
        "--json",
        "--clock-sync",
      ]);
      expect(r.code, r.stderr).toBe(0);
      const recs = r.stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .filter((x) => x["kind"] === "trace");
      expect(recs[0]).toMatchObject({ seq: 0, level: "I", text: "amp-echo: boot, vtor 0x21000000", lostBefore: 0 });
      expect(recs.map((x) => x["text"])).toContain("ns: announced amp-ctrl at 1025");
      for (let i = 1; i < recs.length; i++)
        expect(recs[i]!["remoteUs"] as number).toBeGreaterThanOrEqual(recs[i - 1]!["remoteUs"] as number);
      // Records read after the clock exchange converged carry a host time with an error bound.
      const mapped = recs.filter((x) => typeof x["hostMs"] === "number");
      for (const m of mapped) expect(Math.abs((m["hostMs"] as number) - (m["t"] as number))).toBeLessThan(1000);
    },
    60_000,
  );
});
