// amp rpmsg send|listen|echo: talk to a channel of an attached remote from the shell, through
// the link of a running `amp attach` or by attaching for the command's duration.
import { AttachError, EXPECTED_MTU, Interrupted } from "../internal/attach-link.js";
import { ATTACH_OPTIONS, jsonOutput, timeoutMs } from "../internal/attach-target.js";
import { usageError } from "../internal/cli-error.js";
import {
  flag,
  numberOption,
  stringOption,
  type Command,
  type OptionSpec,
  type ParsedArgs,
} from "../internal/command.js";
import { eventOut, type EventOut } from "../internal/event-out.js";
import { readInput } from "../internal/files.js";
import { hex } from "../internal/format.js";
import type { CliIo } from "../internal/io.js";
import { openChannel, type ChannelLink } from "../internal/rpmsg-channel.js";
import { quantile, runEcho } from "../internal/rpmsg-echo.js";
import type { ChannelMessage } from "../internal/attach-session.js";

const DEFAULT_TIMEOUT_S = 10;

const COMMON_DETAILS = [
  "Where the remote is: --session SOCKET of a running `amp attach`; or --preset/--memory: then",
  "the link of an `amp attach` running for that memory file is used when there is one, and",
  "otherwise the command attaches for its own duration (a remote brings its link up once per",
  "run: start `amp attach` first to run several commands against one remote run).",
].join("\n");

/** The channel's header line (text) / event (JSON). */
function opened(out: EventOut, what: string, c: ChannelLink, extra: Record<string, unknown> = {}, text = ""): void {
  out.emit(
    what,
    `"${c.name}" at ${hex(c.remote)} (our address ${hex(c.local)}, MTU ${c.mtu}, via ${c.via})${text}`,
    what,
    {
      channel: c.name,
      remote: hex(c.remote),
      local: hex(c.local),
      mtu: c.mtu,
      via: c.via,
      ...extra,
    },
  );
}

/** Opens the channel, reporting Ctrl-C during the wait as exit 130. */
async function withChannel(
  cmd: string,
  io: CliIo,
  args: ParsedArgs,
  body: (c: ChannelLink) => Promise<number>,
): Promise<number> {
  const name = args.positionals[0] ?? "";
  const ms = timeoutMs(cmd, args, DEFAULT_TIMEOUT_S) ?? DEFAULT_TIMEOUT_S * 1000;
  let channel: ChannelLink | undefined;
  try {
    channel = await openChannel(cmd, io, args, name, { timeoutMs: ms });
    return await body(channel);
  } catch (e) {
    if (e instanceof Interrupted) return 130;
    throw e; // main() writes it, and with --json the stream's last line
  } finally {
    await channel?.close().catch(() => undefined);
  }
}

function mtuCheck(length: number, mtu: number, what: string): void {
  if (length > mtu)
    throw new AttachError(
      "ERR_MSG_SIZE",
      `${what} is ${length} bytes, more than the MTU of ${mtu}`,
      `An rpmsg message carries at most ${mtu} bytes: split the data.`,
    );
}

// ------------------------------------------------------------------------------------------
// send

function parseHex(cmd: string, text: string): Uint8Array {
  const clean = text.replace(/^0x/i, "").replace(/[\s:,-]/g, "");
  if (!/^[0-9a-f]*$/i.test(clean) || clean.length % 2 !== 0)
    throw usageError(cmd, `--hex: "${text.slice(0, 40)}" is not an even number of hex digits`);
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return out;
}

