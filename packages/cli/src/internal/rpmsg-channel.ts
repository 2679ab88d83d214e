// One rpmsg channel of an attached remote, for `amp rpmsg send|listen|echo`: through the link a
// running `amp attach` holds (its session socket), or by attaching for the command's duration.
import type { RpmsgEndpoint } from "@amp/rpmsg";
import { stringOption, type ParsedArgs } from "./command.js";
import {
  attachLink,
  sendFailure,
  waitForChannel,
  AttachError,
  EXPECTED_MTU,
  type AttachedLink,
} from "./attach-link.js";
import { openSessionChannel, type ChannelMessage } from "./attach-session.js";
import { hasAttachTarget, resolveAttachTarget } from "./attach-target.js";
import { CliError } from "./cli-error.js";
import type { CliIo } from "./io.js";

/** An open channel: the remote's address, ours, and how to send and receive. */
export interface ChannelLink {
  readonly name: string;
  /** The address the remote announced the channel at. */
  readonly remote: number;
  /** Our endpoint's address (the `src` of what we send). */
  readonly local: number;
  readonly mtu: number;
  /** How the link is held, for people: "amp attach (pid 123)" or "attached for this command". */
  readonly via: string;
  send(data: Uint8Array): Promise<void>;
  /** Every message to our endpoint (copies; kept until a listener is set). */
  onMessage(listener: (m: ChannelMessage) => void): void;
  /** Settles when the remote (or the session) goes away. */
  readonly gone: Promise<AttachError>;
  close(): Promise<void>;
}

/** Options of {@link openChannel}. */
export interface OpenChannelOptions {
  /** Budget for attaching and the announcement; also each send's wait for a tx buffer. */
  readonly timeoutMs: number;
}

/**
 * Opens `name` on the remote the command line names: `--session SOCKET`, or the session of an
 * `amp attach` running for the same memory file, or else attaches itself.
 * @throws AttachError, CliError (usage), Interrupted.
 */
export async function openChannel(
  cmd: string,
  io: CliIo,
  args: ParsedArgs,
  name: string,
  options: OpenChannelOptions,
): Promise<ChannelLink> {
  const { timeoutMs } = options;
  const session = stringOption(args, "session");
  if (session === undefined && !hasAttachTarget(args)) {
    throw new CliError(
      "no remote given",
      "Pass --preset openamp-linux or --memory FILE --doorbell unix:PATH (attaches for this command), or --session SOCKET of a running `amp attach`.",
      2,
    );
  }
  const target = hasAttachTarget(args) ? resolveAttachTarget(cmd, io, args) : undefined;
  const sessionPath = target?.sessionPath ?? session ?? "";
  const client = await openSessionChannel(sessionPath, name, timeoutMs, io.signal);
  if (client !== undefined) {
    return {
      name,
      remote: client.remote,
      local: client.local,
      mtu: client.mtu,
      via: `amp attach (pid ${client.info.pid}, ${client.info.memory})`,
      send: (data) => client.send(data, timeoutMs),
      onMessage: (l) => {
        client.onMessage(l);
      },
      gone: client.gone,
      close: () => {
        client.close();
        return Promise.resolve();
      },
    };
  }
  if (target === undefined || target.sessionGiven) {
    throw new AttachError(
      "ERR_SESSION",
      `no amp attach serves the session ${sessionPath}`,
      "Start `amp attach` first, or pass --preset/--memory to attach for this command.",
    );
  }
  const link = await attachLink(target, { timeoutMs, ...(io.signal === undefined ? {} : { signal: io.signal }) });
  try {
    return await directChannel(link, name, timeoutMs, io.signal);
  } catch (e) {
    await link.close();
    throw e;
  }
}

async function directChannel(
  link: AttachedLink,
  name: string,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<ChannelLink> {
  const svc = await waitForChannel(link.host, name, timeoutMs, signal);
  const listeners: ((m: ChannelMessage) => void)[] = [];
  const early: ChannelMessage[] = [];
  const ep: RpmsgEndpoint = link.host.createEndpoint({
    dst: svc.addr,
    onMessage: (m) => {
      // The payload is a view of the shared buffer, valid only during this callback.
      const copy = { src: m.src, dst: m.dst, data: m.data.slice() };
      if (listeners.length === 0) early.push(copy);
      for (const l of listeners) l(copy);
    },
  });
  return {
    name,
    remote: svc.addr,
    local: ep.addr,
    mtu: ep.mtu,
    via: "attached for this command",
    async send(data) {
      try {
        await ep.send(data, { timeoutMs });
      } catch (e) {
        throw sendFailure(e, ep.mtu, timeoutMs);
      }
    },
    onMessage(l) {
      listeners.push(l);
      for (const m of early.splice(0)) l(m);
    },
    gone: link.gone,
    async close() {
      ep.destroy();
      await link.close();
    },
  };
}

/** The MTU a channel will have before it is open (the buffers this CLI gives the link). */
export const DEFAULT_MTU: number = EXPECTED_MTU;
