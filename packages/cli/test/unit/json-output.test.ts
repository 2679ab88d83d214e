// --json on every command that prints data, one convention (src/internal/json-out.ts): one JSON
// document for a result, JSON lines ({event, t, ...}) for what follows something live, and a
// failure as {"error":{code, message, hint}} (the document, or the stream's last line), with the
// one-line error on stderr and the same exit code as without --json. Run in-process from the
// sources (the worker remote needs no built CPU file).
import { beforeAll, describe, expect, it } from "vitest";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildJsFirmware } from "@amp/node";
import { makeTempDir } from "@amp/test-utils";
import { COMMANDS } from "../../src/commands/index.ts";
import { isOneLine, runAmp } from "../helpers.ts";

/** Commands whose output is not data a program would parse, and why. */
const NO_JSON: Record<string, string> = {
  "rsc c": "prints C source to paste into firmware",
};
/** Commands that follow something live: JSON lines. */
const JSON_LINES = ["run", "demo", "attach", "rpmsg send", "rpmsg listen", "rpmsg echo", "vhost-user", "ui", "trace"];

const dir = makeTempDir("amp-json-");
const TABLE_JSON = JSON.stringify({
  ver: 1,
  entries: [
    {
      kind: "vdev",
      id: 7,
      dfeatures: "0x1",
      vrings: [
        { align: "0x1000", num: 16 },
        { align: "0x1000", num: 16 },
      ],
    },
    { kind: "trace", da: "0xffffffff", len: "0x400", name: "trace" },
  ],
});
let echoElf: string;

beforeAll(() => {
  // The package build's echo firmware when there is one; else a minimal rpmsg firmware of ours.
  const built = fileURLToPath(new URL("../../dist/firmware/echo.elf", import.meta.url));
  echoElf = join(dir, "fw.elf");
  if (existsSync(built)) writeFileSync(echoElf, readFileSync(built));
  else {
    const program = "export default async function main() { await new Promise(() => undefined); }";
    writeFileSync(
      echoElf,
      buildJsFirmware({
        program,
        resourceTable: { entries: [{ kind: "trace", da: 0xffffffff, len: 1024, name: "trace" }] },
      }),
    );
  }
});

