// How a message changes the live view's state. The server keeps its snapshot with this and the
// page keeps its copy with the same function, so a page that connects late and one that was
// open from the start show the same thing. Pure ECMAScript: bundled into the page as well.
import type { UiMessage, UiSnapshot } from "./protocol.js";

/** How much history is kept (older entries fall off the front). */
export const UI_LIMITS = {
  trace: 400,
  timeline: 400,
  samples: 600,
  transitions: 200,
  crashes: 100,
  coredumps: 50,
  echo: 50,
} as const;

/** Appends `item` to the history `list`, dropping the oldest entries beyond `max`; returns `s`. */
function append<T>(s: UiSnapshot, list: T[], item: T, max: number): UiSnapshot {
  list.push(item);
  if (list.length > max) list.splice(0, list.length - max);
  return s;
}

/** Replaces the row of `list` that `same` picks, or adds `row` at the end; returns `s`. */
function upsert<T>(s: UiSnapshot, list: T[], row: T, same: (r: T) => boolean): UiSnapshot {
  const i = list.findIndex(same);
  if (i >= 0) list[i] = row;
  else list.push(row);
  return s;
}

/** An empty snapshot. */
export function emptySnapshot(init: {
  mode: string;
  name: string;
  firmware: string;
  startedAt: number;
  canCrash: boolean;
}): UiSnapshot {
  return {
    ...init,
    state: "offline",
    crashCount: 0,
    transitions: [],
    table: null,
    memory: [],
    channels: [],
    endpoints: [],
    trace: [],
    timeline: [],
    crashes: [],
    coredumps: [],
    samples: [],
    echo: [],
  };
}

/** Applies `msg` to `s` in place; a snapshot message is returned as the new state. */
export function applyMessage(s: UiSnapshot, msg: UiMessage): UiSnapshot {
  switch (msg.kind) {
    case "snapshot":
      return msg.snapshot;
    case "state":
      s.state = msg.transition.to;
      s.crashCount = msg.crashCount;
      return append(s, s.transitions, msg.transition, UI_LIMITS.transitions);
    case "layout":
      s.table = msg.table;
      s.memory = msg.memory;
      return s;
    case "channel": // one row per name: the latest announcement (or withdrawal) wins
      return upsert(s, s.channels, msg.channel, (c) => c.name === msg.channel.name);
    case "endpoint":
      return upsert(s, s.endpoints, msg.endpoint, (e) => e.service === msg.endpoint.service);
    case "trace":
      return append(s, s.trace, msg.line, UI_LIMITS.trace);
    case "event":
      return append(s, s.timeline, msg.event, UI_LIMITS.timeline);
    case "crash":
      return append(s, s.crashes, msg.crash, UI_LIMITS.crashes);
    case "recovered": {
      // Recovery answers the latest crash still open (crashes come one at a time).
      for (let i = s.crashes.length - 1; i >= 0; i--) {
        const c = s.crashes[i];
        if (c !== undefined && c.recoveredAt === null) {
          c.recoveredAt = msg.t;
          break;
        }
      }
      return s;
    }
    case "coredump":
      return append(s, s.coredumps, msg.coredump, UI_LIMITS.coredumps);
    case "sample":
      return append(s, s.samples, msg.sample, UI_LIMITS.samples);
    case "echo":
      return append(s, s.echo, msg.run, UI_LIMITS.echo);
    case "bye":
      return s;
  }
}