async function sendRun(io: CliIo, args: ParsedArgs): Promise<number> {
  const out = eventOut(io, jsonOutput(args), false);
  const file = stringOption(args, "file");
  const text = args.positionals[1];
  if (file !== undefined && text !== undefined) throw usageError("rpmsg send", "give the data or --file, not both");
  if (file === undefined && text === undefined)
    throw usageError("rpmsg send", "missing data: usage is `amp rpmsg send <channel> <data>` (or --file FILE)");
  const data =
    file !== undefined
      ? await readInput(io, file, "data file")
      : flag(args, "hex")
        ? parseHex("rpmsg send", text ?? "")
        : new TextEncoder().encode(text ?? "");
  // Before attaching: a remote's link comes up once per run, do not spend it on a message that cannot go.
  mtuCheck(data.length, EXPECTED_MTU, "the message");
  return withChannel("rpmsg send", io, args, async (c) => {
    mtuCheck(data.length, c.mtu, "the message");
    await c.send(data);
    out.emit(
      "sent",
      `${data.length} bytes to "${c.name}" at ${hex(c.remote)} (from ${hex(c.local)}, via ${c.via})`,
      "sent",
      { channel: c.name, remote: hex(c.remote), local: hex(c.local), length: data.length, via: c.via },
    );
    return 0;
  });
}

// ------------------------------------------------------------------------------------------
// listen

function printable(data: Uint8Array): string | undefined {
  let s: string;
  try {
    s = new TextDecoder("utf-8", { fatal: true }).decode(data);
  } catch {
    return undefined;
  }
  // Control characters other than tab and newlines make it binary for a terminal.
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) || c === 0x7f) return undefined;
  }
  return s;
}

function toHex(data: Uint8Array): string {
  let s = "";
  for (const b of data) s += b.toString(16).padStart(2, "0");
  return s;
}

async function listenRun(io: CliIo, args: ParsedArgs): Promise<number> {
  const out = eventOut(io, jsonOutput(args), true);
  const count = numberOption("rpmsg listen", args, "count", 1, 1e9);
  const durationS = numberOption("rpmsg listen", args, "duration", 0.001, 86_400);
  return withChannel("rpmsg listen", io, args, async (c) => {
    opened(
      out,
      "listen",
      c,
      {},
      `: ${count === undefined ? "" : `${count} message${count === 1 ? "" : "s"} or `}${durationS === undefined ? "Ctrl-C" : `${durationS} s`}`,
    );
    let n = 0;
    let done: (why: string) => void = () => undefined;
    const finished = new Promise<string>((r) => {
      done = r;
    });
    c.onMessage((m: ChannelMessage) => {
      if (count !== undefined && n >= count) return;
      n++;
      const text = printable(m.data);
      out.emit(
        "message",
        `${hex(m.src)} -> ${hex(m.dst)}, ${m.data.length} bytes: ${text === undefined ? toHex(m.data) : JSON.stringify(text)}`,
        "message",
        {
          src: hex(m.src),
          dst: hex(m.dst),
          length: m.data.length,
          hex: toHex(m.data),
          ...(text === undefined ? {} : { text }),
        },
      );
      if (count !== undefined && n >= count) done("count");
    });
    const timer =
      durationS === undefined
        ? undefined
        : setTimeout(() => {
            done("duration");
          }, durationS * 1000);
    const onAbort = (): void => {
      done("interrupted");
    };
    io.signal?.addEventListener("abort", onAbort, { once: true });
    const why = await Promise.race([finished, c.gone]);
    if (timer !== undefined) clearTimeout(timer);
    io.signal?.removeEventListener("abort", onAbort);
    if (why instanceof AttachError) throw why;
    out.emit(
      "stop",
      `${n} message${n === 1 ? "" : "s"} (${why === "count" ? "count reached" : why === "duration" ? "time is up" : "interrupted"})`,
      "stop",
      { reason: why, messages: n },
    );
    return 0;
  });
}

// ------------------------------------------------------------------------------------------
// echo

function parseSizes(arg: string | undefined): [number, number] | undefined {
  if (arg === undefined) return undefined;
  const m = /^(\d+)(?:(?:\.\.|-)(\d+))?$/.exec(arg);
  if (m === null) throw usageError("rpmsg echo", `--size "${arg}": expected N or MIN..MAX`);
  const lo = Number(m[1]);
  const hi = m[2] === undefined ? lo : Number(m[2]);
  if (hi < lo) throw usageError("rpmsg echo", `--size ${arg}: MIN is larger than MAX`);
  return [lo, hi];
}

function round3(v: number): number {
  return Math.round(v * 1000) / 1000;
}

