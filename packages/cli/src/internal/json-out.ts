// The one JSON convention of every `--json`: a command that prints a result prints one JSON
// document (two-space indented); a command that follows something live prints JSON lines, one
// object per event with "event" and "t" (seconds since the command started). Addresses, offsets
// and 64-bit values are "0x..." strings. A failure is `{"error":{"code","message","hint"}}`,
// as the document or as the stream's last line (with "event":"error" and "t"); the one-line
// error still goes to stderr and the exit code is the same as without --json.
import type { ErrorReport } from "./cli-error.js";
import { hex } from "./format.js";

/** One JSON line (bigints as "0x..." strings), newline-terminated. */
export function jsonLine(value: unknown): string {
  return `${JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? hex(v) : v))}\n`;
}

/** The `error` object of a --json failure. */
export function jsonError(report: ErrorReport): { code: string; message: string; hint: string } {
  return { code: report.code, message: report.message, hint: report.hint };
}

/**
 * A failure as --json prints it: the document `{"error":{...}}`, or with `t` (seconds since
 * the command started) the last line of a JSON-lines stream.
 */
export function jsonErrorOutput(report: ErrorReport, t?: number): string {
  if (t === undefined) return `${JSON.stringify({ error: jsonError(report) }, null, 2)}\n`;
  return jsonLine({ event: "error", t: Math.round(t * 1000) / 1000, error: jsonError(report) });
}
