// Every failure reaches the user as ONE line: what went wrong and what to do next. Never a
// stack trace (AMP_DEBUG=1 adds one for developers).
import { isAmpError } from "@amp/resource-table";

/** A failure the CLI explains itself: a message and the next step for the user. */
export class CliError extends Error {
  override readonly name = "CliError";
  /** What the user can do about it, as one sentence. */
  readonly hint: string;
  /** Process exit code: 2 for usage errors, 1 for everything else. */
  readonly exitCode: number;
  constructor(message: string, hint: string, exitCode = 1, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.hint = hint;
    this.exitCode = exitCode;
  }
}

/** A usage error (bad option, missing argument): exit code 2 and a pointer to `--help`. */
export function usageError(command: string, message: string): CliError {
  return new CliError(message, `Run \`amp ${command} --help\` for usage.`, 2);
}

const HINTS: Record<string, string> = {
  ERR_TRUNCATED: "The file is cut short: copy or rebuild it again.",
  ERR_MALFORMED: "The bytes are not valid for this format: check that you passed the right file.",
  ERR_UNSUPPORTED: "This file uses a feature amp does not handle.",
  ERR_LIMIT: "The input exceeds a safety limit: check that it is the right file.",
  ERR_RANGE: "A value does not fit the target: check the file.",
};

interface NodeSystemError {
  code?: unknown;
  path?: unknown;
}

/** Turns any thrown value into the one line (plus exit code) the user sees. */
export function describeError(error: unknown, subject?: string): { line: string; exitCode: number } {
  if (error instanceof CliError) return { line: `${error.message}. ${error.hint}`, exitCode: error.exitCode };
  const where = subject === undefined ? "" : `${subject}: `;
  if (isAmpError(error)) {
    const e = error as { code: string; offset?: unknown; message: string };
    const at = typeof e.offset === "number" ? ` (at byte 0x${e.offset.toString(16)})` : "";
    const hint = HINTS[e.code] ?? "Check the input file.";
    return { line: `${where}${stripDot(e.message)}${at} [${e.code}]. ${hint}`, exitCode: 1 };
  }
  if (error instanceof Error) {
    const sys = error as NodeSystemError;
    const path = typeof sys.path === "string" ? sys.path : (subject ?? "file");
    switch (sys.code) {
      case "ENOENT":
        return { line: `${path}: no such file or directory. Check the path and try again.`, exitCode: 1 };
      case "EACCES":
      case "EPERM":
        return { line: `${path}: permission denied. Check the file's permissions.`, exitCode: 1 };
      case "EISDIR":
        return { line: `${path}: is a directory, not a file. Pass a file.`, exitCode: 1 };
      default:
        return {
          line: `${where}${stripDot(error.message)}. This looks like a bug in amp: rerun with AMP_DEBUG=1 for details and report it.`,
          exitCode: 1,
        };
    }
  }
  return { line: `${where}unexpected failure (${String(error)}). Rerun with AMP_DEBUG=1 and report it.`, exitCode: 1 };
}

function stripDot(s: string): string {
  const oneLine = s.replace(/\s*\n\s*/g, " ").trim();
  return oneLine.endsWith(".") ? oneLine.slice(0, -1) : oneLine;
}
