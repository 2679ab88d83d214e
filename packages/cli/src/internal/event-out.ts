// Output of the long-running commands (attach, rpmsg, run, demo): a line per event, for people
// (an aligned tag, optionally a timestamp) or, with --json, one JSON object per line ("JSON
// lines": every event has "event" and "t", seconds since the command started; addresses are
// "0x..." strings, counts and lengths numbers). A failure's last line is written by main()
// (json-out.ts), for every command the same way.
import type { CliIo } from "./io.js";
import { jsonLine } from "./json-out.js";

/** Writes events as text or JSON lines. */
export interface EventOut {
  readonly json: boolean;
  /** One event: `text` for people (after `tag`), `fields` for --json. */
  emit(tag: string, text: string, event: string, fields?: Record<string, unknown>): void;
  /** Text-only continuation line (indented under the previous one); nothing in --json. */
  more(text: string): void;
}

function fmtS(ms: number): string {
  return `${(ms / 1000).toFixed(3).padStart(7)}s`;
}

/** Options of {@link eventOut}. */
export interface EventOutOptions {
  /** Prefix text lines with the elapsed time, `[  1.234s] `. */
  readonly timestamps: boolean;
  /** Width the tag is padded to in text lines (default 8). */
  readonly tagWidth?: number;
}

/** An {@link EventOut} on `io.stdout`. */
export function eventOut(io: CliIo, json: boolean, options: boolean | EventOutOptions): EventOut {
  const { timestamps, tagWidth = 8 } = typeof options === "boolean" ? { timestamps: options } : options;
  const t0 = performance.now();
  const stamp = (): string => (timestamps ? `[${fmtS(performance.now() - t0)}] ` : "");
  return {
    json,
    emit(tag, text, event, fields = {}) {
      if (json) io.stdout(jsonLine({ event, t: Math.round(performance.now() - t0) / 1000, ...fields }));
      else io.stdout(`${stamp()}${tag.padEnd(tagWidth)}${text}\n`);
    },
    more(text) {
      if (!json) io.stdout(`${timestamps ? " ".repeat(11) : ""}${" ".repeat(tagWidth)}${text}\n`);
    },
  };
}
