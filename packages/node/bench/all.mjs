// `pnpm bench` entry for @amp/node: the worker-thread echo bench, then the QEMU bench when its
// tools are installed (qemu-system-arm, arm-none-eabi-gcc; scripts/install-system-deps.sh).
import { spawnSync } from "node:child_process";
import console from "node:console";
import process from "node:process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const has = (tool) => spawnSync("sh", ["-c", `command -v ${tool}`]).status === 0;
const run = (file) => spawnSync(process.execPath, [join(here, file)], { stdio: "inherit" }).status ?? 1;

let status = run("run.mjs");
if (has("qemu-system-arm") && has("arm-none-eabi-gcc")) status ||= run("qemu.mjs");
else
  console.log("QEMU bench skipped: qemu-system-arm and arm-none-eabi-gcc are needed (scripts/install-system-deps.sh)");
process.exit(status);
