// The two interop runs against rpmsg-lite's C code, shared by the tests:
//   hostVsLiteRemote: an @amp static host (createStaticHost) echoes through rl-remote,
//   liteMasterVsRemote: rl-master echoes through an @amp static remote (createStaticRemote).
// Both sides use one file: @amp through FileMemory (pread/pwrite), rpmsg-lite through mmap.
import { join } from "node:path";
import { AddressSpace } from "@amp/virtio-ring";
import {
  createStaticHost,
  createStaticRemote,
  type NsEvent,
  type RpmsgDevice,
  type RpmsgEndpoint,
  type RpmsgStats,
  type RxHold,
  type StaticLinkLayout,
} from "@amp/rpmsg";
import { FileMemory } from "../../src/index.ts";
import {
  diffMessage,
  fillMessage,
  makeMessage,
  messageSize,
  scheduler,
  spawnPeer,
  until,
  type Peer,
  type PeerExit,
} from "./rpmsg-lite-peer.ts";

/** One run: which build, which layout on the @amp side, and how both sides behave. */
export interface LiteRun {
  readonly bin: string;
  /** Build variant (directory under bin). */
  readonly variant: string;
  /** The layout @amp uses (normally rpmsgLiteLayout of the same numbers). */
  readonly layout: StaticLinkLayout;
  /** Device address of file offset 0 (rpmsg-lite: --da-base); rpmsg-lite's block starts at file offset layout.base - daBase. */
  readonly daBase: number;
  /** The shared file (created; at least 1 MiB). */
  readonly file: string;
  readonly count: number;
  readonly window: number;
  /** rpmsg-lite side: zero-copy API. */
  readonly liteZeroCopy: boolean;
  /** @amp side: zero-copy tx (getTxBuffer/send) and held rx buffers (msg.hold()). */
  readonly ampZeroCopy: boolean;
  /** Host role: rl-remote only receives (and checks) instead of echoing: one-way traffic. */
  readonly sink?: boolean;
  /** Hang guard for the whole run. */
  readonly timeoutMs?: number;
}

/** What a run observed, per direction, for the assertions. */
export interface LiteOutcome {
  /** Messages @amp sent and echoes @amp received that matched byte for byte. */
  readonly ampSent: number;
  readonly ampMatched: number;
  /** Messages @amp received that were not the expected bytes (with the first few described). */
  readonly ampMismatches: string[];
  readonly ampStats: RpmsgStats;
  /** NS events the @amp side saw that no endpoint claimed (a claimed CREATE binds instead). */
  readonly ampNs: NsEvent[];
  /** Host role: the peer address the @amp endpoint bound to from the NS CREATE. */
  readonly ampBoundTo: number | undefined;
  /** Why the @amp link went down, if it did. */
  readonly linkDown: Error | undefined;
  readonly peer: PeerExit;
  /** Doorbell rings by vector id: what @amp rang, what rpmsg-lite rang. */
  readonly ringsToPeer: ReadonlyMap<number, number>;
  readonly ringsFromPeer: ReadonlyMap<number, number>;
}

const SERVICE = "amp-echo";

function liteArgs(r: LiteRun, size: number): string[] {
  return [
    "--shm",
    r.file,
    "--shm-size",
    String(size),
    "--shm-offset",
    String(r.layout.base - r.daBase),
    "--da-base",
    `0x${r.daBase.toString(16)}`,
    "--link-id",
    String(r.layout.linkId),
    "--name",
    SERVICE,
    "--count",
    String(r.count),
    ...(r.liteZeroCopy ? ["--zero-copy"] : []),
  ];
}

function fileSize(r: LiteRun): number {
  // At least 1 MiB (sparse): room for rpmsg-lite's own layout even when @amp's differs.
  return Math.max(1 << 20, Math.ceil((r.layout.base - r.daBase + r.layout.size) / 4096) * 4096);
}

/** A queue of things that arrive in callbacks, awaited by the driving loop. */
class Inbox<T> {
  private readonly items: T[] = [];
  private wake: (() => void) | undefined;
  push(x: T): void {
    this.items.push(x);
    this.wake?.();
  }
  async take(what: string, timeoutMs: number, failed: () => Error | undefined): Promise<T> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const x = this.items.shift();
      if (x !== undefined) return x;
      const f = failed();
      if (f !== undefined) throw f;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 20);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }
}

