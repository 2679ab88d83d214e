// amp attach: take over a running process-based remote (OpenAMP's Linux machine, an emulator
// mapping a memory file), check the table it wrote, bring its rpmsg link up and show the
// channels it announces, until Ctrl-C or --timeout. While it runs, `amp rpmsg` commands use its
// link through a control socket.
import { tableToJson } from "../internal/rsc-json.js";
import { describeResource } from "../internal/rsc-text.js";
import { attachLink, AttachError, Interrupted, type AttachEvent, type AttachedLink } from "../internal/attach-link.js";
import { claimSessionPath, serveSession, type SessionEvent, type SessionServer } from "../internal/attach-session.js";
import {
  ATTACH_OPTIONS,
  formatDoorbell,
  jsonOutput,
  resolveAttachTarget,
  timeoutMs,
} from "../internal/attach-target.js";
import type { Command, ParsedArgs } from "../internal/command.js";
import { eventOut, type EventOut } from "../internal/event-out.js";
import { hex } from "../internal/format.js";
import type { CliIo } from "../internal/io.js";

/** How long attaching may take when --timeout does not say. */
const DEFAULT_WAIT_MS = 10_000;

function statusText(status: number): string {
  const bits = [
    [1, "ACKNOWLEDGE"],
    [2, "DRIVER"],
    [4, "DRIVER_OK"],
    [8, "FEATURES_OK"],
    [0x40, "NEEDS_RESET"],
    [0x80, "FAILED"],
  ] as const;
  const names = bits.filter(([b]) => (status & b) !== 0).map(([, n]) => n);
  return `${hex(status)}${names.length === 0 ? "" : ` (${names.join(" | ")})`}`;
}

/** Prints one attach event. */
export function printAttachEvent(out: EventOut, e: AttachEvent): void {
  switch (e.event) {
    case "table": {
      const errors = e.diagnostics.filter((d) => d.severity === "error").length;
      out.emit(
        "table",
        `at ${hex(e.da)}, ${e.size} bytes, ${e.table.entries.length} entr${e.table.entries.length === 1 ? "y" : "ies"}, ${e.diagnostics.length} diagnostic${e.diagnostics.length === 1 ? "" : "s"}`,
        "table",
        {
          da: hex(e.da),
          size: e.size,
          diagnostics: e.diagnostics.map((d) => ({
            code: d.code,
            severity: d.severity,
            offset: hex(d.offset),
            message: d.message,
          })),
          errors,
          table: tableToJson(e.table),
        },
      );
      for (const r of e.table.entries) for (const l of describeResource(r)) out.more(l);
      for (const d of e.diagnostics) out.more(`${d.severity} ${d.code} at table offset ${hex(d.offset)}: ${d.message}`);
      return;
    }
    case "link": {
      const g = e.geometry;
      const bufs =
        g === undefined
          ? ""
          : `, ${g.numRxBuffers} rx + ${g.numTxBuffers} tx buffers of ${g.bufferSize} bytes at ${hex(g.rxAddr)}`;
      out.emit(
        "link",
        `up: status ${statusText(e.status)}, features ${hex(e.features)}${e.nameService ? " (name service)" : ""}${bufs}, MTU ${e.mtu}`,
        "link",
        {
          status: hex(e.status),
          features: hex(e.features),
          nameService: e.nameService,
          mtu: e.mtu,
          ...(g === undefined
            ? {}
            : {
                buffers: {
                  size: g.bufferSize,
                  rx: g.numRxBuffers,
                  tx: g.numTxBuffers,
                  rxAddr: hex(g.rxAddr),
                  txAddr: hex(g.txAddr),
                },
              }),
        },
      );
      return;
    }
    case "channel":
      out.emit(
        "channel",
        `"${e.name}" ${e.type === "create" ? "announced" : "withdrawn"} by the remote at ${hex(e.addr)}`,
        "channel",
        { type: e.type, name: e.name, addr: hex(e.addr) },
      );
      return;
    case "gone":
      out.emit("gone", e.message, "gone", { message: e.message });
      return;
  }
}

function printSessionEvent(out: EventOut, e: SessionEvent): void {
  if (e.type === "open")
    out.emit(
      "client",
      `${e.client} opened "${e.channel}" (local ${hex(e.local)} -> remote ${hex(e.remote)})`,
      "client",
      { type: "open", client: e.client, channel: e.channel, local: hex(e.local), remote: hex(e.remote) },
    );
  else if (e.type === "refused")
    out.emit("client", `${e.client} asked for "${e.channel}": ${e.code}`, "client", {
      type: "refused",
      client: e.client,
      channel: e.channel,
      code: e.code,
    });
  else out.emit("client", `${e.client} closed`, "client", { type: "close", client: e.client });
}

