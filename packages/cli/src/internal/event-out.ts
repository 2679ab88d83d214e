// Output of the long-running commands (attach, rpmsg): a line per event, for people (an
// aligned tag, optionally a timestamp) or, with --json, one JSON object per line ("JSON
// lines": every event has "event" and "t", seconds since the command started; addresses are
// "0x..." strings, counts and lengths numbers).
import { hex } from "./format.js";
import type { CliIo } from "./io.js";
import { AttachError } from "./attach-link.js";

/** Writes events as text or JSON lines. */
export interface EventOut {
  readonly json: boolean;
  /** One event: `text` for people (after `tag`), `fields` for --json. */
  emit(tag: string, text: string, event: string, fields?: Record<string, unknown>): void;
  /** Text-only continuation line (indented under the previous one); nothing in --json. */
  more(text: string): void;
  /** In --json, an AttachError as a last {"event":"error"} line (the one-line error still goes to stderr). */
  error(e: unknown): void;
}

function fmtS(ms: number): string {
  return `${(ms / 1000).toFixed(3).padStart(7)}s`;
}

/** JSON with bigints as "0x..." strings. */
function jsonLine(value: unknown): string {
  return `${JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? hex(v) : v))}\n`;
}

/** An {@link EventOut} on `io.stdout`; `timestamps` prefixes text lines with the elapsed time. */
export function eventOut(io: CliIo, json: boolean, timestamps: boolean): EventOut {
  const t0 = performance.now();
  const stamp = (): string => (timestamps ? `[${fmtS(performance.now() - t0)}] ` : "");
  return {
    json,
    emit(tag, text, event, fields = {}) {
      if (json) io.stdout(jsonLine({ event, t: Math.round(performance.now() - t0) / 1000, ...fields }));
      else io.stdout(`${stamp()}${tag.padEnd(8)}${text}\n`);
    },
    more(text) {
      if (!json) io.stdout(`${timestamps ? " ".repeat(11) : ""}${" ".repeat(8)}${text}\n`);
    },
    error(e) {
      if (json && e instanceof AttachError) io.stdout(jsonLine({ event: "error", t: Math.round(performance.now() - t0) / 1000, code: e.code, message: e.detail, hint: e.hint }));
    },
  };
}
