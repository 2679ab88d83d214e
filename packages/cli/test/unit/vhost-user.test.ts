// amp vhost-user in-process: what it prints, its one-line usage errors, and that stopping it
// (Ctrl-C is an aborted signal here) removes every socket it created. The frontend side (a real
// Linux kernel) is tested in @amp/node's test/linux.
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { requireTools } from "@amp/test-utils";
import { isOneLine, runAmp } from "../helpers.ts";

const dir = mkdtempSync(join(tmpdir(), "amp-vu-cli-"));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});
const noCc = requireTools("cc");

describe("amp vhost-user", () => {
  it("has --help with the device options", async () => {
    const r = await runAmp(["vhost-user", "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Usage: amp vhost-user");
    for (const o of ["--rpmsg", "--i2c", "--eeprom", "--sensor", "--gpio", "--lines", "--console"])
      expect(r.stdout).toContain(o);
  });

  it("refuses to start without a device, or with a model but no bus, in one line", async () => {
    for (const argv of [
      [],
      ["--eeprom", "0x50"],
      ["--lines", "a,b"],
      ["--i2c", join(dir, "x.sock"), "--eeprom", "0x99"],
      ["--i2c", join(dir, "x.sock"), "--eeprom", "0x50:300"],
    ]) {
      const r = await runAmp(["vhost-user", ...argv]);
      expect(r.code, argv.join(" ")).toBe(2);
      expect(isOneLine(r.stderr), r.stderr).toBe(true);
      expect(r.stderr).toContain("amp vhost-user --help");
    }
  });

  it.skipIf(noCc !== undefined)("serves every device kind until stopped, then removes its sockets", async () => {
    const socks = ["rpmsg", "i2c", "gpio", "hvc"].map((n) => join(dir, `${n}.sock`));
    const [rpmsg = "", i2c = "", gpio = "", hvc = ""] = socks;
    const ac = new AbortController();
    const running = runAmp(
      [
        "vhost-user",
        "--rpmsg",
        rpmsg,
        "--service",
        "rpmsg-raw",
        "--service",
        "rpmsg-tty",
        "--echo-addr",
        "0x30",
        "--i2c",
        i2c,
        "--eeprom",
        "0x50",
        "--sensor",
        "0x48:23.5",
        "--gpio",
        gpio,
        "--lines",
        "led0,,irq",
        "--console",
        hvc,
      ],
      dir,
      ac.signal,
    );
    for (let i = 0; i < 200 && !socks.every((s) => existsSync(s)); i++) await new Promise((r) => setTimeout(r, 25));
    expect(socks.map((s) => existsSync(s))).toEqual([true, true, true, true]);
    ac.abort();
    const r = await running;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("i2c    EEPROM 256 B at 0x50, sensor 23.5 °C at 0x48");
    expect(r.stdout).toContain("gpio   3 lines: led0 - irq");
    expect(r.stdout).toContain("rpmsg  echo services rpmsg-raw, rpmsg-tty, and an unannounced echo endpoint at 0x30");
    expect(r.stdout).toContain(
      `listen virtio_uml.device=${i2c}:34 virtio_uml.device=${gpio}:41 virtio_uml.device=${hvc}:3 virtio_uml.device=${rpmsg}:7`,
    );
    expect(r.stdout).toContain("stop   sockets removed");
    expect(socks.map((s) => existsSync(s))).toEqual([false, false, false, false]);
  });

  it.skipIf(noCc !== undefined)("a socket path that is too long is one line", async () => {
    const r = await runAmp(["vhost-user", "--console", join(dir, "x".repeat(120))]);
    expect(r.code).toBe(1);
    expect(isOneLine(r.stderr), r.stderr).toBe(true);
    expect(r.stderr).toMatch(/longer than 107 bytes/);
  });
});
