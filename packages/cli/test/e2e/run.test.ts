// End-to-end (firmware build, run, demo, QEMU): the built `amp` (node dist/bin.js) spawned as a user runs it.
import { beforeAll, describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { copyFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { makeTempDir, requireTools, run } from "@amp/test-utils";
import { AMP_BIN, isOneLine, spawnAmp } from "../helpers.ts";

const ECHO_ELF = fileURLToPath(new URL("../../dist/firmware/echo.elf", import.meta.url));
const dir = makeTempDir("amp-e2e-");

beforeAll(() => {
  if (!existsSync(AMP_BIN) || !existsSync(ECHO_ELF))
    throw new Error("build the package first (pnpm build): dist/bin.js and dist/firmware/echo.elf are needed");
});

describe("amp firmware build + amp run", () => {
  it("bundles a TypeScript firmware, builds the ELF and runs it: announcement, trace, clean stop", () => {
    const src = join(dir, "svc.ts");
    writeFileSync(
      src,
      [
        'import { defineFirmware } from "@amp/node/firmware";',
        "const greeting: string = 'hello from a test firmware';",
        "export default defineFirmware(async (fw) => {",
        "  fw.trace(greeting);",
        "  const rpmsg = fw.rpmsg();",
        '  rpmsg.createEndpoint({ name: "test-service", onMessage: (m, ep) => { ep.trySendTo(m.src, m.data); } });',
        "  await fw.run(rpmsg);",
        "});",
      ].join("\n"),
    );
    const elf = join(dir, "svc.elf");
    const b = spawnAmp(["firmware", "build", src, "-o", elf]);
    expect(b.code, b.stderr).toBe(0);
    const doc = JSON.parse(spawnAmp(["inspect", elf, "--json"]).stdout);
    expect(doc.resourceTable.entries.map((e: { kind: string }) => e.kind)).toEqual(["vdev", "trace"]);
    const r = spawnAmp(["run", elf, "--duration", "4"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/state {2}offline -> running/);
    expect(r.stdout).toMatch(/rpmsg {2}channel "test-service" announced by the remote at address 0x400/);
    expect(r.stdout).toMatch(/trace {2}hello from a test firmware/);
    expect(r.stdout).toMatch(/state {2}running -> offline/);
  });

  it("explains a firmware source that does not compile, in one line", () => {
    const src = join(dir, "broken.ts");
    writeFileSync(src, 'import { nothing } from "./does-not-exist";\nexport default nothing;\n');
    const r = spawnAmp(["firmware", "build", src, "-o", join(dir, "broken.elf")]);
    expect(r.code).toBe(1);
    expect(isOneLine(r.stderr)).toBe(true);
    expect(r.stderr).toMatch(/cannot bundle/);
  });

  it("waits for a firmware file that appears later, boots it, and shuts down cleanly on Ctrl-C", async () => {
    const late = join(dir, "late", "fw.elf");
    const lateDir = join(dir, "late");
    const { mkdirSync } = await import("node:fs");
    mkdirSync(lateDir);
    const child = spawn(process.execPath, [AMP_BIN, "run", late, "--wait"], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    const seen = (re: RegExp): Promise<void> =>
      new Promise((resolve, reject) => {
        const t = setInterval(() => {
          if (re.test(out)) {
            clearInterval(t);
            resolve();
          }
        }, 20);
        child.once("exit", () => {
          clearInterval(t);
          if (!re.test(out)) reject(new Error(`exited before ${re}: ${out}`));
        });
      });
    await seen(/wait {3}for/);
    copyFileSync(ECHO_ELF, late);
    await seen(/channel "rpmsg-amp-echo" announced/);
    const exit = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    child.kill("SIGINT");
    expect(await exit).toBe(0);
    expect(out).toMatch(/stop {3}interrupted: shutting down/);
    expect(out).toMatch(/state {2}running -> offline/);
  });
});

describe("amp demo", () => {
  it("runs the whole life cycle and exits 0; the coredump it writes is readable", () => {
    const core = join(dir, "demo.core");
    const r = spawnAmp(["demo", "--messages", "200", "--coredump", core]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/channel "rpmsg-amp-echo" announced/);
    expect(r.stdout).toMatch(
      /echo {3}warm-up: 2500 messages, first round trip \d+ µs, slowest \d+ µs \(not in the statistics below\)/,
    );
    expect(r.stdout).toMatch(
      /echo {3}200 messages of 64 bytes echoed and verified .* median \d+ µs, p90 \d+ µs, p99 \d+ µs, max \d+ µs/,
    );
    expect(r.stdout).toMatch(
      /echo {3}(no round trip above 1 ms|\d+ of 200 round trips above 1 ms, from #\d+ to #\d+, slowest #\d+)/,
    );
    expect(r.stdout).toMatch(/trace {2}echo: firmware started/);
    // The virtual-I/O act: devices the firmware lends over rpmsg, used by the host.
    expect(r.stdout).toMatch(/rpmsg {2}channel "amp-i2c" announced/);
    expect(r.stdout).toMatch(/rpmsg {2}channel "amp-gpio" announced/);
    // firmware/echo.ts configures the sensor model with 23.25 °C (TMP102 register 0x1740).
    expect(r.stdout).toMatch(
      /vio {4}i2c: the remote's sensor at 0x48 read over rpmsg "amp-i2c": register 0 = 0x1740, 23\.25 °C/,
    );
    expect(r.stdout).toMatch(/vio {4}gpio: line 0 \("led0"\) driven high over rpmsg "amp-gpio", reads back high/);
    expect(r.stdout).toMatch(/vio {4}gpio: line 0 \("led0"\) driven low over rpmsg "amp-gpio", reads back low/);
    // The remote saw the line change, in its own trace log, high before low.
    const high = r.stdout.indexOf("trace  gpio: line 0 (led0) driven high by the host");
    const low = r.stdout.indexOf("trace  gpio: line 0 (led0) driven low by the host");
    expect(high).toBeGreaterThan(0);
    expect(low).toBeGreaterThan(high);
    // ...all before the crash is injected.
    expect(low).toBeLessThan(r.stdout.indexOf('inject sending "crash!"'));
    expect(r.stdout).toMatch(/crash {2}fatal error: injected fault/);
    expect(r.stdout).toMatch(/state {2}running -> crashed/);
    expect(r.stdout).toMatch(/state {2}crashed -> running/);
    expect(r.stdout).toMatch(/state {2}running -> offline/);
    expect(r.stdout).toMatch(/1 crash recovered automatically/);
    const c = spawnAmp(["coredump", core, "--json"]);
    expect(c.code).toBe(0);
    const doc = JSON.parse(c.stdout);
    expect(doc).toMatchObject({ class: "ELF32", machine: 0, entry: "0x1000", format: "segments" });
    // The first region is the program image: it starts with the JS-firmware magic.
    const bytes = new Uint8Array(readFileSync(core));
    const first = doc.regions[0];
    expect(first.da).toBe("0x1000");
    expect(new TextDecoder().decode(bytes.subarray(Number(first.fileOffset), Number(first.fileOffset) + 7))).toBe(
      "AMPJSFW",
    );
    // The remote's last words, found in the core the way the firmware finds its trace buffer.
    expect(doc.trace).toMatch(/echo: crash requested, faulting now\n$/);
    // Beside the firmware image: the vrings and the rpmsg buffers, where the host's last messages are.
    const regions = doc.regions as { da: string; size: string; fileOffset: string }[];
    expect(regions.some((x) => Number(x.da) >= 0x400000)).toBe(true);
    const shared = regions
      .filter((x) => Number(x.da) >= 0x400000)
      .map((x) =>
        Buffer.from(bytes.subarray(Number(x.fileOffset), Number(x.fileOffset) + Number(x.size))).toString("latin1"),
      )
      .join("");
    expect(shared).toContain("crash!");
    expect(spawnAmp(["coredump", core]).stdout).toMatch(
      /trace buffer at the time of the dump[\s\S]*echo: crash requested/,
    );
  });
});

describe.skipIf(requireTools("qemu-system-arm", "arm-none-eabi-gcc") !== undefined)("amp run --machine qemu", () => {
  it("boots the C echo firmware of @amp/node on an emulated Cortex-M4 and shuts it down", () => {
    const out = join(dir, "qemu");
    const script = fileURLToPath(new URL("../../../node/firmware/qemu/build.sh", import.meta.url));
    run("sh", [script, out]);
    const r = spawnAmp(["run", join(out, "amp-echo.elf"), "--machine", "qemu", "--duration", "4"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/state {2}offline -> running/);
    expect(r.stdout).toMatch(/rpmsg {2}channel "rpmsg-echo" announced by the remote/);
    expect(r.stdout).toMatch(/trace {2}amp-echo: boot/);
    expect(r.stdout).toMatch(/state {2}running -> offline/);
  });
});
