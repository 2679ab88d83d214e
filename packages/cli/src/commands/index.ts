// Every command of `amp`, in the order `amp --help` lists them.
import type { Command } from "../internal/command.js";
import { attachCommand } from "./attach.js";
import { coredumpCommand } from "./coredump.js";
import { demoCommand } from "./demo.js";
import { firmwareBuildCommand } from "./firmware-build.js";
import { inspectCommand } from "./inspect.js";
import { rpmsgCommands } from "./rpmsg.js";
import { rscCommands } from "./rsc.js";
import { runCommand } from "./run.js";
import { signCommands } from "./sign.js";
import { traceCommand } from "./trace.js";
import { uiCommand } from "./ui.js";
import { vhostUserCommand } from "./vhost-user.js";

/** All commands. */
export const COMMANDS: readonly Command[] = [
  demoCommand,
  inspectCommand,
  ...rscCommands,
  firmwareBuildCommand,
  runCommand,
  traceCommand,
  coredumpCommand,
  ...signCommands,
  attachCommand,
  ...rpmsgCommands,
  vhostUserCommand,
  uiCommand,
];
