// `amp vhost-user` (the built CLI, node dist/bin.js, spawned as a user runs it) serving a real
// Linux 6.1 kernel (User-Mode Linux, booted by @amp/node's test harness): rpmsg through
// /dev/rpmsg_ctrl0 and an announced rpmsg-raw channel, the I2C sensor and EEPROM, the console;
// then Ctrl-C (SIGINT) ends it with its sockets and relay processes gone.
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AMP_BIN } from "../helpers.ts";
import { bootGuest, missingUmlDeps, tail, umlImages, type UmlImages } from "../../../node/test/linux/uml.ts";

const skip = missingUmlDeps();

describe.skipIf(skip !== undefined)("amp vhost-user with Linux 6.1 (UML) as the frontend", () => {
  let images: UmlImages;
  let dir = "";
  beforeAll(async () => {
    if (!existsSync(AMP_BIN)) throw new Error("build the package first (pnpm build): dist/bin.js is needed");
    images = await umlImages();
    dir = mkdtempSync(join(tmpdir(), "amp-cli-vu-"));
  }, 90 * 60_000);
  afterAll(() => {
    if (dir !== "") rmSync(dir, { recursive: true, force: true });
  });

  it("serves rpmsg, i2c and a console to Linux userspace; Ctrl-C removes sockets and relays", async () => {
    const sock = { rpmsg: join(dir, "r.sock"), i2c: join(dir, "i.sock"), hvc: join(dir, "c.sock") };
    const cli = spawn(
      process.execPath,
      [
        AMP_BIN,
        "vhost-user",
        "--rpmsg",
        sock.rpmsg,
        "--service",
        "rpmsg-raw",
        "--echo-addr",
        "0x30",
        "--i2c",
        sock.i2c,
        "--eeprom",
        "0x50",
        "--sensor",
        "0x48:23.25",
        "--console",
        sock.hvc,
      ],
      { stdio: ["ignore", "pipe", "pipe"], detached: true },
    );
    let out = "";
    cli.stdout.on("data", (d: Buffer) => (out += d.toString()));
    cli.stderr.on("data", (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => cli.on("close", resolve));
    try {
      for (let i = 0; i < 400 && !out.includes("serving; press Ctrl-C"); i++)
        await new Promise((r) => setTimeout(r, 25));
      expect(out).toContain("serving; press Ctrl-C");
      const guest = bootGuest({
        images,
        devices: [
          { socket: sock.rpmsg, id: 7 },
          { socket: sock.i2c, id: 34 },
          { socket: sock.hvc, id: 3 },
        ],
        timeoutMs: 90_000,
        script: String.raw`
dev=$(rpmsg-ept create /dev/rpmsg_ctrl0 app 0x30) && rpmsg-ept echo $dev 300 496 && echo "AMP-PASS ctrl"
i=0; while [ $i -lt 100 ]; do raw=$(rpmsg-ept find rpmsg-raw 2>/dev/null) && break; sleep 0.1; i=$((i+1)); done
rpmsg-ept echo "$raw" 300 496 && echo "AMP-PASS raw"
[ "$(i2cget -y 0 0x48 0x00 w)" = 0x4017 ] && echo "AMP-PASS sensor"
i2cset -y 0 0x50 0x05 0x5a && [ "$(i2cget -y 0 0x50 0x05)" = 0x5a ] && echo "AMP-PASS eeprom"
exec 3<>/dev/hvc0; stty raw -echo <&3
printf 'ping\n' >&3
[ "$(timeout 5 head -c 5 <&3)" = "ping" ] && echo "AMP-PASS console"
`,
      });
      const r = await guest.done;
      const why = `${tail(r)}\n--- amp:\n${out}`;
      expect(r.trouble, why).toEqual([]);
      expect(r.passed, why).toEqual(["ctrl", "raw", "sensor", "eeprom", "console"]);
      expect(out).toContain('console linux wrote "ping\\n"; echoed back');
      expect(out).toContain("rpmsg  link up: announcing rpmsg-raw");
      expect(out).toContain("rpmsg  link down after 600 messages echoed");
    } finally {
      cli.kill("SIGINT");
      const t = setTimeout(() => {
        try {
          process.kill(-(cli.pid ?? 0), "SIGKILL");
        } catch {
          /* gone */
        }
      }, 10_000);
      const code = await exited;
      clearTimeout(t);
      expect(code, out).toBe(0);
    }
    expect(out).toContain("stop   sockets removed");
    expect(Object.values(sock).filter((s) => existsSync(s))).toEqual([]);
    // no relay outlived the CLI
    const ps = execFileSync("ps", ["-eo", "args"], { encoding: "utf8" });
    expect(ps.split("\n").filter((l) => l.includes("amp-vhost-relay") && l.includes(dir))).toEqual([]);
  }, 180_000);
});