/** Stops the peer and adds how it ended (status, stderr, RESULT) to an error of a run. */
async function withPeerExit(e: unknown, peer: Peer): Promise<unknown> {
  peer.doorbell.end(); // EOF: both apps stop, print their RESULT line and exit
  const exit = await Promise.race([
    peer.done,
    new Promise<undefined>((r) =>
      setTimeout(() => {
        r(undefined);
      }, 2000),
    ),
  ]);
  if (exit === undefined || !(e instanceof Error)) return e;
  const why = `${e.message} (peer exit ${String(exit.code ?? exit.signal)}: ${exit.stderr.trim()})`;
  return Object.assign(new Error(why, { cause: e }), { code: (e as { code?: string }).code, peer: exit });
}

interface Rx {
  readonly src: number;
  readonly data: Uint8Array;
  readonly hold: RxHold | undefined;
}

/** The @amp side of a run, as the half that drives the traffic sees it. */
interface AmpSide {
  /** The @amp endpoint of the service. */
  readonly ep: RpmsgEndpoint;
  /** What the endpoint received, in order (held when the run is zero-copy). */
  readonly inbox: Inbox<Rx>;
  /** NS events no endpoint claimed. */
  readonly ns: NsEvent[];
  /** Why the run cannot go on: the link went down or the peer went away. */
  readonly failed: () => Error | undefined;
  /** Why the link went down, if it did. */
  readonly linkDown: () => Error | undefined;
}

/** What the driving half counted. */
interface Driven {
  readonly sent: number;
  readonly matched: number;
  readonly mismatches: string[];
  readonly boundTo: number | undefined;
  /** Ends the peer's part (it exits afterwards). */
  readonly finish: () => void;
}

/**
 * One run: the shared file, rpmsg-lite's `app` with its arguments, the @amp side that `create`
 * makes over the same memory, served until `drive` is done and the peer has exited; then every
 * ring the peer wrote is counted and the outcome returned. Whatever happens, the peer is killed
 * and the file closed; an error carries how the peer ended.
 */
async function runAgainstLite(
  r: LiteRun,
  app: "rl-remote" | "rl-master",
  args: readonly string[],
  create: (space: AddressSpace, peer: Peer) => { device: RpmsgDevice; start?: () => void },
  drive: (side: AmpSide, peer: Peer, timeoutMs: number) => Promise<Driven>,
): Promise<LiteOutcome> {
  const timeoutMs = r.timeoutMs ?? 60_000;
  const size = fileSize(r);
  const mem = FileMemory.open(r.file, { size });
  const peer = spawnPeer(join(r.bin, r.variant, app), [...liteArgs(r, size), ...args], timeoutMs);
  const ac = new AbortController();
  let serving: Promise<void> | undefined;
  try {
    const { device, start } = create(new AddressSpace().map(r.daBase, mem, { name: "shared file" }), peer);
    let linkDown: Error | undefined;
    device.onLinkChange((up, reason) => {
      if (!up) linkDown = reason ?? new Error("link down");
    });
    const ns: NsEvent[] = [];
    device.onNameService((e) => ns.push(e));
    const inbox = new Inbox<Rx>();
    const ep = device.createEndpoint({
      name: SERVICE,
      onMessage: (m) => {
        if (r.ampZeroCopy) {
          const h = m.hold();
          inbox.push({ src: m.src, data: h.data, hold: h });
        } else {
          inbox.push({ src: m.src, data: m.data.slice(), hold: undefined });
        }
      },
    });
    start?.();
    serving = device.serve(peer.doorbell, { signal: ac.signal, pollMs: 1 });
    const side: AmpSide = {
      ep,
      inbox,
      ns,
      failed: () => linkDown ?? (peer.doorbell.closed ? new Error(`${app} went away`) : undefined),
      linkDown: () => linkDown,
    };
    const driven = await drive(side, peer, timeoutMs);
    driven.finish();
    const exit = await peer.done;
    // Its exit can be seen before the last rings it wrote are read: count them all (the socket
    // closes after its last byte).
    await until("the peer's doorbell to close", () => peer.doorbell.closed, 5000);
    ac.abort();
    await serving;
    return {
      ampSent: driven.sent,
      ampMatched: driven.matched,
      ampMismatches: driven.mismatches,
      ampStats: device.stats,
      ampNs: ns,
      ampBoundTo: driven.boundTo,
      linkDown,
      peer: exit,
      ringsToPeer: peer.doorbell.sent,
      ringsFromPeer: peer.doorbell.received,
    };
  } catch (e) {
    throw await withPeerExit(e, peer);
  } finally {
    ac.abort();
    await serving?.catch(() => undefined);
    peer.kill();
    mem.close();
  }
}

