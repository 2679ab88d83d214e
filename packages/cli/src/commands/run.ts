// amp run <firmware>: boot a firmware on the simulated processor (a worker thread) and show
// what happens until Ctrl-C.
import { basename, dirname } from "node:path";
import { isAmpError } from "@amp/virtio-ring";
import { createDirectoryFirmwareSource, createFileCoredumpSink, createQemuRemoteproc } from "@amp/node";
import { createSignedImageLoader } from "@amp/remoteproc-core";
import { flag, numberOption, stringOption, type Command } from "../internal/command.js";
import { CliError } from "../internal/cli-error.js";
import { readInput, readTextInput, resolvePath } from "../internal/files.js";
import { progress, type CliIo } from "../internal/io.js";
import { importPublicKey } from "../internal/keys.js";
import {
  createWorkerSessionRemote,
  sessionOut,
  startSession,
  type Session,
  type SessionOptions,
} from "../internal/session.js";

/** Resolves when `signal` aborts, or after `ms` (undefined: never). */
function waitForStop(signal: AbortSignal | undefined, ms: number | undefined): Promise<"signal" | "timeout"> {
  return new Promise((resolve) => {
    if (signal?.aborted === true) {
      resolve("signal");
      return;
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    if (ms !== undefined)
      timer = setTimeout(() => {
        resolve("timeout");
      }, ms);
    signal?.addEventListener(
      "abort",
      () => {
        if (timer !== undefined) clearTimeout(timer);
        resolve("signal");
      },
      { once: true },
    );
  });
}

/** A boot failure as one line, with the step that failed. */
export function bootError(file: string, e: unknown): CliError {
  const msg = e instanceof Error ? e.message.replace(/\.$/, "") : String(e);
  const code = isAmpError(e) ? e.code : undefined;
  const cause = (e as { cause?: unknown }).cause;
  const causeCode = isAmpError(cause) ? cause.code : undefined;
  if (code === "ERR_AUTH" || causeCode === "ERR_AUTH")
    return new CliError(
      `${file}: refused: ${msg}`,
      "The image is not signed by a trusted key: do not boot it, or pass the right --key.",
      1,
      { code: "ERR_AUTH" },
    );
  return new CliError(`${file}: boot failed: ${msg}`, "Check the firmware with `amp inspect`.", 1, {
    cause: e,
    code: "ERR_BOOT",
  });
}

async function run(io: CliIo, args: Parameters<Command["run"]>[0]): Promise<number> {
  const file = args.positionals[0] ?? "";
  const path = resolvePath(io, file);
  const wait = flag(args, "wait");
  const out = sessionOut(io, flag(args, "json"));
  const machine = stringOption(args, "machine") ?? "worker";
  if (machine !== "worker" && machine !== "qemu")
    throw new CliError(
      `unknown machine "${machine}"`,
      "Use --machine worker (a worker thread, default) or --machine qemu (a Cortex-M4 under qemu-system-arm).",
      2,
    );
  if (!wait) await readInput(io, file, "firmware file"); // one clear error when it is missing
  const durationS = numberOption("run", args, "duration", 0, 86_400);
  const keyFile = stringOption(args, "key");
  let loader;
  if (keyFile !== undefined) {
    if (machine === "qemu")
      throw new CliError(
        "--key is not available with --machine qemu",
        "Verify the image with `amp verify -o fw.elf` first, then run the extracted ELF.",
        2,
      );
    const { key, algorithm } = await importPublicKey(await readTextInput(io, keyFile, "key file"), keyFile);
    loader = createSignedImageLoader({ keys: [{ algorithm, publicKey: key }] });
  }
  const coredump = stringOption(args, "coredump");
  const coredumpPath = coredump === undefined ? undefined : resolvePath(io, coredump);
  const traceFile = stringOption(args, "trace-file");
  const recovery = flag(args, "recovery");
  let target: Pick<SessionOptions, "remote" | "onCrash">;
  if (machine === "qemu") {
    let bytes: Uint8Array;
    if (wait) {
      out.emit("wait", `for ${file} to appear (Ctrl-C to give up)`, "wait", { file });
      try {
        bytes = await createDirectoryFirmwareSource(dirname(path)).waitFor(
          basename(path),
          io.signal === undefined ? {} : { signal: io.signal },
        );
      } catch (e) {
        if (isAmpError(e) && e.code === "ERR_ABORTED") return 0;
        throw e;
      }
    } else bytes = await readInput(io, file, "firmware file");
    let q;
    try {
      q = createQemuRemoteproc({
        firmware: bytes,
        recovery: recovery ? "enabled" : "disabled",
        ...(coredumpPath === undefined
          ? {}
          : { coredump: "inline" as const, coredumpSink: createFileCoredumpSink(coredumpPath) }),
      });
    } catch (e) {
      throw new CliError(
        `${file}: cannot run on QEMU mps2-an386: ${e instanceof Error ? e.message.replace(/\.$/, "") : String(e)}`,
        "Build the firmware for the mps2-an386 memory map (see @amp/node firmware/qemu).",
      );
    }
    const qr = q;
    target = {
      remote: qr,
      onCrash: (l) => {
        qr.onCrash((r) => {
          l(r.type, r.message);
        });
      },
    };
  } else {
    target = createWorkerSessionRemote({
      firmwarePath: path,
      recovery,
      ...(coredumpPath === undefined ? {} : { coredumpPath }),
      ...(loader === undefined ? {} : { loader }),
    });
  }
  const session: Session = startSession(io, {
    ...target,
    out,
    ...(coredumpPath === undefined ? {} : { coredumpPath }),
    ...(traceFile === undefined ? {} : { traceFile: resolvePath(io, traceFile) }),
  });
  try {
    if (wait && machine === "worker") {
      out.emit("wait", `for ${file} to appear (Ctrl-C to give up)`, "wait", { file });
      try {
        await session.remote.rproc.autoBoot(io.signal === undefined ? {} : { signal: io.signal });
      } catch (e) {
        if (isAmpError(e) && e.code === "ERR_ABORTED") {
          out.emit("stop", "interrupted while waiting for the firmware", "stop", { reason: "interrupted" });
          return 0;
        }
        throw bootError(file, e);
      }
    } else {
      progress(io, `booting ${file}`);
      try {
        await session.remote.rproc.boot();
      } catch (e) {
        throw bootError(file, e);
      }
    }
    out.emit(
      "run",
      `${file} is running on ${machine === "qemu" ? "QEMU (mps2-an386, Cortex-M4)" : "a worker thread"}; ${durationS === undefined ? "press Ctrl-C to stop" : `stopping after ${durationS} s`}`,
      "run",
      {
        file,
        machine,
        duration: durationS ?? null,
      },
    );
    const why = await waitForStop(io.signal, durationS === undefined ? undefined : durationS * 1000);
    out.emit("stop", `${why === "signal" ? "interrupted" : "time is up"}: shutting down`, "stop", {
      reason: why === "signal" ? "interrupted" : "duration",
    });
    const state = session.remote.rproc.state;
    if (state === "running") await session.remote.rproc.shutdown();
    else if (state === "crashed")
      out.emit("stop", "the remote is crashed (recovery disabled): stopping the CPU", "stop", { reason: "crashed" });
    return 0;
  } finally {
    await session.close();
  }
}

/** `amp run` */
export const runCommand: Command = {
  name: "run",
  summary: "boot a firmware on a simulated processor (worker thread) and show what happens",
  usage: "run <firmware> [--recovery] [--coredump FILE] [--wait] [--duration S] [--key PUB] [--json]",
  details: [
    "Shows state changes, rpmsg channels as the remote announces them, and the remote's trace",
    "log live, until Ctrl-C (a clean shutdown) or --duration seconds.",
    "",
    'With --json, JSON lines, each with "event" and "t" (seconds): wait {file}, state {from, to},',
    "channel {type, name, addr}, trace {line}, crash {type, detail}, coredump {path, size,",
    "segments, reason, crashType}, operation-error {operation, message}, run {file, machine,",
    'duration}, stop {reason}; a failure is a last {"event":"error","error":{code, message, hint}}.',
    "",
    "Examples:",
    "  amp run echo.elf --recovery --coredump crash.core",
    "  amp run build/fw.elf --wait          # boot as soon as the build writes the file",
    "  amp run fw.signed --key vendor.pub   # verify the signature before anything is parsed",
    "  amp run amp-echo.elf --machine qemu  # a C firmware on an emulated Cortex-M4",
  ].join("\n"),
  options: {
    recovery: { type: "boolean", description: "Recover automatically after a crash (reboot the firmware)." },
    coredump: { type: "string", value: "FILE", description: "Write a coredump of every crash to FILE." },
    wait: { type: "boolean", description: "Wait for the firmware file to appear, then boot it." },
    duration: { type: "string", value: "S", description: "Shut down after S seconds instead of waiting for Ctrl-C." },
    key: {
      type: "string",
      value: "PUB",
      description: "The firmware is an @amp signed image: verify it with this public key.",
    },
    "trace-file": { type: "string", value: "FILE", description: "Also append the remote's trace lines to FILE." },
    machine: {
      type: "string",
      value: "NAME",
      description: "Processor: worker (a worker thread, default) or qemu (Cortex-M4 on qemu-system-arm).",
    },
    json: { type: "boolean", description: "JSON lines on standard output, one object per event." },
  },
  positionals: [1, 1],
  jsonLines: true,
  run: (args, io) => run(io, args),
};