function ms(v: number): string {
  return v < 10 ? v.toFixed(3) : v.toFixed(1);
}

async function echoRun(io: CliIo, args: ParsedArgs): Promise<number> {
  const out = eventOut(io, jsonOutput(args), false);
  const count = numberOption("rpmsg echo", args, "count", 1, 1e7) ?? 100;
  const window = numberOption("rpmsg echo", args, "window", 1, 256) ?? 1;
  if (!Number.isInteger(count) || !Number.isInteger(window))
    throw usageError("rpmsg echo", "--count and --window must be whole numbers");
  const sizes = parseSizes(stringOption(args, "size"));
  if (sizes !== undefined) mtuCheck(sizes[1], EXPECTED_MTU, `--size ${sizes[1]}`);
  const echoTimeoutMs = timeoutMs("rpmsg echo", args, DEFAULT_TIMEOUT_S) ?? DEFAULT_TIMEOUT_S * 1000;
  return withChannel("rpmsg echo", io, args, async (c) => {
    const [minSize, maxSize] = sizes ?? [1, c.mtu];
    mtuCheck(maxSize, c.mtu, `--size ${maxSize}`);
    const sizeText = minSize === maxSize ? `${minSize} bytes` : `${minSize}..${maxSize} bytes`;
    opened(
      out,
      "echo",
      c,
      { count, sizes: [minSize, maxSize], window },
      `: ${count} messages of ${sizeText}, ${window} in flight`,
    );
    const r = await runEcho(c, {
      count,
      minSize,
      maxSize,
      window,
      timeoutMs: echoTimeoutMs,
      ...(io.signal === undefined ? {} : { signal: io.signal }),
    });
    const sorted = [...r.rttMs].sort((a, b) => a - b);
    const rtt = { median: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), max: sorted[sorted.length - 1] ?? NaN };
    const fm = r.firstMismatch;
    out.emit(
      "result",
      `${r.sent} sent (${r.sentBytes} bytes), ${r.echoed} echoed (${r.echoedBytes} bytes), ${r.matched} byte-identical, ${r.mismatches} mismatch${r.mismatches === 1 ? "" : "es"}${r.interrupted ? " (interrupted)" : ""}`,
      "result",
      {
        sent: r.sent,
        sentBytes: r.sentBytes,
        echoed: r.echoed,
        echoedBytes: r.echoedBytes,
        matched: r.matched,
        mismatches: r.mismatches,
        maxInFlight: r.maxInFlight,
        interrupted: r.interrupted,
        ...(sorted.length === 0
          ? {}
          : { rttMs: { median: round3(rtt.median), p99: round3(rtt.p99), max: round3(rtt.max) } }),
        ...(fm === undefined
          ? {}
          : {
              firstMismatch: { message: fm.seq + 1, sent: fm.sent, received: fm.received, at: fm.at, src: hex(fm.src) },
            }),
      },
    );
    if (sorted.length > 0)
      out.more(
        `round trip median ${ms(rtt.median)} ms, p99 ${ms(rtt.p99)} ms, max ${ms(rtt.max)} ms (information, not a benchmark)`,
      );
    if (fm !== undefined) {
      const where =
        fm.seq < 0
          ? `an unexpected message of ${fm.received} bytes from ${hex(fm.src)}`
          : `message ${fm.seq + 1} (${fm.sent} bytes sent, ${fm.received} back from ${hex(fm.src)}${fm.at >= 0 ? `, first difference at byte ${fm.at}` : ""})`;
      throw new AttachError(
        "ERR_ECHO_MISMATCH",
        `${r.mismatches} of ${r.echoed} echoes differ from what was sent; first: ${where}`,
        "The remote changed, dropped or reordered messages (or another sender shares the channel): check the remote's echo code.",
      );
    }
    return r.interrupted ? 130 : 0;
  });
}

// ------------------------------------------------------------------------------------------

const channelOptions: Readonly<Record<string, OptionSpec>> = {
  ...ATTACH_OPTIONS,
  timeout: {
    type: "string",
    value: "S",
    description:
      "Seconds to wait for the remote and the channel's announcement, and for each send or echo (default 10).",
  },
};

