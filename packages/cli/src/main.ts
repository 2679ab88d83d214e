// The `amp` command line as a function: `main(argv, io)` returns the exit code and never
// throws, so tests run it in-process and dist/bin.js only wires it to the process.
import { describeError } from "./internal/cli-error.js";
import { helpText, parseCommandArgs, type Command } from "./internal/command.js";
import type { CliIo } from "./internal/io.js";
import { COMMANDS } from "./commands/index.js";

/** The version printed by `amp --version`. */
export const VERSION = "0.1.0";

function topHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length)) + 2;
  return [
    "amp: the asymmetric-multiprocessing tool (remoteproc, resource tables, rpmsg)",
    "",
    "Usage: amp <command> [options]",
    "",
    "Commands:",
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    "",
    "Run `amp <command> --help` for the options of a command. Start with `amp demo`.",
    "",
  ].join("\n");
}

/** The command named by the leading words of argv ("rsc decode" before "rsc"), and the rest. */
function findCommand(argv: readonly string[]): { cmd: Command; rest: readonly string[] } | undefined {
  let best: Command | undefined;
  let words = 0;
  for (const c of COMMANDS) {
    const parts = c.name.split(" ");
    if (parts.length > words && parts.every((p, i) => argv[i] === p)) {
      best = c;
      words = parts.length;
    }
  }
  return best === undefined ? undefined : { cmd: best, rest: argv.slice(words) };
}

/** Help for a command group such as `amp rsc` (its subcommands). */
function groupHelp(group: string): string | undefined {
  const subs = COMMANDS.filter((c) => c.name.startsWith(`${group} `));
  if (subs.length === 0) return undefined;
  const width = Math.max(...subs.map((c) => c.name.length)) + 2;
  return [`Usage: amp ${group} <subcommand> [options]`, "", "Subcommands:", ...subs.map((c) => `  ${c.name.padEnd(width)}${c.summary}`), "", `Run \`amp ${group} <subcommand> --help\` for details.`, ""].join("\n");
}

/**
 * Runs the `amp` command line `argv` (without "node" and the script) against `io` and
 * resolves to the exit code: 0 success, 1 failure, 2 usage error. Never throws: every failure
 * is reported on `io.stderr` as one line with what to do next.
 */
export async function main(argv: readonly string[], io: CliIo, options: { debug?: boolean } = {}): Promise<number> {
  let name = "";
  try {
    const first = argv[0];
    if (first === undefined || first === "--help" || first === "-h" || first === "help") {
      const topic = first === "help" ? argv[1] : undefined;
      if (topic !== undefined) return await main([...argv.slice(1), "--help"], io, options);
      io.stdout(topHelp());
      return first === undefined ? 2 : 0;
    }
    if (first === "--version" || first === "-V") {
      io.stdout(`amp ${VERSION}\n`);
      return 0;
    }
    const found = findCommand(argv);
    if (found === undefined) {
      const group = groupHelp(first);
      if (group !== undefined) {
        const sub = argv[1];
        if (sub === undefined || sub === "--help" || sub === "-h") {
          io.stdout(group);
          return sub === undefined ? 2 : 0;
        }
        io.stderr(`amp ${first}: unknown subcommand "${sub}". Run \`amp ${first} --help\` to list them.\n`);
        return 2;
      }
      io.stderr(`amp: unknown command "${first}". Run \`amp --help\` to list the commands.\n`);
      return 2;
    }
    name = found.cmd.name;
    const parsed = parseCommandArgs(found.cmd, found.rest);
    if (parsed === "help") {
      io.stdout(helpText(found.cmd));
      return 0;
    }
    return await found.cmd.run(parsed, io);
  } catch (e) {
    const { line, exitCode } = describeError(e);
    io.stderr(`amp${name === "" ? "" : ` ${name}`}: ${line}\n`);
    if (options.debug === true && e instanceof Error && e.stack !== undefined) io.stderr(`${e.stack}\n`);
    return exitCode;
  }
}
