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

function push<T>(list: T[], item: T, max: number): void {
  list.push(item);
  if (list.length > max) list.splice(0, list.length - max);
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
    case "state": {
      s.state = msg.transition.to;
      s.crashCount = msg.crashCount;
      push(s.transitions, msg.transition, UI_LIMITS.transitions);
      return s;
    }
    case "layout":
      s.table = msg.table;
      s.memory = msg.memory;
      return s;
    case "channel": {
      // One row per name: the latest announcement (or withdrawal) wins.
      const i = s.channels.findIndex((c) => c.name === msg.channel.name);
      if (i >= 0) s.channels[i] = msg.channel;
      else s.channels.push(msg.channel);
      return s;
    }
    case "endpoint": {
      const i = s.endpoints.findIndex((e) => e.service === msg.endpoint.service);
      if (i >= 0) s.endpoints[i] = msg.endpoint;
      else s.endpoints.push(msg.endpoint);
      return s;
    }
    case "trace":
      push(s.trace, msg.line, UI_LIMITS.trace);
      return s;
    case "event":
      push(s.timeline, msg.event, UI_LIMITS.timeline);
      return s;
    case "crash":
      push(s.crashes, msg.crash, UI_LIMITS.crashes);
      return s;
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
      push(s.coredumps, msg.coredump, UI_LIMITS.coredumps);
      return s;
    case "sample":
      push(s.samples, msg.sample, UI_LIMITS.samples);
      return s;
    case "echo":
      push(s.echo, msg.run, UI_LIMITS.echo);
      return s;
    case "bye":
      return s;
  }
}
