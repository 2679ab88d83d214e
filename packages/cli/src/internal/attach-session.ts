// The control socket of `amp attach`: other `amp rpmsg` processes use the link it holds.
// Why it exists: a remote brings its rpmsg link up once per run (OpenAMP's Linux machine even
// accepts one doorbell connection per run), so a second process cannot attach again; it asks
// the one that is attached instead.
//
// Protocol: JSON lines on a UNIX stream socket. Requests carry an `id`, replies echo it:
//   {"id":1,"op":"open","channel":NAME,"timeoutMs":N} -> {"id":1,"ok":true,"remote":A,"local":A,"mtu":N,"pid":P,"memory":PATH}
//   {"id":2,"op":"send","data":BASE64,"timeoutMs":N}   -> {"id":2,"ok":true}
//   failure                                            -> {"id":n,"ok":false,"code":"ERR_...","message":"...","hint":"..."}
// After "open" the server pushes every message of that channel: {"msg":BASE64,"src":A,"dst":A},
// and when the remote goes away: {"event":"gone","code":...,"message":...,"hint":...}, then it
// closes. One channel per connection; one endpoint per channel, shared by every client (an
// OpenAMP remote answers the first address that wrote to it).
import { rmSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import type { RpmsgEndpoint } from "@amp/rpmsg";
import {
  AttachError,
  Interrupted,
  sendFailure,
  waitForChannel,
  type AttachedLink,
  type AttachErrorCode,
} from "./attach-link.js";

/** A message of a channel, as both ends of the session see it. */
export interface ChannelMessage {
  readonly src: number;
  readonly dst: number;
  readonly data: Uint8Array;
}

interface Reply {
  readonly id?: number;
  readonly ok?: boolean;
  readonly code?: string;
  readonly message?: string;
  readonly hint?: string;
  readonly [k: string]: unknown;
}

/** Splits a byte stream into JSON lines; a line that does not parse ends the connection. */
function lineReader(socket: Socket, onLine: (value: Record<string, unknown>) => void): void {
  let buf = "";
  socket.setEncoding("utf8");
  socket.on("data", (chunk: string) => {
    buf += chunk;
    for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (line.trim() === "") continue;
      let v: unknown;
      try {
        v = JSON.parse(line);
      } catch {
        socket.destroy();
        return;
      }
      if (v !== null && typeof v === "object" && !Array.isArray(v)) onLine(v as Record<string, unknown>);
    }
  });
}

function send(socket: Socket, value: unknown): void {
  if (!socket.destroyed) socket.write(`${JSON.stringify(value)}\n`);
}

function connectOnce(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(path);
    s.once("error", (e) => {
      s.destroy();
      reject(e);
    });
    s.once("connect", () => {
      s.removeAllListeners("error");
      resolve(s);
    });
  });
}

/** A session an `amp attach` serves, seen from the `amp attach` side. */
export interface SessionServer {
  readonly path: string;
  /** Tells every client the remote went away, and closes. */
  close(gone?: AttachError): void;
}

/** What the server reports about its clients (for `amp attach`'s log). */
export type SessionEvent =
  | {
      readonly event: "client";
      readonly type: "open";
      readonly client: number;
      readonly channel: string;
      readonly local: number;
      readonly remote: number;
    }
  | {
      readonly event: "client";
      readonly type: "refused";
      readonly client: number;
      readonly channel: string;
      readonly code: AttachErrorCode;
    }
  | { readonly event: "client"; readonly type: "close"; readonly client: number };

/**
 * Makes sure nobody serves `path` yet: a live session there means another `amp attach` holds
 * the remote; a socket file nobody answers on is left over from a killed one and is removed.
 * @throws AttachError ERR_SESSION_BUSY.
 */
export async function claimSessionPath(path: string): Promise<void> {
  try {
    const s = await connectOnce(path);
    s.destroy();
  } catch {
    rmSync(path, { force: true });
    return;
  }
  throw new AttachError(
    "ERR_SESSION_BUSY",
    `another amp attach serves ${path}: it holds this remote's link`,
    "Use that link: run `amp rpmsg ...` with the same --preset/--memory (or --session), or stop that amp attach first.",
  );
}

interface Channel {
  readonly ep: RpmsgEndpoint;
  readonly remote: number;
  readonly subscribers: Set<Socket>;
}

