#!/usr/bin/env node
// The `amp` executable: wires main() to the process. Ctrl-C aborts the running command (which
// shuts down cleanly); a second Ctrl-C exits at once.
import { main } from "./main.js";

const controller = new AbortController();
let interrupted = false;
process.on("SIGINT", () => {
  if (interrupted) process.exit(130);
  interrupted = true;
  controller.abort(new Error("interrupted"));
});
process.on("SIGTERM", () => {
  controller.abort(new Error("terminated"));
});

const code = await main(
  process.argv.slice(2),
  {
    stdout: (d) => process.stdout.write(d),
    stderr: (d) => process.stderr.write(d),
    cwd: process.cwd(),
    interactive: process.stderr.isTTY,
    signal: controller.signal,
  },
  { debug: process.env["AMP_DEBUG"] === "1" },
);
process.exitCode = code;
