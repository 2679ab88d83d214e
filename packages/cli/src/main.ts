// The `amp` command line as a function: `main(argv, io)` returns the exit code and never
// throws, so tests run it in-process and dist/bin.js only wires it to the process.
import { CliError, reportError } from "./internal/cli-error.js";
import { helpText, parseCommandArgs, type Command } from "./internal/command.js";
import { jsonErrorOutput } from "./internal/json-out.js";
import type { CliIo } from "./internal/io.js";
import { didYouMean, suggest } from "./internal/suggest.js";
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
  return [
    `Usage: amp ${group} <subcommand> [options]`,
    "",
    "Subcommands:",
    ...subs.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    "",
    `Run \`amp ${group} <subcommand> --help\` for details.`,
    "",
  ].join("\n");
}

/** The first words of every command ("rsc" once for the group), and "help". */
function topWords(): string[] {
  return [...new Set([...COMMANDS.map((c) => c.name.split(" ")[0] ?? ""), "help"])];
}

/**
 * `amp <typo> ...`: the commands the user probably meant, as full command lines to suggest.
 * A group word is completed with the next argument when that makes (or nearly makes) one of
 * its subcommands: `amp firmwre build` -> `amp firmware build`.
 */
function commandSuggestions(argv: readonly string[]): string[] {
  const first = argv[0] ?? "";
  return suggest(first, topWords()).map((word) => {
    const sub = argv[1];
    const subs = COMMANDS.filter((c) => c.name.startsWith(`${word} `)).map((c) => c.name.slice(word.length + 1));
    if (sub === undefined || subs.length === 0) return `amp ${word}`;
    const exact = subs.includes(sub) ? sub : suggest(sub, subs, 1)[0];
    return exact === undefined ? `amp ${word}` : `amp ${word} ${exact}`;
  });
}

/** The unknown command (or subcommand of a known group) as a usage error with suggestions. */
function unknownCommand(argv: readonly string[]): CliError {
  const first = argv[0] ?? "";
  if (groupHelp(first) !== undefined) {
    const sub = argv[1] ?? "";
    const subs = COMMANDS.filter((c) => c.name.startsWith(`${first} `)).map((c) => c.name.slice(first.length + 1));
    const hint =
      `${didYouMean(suggest(sub, subs).map((s) => `amp ${first} ${s}`)).trimStart()} Run \`amp ${first} --help\` to list them.`.trimStart();
    return new CliError(`unknown subcommand "${sub}"`, hint, 2);
  }
  const hint =
    `${didYouMean(commandSuggestions(argv)).trimStart()} Run \`amp --help\` to list the commands.`.trimStart();
  return new CliError(`unknown command "${first}"`, hint, 2);
}

/** True when the command line asks for JSON (`--json` before any `--`) and the command has it. */
function wantsJson(argv: readonly string[], cmd: Command | undefined): boolean {
  const end = argv.indexOf("--");
  const words = end < 0 ? argv : argv.slice(0, end);
  return words.includes("--json") && (cmd === undefined || "json" in cmd.options);
}

/**
 * Runs the `amp` command line `argv` (without "node" and the script) against `io` and
 * resolves to the exit code: 0 success, 1 failure, 2 usage error. Never throws: every failure
 * is reported on `io.stderr` as one line with what to do next; with `--json` also on
 * `io.stdout` as `{"error":{"code","message","hint"}}` (the last line of a JSON-lines command:
 * `{"event":"error","t",...,"error":{...}}`).
 */
export async function main(argv: readonly string[], io: CliIo, options: { debug?: boolean } = {}): Promise<number> {
  const t0 = performance.now();
  let name = "";
  let cmd: Command | undefined;
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
        name = first;
      }
      throw unknownCommand(argv);
    }
    cmd = found.cmd;
    name = found.cmd.name;
    const parsed = parseCommandArgs(found.cmd, found.rest);
    if (parsed === "help") {
      io.stdout(helpText(found.cmd));
      return 0;
    }
    return await found.cmd.run(parsed, io);
  } catch (e) {
    const report = reportError(e);
    io.stderr(`amp${name === "" ? "" : ` ${name}`}: ${report.line}\n`);
    if (wantsJson(argv, cmd))
      io.stdout(jsonErrorOutput(report, cmd?.jsonLines === true ? (performance.now() - t0) / 1000 : undefined));
    if (options.debug === true && e instanceof Error && e.stack !== undefined) io.stderr(`${e.stack}\n`);
    return report.exitCode;
  }
}
