// `amp attach` and `amp rpmsg send|listen|echo` (the built CLI, node dist/bin.js, spawned as a
// user runs it) against OpenAMP 1.10's own Linux-machine sample remote, rpmsg-echo
// (openamp-system-reference, built from the pinned sources by scripts/peers/build-openamp.sh).
// The sample hard-codes /dev/shm/openamp.shm and /tmp/openamp.event.0, so every test that runs
// it holds the same flock as packages/node/test/peers/openamp.ts (lockSamplePaths):
// ${AMP_PEERS_CACHE:-${XDG_CACHE_HOME:-~/.cache}/amp-peers}/openamp-linux-sample-paths.lock.
// The error cases that need no remote use files of their own in a temp directory.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { makeTempDir, requireTools, toHex } from "@amp/test-utils";
import { serializeResourceTable } from "@amp/resource-table";
import { AMP_BIN, isOneLine, runAmp } from "../helpers.ts";
// The same lock and paths as @amp/node's OpenAMP tests (the two packages' tests may run at once).
import { lockSamplePaths, removeSampleFiles, SAMPLE_SHM, SAMPLE_SOCKET } from "../../../node/test/peers/openamp.ts";

const ROOT = fileURLToPath(new URL("../../../..", import.meta.url));
const SHM = SAMPLE_SHM;
const SOCKET = SAMPLE_SOCKET;
const CHANNEL = "rpmsg-openamp-demo-channel"; // RPMSG_SERVICE_NAME of the sample (rpmsg-echo.h)
const PRESET = ["--preset", "openamp-linux"];

/** What the native build needs and is missing (locally: skip with a message; CI: throw). */
function missingDeps(): string | undefined {
  const tools = requireTools("cmake", "make", "gcc", "flock");
  if (tools !== undefined) return tools;
  if (!existsSync("/usr/include/sysfs/libsysfs.h")) {
    const msg = "missing libsysfs-dev (libmetal's Linux build needs it; run scripts/install-system-deps.sh as root)";
    if (process.env["CI"] === "true") throw new Error(`CI must have it: ${msg}`);
    console.warn(`skipping: ${msg}`);
    return msg;
  }
  return undefined;
}

/** A child process in its own process group, SIGKILLed (the whole group) after `timeoutMs`. */
interface Proc {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  timedOut(): boolean;
  signal(sig: NodeJS.Signals): void;
  kill(): void;
}

const procs: Proc[] = [];

function start(command: string, args: readonly string[], timeoutMs: number): Proc {
  const child = spawn(command, [...args], {
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, AMP_DEBUG: "" },
  });
  let out = "";
  let err = "";
  let timedOut = false;
  child.stdout.on("data", (c: Buffer) => {
    out += c.toString("utf8");
  });
  child.stderr.on("data", (c: Buffer) => {
    err += c.toString("utf8");
  });
  const signal = (sig: NodeJS.Signals): void => {
    if (child.pid === undefined) return;
    try {
      process.kill(-child.pid, sig);
    } catch {
      // the group is gone
    }
  };
  const timer = setTimeout(() => {
    timedOut = true;
    signal("SIGKILL");
  }, timeoutMs);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once("error", () => {
      clearTimeout(timer);
      resolve({ code: null, signal: null });
    });
    child.once("close", (code, sig) => {
      clearTimeout(timer);
      resolve({ code, signal: sig });
    });
  });
  const p: Proc = {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    timedOut: () => timedOut,
    signal,
    kill: () => {
      signal("SIGKILL");
    },
  };
  procs.push(p);
  return p;
}

/** `amp argv` to the end, as a user runs it. */
async function amp(
  argv: readonly string[],
  timeoutMs = 60_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = start(process.execPath, [AMP_BIN, ...argv], timeoutMs);
  const r = await p.exited;
  expect(p.timedOut(), `amp ${argv.join(" ")} hit its hard timeout: ${p.stderr()}`).toBe(false);
  return { code: r.code, stdout: p.stdout(), stderr: p.stderr() };
}

/** Starts `amp argv` in the background. */
function ampBackground(argv: readonly string[], timeoutMs = 120_000): Proc {
  return start(process.execPath, [AMP_BIN, ...argv], timeoutMs);
}

