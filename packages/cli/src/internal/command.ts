// One shape for every command: options declared once, used both by the parser (node:util
// parseArgs, strict) and by the generated `--help` text.
import { parseArgs } from "node:util";
import { CliError, usageError } from "./cli-error.js";
import { didYouMean, suggest } from "./suggest.js";
import type { CliIo } from "./io.js";

/** One option of a command. */
export interface OptionSpec {
  readonly type: "string" | "boolean";
  readonly short?: string;
  /** Placeholder shown in help for string options, e.g. "FILE". */
  readonly value?: string;
  readonly description: string;
  readonly multiple?: boolean;
}

/** Parsed options and positionals of one command line. */
export interface ParsedArgs {
  readonly values: Readonly<Record<string, string | boolean | string[] | undefined>>;
  readonly positionals: readonly string[];
}

/** A command: its help text, its options and what it does. */
export interface Command {
  /** Full name, e.g. "rsc decode". */
  readonly name: string;
  readonly summary: string;
  /** Usage line after "amp ", e.g. "inspect <firmware> [--json]". */
  readonly usage: string;
  /** Extra paragraphs for --help (examples, formats). */
  readonly details?: string;
  readonly options: Readonly<Record<string, OptionSpec>>;
  /**
   * With --json the command prints JSON lines (one object per event) rather than one JSON
   * document; a failure is then the stream's last line. Only for commands with a `json` option.
   */
  readonly jsonLines?: boolean;
  /** Allowed number of positionals: [min, max]. */
  readonly positionals: readonly [number, number];
  readonly run: (args: ParsedArgs, io: CliIo) => Promise<number>;
}

/** Help text of a command, generated from its declaration. */
export function helpText(cmd: Command): string {
  const lines = [`amp ${cmd.name}: ${cmd.summary}`, "", `Usage: amp ${cmd.usage}`, "", "Options:"];
  const entries = Object.entries(cmd.options).map(([name, o]) => {
    const flag = `${o.short === undefined ? "    " : `-${o.short}, `}--${name}${o.type === "string" ? ` <${o.value ?? "VALUE"}>` : ""}`;
    return [flag, o.description] as const;
  });
  entries.push(["-h, --help", "Show this help."]);
  const width = Math.max(...entries.map(([f]) => f.length)) + 2;
  for (const [flag, desc] of entries) lines.push(`  ${flag.padEnd(width)}${desc}`);
  if (cmd.details !== undefined) lines.push("", cmd.details.trimEnd());
  return `${lines.join("\n")}\n`;
}

/** Parses `argv` for `cmd`; `--help` prints help. Usage problems become one-line CliErrors. */
export function parseCommandArgs(cmd: Command, argv: readonly string[]): ParsedArgs | "help" {
  const options: Record<string, { type: "string" | "boolean"; short?: string; multiple?: boolean }> = {
    help: { type: "boolean", short: "h" },
  };
  for (const [name, o] of Object.entries(cmd.options)) {
    options[name] = {
      type: o.type,
      ...(o.short === undefined ? {} : { short: o.short }),
      ...(o.multiple === true ? { multiple: true } : {}),
    };
  }
  let parsed: { values: Record<string, string | boolean | (string | boolean)[] | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({ args: [...argv], options, strict: true, allowPositionals: true });
  } catch (e) {
    const msg = e instanceof Error ? (e.message.split("\n")[0] ?? e.message) : String(e);
    const unknown = /^Unknown option '(-[^']*)'/.exec(msg)?.[1];
    if (unknown !== undefined) throw unknownOption(cmd, unknown);
    throw usageError(cmd.name, msg.replace(/\.\s*$/, ""));
  }
  if (parsed.values["help"] === true) return "help";
  const [min, max] = cmd.positionals;
  const n = parsed.positionals.length;
  if (n < min) throw usageError(cmd.name, `missing argument: usage is \`amp ${cmd.usage}\``);
  if (n > max) throw usageError(cmd.name, `unexpected argument "${parsed.positionals[max] ?? ""}"`);
  return { values: parsed.values as ParsedArgs["values"], positionals: parsed.positionals };
}

/**
 * An option the command does not have, with the closest ones it does have: `--jsn` -> `--json`.
 * Only long options get suggestions: one letter (`-x`) is too little to guess from.
 */
function unknownOption(cmd: Command, typed: string): CliError {
  const names = [...Object.keys(cmd.options), "help"];
  const long = typed.startsWith("--");
  const bare = typed.replace(/^--?/, "").split("=")[0] ?? "";
  const near = long ? suggest(bare, names).map((n) => `--${n}`) : [];
  return new CliError(
    `unknown option "${typed}"`,
    `${didYouMean(near).trimStart()} Run \`amp ${cmd.name} --help\` for usage.`.trimStart(),
    2,
  );
}

/** A string option's value, or undefined. */
export function stringOption(args: ParsedArgs, name: string): string | undefined {
  const v = args.values[name];
  return typeof v === "string" ? v : undefined;
}

/** True when a boolean option was given. */
export function flag(args: ParsedArgs, name: string): boolean {
  return args.values[name] === true;
}

/** A numeric option (decimal or 0x hex), range-checked; undefined when absent. */
export function numberOption(
  cmdName: string,
  args: ParsedArgs,
  name: string,
  min: number,
  max: number,
): number | undefined {
  const v = stringOption(args, name);
  if (v === undefined) return undefined;
  const n = /^0x[0-9a-f]+$/i.test(v) ? parseInt(v.slice(2), 16) : /^\d+(\.\d+)?$/.test(v) ? Number(v) : NaN;
  if (!Number.isFinite(n) || n < min || n > max) {
    throw usageError(cmdName, `--${name} must be a number from ${min} to ${max}, not "${v}"`);
  }
  return n;
}