/** Serves the session of `link` on `path` (claim it first with {@link claimSessionPath}). */
export async function serveSession(
  link: AttachedLink,
  path: string,
  onEvent?: (e: SessionEvent) => void,
): Promise<SessionServer> {
  const channels = new Map<string, Promise<Channel>>();
  const sockets = new Set<Socket>();
  let nextClient = 1;
  const openChannel = (name: string, timeoutMs: number): Promise<Channel> => {
    let p = channels.get(name);
    if (p === undefined) {
      p = waitForChannel(link.host, name, timeoutMs).then((svc) => {
        const subscribers = new Set<Socket>();
        const ep = link.host.createEndpoint({
          dst: svc.addr,
          onMessage: (m) => {
            const line = { msg: Buffer.from(m.data).toString("base64"), src: m.src, dst: m.dst };
            for (const s of subscribers) send(s, line);
          },
        });
        return { ep, remote: svc.addr, subscribers };
      });
      channels.set(name, p);
      // A channel that was not announced may be announced later: ask again next time.
      p.catch(() => {
        if (channels.get(name) === p) channels.delete(name);
      });
    }
    return p;
  };
  const fail = (socket: Socket, id: unknown, e: unknown): void => {
    const err =
      e instanceof AttachError
        ? e
        : new AttachError(
            "ERR_SESSION",
            `the request failed: ${e instanceof Error ? e.message : String(e)}`,
            "Rerun with AMP_DEBUG=1 and report it.",
          );
    send(socket, { id, ok: false, code: err.code, message: err.detail, hint: err.hint });
  };
  const server: Server = createServer((socket) => {
    const client = nextClient++;
    sockets.add(socket);
    let channel: Channel | undefined;
    socket.on("error", () => undefined);
    socket.on("close", () => {
      sockets.delete(socket);
      if (channel === undefined) return; // a probe, or an open that failed
      channel.subscribers.delete(socket);
      onEvent?.({ event: "client", type: "close", client });
    });
    lineReader(socket, (req) => {
      const id = req["id"];
      const timeoutMs = typeof req["timeoutMs"] === "number" && req["timeoutMs"] > 0 ? req["timeoutMs"] : 10_000;
      if (req["op"] === "open" && typeof req["channel"] === "string" && channel === undefined) {
        const name = req["channel"];
        openChannel(name, timeoutMs).then(
          (c) => {
            channel = c;
            c.subscribers.add(socket);
            onEvent?.({ event: "client", type: "open", client, channel: name, local: c.ep.addr, remote: c.remote });
            send(socket, {
              id,
              ok: true,
              remote: c.remote,
              local: c.ep.addr,
              mtu: c.ep.mtu,
              pid: process.pid,
              memory: link.target.memoryPath,
            });
          },
          (e: unknown) => {
            if (e instanceof AttachError)
              onEvent?.({ event: "client", type: "refused", client, channel: name, code: e.code });
            fail(socket, id, e);
          },
        );
      } else if (req["op"] === "send" && typeof req["data"] === "string" && channel !== undefined) {
        const data = new Uint8Array(Buffer.from(req["data"], "base64"));
        const ep = channel.ep;
        ep.send(data, { timeoutMs }).then(
          () => {
            send(socket, { id, ok: true });
          },
          (e: unknown) => {
            fail(socket, id, sendFailure(e, ep.mtu, timeoutMs));
          },
        );
      } else {
        fail(
          socket,
          id,
          new AttachError(
            "ERR_SESSION",
            `bad request ${JSON.stringify(req).slice(0, 80)}`,
            "Use amp rpmsg with the same amp version as amp attach.",
          ),
        );
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (e) => {
      reject(
        new AttachError(
          "ERR_SESSION",
          `cannot serve the session on ${path}: ${e.message}`,
          "Pass another --session path.",
          e,
        ),
      );
    });
    server.listen(path, () => {
      server.removeAllListeners("error");
      resolve();
    });
  });
  server.on("error", () => undefined);
  let closed = false;
  return {
    path,
    close(gone?: AttachError) {
      if (closed) return;
      closed = true;
      for (const s of sockets) {
        if (gone !== undefined) send(s, { event: "gone", code: gone.code, message: gone.detail, hint: gone.hint });
        s.end();
      }
      server.close();
      rmSync(path, { force: true });
    },
  };
}

/** A connection to a session, seen from `amp rpmsg`. */
export interface SessionClient {
  /** The process serving it and its memory file (from the open reply). */
  readonly info: { pid: number; memory: string };
  readonly remote: number;
  readonly local: number;
  readonly mtu: number;
  send(data: Uint8Array, timeoutMs: number): Promise<void>;
  onMessage(listener: (m: ChannelMessage) => void): void;
  /** Settles when the session ends (the remote went away, or amp attach stopped). */
  readonly gone: Promise<AttachError>;
  close(): void;
}

/**
 * Connects to the session at `path` and opens `channel` there; undefined when nobody serves
 * `path` (no such socket, or a stale one).
 * @throws AttachError from the server (ERR_NOT_ANNOUNCED, ...), ERR_SESSION; Interrupted.
 */
export async function openSessionChannel(
  path: string,
  channel: string,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<SessionClient | undefined> {
  let socket: Socket;
  try {
    socket = await connectOnce(path);
  } catch {
    return undefined;
  }
  let nextId = 1;
  const pending = new Map<number, (r: Reply) => void>();
  const listeners: ((m: ChannelMessage) => void)[] = [];
  const early: ChannelMessage[] = [];
  let resolveGone: (e: AttachError) => void = () => undefined;
  const gone = new Promise<AttachError>((r) => {
    resolveGone = r;
  });
  let ending = false;
  const endAll = (e: AttachError): void => {
    resolveGone(e);
    for (const [, cb] of pending) cb({ ok: false, code: e.code, message: e.detail, hint: e.hint });
    pending.clear();
  };
  socket.on("error", () => undefined);
  socket.on("close", () => {
    if (!ending)
      endAll(
        new AttachError(
          "ERR_SESSION",
          `the amp attach session ${path} ended`,
          "The amp attach that held the remote stopped: check its output.",
        ),
      );
  });
  lineReader(socket, (v) => {
    if (typeof v["msg"] === "string") {
      const m = { src: Number(v["src"]), dst: Number(v["dst"]), data: new Uint8Array(Buffer.from(v["msg"], "base64")) };
      if (listeners.length === 0) early.push(m);
      for (const l of listeners) l(m);
      return;
    }
    if (v["event"] === "gone") {
      endAll(
        new AttachError(
          isCode(v["code"]) ? v["code"] : "ERR_REMOTE_GONE",
          str(v["message"], "the remote went away"),
          str(v["hint"], "Check the remote."),
        ),
      );
      return;
    }
    const id = typeof v["id"] === "number" ? v["id"] : -1;
    const cb = pending.get(id);
    pending.delete(id);
    cb?.(v);
  });
  const request = (req: Record<string, unknown>): Promise<Reply> => {
    const id = nextId++;
    return new Promise<Reply>((resolve) => {
      pending.set(id, resolve);
      send(socket, { ...req, id });
    });
  };
  const check = (r: Reply): Reply => {
    if (r.ok === true) return r;
    throw new AttachError(
      isCode(r.code) ? r.code : "ERR_SESSION",
      r.message ?? "the session refused the request",
      r.hint ?? "Check amp attach's output.",
    );
  };
  const close = (): void => {
    ending = true;
    socket.end();
    socket.destroy();
  };
  let opened: Reply;
  try {
    const reply = request({ op: "open", channel, timeoutMs });
    opened = check(await (signal === undefined ? reply : Promise.race([reply, abortPromise(signal)])));
  } catch (e) {
    close();
    throw e;
  }
  return {
    info: { pid: Number(opened["pid"]), memory: String(opened["memory"]) },
    remote: Number(opened["remote"]),
    local: Number(opened["local"]),
    mtu: Number(opened["mtu"]),
    async send(data, ms) {
      check(await request({ op: "send", data: Buffer.from(data).toString("base64"), timeoutMs: ms }));
    },
    onMessage(listener) {
      listeners.push(listener);
      for (const m of early.splice(0)) listener(m);
    },
    gone,
    close,
  };
}

function abortPromise(signal: AbortSignal): Promise<never> {
  return new Promise<never>((_, reject) => {
    if (signal.aborted) reject(new Interrupted("interrupted"));
    signal.addEventListener(
      "abort",
      () => {
        reject(new Interrupted("interrupted"));
      },
      { once: true },
    );
  });
}

const CODES: ReadonlySet<string> = new Set<AttachErrorCode>([
  "ERR_MEMORY_MISSING",
  "ERR_MEMORY_SIZE",
  "ERR_NO_TABLE",
  "ERR_TABLE_INVALID",
  "ERR_DOORBELL_MISSING",
  "ERR_DOORBELL_REFUSED",
  "ERR_DOORBELL",
  "ERR_ATTACH",
  "ERR_REMOTE_GONE",
  "ERR_NOT_ANNOUNCED",
  "ERR_MSG_SIZE",
  "ERR_ECHO_MISMATCH",
  "ERR_ECHO_TIMEOUT",
  "ERR_TIMEOUT",
  "ERR_SESSION",
  "ERR_SESSION_BUSY",
]);

function str(v: unknown, fallback: string): string {
  return typeof v === "string" ? v : fallback;
}

function isCode(v: unknown): v is AttachErrorCode {
  return typeof v === "string" && CODES.has(v);
}