async function waitUntil<T>(what: string, cond: () => T | undefined | false, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = cond();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

type Event = Record<string, unknown> & { event: string };

/** Every line of `text` as JSON (each must parse). */
function jsonLines(text: string): Event[] {
  return text
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => {
      try {
        return JSON.parse(l) as Event;
      } catch {
        throw new Error(`not a JSON line: ${l}`);
      }
    });
}

/** The sizes 1..n and their sum, as echo sends them by default. */
function sumTo(n: number): number {
  return (n * (n + 1)) / 2;
}

function killAll(): void {
  for (const p of procs.splice(0)) p.kill();
}

beforeAll(() => {
  if (!existsSync(AMP_BIN)) throw new Error("build the package first (pnpm build): dist/bin.js is needed");
});

afterAll(() => {
  killAll();
});

describe("amp attach / amp rpmsg: errors that need no remote", () => {
  const dir = makeTempDir("amp-attach-");
  const sock = join(dir, "bell.sock");
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  /** The OpenAMP sample's table at offset 0 of a 512 KiB file. */
  function memoryFile(name: string, table: Uint8Array | undefined): string {
    const file = new Uint8Array(0x80000);
    if (table !== undefined) file.set(table, 0);
    const path = join(dir, name);
    writeFileSync(path, file);
    return path;
  }
  const sampleTable = (): Uint8Array =>
    serializeResourceTable({
      entries: [
        {
          kind: "vdev",
          id: 7,
          dfeatures: 1,
          notifyId: 0,
          vrings: [
            { da: 0x4000, align: 0x1000, num: 256, notifyId: 1 },
            { da: 0x8000, align: 0x1000, num: 256, notifyId: 2 },
          ],
        },
      ],
    });

  it("--help of the four commands, and a remote is required", async () => {
    for (const argv of [["attach"], ["rpmsg", "send"], ["rpmsg", "listen"], ["rpmsg", "echo"]]) {
      const r = await runAmp([...argv, "--help"]);
      expect(r.code, argv.join(" ")).toBe(0);
      expect(r.stdout).toContain(`Usage: amp ${argv.join(" ")}`);
    }
    const r = await runAmp(["rpmsg", "echo", CHANNEL]);
    expect(r.code).toBe(2);
    expect(isOneLine(r.stderr)).toBe(true);
    expect(r.stderr).toMatch(/no remote given.*--preset openamp-linux/);
  });

  it("memory file missing: ERR_MEMORY_MISSING in one line, and as the last --json event", async () => {
    const r = await amp(["attach", "--memory", join(dir, "none.shm"), "--doorbell", `unix:${sock}`, "--json"]);
    expect(r.code).toBe(1);
    expect(isOneLine(r.stderr), r.stderr).toBe(true);
    expect(r.stderr).toMatch(/^amp attach: no memory file .*none\.shm \[ERR_MEMORY_MISSING\]\. Start the remote first/);
    const events = jsonLines(r.stdout);
    expect(events.map((e) => e.event)).toEqual(["attach", "error"]);
    expect(events[1]).toMatchObject({
      error: { code: "ERR_MEMORY_MISSING", message: expect.stringMatching(/^no memory file .*none\.shm$/) as string },
    });
  });

  it("table invalid: ERR_TABLE_INVALID with the validator's finding; no table: ERR_NO_TABLE", async () => {
    const bad = sampleTable();
    new DataView(bad.buffer).setUint32(16, 3, true); // offset[0] points into the header
    const r = await amp([
      "rpmsg",
      "echo",
      CHANNEL,
      "--memory",
      memoryFile("bad.shm", bad),
      "--doorbell",
      `unix:${sock}`,
      "--timeout",
      "1",
    ]);
    expect(r.code).toBe(1);
    expect(isOneLine(r.stderr), r.stderr).toBe(true);
    expect(r.stderr).toMatch(
      /invalid resource table at 0x0: RSC_OFFSET_IN_HEADER at table offset 0x10: .* \[ERR_TABLE_INVALID\]/,
    );

    const none = await amp([
      "attach",
      "--memory",
      memoryFile("zero.shm", undefined),
      "--doorbell",
      `unix:${sock}`,
      "--timeout",
      "0.3",
    ]);
    expect(none.code).toBe(1);
    expect(isOneLine(none.stderr), none.stderr).toBe(true);
    expect(none.stderr).toMatch(/no resource table at 0x0 of .*zero\.shm .*\[ERR_NO_TABLE\]/);
  });

  it("doorbell missing: ERR_DOORBELL_MISSING after --timeout; message over the MTU: ERR_MSG_SIZE before attaching", async () => {
    const shm = memoryFile("good.shm", sampleTable());
    const r = await amp(["attach", "--memory", shm, "--doorbell", `unix:${sock}`, "--timeout", "0.3"]);
    expect(r.code).toBe(1);
    expect(isOneLine(r.stderr), r.stderr).toBe(true);
    expect(r.stderr).toMatch(/no doorbell socket appeared at .*bell\.sock \[ERR_DOORBELL_MISSING\]/);
    // The table was read and reported before the doorbell wait.
    expect(r.stdout).toMatch(/table {3}at 0x0, 88 bytes, 1 entry, 0 diagnostics/);

    const big = await amp([
      "rpmsg",
      "send",
      CHANNEL,
      "--hex",
      "ab".repeat(497),
      "--memory",
      shm,
      "--doorbell",
      `unix:${sock}`,
      "--json",
    ]);
    expect(big.code).toBe(1);
    expect(isOneLine(big.stderr), big.stderr).toBe(true);
    expect(big.stderr).toMatch(/the message is 497 bytes, more than the MTU of 496 \[ERR_MSG_SIZE\]/);
    // Refused before anything happened: the error is the only line (every --json failure is one).
    expect(jsonLines(big.stdout)).toMatchObject([
      {
        event: "error",
        error: { code: "ERR_MSG_SIZE", message: "the message is 497 bytes, more than the MTU of 496" },
      },
    ]);
    const echo = await amp([
      "rpmsg",
      "echo",
      CHANNEL,
      "--size",
      "1..497",
      "--memory",
      shm,
      "--doorbell",
      `unix:${sock}`,
    ]);
    expect(echo.code).toBe(1);
    expect(echo.stderr).toMatch(/--size 497 is 497 bytes, more than the MTU of 496 \[ERR_MSG_SIZE\]/);
  });

  it("Ctrl-C while waiting for the remote ends amp attach at once (exit 130), nothing left behind", async () => {
    const shm = memoryFile("wait.shm", sampleTable());
    const session = join(dir, "wait-session.sock");
    const attach = ampBackground([
      "attach",
      "--memory",
      shm,
      "--doorbell",
      `unix:${sock}`,
      "--session",
      session,
      "--timeout",
      "60",
    ]);
    await waitUntil("the table line", () => attach.stdout().includes("table ") || attach.child.exitCode !== null);
    attach.signal("SIGINT");
    const r = await attach.exited;
    expect(r.code, attach.stderr()).toBe(130);
    expect(attach.stdout()).toMatch(/stop {4}interrupted before the remote was attached/);
    expect(existsSync(session)).toBe(false);
  });
});

