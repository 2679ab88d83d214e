// Every failure reaches the user as ONE line: what went wrong and what to do next. Never a
// stack trace (AMP_DEBUG=1 adds one for developers).
import { isAmpError } from "@amp/virtio-ring";

/** A failure the CLI explains itself: a message and the next step for the user. */
export class CliError extends Error {
  override readonly name = "CliError";
  /** What the user can do about it, as one sentence. */
  readonly hint: string;
  /** Process exit code: 2 for usage errors, 1 for everything else. */
  readonly exitCode: number;
  /**
   * Stable code (the `code` of a `--json` error): given; else ERR_USAGE for exit code 2 and
   * ERR_INTERRUPTED for 130; else the code of an AmpError `cause` (what actually failed:
   * ERR_TRUNCATED, ERR_STEP, ...); else ERR_FAILED.
   */
  readonly code: string;
  constructor(message: string, hint: string, exitCode = 1, options?: { cause?: unknown; code?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.hint = hint;
    this.exitCode = exitCode;
    const cause = options?.cause;
    this.code =
      options?.code ??
      (exitCode === 2
        ? "ERR_USAGE"
        : exitCode === 130
          ? "ERR_INTERRUPTED"
          : isAmpError(cause)
            ? cause.code
            : "ERR_FAILED");
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

/**
 * A failure as the user sees it: `code` (stable), `message` (what went wrong, without the code)
 * and `hint` (what to do), the one `line` printed on stderr, and the exit code. `--json` prints
 * `{ "error": { code, message, hint } }` from it.
 */
export interface ErrorReport {
  readonly code: string;
  readonly message: string;
  readonly hint: string;
  readonly line: string;
  readonly exitCode: number;
}

/** Turns any thrown value into the report (one line plus exit code) the user sees. */
export function reportError(error: unknown, subject?: string): ErrorReport {
  if (error instanceof CliError) {
    // AttachError keeps its message without the "[CODE]" suffix in `detail`.
    const detail = (error as { detail?: unknown }).detail;
    const message = typeof detail === "string" ? detail : error.message;
    return {
      code: error.code,
      message: stripDot(message),
      hint: error.hint,
      line: `${error.message}. ${error.hint}`,
      exitCode: error.exitCode,
    };
  }
  const where = subject === undefined ? "" : `${subject}: `;
  if (isAmpError(error)) {
    const e = error as { code: string; offset?: unknown; message: string };
    const at = typeof e.offset === "number" ? ` (at byte 0x${e.offset.toString(16)})` : "";
    const hint = HINTS[e.code] ?? "Check the input file.";
    const message = `${where}${stripDot(e.message)}${at}`;
    return { code: e.code, message, hint, line: `${message} [${e.code}]. ${hint}`, exitCode: 1 };
  }
  const report = (code: string, message: string, hint: string): ErrorReport => ({
    code,
    message,
    hint,
    line: `${message}. ${hint}`,
    exitCode: 1,
  });
  if (error instanceof Error) {
    const sys = error as NodeSystemError;
    const path = typeof sys.path === "string" ? sys.path : (subject ?? "file");
    switch (sys.code) {
      case "ENOENT":
        return report("ERR_INPUT", `${path}: no such file or directory`, "Check the path and try again.");
      case "EACCES":
      case "EPERM":
        return report("ERR_INPUT", `${path}: permission denied`, "Check the file's permissions.");
      case "EISDIR":
        return report("ERR_INPUT", `${path}: is a directory, not a file`, "Pass a file.");
      default:
        return report(
          "ERR_BUG",
          `${where}${stripDot(error.message)}`,
          "This looks like a bug in amp: rerun with AMP_DEBUG=1 for details and report it.",
        );
    }
  }
  return {
    code: "ERR_BUG",
    message: `${where}unexpected failure (${String(error)})`,
    hint: "Rerun with AMP_DEBUG=1 and report it.",
    line: `${where}unexpected failure (${String(error)}). Rerun with AMP_DEBUG=1 and report it.`,
    exitCode: 1,
  };
}

/** Turns any thrown value into the one line (plus exit code) the user sees. */
export function describeError(error: unknown, subject?: string): { line: string; exitCode: number } {
  const { line, exitCode } = reportError(error, subject);
  return { line, exitCode };
}

function stripDot(s: string): string {
  const oneLine = s.replace(/\s*\n\s*/g, " ").trim();
  return oneLine.endsWith(".") ? oneLine.slice(0, -1) : oneLine;
}