/** `amp rpmsg send|listen|echo` */
export const rpmsgCommands: readonly Command[] = [
  {
    name: "rpmsg send",
    summary: "send one message to a channel of an attached remote",
    usage:
      "rpmsg send <channel> (<data> [--hex] | --file FILE) (--preset NAME | --memory FILE --doorbell SPEC | --session SOCKET) [--json]",
    details: [
      'The data is UTF-8 text, hex digits with --hex ("de ad be ef"), or a file\'s bytes; at most the',
      "link's MTU (496 bytes with 512-byte buffers) per message (ERR_MSG_SIZE otherwise).",
      "",
      COMMON_DETAILS,
      "",
      "Examples:",
      "  amp rpmsg send rpmsg-openamp-demo-channel hello --preset openamp-linux",
      "  amp rpmsg send rpmsg-openamp-demo-channel --hex '01 02 03' --preset openamp-linux",
    ].join("\n"),
    options: {
      ...channelOptions,
      hex: { type: "boolean", description: "The data argument is hex digits (spaces and colons allowed)." },
      file: { type: "string", value: "FILE", description: "Send the bytes of FILE." },
    },
    positionals: [1, 2],
    jsonLines: true,
    run: (args, io) => sendRun(io, args),
  },
  {
    name: "rpmsg listen",
    summary: "print the messages a channel of an attached remote sends to us",
    usage:
      "rpmsg listen <channel> (--preset NAME | --memory FILE --doorbell SPEC | --session SOCKET) [--count N] [--duration S] [--json]",
    details: [
      "Prints every message the remote sends to our endpoint on the channel (sender, length, text",
      "or hex), until --count messages, --duration seconds or Ctrl-C. An OpenAMP remote answers the",
      "address that wrote to it: with `amp attach` running, `amp rpmsg send` in another shell makes",
      "the replies show up here.",
      "",
      COMMON_DETAILS,
      "",
      "Examples:",
      "  amp attach --preset openamp-linux &",
      "  amp rpmsg listen rpmsg-openamp-demo-channel --preset openamp-linux --json &",
      "  amp rpmsg send rpmsg-openamp-demo-channel hello --preset openamp-linux",
    ].join("\n"),
    options: {
      ...channelOptions,
      count: { type: "string", value: "N", description: "Exit after N messages." },
      duration: { type: "string", value: "S", description: "Exit after S seconds of listening." },
    },
    positionals: [1, 1],
    jsonLines: true,
    run: (args, io) => listenRun(io, args),
  },
  {
    name: "rpmsg echo",
    summary: "send numbered messages to an echo channel and check every echo byte for byte",
    usage:
      "rpmsg echo <channel> (--preset NAME | --memory FILE --doorbell SPEC | --session SOCKET) [--count N] [--size N|MIN..MAX] [--window N] [--json]",
    details: [
      "Sends --count messages (default 100) of --size bytes (default 1..MTU, cycling), --window at a",
      "time (default 1), and compares each echo with what was sent, in order. Prints the counts and",
      "the round-trip median/p99/max (information, not a benchmark). Exit 1 on any mismatch",
      "(ERR_ECHO_MISMATCH) or an echo missing for --timeout seconds (ERR_ECHO_TIMEOUT).",
      "",
      COMMON_DETAILS,
      "",
      "Examples:",
      "  amp rpmsg echo rpmsg-openamp-demo-channel --preset openamp-linux --count 496",
      "  amp rpmsg echo rpmsg-openamp-demo-channel --preset openamp-linux --size 496 --window 16 --json",
    ].join("\n"),
    options: {
      ...channelOptions,
      count: { type: "string", value: "N", description: "Messages to send (default 100)." },
      size: {
        type: "string",
        value: "N|MIN..MAX",
        description: "Payload size, or a range the sizes cycle through (default 1..MTU).",
      },
      window: { type: "string", value: "N", description: "Messages in flight at a time (default 1)." },
    },
    positionals: [1, 1],
    jsonLines: true,
    run: (args, io) => echoRun(io, args),
  },
];
