// The live view's state on the server: it takes the session's events (the same ones `amp run`
// and `amp demo` print, through an EventOut tee) and the monitor's samples, keeps a bounded
// history for pages that connect later, and passes every change on to the connected pages.
import { basename } from "node:path";
import type { EventOut } from "../internal/event-out.js";
import { parseTraceLine } from "@amp/remoteproc-core";
import type { UiCoredump, UiMessage, UiSnapshot, UiTraceLine } from "./protocol.js";
import { applyMessage, emptySnapshot } from "./reduce.js";

/** What the page's header shows about the session. */
export interface UiHubInfo {
  readonly mode: string;
  readonly name: string;
  readonly firmware: string;
  readonly canCrash: boolean;
}

function str(v: unknown, fallback = ""): string {
  return typeof v === "string" ? v : fallback;
}

function num(v: unknown): number {
  return typeof v === "number" && Number.isFinite(v) ? v : 0;
}

/** The server side of the live view. */
export class UiHub {
  private state: UiSnapshot;
  private readonly t0 = performance.now();
  private readonly listeners = new Set<(msg: UiMessage) => void>();
  /** Coredump files by the name the page asks for: the only files the server ever serves. */
  private readonly cores = new Map<string, string>();
  private crashes = 0;

  constructor(info: UiHubInfo) {
    this.state = emptySnapshot({ ...info, startedAt: Date.now() });
  }

  /** Seconds since the hub started (the `t` of every message), millisecond resolution. */
  now(): number {
    return Math.round(performance.now() - this.t0) / 1000;
  }

  /** The current state, for a page that connects now. */
  snapshot(): UiSnapshot {
    return this.state;
  }

  /** Calls `listener` with every message from now on; returns the unsubscribe function. */
  subscribe(listener: (msg: UiMessage) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Records `msg` and sends it to every page. */
  publish(msg: UiMessage): void {
    this.state = applyMessage(this.state, msg);
    for (const l of this.listeners) {
      try {
        l(msg);
      } catch {
        // A page that went away mid-write is dropped by its own close handler.
      }
    }
  }

  /** An EventOut that writes to `out` as before and also feeds the hub. */
  tee(out: EventOut): EventOut {
    return {
      json: out.json,
      emit: (tag, text, event, fields = {}) => {
        out.emit(tag, text, event, fields);
        this.sessionEvent(tag, text, event, fields);
      },
      more: (text) => {
        out.more(text);
      },
    };
  }

  /** One event of the session (see internal/session.ts for the names and fields). */
  sessionEvent(tag: string, text: string, event: string, fields: Record<string, unknown>): void {
    const t = this.now();
    switch (event) {
      case "trace": {
        // A structured record ("seq remoteUs level text") keeps its remote time and level.
        const r = parseTraceLine(str(fields["line"], text));
        const line: UiTraceLine = {
          t,
          line: r.text,
          ...(r.seq === undefined ? {} : { seq: r.seq }),
          ...(r.remoteUs === undefined ? {} : { remoteUs: r.remoteUs }),
          ...(r.level === undefined ? {} : { level: r.level }),
        };
        this.publish({ kind: "trace", line });
        return; // trace lines have their own panel
      }
      case "state": {
        const to = str(fields["to"]);
        this.publish({ kind: "state", transition: { t, from: str(fields["from"]), to }, crashCount: this.crashes });
        if (to === "running" && this.state.crashes.some((c) => c.recoveredAt === null))
          this.publish({ kind: "recovered", t });
        break;
      }
      case "crash":
        this.crashes++;
        this.publish({
          kind: "crash",
          crash: { t, type: str(fields["type"]), detail: str(fields["detail"]), recoveredAt: null },
        });
        break;
      case "channel":
        this.publish({
          kind: "channel",
          channel: {
            t,
            name: str(fields["name"]),
            addr: str(fields["addr"]),
            state: fields["type"] === "destroy" ? "withdrawn" : "announced",
          },
        });
        break;
      case "endpoint":
        this.publish({
          kind: "endpoint",
          endpoint: { t, local: str(fields["local"]), remote: str(fields["remote"]), service: str(fields["service"]) },
        });
        break;
      case "coredump": {
        const path = fields["path"];
        if (typeof path === "string") this.addCoredump(path, num(fields["size"]));
        break;
      }
      case "echo": {
        const rtt = fields["rttUs"] as Record<string, unknown> | undefined;
        if (rtt !== undefined) {
          this.publish({
            kind: "echo",
            run: {
              t,
              phase: str(fields["phase"]),
              messages: num(fields["messages"]),
              rttUs: { median: num(rtt["median"]), p90: num(rtt["p90"]), p99: num(rtt["p99"]), max: num(rtt["max"]) },
            },
          });
        }
        break;
      }
      default:
        break;
    }
    this.publish({ kind: "event", event: { t, tag: tag.trim() === "" ? event : tag.trim(), event, text } });
  }

  /**
   * Offers a coredump file for download as `/coredumps/<name>`. The same file offered again
   * (demo writes one path per run) is one entry; two files with one base name get a suffix.
   */
  addCoredump(path: string, size: number): UiCoredump {
    let name = basename(path);
    for (let i = 2; this.cores.has(name) && this.cores.get(name) !== path; i++) name = `${basename(path)}.${i}`;
    this.cores.set(name, path);
    const coredump: UiCoredump = { t: this.now(), name, url: `/coredumps/${encodeURIComponent(name)}`, size };
    this.publish({ kind: "coredump", coredump });
    return coredump;
  }

  /** The file behind a download name, or undefined: names are looked up, never joined into a path. */
  coredumpFile(name: string): string | undefined {
    return this.cores.get(name);
  }
}
