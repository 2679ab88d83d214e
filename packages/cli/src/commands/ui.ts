// amp ui: the live view. Serves a page on 127.0.0.1 that shows a running remote as it happens
// (state machine, resource table, memory map, channels, vring occupancy, message rates, round
// trips, trace, crashes and recoveries, coredump downloads) and a playground that runs an rpmsg
// remote in a Web Worker inside the browser. The remote here is the demo's echo firmware on a
// worker thread, under a steady echo load; crashes come from the page's button or --crash-every.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { flag, numberOption, stringOption, type Command } from "../internal/command.js";
import { CliError } from "../internal/cli-error.js";
import { resolvePath } from "../internal/files.js";
import { runUiSession } from "../ui/live.js";

/** `amp ui` */
export const uiCommand: Command = {
  name: "ui",
  summary:
    "live view in the browser: state, resource table, memory map, channels, vrings, rates, trace, crashes, coredumps",
  usage:
    "ui [--port N] [--rate N] [--size BYTES] [--crash-every SECONDS] [--duration SECONDS] [--coredump-dir DIR] [--firmware FILE] [--json]",
  details: [
    "Boots the bundled echo firmware on a worker-thread remote (as `amp demo` does), runs a",
    "steady echo load and serves the live view on http://127.0.0.1:<port>/ (loopback only; no",
    'file or font from the network, so it works offline). The page\'s "Crash" button, or',
    "--crash-every, makes the firmware fault: recovery reboots it and each crash's coredump",
    "(crash-<n>.core in --coredump-dir, default a new directory under the temp directory) is a",
    "download link on the page. The page's playground runs an rpmsg remote in a Web Worker",
    "of the browser itself, talking to a host on the page over a SharedArrayBuffer.",
    "",
    "Runs until Ctrl-C (or --duration). With --json, the session's events as JSON lines (see",
    '`amp demo --help`), the first being {"event":"ui","url":...}.',
  ].join("\n"),
  options: {
    port: { type: "string", value: "N", description: "TCP port on 127.0.0.1 (default: a free one)." },
    rate: {
      type: "string",
      value: "N",
      description: "Echo messages per second of the steady load, 0..5000 (default 200).",
    },
    size: { type: "string", value: "BYTES", description: "Payload size, 1..496 (default 64)." },
    "crash-every": {
      type: "string",
      value: "SECONDS",
      description: "Inject a crash this often (default: only from the page).",
    },
    duration: { type: "string", value: "SECONDS", description: "Stop after this long (default: run until Ctrl-C)." },
    "coredump-dir": {
      type: "string",
      value: "DIR",
      description: "Directory for the crash coredumps (created if missing).",
    },
    firmware: { type: "string", value: "FILE", description: "Use another echo firmware than the bundled one." },
    json: { type: "boolean", description: "JSON lines on standard output, one object per event." },
  },
  positionals: [0, 0],
  jsonLines: true,
  async run(args, io) {
    const port = numberOption("ui", args, "port", 0, 65535);
    const rate = numberOption("ui", args, "rate", 0, 5000) ?? 200;
    const size = numberOption("ui", args, "size", 1, 496) ?? 64;
    const crashEvery = numberOption("ui", args, "crash-every", 1, 86_400);
    const duration = numberOption("ui", args, "duration", 1, 7 * 86_400);
    const given = stringOption(args, "firmware");
    const firmwarePath =
      given === undefined ? fileURLToPath(new URL("../firmware/echo.elf", import.meta.url)) : resolvePath(io, given);
    if (!existsSync(firmwarePath)) {
      throw new CliError(
        given === undefined
          ? "the example firmware is not built (dist/firmware/echo.elf is missing)"
          : `no such file: ${given}`,
        given === undefined ? "Run `pnpm build` first, or pass --firmware <echo.elf>." : "Check the path.",
      );
    }
    const dir = stringOption(args, "coredump-dir");
    return runUiSession(io, {
      firmwarePath,
      rate: Math.floor(rate),
      size: Math.floor(size),
      json: flag(args, "json"),
      ...(port === undefined ? {} : { port: Math.floor(port) }),
      ...(crashEvery === undefined ? {} : { crashEveryMs: crashEvery * 1000 }),
      ...(duration === undefined ? {} : { durationMs: duration * 1000 }),
      ...(dir === undefined ? {} : { coredumpDir: resolvePath(io, dir) }),
    });
  },
};
