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
// The reader of stdout went away (`amp demo --json | head -3`): stop writing and end the command
// as Ctrl-C would (a clean shutdown), instead of dying on an unhandled EPIPE.
let stdoutClosed = false;
process.stdout.on("error", (e: NodeJS.ErrnoException) => {
  if (e.code !== "EPIPE") throw e;
  stdoutClosed = true;
  controller.abort(new Error("standard output closed"));
});

const code = await main(
  process.argv.slice(2),
  {
    stdout: (d) => {
      if (!stdoutClosed) process.stdout.write(d);
    },
    stderr: (d) => process.stderr.write(d),
    cwd: process.cwd(),
    interactive: process.stderr.isTTY,
    signal: controller.signal,
  },
  { debug: process.env["AMP_DEBUG"] === "1" },
);
process.exitCode = code;
