// Benchmark (not a test): a real Linux 6.1 kernel (User-Mode Linux) driving @amp devices over
// vhost-user, timed from Linux userspace with the guest tools (tools/peers/uml/guest):
//   boot: spawn of the kernel -> its /init running, and -> "rpmsg host is online"
//   rpmsg echo round trip: /dev/rpmsgN (an endpoint made through /dev/rpmsg_ctrl0) <-> an @amp
//     echo endpoint, one message in flight, 64 and 496 bytes
//   I2C read latency: one I2C_RDWR (write the register number, read 2 bytes) on /dev/i2c-0 to
//     @amp's TMP102-style sensor
// Run: npx tsc -p tsconfig.build.json && node bench/linux.mjs   (builds or reuses the UML kernel:
//   scripts/peers/build-uml-kernel.sh, ~20 min the first time). Env: AMP_BENCH_N (default 2000).
import { execFileSync, spawn } from "node:child_process";
import console from "node:console";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import process from "node:process";
import { performance } from "node:perf_hooks";
import { clearTimeout, setTimeout } from "node:timers";
import { fileURLToPath } from "node:url";
import { I2cBusServer, I2cTemperatureSensor } from "@amp/virtual-io";
import { serveVhostUserDevice, serveVhostUserRpmsg } from "@amp/node";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const N = Number(process.env.AMP_BENCH_N ?? 2000);
const build = (script) =>
  execFileSync("bash", [join(root, "scripts/peers", script)], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  })
    .trim()
    .split("\n")
    .pop();

const linux = build("build-uml-kernel.sh");
const initrd = build("build-uml-initramfs.sh");
const dir = mkdtempSync(join(tmpdir(), "amp-bench-linux-"));
const shm = mkdtempSync(join("/dev/shm", "amp-bench-uml-"));
mkdirSync(join(shm, "host"));
writeFileSync(
  join(shm, "host", "test.sh"),
  `dev=$(rpmsg-ept create /dev/rpmsg_ctrl0 bench 0x30) || exit 1
rpmsg-ept bench $dev ${N} 64
rpmsg-ept bench $dev ${N} 496
i2c-bench /dev/i2c-0 0x48 0 2 ${N}
`,
);

const rpmsg = await serveVhostUserRpmsg({ socketPath: join(dir, "rpmsg.sock"), nameService: false });
const echo = (m, ep) => void ep.sendTo(m.src, m.data.slice());
rpmsg.remote.createEndpoint({ addr: 0x30, onMessage: echo });
const bus = new I2cBusServer();
bus.attach(0x48, new I2cTemperatureSensor(23.25).target);
const i2c = await serveVhostUserDevice(bus, { socketPath: join(dir, "i2c.sock") });

const t0 = performance.now();
const child = spawn(
  linux,
  [
    "mem=64M",
    `initrd=${initrd}`,
    `uml_dir=${shm}`,
    `virtio_uml.device=${join(dir, "rpmsg.sock")}:7`,
    `virtio_uml.device=${join(dir, "i2c.sock")}:34`,
    "con=null",
    "con0=fd:0,fd:1",
    `ampdir=${join(shm, "host")}`,
  ],
  {
    stdio: ["pipe", "pipe", "pipe"],
    detached: true,
    env: { ...process.env, TMPDIR: shm },
  },
);
const results = {};
let out = "";
const onData = (d) => {
  out += d.toString();
  let i;
  while ((i = out.indexOf("\n")) >= 0) {
    const line = out.slice(0, i);
    out = out.slice(i + 1);
    const at = +(performance.now() - t0).toFixed(0);
    if (line.startsWith("@@amp init")) results.boot_to_init_ms = at;
    if (line.includes("rpmsg host is online")) results.boot_to_rpmsg_online_ms = at;
    if (/^rpmsg-bench:|^i2c-bench:/.test(line)) console.log(line);
    if (/BUG:|WARNING:|Kernel panic/.test(line)) console.log(`kernel: ${line}`);
  }
};
child.stdout.on("data", onData);
child.stderr.on("data", onData);
const guard = setTimeout(() => process.kill(-child.pid, "SIGKILL"), 300_000);
await new Promise((r) => child.on("close", r));
clearTimeout(guard);
try {
  process.kill(-child.pid, "SIGKILL");
} catch {
  // the group is gone
}
await rpmsg.close();
await i2c.close();
rmSync(dir, { recursive: true, force: true });
rmSync(shm, { recursive: true, force: true });
console.log(JSON.stringify({ ...results, load: loadavg().map((x) => +x.toFixed(2)) }));