/**
 * @amp host (createStaticHost) sends `count` messages to rl-remote, which checks them against the
 * pattern and echoes them (unless `sink`); the host checks every echo. rl-remote withdraws its
 * service (NS DESTROY) once it has received `count`.
 */
export function hostVsLiteRemote(r: LiteRun): Promise<LiteOutcome> {
  return runAgainstLite(
    r,
    "rl-remote",
    ["--ns-destroy", "--check", ...(r.sink === true ? ["--sink"] : [])],
    (space, peer) => {
      const host = createStaticHost({ layout: r.layout, space, doorbell: peer.doorbell, scheduler });
      return { device: host, start: () => host.start() };
    },
    async ({ ep, inbox, ns, failed, linkDown }, peer, timeoutMs) => {
      const peerAddr = await ep.waitBound({ timeoutMs: 15_000 });
      let sent = 0;
      let matched = 0;
      const mismatches: string[] = [];
      let received = 0;
      const check = async (): Promise<void> => {
        const m = await inbox.take(`echo ${received}`, timeoutMs, failed);
        const d = diffMessage(m.data, received);
        if (d === -1 && m.src === peerAddr) matched++;
        else if (mismatches.length < 5)
          mismatches.push(`echo ${received}: ${m.data.length} bytes from ${m.src}, first difference ${d}`);
        m.hold?.release();
        received++;
      };
      const echoes = r.sink !== true;
      for (let i = 0; i < r.count; i++) {
        while (echoes && sent - received >= r.window) await check();
        if (r.ampZeroCopy) {
          const tb = await ep.getTxBuffer({ timeoutMs: 15_000 });
          const n = messageSize(i);
          fillMessage(tb.payload.subarray(0, n), i);
          tb.send(n);
        } else {
          await ep.send(makeMessage(i), { timeoutMs: 15_000 });
        }
        sent++;
      }
      while (echoes && received < r.count) await check();
      await until(
        "NS DESTROY from rl-remote",
        () => ns.some((e) => e.type === "destroy") || linkDown() !== undefined,
        15_000,
      );
      // rl-remote exits after it sees the doorbell close.
      return { sent, matched, mismatches, boundTo: peerAddr, finish: () => peer.doorbell.end() };
    },
  );
}
/**
 * rl-master sends `count` messages to an @amp static remote (createStaticRemote), which echoes
 * them; rl-master checks the echoes, @amp checks what it received. At the end the @amp endpoint
 * is destroyed (NS DESTROY, which rl-master waits for); rl-master announces its own endpoint as
 * "rl-master" at the start and withdraws it at the end.
 */
export function liteMasterVsRemote(r: LiteRun): Promise<LiteOutcome> {
  return runAgainstLite(
    r,
    "rl-master",
    ["--window", String(r.window), "--expect-ns-destroy", "--announce", "rl-master"],
    (space, peer) => ({
      device: createStaticRemote({ layout: r.layout, space, doorbell: peer.doorbell, scheduler }),
    }),
    async ({ ep, inbox, failed }, _peer, timeoutMs) => {
      let echoed = 0;
      let matched = 0;
      const mismatches: string[] = [];
      for (let i = 0; i < r.count; i++) {
        const m = await inbox.take(`message ${i} from rl-master`, timeoutMs, failed);
        const d = diffMessage(m.data, i);
        if (d === -1) matched++;
        else if (mismatches.length < 5)
          mismatches.push(`message ${i}: ${m.data.length} bytes from ${m.src}, first difference ${d}`);
        if (r.ampZeroCopy) {
          const tb = await ep.getTxBuffer({ timeoutMs: 15_000 });
          tb.payload.set(m.data);
          tb.send(m.data.length, m.src);
        } else {
          await ep.sendTo(m.src, m.data, { timeoutMs: 15_000 });
        }
        m.hold?.release();
        echoed++;
      }
      // NS DESTROY: rl-master waits for it, then prints its RESULT and exits.
      return { sent: echoed, matched, mismatches, boundTo: undefined, finish: () => ep.destroy() };
    },
  );
}