const missing = missingDeps();

describe.skipIf(missing)(
  "amp attach / amp rpmsg <-> OpenAMP 1.10 rpmsg-echo (Linux machine)",
  { concurrent: false },
  () => {
    let echoBin = "";
    let lock: { release(): void } | undefined;

    beforeAll(async () => {
      const started = Date.now();
      const build = start("bash", [join(ROOT, "scripts", "peers", "build-openamp.sh")], 15 * 60_000);
      const r = await build.exited;
      if (r.code !== 0)
        throw new Error(
          `scripts/peers/build-openamp.sh failed (${r.signal ?? `exit ${r.code}`}):\n${build.stderr().slice(-6000)}`,
        );
      const prefix = build.stdout().trim().split("\n").pop() ?? "";
      echoBin = join(prefix, "bin", "rpmsg-echo");
      if (!existsSync(echoBin)) throw new Error(`build-openamp.sh printed ${prefix}, but ${echoBin} does not exist`);
      console.log(`OpenAMP native build: ${prefix} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
      lock = await lockSamplePaths();
      removeSampleFiles();
    }, 20 * 60_000);

    afterEach(() => {
      killAll();
      removeSampleFiles();
    });

    afterAll(() => {
      killAll();
      removeSampleFiles();
      lock?.release();
    });

    /** Starts rpmsg-echo (it writes the table, then listens on the doorbell) and waits until it listens. */
    async function startEcho(): Promise<Proc> {
      removeSampleFiles();
      const echo = start(echoBin, [], 150_000);
      await waitUntil("rpmsg-echo to listen on its doorbell", () => existsSync(SOCKET) || echo.child.exitCode !== null);
      expect(echo.child.exitCode, echo.stdout()).toBeNull();
      return echo;
    }

    it("amp attach --json: table, DRIVER_OK, the channel; send/listen/echo through its session; errors; Ctrl-C detaches", async () => {
      const echo = await startEcho();
      const attach = ampBackground(["attach", ...PRESET, "--json"]);
      const events = (): Event[] => jsonLines(attach.stdout().slice(0, attach.stdout().lastIndexOf("\n") + 1));
      await waitUntil(
        `amp attach's session and channel (${attach.stderr()})`,
        () =>
          (events().some((e) => e.event === "session") && events().some((e) => e.event === "channel")) ||
          attach.child.exitCode !== null,
      );
      const seen = events();
      // The remote announces in its own time: the channel comes after the link, before or after
      // the session line (amp attach opens the control socket meanwhile).
      expect(seen.map((e) => e.event).filter((e) => e !== "channel")).toEqual(["attach", "table", "link", "session"]);
      expect(seen.findIndex((e) => e.event === "channel")).toBeGreaterThan(2);
      expect(seen[0]).toMatchObject({ memory: SHM, doorbell: `unix:${SOCKET}`, preset: "openamp-linux" });
      expect(seen[1]).toMatchObject({ da: "0x0", size: 88, diagnostics: [], errors: 0 });
      expect((seen[1]!["table"] as { entries: unknown[] }).entries).toMatchObject([
        {
          kind: "vdev",
          id: 7,
          dfeatures: "0x1",
          status: "0x0",
          vrings: [
            { da: "0x4000", num: 256, align: "0x1000" },
            { da: "0x8000", num: 256, align: "0x1000" },
          ],
        },
      ]);
      // DRIVER_OK (ACKNOWLEDGE | DRIVER | DRIVER_OK; legacy: no FEATURES_OK), the name service.
      expect(seen[2]).toMatchObject({
        status: "0x7",
        features: "0x1",
        nameService: true,
        mtu: 496,
        buffers: { size: 512, rx: 256, tx: 256, rxAddr: "0x10000", txAddr: "0x30000" },
      });
      expect(seen.filter((e) => e.event === "channel")).toMatchObject([
        { type: "create", name: CHANNEL, addr: "0x400" },
      ]);
      for (const e of seen) expect(typeof e["t"]).toBe("number");

      // listen, then send three messages (text, --hex, --file) from other processes: the
      // remote answers the address that wrote to it, which is the session's endpoint.
      const listen = ampBackground(["rpmsg", "listen", CHANNEL, ...PRESET, "--count", "3", "--json"]);
      await waitUntil(
        `the listener (${listen.stderr()})`,
        () => listen.stdout().includes('"event":"listen"') || listen.child.exitCode !== null,
      );
      const sent: { argv: string[]; bytes: Uint8Array }[] = [
        { argv: ["hello, OpenAMP"], bytes: new TextEncoder().encode("hello, OpenAMP") },
        { argv: ["--hex", "de ad be ef 00 01"], bytes: Uint8Array.of(0xde, 0xad, 0xbe, 0xef, 0x00, 0x01) },
        {
          argv: ["--file", join(makeTempDir("amp-send-"), "data.bin")],
          bytes: Uint8Array.from({ length: 496 }, (_, i) => (i * 13 + 5) & 0xff),
        },
      ];
      writeFileSync(sent[2]!.argv[1]!, sent[2]!.bytes);
      for (const s of sent) {
        const r = await amp(["rpmsg", "send", CHANNEL, ...s.argv, ...PRESET, "--json"]);
        expect(r.code, r.stderr).toBe(0);
        expect(jsonLines(r.stdout)).toMatchObject([
          { event: "sent", channel: CHANNEL, remote: "0x400", local: "0x400", length: s.bytes.length },
        ]);
        expect(String(jsonLines(r.stdout)[0]!["via"])).toMatch(/^amp attach \(pid \d+/);
      }
      const lr = await listen.exited;
      expect(lr.code, listen.stderr()).toBe(0);
      const heard = jsonLines(listen.stdout());
      expect(heard.map((e) => e.event)).toEqual(["listen", "message", "message", "message", "stop"]);
      expect(heard.slice(1, 4).map((m) => [m["src"], m["length"], m["hex"]])).toEqual(
        sent.map((s) => ["0x400", s.bytes.length, toHex(s.bytes)]),
      );
      expect(heard[1]!["text"]).toBe("hello, OpenAMP");
      expect(heard[2]!["text"]).toBeUndefined(); // not valid text: hex only
      expect(heard[4]).toMatchObject({ reason: "count", messages: 3 });

      // echo through the session: every size 1..496 once, then 300 more with 8 in flight.
      const e1 = await amp(["rpmsg", "echo", CHANNEL, ...PRESET, "--count", "496", "--json"]);
      expect(e1.code, e1.stderr).toBe(0);
      const r1 = jsonLines(e1.stdout);
      expect(r1.map((e) => e.event)).toEqual(["echo", "result"]);
      expect(r1[0]).toMatchObject({ channel: CHANNEL, remote: "0x400", count: 496, sizes: [1, 496], window: 1 });
      expect(r1[1]).toMatchObject({
        sent: 496,
        sentBytes: sumTo(496),
        echoed: 496,
        echoedBytes: sumTo(496),
        matched: 496,
        mismatches: 0,
        interrupted: false,
      });
      const rtt = r1[1]!["rttMs"] as { median: number; p99: number; max: number };
      expect(rtt.median).toBeGreaterThan(0);
      expect(rtt.p99).toBeGreaterThanOrEqual(rtt.median);
      const e2 = await amp([
        "rpmsg",
        "echo",
        CHANNEL,
        ...PRESET,
        "--count",
        "300",
        "--size",
        "400..496",
        "--window",
        "8",
        "--json",
      ]);
      expect(e2.code, e2.stderr).toBe(0);
      const sizes = Array.from({ length: 300 }, (_, i) => 400 + (i % 97));
      expect(jsonLines(e2.stdout)[1]).toMatchObject({
        sent: 300,
        matched: 300,
        mismatches: 0,
        sentBytes: sizes.reduce((a, b) => a + b, 0),
      });
      expect(Number(jsonLines(e2.stdout)[1]!["maxInFlight"])).toBeGreaterThanOrEqual(2);
      console.log(
        `via amp attach: listen heard 3/3 sends; echo 496/496 (1..496 bytes, ${sumTo(496)} bytes) and 300/300 (400..496 bytes, 8 in flight) byte-identical; rtt ${JSON.stringify(rtt)}`,
      );

      // Errors, one line each with a stable code.
      const unknown = await amp(["rpmsg", "echo", "no-such-channel", ...PRESET, "--timeout", "0.5"]);
      expect(unknown.code).toBe(1);
      expect(isOneLine(unknown.stderr), unknown.stderr).toBe(true);
      expect(unknown.stderr).toContain(
        `channel "no-such-channel" was not announced within 0.5 s (announced: "${CHANNEL}" at 0x400) [ERR_NOT_ANNOUNCED]`,
      );
      const again = await amp(["attach", ...PRESET, "--timeout", "1"]);
      expect(again.code).toBe(1);
      expect(isOneLine(again.stderr), again.stderr).toBe(true);
      expect(again.stderr).toMatch(/another amp attach serves .* \[ERR_SESSION_BUSY\]/);

      // Ctrl-C: detach, exit 0, the control socket removed; the remote keeps running.
      attach.signal("SIGINT");
      const ar = await attach.exited;
      expect(ar.code, attach.stderr()).toBe(0);
      expect(attach.stderr()).toBe("");
      expect(existsSync(String(seen.find((e) => e.event === "session")!["path"]))).toBe(false);
      const all = events();
      expect(all.filter((e) => e.event === "client" && e["type"] === "open")).toHaveLength(6); // listen, 3 sends, 2 echoes
      expect(all.filter((e) => e.event === "client" && e["type"] === "refused")).toMatchObject([
        { channel: "no-such-channel", code: "ERR_NOT_ANNOUNCED" },
      ]);
      expect(all.at(-1)).toMatchObject({ event: "stop", reason: "interrupted" });
      expect(echo.child.exitCode).toBeNull();
    });

    it("amp rpmsg echo attaches by itself: 992 messages of 1..496 bytes byte-identical; then the doorbell refuses a second host", async () => {
      const echo = await startEcho();
      const r = await amp(["rpmsg", "echo", CHANNEL, ...PRESET, "--count", "992", "--window", "4"]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain(
        `echo    "${CHANNEL}" at 0x400 (our address 0x400, MTU 496, via attached for this command): 992 messages of 1..496 bytes, 4 in flight`,
      );
      expect(r.stdout).toContain(
        `result  992 sent (${2 * sumTo(496)} bytes), 992 echoed (${2 * sumTo(496)} bytes), 992 byte-identical, 0 mismatches`,
      );
      expect(r.stdout).toMatch(/round trip median [\d.]+ ms, p99 [\d.]+ ms, max [\d.]+ ms/);
      console.log(`attached for the command: ${r.stdout.trim().split("\n").slice(1).join(" | ")}`);

      // OpenAMP's Linux machine accepts one doorbell connection per run; its socket file stays.
      const again = await amp(["attach", ...PRESET, "--timeout", "3"]);
      expect(again.code).toBe(1);
      expect(isOneLine(again.stderr), again.stderr).toBe(true);
      expect(again.stderr).toMatch(
        /^amp attach: the doorbell \/tmp\/openamp\.event\.0 refused the connection: nothing listens on it \[ERR_DOORBELL_REFUSED\]\. /,
      );
      expect(echo.child.exitCode).toBeNull();
    });

    it("amp attach --timeout detaches after that time (exit 0) and leaves the remote running", async () => {
      const echo = await startEcho();
      const r = await amp(["attach", ...PRESET, "--timeout", "1.5"]);
      expect(r.code, r.stderr).toBe(0);
      const lines = r.stdout.trim().split("\n");
      const tags = lines.map((l) => l.slice(11, 19).trim());
      // The announcement comes after the link, before or after the session line (see above).
      expect(tags.filter((t) => t !== "channel")).toEqual(["attach", "table", "", "", "", "link", "session", "stop"]);
      expect(tags.filter((t) => t === "channel")).toHaveLength(1);
      expect(tags.indexOf("channel")).toBeGreaterThan(tags.indexOf("link"));
      expect(lines.at(-1)).toMatch(/stop {4}time is up: detached, the remote keeps running$/);
      expect(echo.child.exitCode).toBeNull();
    });

    it("the remote going away (the sample's shutdown message) ends amp attach: channel withdrawn, ERR_REMOTE_GONE", async () => {
      const echo = await startEcho();
      const attach = ampBackground(["attach", ...PRESET]);
      // The announcement may come before or after the session line: wait for both.
      await waitUntil(
        `amp attach's session and channel (${attach.stderr()})`,
        () =>
          (attach.stdout().includes("session ") && attach.stdout().includes("channel ")) ||
          attach.child.exitCode !== null,
      );
      expect(attach.stdout()).toMatch(
        /link {4}up: status 0x7 \(ACKNOWLEDGE \| DRIVER \| DRIVER_OK\), features 0x1 \(name service\), 256 rx \+ 256 tx buffers of 512 bytes at 0x10000, MTU 496/,
      );
      expect(attach.stdout()).toMatch(/channel "rpmsg-openamp-demo-channel" announced by the remote at 0x400/);
      // rpmsg-echo.c ends on a message whose first u32 is SHUTDOWN_MSG (0xEF56A55A, little-endian).
      const r = await amp(["rpmsg", "send", CHANNEL, "--hex", "5aa556ef", ...PRESET]);
      expect(r.code, r.stderr).toBe(0);
      expect(await echo.exited).toEqual({ code: 0, signal: null });
      const ar = await attach.exited;
      expect(ar.code).toBe(1);
      expect(attach.stdout()).toMatch(/channel "rpmsg-openamp-demo-channel" withdrawn by the remote at 0x400/);
      expect(attach.stdout()).toMatch(/gone {4}the remote closed its doorbell/);
      expect(isOneLine(attach.stderr()), attach.stderr()).toBe(true);
      expect(attach.stderr()).toMatch(/^amp attach: the remote closed its doorbell .*\[ERR_REMOTE_GONE\]/);
    });
  },
);