function lines(stdout: string): Record<string, unknown>[] {
  expect(stdout.endsWith("\n")).toBe(true);
  return stdout
    .trimEnd()
    .split("\n")
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe("the --json audit", () => {
  it("every command has --json, or a reason why its output is not data", () => {
    for (const c of COMMANDS) {
      const why = NO_JSON[c.name];
      if (why !== undefined) {
        expect(c.options["json"], c.name).toBeUndefined();
        continue;
      }
      expect(c.options["json"], `${c.name} has no --json`).toMatchObject({ type: "boolean" });
      expect(c.usage, `${c.name}: the usage line names --json`).toMatch(/--json/);
      expect(c.jsonLines === true, `${c.name}: JSON lines or one document`).toBe(JSON_LINES.includes(c.name));
    }
    expect(Object.keys(NO_JSON).every((n) => COMMANDS.some((c) => c.name === n))).toBe(true);
  });
});

describe("document commands", () => {
  it("inspect: the document, and a missing file as {error}", async () => {
    const ok = await runAmp(["inspect", echoElf, "--json"]);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ file: echoElf, elf: { class: "ELF32", machine: 0 } });
    const missing = await runAmp(["inspect", join(dir, "none.elf"), "--json"]);
    expect(missing.code).toBe(1);
    expect(isOneLine(missing.stderr)).toBe(true);
    expect(JSON.parse(missing.stdout)).toEqual({
      error: {
        code: "ERR_INPUT",
        message: `${join(dir, "none.elf")}: no such firmware file`,
        hint: "Check the path and try again.",
      },
    });
    writeFileSync(join(dir, "text.bin"), "hello");
    const notElf = await runAmp(["inspect", join(dir, "text.bin"), "--json"]);
    expect(JSON.parse(notElf.stdout)).toMatchObject({ error: { code: "ERR_MALFORMED" } });
  });

  it("rsc decode: --json is the default JSON; it excludes --text", async () => {
    const plain = await runAmp(["rsc", "decode", echoElf]);
    const json = await runAmp(["rsc", "decode", echoElf, "--json"]);
    expect(json.code).toBe(0);
    expect(json.stdout).toBe(plain.stdout);
    expect(JSON.parse(json.stdout)).toMatchObject({ ver: 1 });
    const both = await runAmp(["rsc", "decode", echoElf, "--json", "--text"]);
    expect(both.code).toBe(2);
    expect(JSON.parse(both.stdout)).toMatchObject({
      error: { code: "ERR_USAGE", message: "--json and --text exclude each other" },
    });
  });

  it("rsc encode: what was written", async () => {
    const src = join(dir, "t.json");
    writeFileSync(src, TABLE_JSON);
    const out = join(dir, "t.bin");
    const r = await runAmp(["rsc", "encode", src, "-o", out, "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe("");
    expect(JSON.parse(r.stdout)).toEqual({ file: src, output: out, bytes: readFileSync(out).length, entries: 2 });
    writeFileSync(join(dir, "bad.json"), '{"ver":1,"entries":[{"kind":"trace","da":"0xffffffff","len":"lots"}]}');
    const bad = await runAmp(["rsc", "encode", join(dir, "bad.json"), "-o", out, "--json"]);
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stdout)).toMatchObject({
      error: { code: "ERR_MALFORMED", message: expect.stringContaining("$.entries[0].len") as string },
    });
  });

  it("firmware build: what was built", async () => {
    const program = join(dir, "prog.mjs");
    writeFileSync(program, "export default async function main() {}\n");
    const table = join(dir, "t.json");
    writeFileSync(table, TABLE_JSON);
    const out = join(dir, "built.elf");
    const r = await runAmp(["firmware", "build", program, "--bundled", "--table", table, "-o", out, "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      entry: program,
      output: out,
      bytes: readFileSync(out).length,
      programBytes: 40,
      tableEntries: 2,
    });
  });

  it("coredump: a firmware ELF is refused as ERR_NOT_CORE", async () => {
    const r = await runAmp(["coredump", echoElf, "--json"]);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ error: { code: "ERR_NOT_CORE" } });
  });

  it("keygen, sign, verify; a tampered image is ERR_AUTH", async () => {
    const key = join(dir, "vendor");
    const k = await runAmp(["keygen", "-o", key, "--algorithm", "p256", "--json"]);
    expect(k.code, k.stderr).toBe(0);
    expect(JSON.parse(k.stdout)).toEqual({ privateKey: `${key}.key`, publicKey: `${key}.pub`, algorithm: "p256" });
    const signed = join(dir, "fw.signed");
    const s = await runAmp(["sign", echoElf, "--key", `${key}.key`, "-o", signed, "--key-id", "7", "--json"]);
    expect(s.code, s.stderr).toBe(0);
    expect(JSON.parse(s.stdout)).toEqual({
      output: signed,
      images: 1,
      bytes: readFileSync(signed).length,
      algorithm: "p256",
      keyId: 7,
    });
    const extracted = join(dir, "extracted.elf");
    const v = await runAmp(["verify", signed, "--key", `${key}.pub`, "-o", extracted, "--json"]);
    expect(v.code, v.stderr).toBe(0);
    expect(JSON.parse(v.stdout)).toEqual({
      file: signed,
      verified: true,
      algorithm: "p256",
      images: [{ type: 1, bytes: readFileSync(echoElf).length }],
      output: extracted,
    });
    const t = new Uint8Array(readFileSync(signed));
    t[200] = (t[200] ?? 0) ^ 1;
    writeFileSync(join(dir, "tampered.signed"), t);
    const bad = await runAmp(["verify", join(dir, "tampered.signed"), "--key", `${key}.pub`, "--json"]);
    expect(bad.code).toBe(1);
    expect(isOneLine(bad.stderr)).toBe(true);
    expect(JSON.parse(bad.stdout)).toMatchObject({
      error: { code: "ERR_AUTH", message: expect.stringContaining("does NOT verify") as string },
    });
  });
});

describe("JSON-lines commands", () => {
  it("run: one event per line, in order, every line with event and t", async () => {
    const r = await runAmp(["run", echoElf, "--duration", "1", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const events = lines(r.stdout);
    for (const e of events) {
      expect(typeof e["event"]).toBe("string");
      expect(typeof e["t"]).toBe("number");
    }
    const ts = events.map((e) => e["t"] as number);
    expect([...ts].sort((a, b) => a - b)).toEqual(ts);
    const states = events.filter((e) => e["event"] === "state").map((e) => `${String(e["from"])}->${String(e["to"])}`);
    expect(states).toEqual(["offline->running", "running->offline"]);
    expect(events.find((e) => e["event"] === "run")).toMatchObject({ file: echoElf, machine: "worker", duration: 1 });
    expect(events.find((e) => e["event"] === "stop")).toMatchObject({ reason: "duration" });
    // The echo firmware announces its service and traces; a minimal one does neither.
    if (events.some((e) => e["event"] === "channel")) {
      expect(events.find((e) => e["event"] === "channel")).toMatchObject({
        type: "create",
        name: "rpmsg-amp-echo",
        addr: expect.stringMatching(/^0x/) as string,
      });
      expect(events.some((e) => e["event"] === "trace" && typeof e["line"] === "string")).toBe(true);
    }
  });

  it("run: a failure is the stream's last line, {event: error, t, error}", async () => {
    const r = await runAmp(["run", join(dir, "none.elf"), "--json"]);
    expect(r.code).toBe(1);
    expect(isOneLine(r.stderr)).toBe(true);
    const events = lines(r.stdout);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      event: "error",
      error: { code: "ERR_INPUT", message: `${join(dir, "none.elf")}: no such firmware file` },
    });
    expect(typeof events[0]?.["t"]).toBe("number");
  });

  it("vhost-user: a usage error before anything starts", async () => {
    const r = await runAmp(["vhost-user", "--json"]);
    expect(r.code).toBe(2);
    expect(lines(r.stdout)).toMatchObject([{ event: "error", error: { code: "ERR_USAGE" } }]);
  });
});