/** Resolves when `signal` aborts or after `ms` (undefined: never). */
function stopWhen(signal: AbortSignal | undefined, ms: number | undefined): Promise<"interrupted" | "timeout"> {
  return new Promise((resolve) => {
    if (signal?.aborted === true) {
      resolve("interrupted");
      return;
    }
    const timer =
      ms === undefined
        ? undefined
        : setTimeout(() => {
            resolve("timeout");
          }, ms);
    signal?.addEventListener(
      "abort",
      () => {
        if (timer !== undefined) clearTimeout(timer);
        resolve("interrupted");
      },
      { once: true },
    );
  });
}

async function run(io: CliIo, args: ParsedArgs): Promise<number> {
  const out = eventOut(io, jsonOutput(args), true);
  const target = resolveAttachTarget("attach", io, args);
  const stopAfterMs = timeoutMs("attach", args, undefined);
  const started = Date.now();
  let link: AttachedLink | undefined;
  let session: SessionServer | undefined;
  try {
    await claimSessionPath(target.sessionPath);
    out.emit(
      "attach",
      `${target.memoryPath}, doorbell ${formatDoorbell(target.doorbell)}${target.preset === undefined ? "" : ` (preset ${target.preset})`}`,
      "attach",
      {
        memory: target.memoryPath,
        doorbell: formatDoorbell(target.doorbell),
        ...(target.preset === undefined ? {} : { preset: target.preset }),
      },
    );
    try {
      link = await attachLink(target, {
        timeoutMs: stopAfterMs ?? DEFAULT_WAIT_MS,
        ...(io.signal === undefined ? {} : { signal: io.signal }),
        onEvent: (e) => {
          printAttachEvent(out, e);
        },
      });
    } catch (e) {
      if (e instanceof Interrupted) {
        out.emit("stop", "interrupted before the remote was attached", "stop", { reason: "interrupted" });
        return 130;
      }
      throw e;
    }
    session = await serveSession(link, target.sessionPath, (e) => {
      printSessionEvent(out, e);
    });
    out.emit(
      "session",
      `amp rpmsg with the same ${target.preset === undefined ? "--memory" : "--preset"} uses this link (control socket ${target.sessionPath})`,
      "session",
      { path: target.sessionPath },
    );
    const remaining = stopAfterMs === undefined ? undefined : Math.max(0, stopAfterMs - (Date.now() - started));
    const why = await Promise.race([stopWhen(io.signal, remaining), link.gone]);
    if (why instanceof AttachError) {
      session.close(why);
      throw why;
    }
    session.close();
    await link.close();
    out.emit(
      "stop",
      `${why === "timeout" ? "time is up" : "interrupted"}: detached, the remote keeps running`,
      "stop",
      { reason: why },
    );
    return 0;
  } finally {
    session?.close();
    await link?.close().catch(() => undefined);
  }
}

/** `amp attach` */
export const attachCommand: Command = {
  name: "attach",
  summary: "attach to a running process-based remote (OpenAMP's Linux machine): table, rpmsg link, channels",
  usage: "attach (--preset NAME | --memory FILE --doorbell SPEC) [--table DA] [--timeout S] [--json]",
  details: [
    "Reads and validates the resource table the remote wrote into its memory file, opens the",
    "doorbell, brings the rpmsg link up (DRIVER_OK) and prints each channel the remote announces,",
    "until Ctrl-C or --timeout seconds (then it detaches; the remote keeps running). The remote",
    "must be up within --timeout (10 s without it).",
    "",
    "While it runs, `amp rpmsg send|listen|echo` with the same --preset/--memory use its link",
    "through a control socket: a remote brings its link up once per run (OpenAMP's Linux machine",
    "accepts one doorbell connection), so a second attach would be refused.",
    "",
    "Errors carry a stable code: ERR_MEMORY_MISSING, ERR_NO_TABLE, ERR_TABLE_INVALID,",
    "ERR_DOORBELL_MISSING, ERR_DOORBELL_REFUSED, ERR_REMOTE_GONE, ERR_SESSION_BUSY, ...",
    "",
    "Examples:",
    "  amp attach --preset openamp-linux                       # OpenAMP's rpmsg-echo sample runs",
    "  amp attach --memory /dev/shm/openamp.shm --doorbell unix:/tmp/openamp.event.0 --json",
    "  amp attach --preset openamp-linux --timeout 30           # detach after 30 s",
  ].join("\n"),
  options: {
    ...ATTACH_OPTIONS,
    timeout: {
      type: "string",
      value: "S",
      description: "Detach after S seconds (default: at Ctrl-C); the remote must be up by then (10 s without it).",
    },
  },
  positionals: [0, 0],
  jsonLines: true,
  run: (args, io) => run(io, args),
};
