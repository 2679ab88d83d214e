// OpenAMP 1.10's own rpmsg code (libopen_amp + libmetal, built natively from the pinned
// sources) against @amp, in both roles, for what OpenAMP's sample apps never do: zero-copy both
// ways, name-service destroy and re-create, buffer exhaustion and release, sizes at the limits,
// and a peer restarting mid-traffic. The OpenAMP side is our C program amp-openamp-peer
// (tools/peers/openamp-peer), driven line by line; the two share a file laid out as OpenAMP's
// Linux-machine sample lays it out, and a one-byte UNIX-socket doorbell.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RPMSG_ADDR_ANY, type RpmsgEndpoint, type RpmsgMessage } from "@amp/rpmsg";
import { deviceNeedsReset } from "@amp/virtio-ring";
import { RemoteVdevTransport } from "../../src/firmware/index.ts";
import { missingOpenAmpDeps } from "./openamp.ts";
import {
  buildOpenampPeer,
  killAllOpenampPeers,
  LAYOUT,
  Link,
  makePayload,
  num,
  ringSnapshot,
  Sink,
  sizeOf,
  totalDrops,
  until,
  type Fields,
} from "./openamp-edge-peer.ts";

const missing = missingOpenAmpDeps();

/** One rpmsg channel between an @amp endpoint and an endpoint (slot) of the C peer. */
interface Channel {
  readonly ep: RpmsgEndpoint;
  /** Slot of the C peer's endpoint, and its address. */
  readonly slot: number;
  readonly peerAddr: number;
  /** Where the @amp endpoint's messages go (swap it between phases). */
  sink: Sink;
}

/**
 * Opens a channel named `name`. @amp host: the C remote creates (and announces) its endpoint in
 * `slot`, the @amp host's endpoint of that name binds to it. @amp remote: the @amp endpoint
 * announces itself, OpenAMP's host creates its endpoint for it (ns_bind_cb) in a free slot.
 */
async function openChannel(link: Link, name: string, sink: Sink, slot = 0): Promise<Channel> {
  const holder: { sink: Sink } = { sink };
  const onMessage = (m: RpmsgMessage): void => {
    holder.sink.onMessage(m);
  };
  if (link.options.amp === "host") {
    const c = await link.peer.ok(`create ${slot} ${name}`);
    const ep = link.host.createEndpoint({ name, onMessage });
    await until(`@amp endpoint ${name} bound`, () => ep.dst !== RPMSG_ADDR_ANY);
    expect(ep.dst).toBe(num(c, "addr"));
    return channel(ep, slot, num(c, "addr"), holder);
  }
  const from = link.peer.events.length;
  const ep = link.remote.createEndpoint({ name, onMessage });
  const b = await link.peer.event("bind", { from, pred: (f) => f["name"] === name });
  expect(num(b, "dst")).toBe(ep.addr);
  return channel(ep, num(b, "slot"), num(b, "addr"), holder);
}

function channel(ep: RpmsgEndpoint, slot: number, peerAddr: number, holder: { sink: Sink }): Channel {
  return {
    ep,
    slot,
    peerAddr,
    get sink() {
      return holder.sink;
    },
    set sink(s: Sink) {
      holder.sink = s;
    },
  };
}

/** Sends `count` patterned messages from @amp with zero-copy tx buffers (getTxBuffer + send(len)). */
async function ampSendZeroCopy(ch: Channel, stream: number, sizes: string, count: number, seq0 = 0): Promise<void> {
  for (let seq = seq0; seq < seq0 + count; seq++) {
    const tb = await ch.ep.getTxBuffer({ timeoutMs: 15_000 });
    const len = sizeOf(sizes, seq);
    tb.payload.set(makePayload(stream, seq, len));
    tb.send(len, ch.peerAddr);
  }
}

/** Sends `count` patterned messages from @amp with copying sends (waiting for buffers). */
async function ampSend(ch: Channel, stream: number, sizes: string, count: number, seq0 = 0): Promise<void> {
  for (let seq = seq0; seq < seq0 + count; seq++) {
    await ch.ep.sendTo(ch.peerAddr, makePayload(stream, seq, sizeOf(sizes, seq)), { timeoutMs: 15_000 });
  }
}

/**
 * What each side wrote into the rings, read back from the shared file after traffic (every
 * entry has been used at least once: more than 256 messages went each way).
 * - OpenAMP remote (device): vring 0 used.len = 512 for every message (the descriptor length,
 *   whatever the payload); vring 1 used.len = the descriptor length @amp's host posted
 *   (16 + payload), never 0.
 * - OpenAMP host (driver): vring 1 descriptors = 512 bytes, device-readable (flags 0), whatever
 *   the payload; vring 0 descriptors = 512, device-writable. @amp's remote writes used.len =
 *   16 + payload on vring 0 and the descriptor length (512) on vring 1.
 */
function expectWireConventions(link: Link): void {
  const r0 = ringSnapshot(link.mem, 0, link.vringNum);
  const r1 = ringSnapshot(link.mem, 1, link.vringNum);
  const lens = (r: typeof r0): number[] => r.used.map((u) => u.len);
  // 16 + payload: as many values as sizes went through, none below the header, none above 512.
  const exactLengths = (l: number[]): void => {
    expect(Math.min(...l)).toBeGreaterThanOrEqual(16);
    expect(Math.max(...l)).toBeLessThanOrEqual(512);
    expect(new Set(l).size).toBeGreaterThan(100);
  };
  if (link.options.amp === "host") {
    expect(new Set(lens(r0))).toEqual(new Set([512])); // OpenAMP's remote, vring 0
    exactLengths(lens(r1)); // OpenAMP's remote echoes @amp's descriptor lengths on vring 1
    exactLengths(r1.descs.map((d) => d.len)); // @amp's host posts 16 + payload
    // OpenAMP's remote writes into the buffers it receives: the header's reserved field
    // becomes the descriptor id (low 16 bits; the high 16 count holds, 0 once released).
    // @amp's host wrote 0 there when it sent each one.
    const txPool = LAYOUT.pool + link.vringNum * 512;
    const reserved = Array.from({ length: link.vringNum }, (_, i) => link.mem.getU32(txPool + 512 * i + 8));
    expect(Math.max(...reserved)).toBeLessThan(link.vringNum);
    expect(new Set(reserved).size).toBeGreaterThan(link.vringNum / 2);
  } else {
    expect(new Set(r1.descs.map((d) => `${d.len}/${d.flags}`))).toEqual(new Set(["512/0"])); // OpenAMP's host tx
    expect(new Set(r0.descs.map((d) => `${d.len}/${d.flags}`))).toEqual(new Set(["512/2"])); // OpenAMP's host rx
    expect(new Set(lens(r1))).toEqual(new Set([512])); // @amp's remote: the descriptor length back
    exactLengths(lens(r0)); // @amp's remote: 16 + payload
  }
}

/** Polls the C peer's `stats <slot>` until `key` equals `value`; returns the last stats. */
async function untilPeerStat(
  link: Link,
  slot: number,
  key: string,
  value: number,
  timeoutMs = 20_000,
): Promise<Fields> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const st = await link.peer.ok(`stats ${slot}`);
    if (num(st, key) === value) return st;
    if (Date.now() > end) throw new Error(`OpenAMP slot ${slot}: ${key} stayed ${st[key] ?? "?"}, expected ${value}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/**
 * @amp's counters must show no drop, no protocol or callback error, one link-up, and (host)
 * every tx buffer that came back from OpenAMP's remote with the descriptor length in used.len
 * counted as `usedLenIgnored`; a remote never counts it.
 */
function expectCleanAmp(link: Link): void {
  expect(link.errors).toEqual([]);
  expect(totalDrops(link.dev)).toBe(0);
  expect(link.dev.stats).toMatchObject({ protocolErrors: 0, callbackErrors: 0, linkUps: 1, linkDowns: 0 });
  expect(link.dev.stats.usedLenIgnored).toBe(link.options.amp === "host" ? expectedUsedLenIgnored(link) : 0);
}

/**
 * Host role: how many tx buffers came back from the used ring with used.len != 0. OpenAMP's
 * remote writes the descriptor length (16 + payload as @amp posted it) for every consumed
 * buffer, so every buffer taken from the used ring counts: all tx after the first numTx fresh.
 */
function expectedUsedLenIgnored(link: Link): number {
  return Math.max(0, link.host.stats.txMessages - link.vringNum);
}

/**
 * @amp sends `count` echo requests (stream 1, 1..496 bytes), at most `window` ahead of the
 * echoes that came back (so a restart really happens mid-traffic), and stops at the first
 * failure (the link went down under it). Resolves with how many were accepted and why it stopped.
 */
async function ampSendUntilDown(
  ch: Channel,
  count: number,
  options: { window?: number; stop?: () => boolean } = {},
): Promise<{ sent: number; error: unknown }> {
  const { window = 32, stop = () => false } = options;
  let sent = 0;
  try {
    for (let seq = 0; seq < count; seq++) {
      while (ch.sink.stats.received < seq - window && !ch.ep.closed && !stop())
        await new Promise((r) => setTimeout(r, 1));
      if (stop()) return { sent, error: "stopped" };
      await ch.ep.sendTo(ch.peerAddr, makePayload(1, seq, sizeOf("1-496", seq)), { timeoutMs: 15_000 });
      sent++;
    }
  } catch (e) {
    return { sent, error: e };
  }
  return { sent, error: undefined };
}

/** The code of a send that failed because the link went down (with its reason after a violation). */
const LINK_DOWN_CODES = ["ERR_LINK_DOWN", "ERR_PROTOCOL"];

/**
 * `n` echoes through a channel after a restart, all byte-exact and in order: a fresh channel
 * (the C peer's endpoint in `slot`), or with `existing` the endpoint our peer re-created and
 * announced again by itself.
 */
async function echoRound(link: Link, name: string, n: number, slot = 1, existing = false): Promise<void> {
  let ch: Channel;
  if (existing) {
    const sink = new Sink(1, "1-496");
    const ep = link.host.createEndpoint({ name, onMessage: sink.onMessage });
    await until(`@amp bound to the re-announced ${name}`, () => ep.dst !== RPMSG_ADDR_ANY);
    ch = { ep, slot, peerAddr: ep.dst, sink };
  } else {
    ch = await openChannel(link, name, new Sink(1, "1-496"), slot);
  }
  await link.peer.ok(`mode ${ch.slot} echo 1`);
  await ampSend(ch, 1, "1-496", n);
  await until(`${n} echoes on ${name}`, () => ch.sink.stats.received === n);
  expect(ch.sink.stats).toMatchObject({ received: n, bad: 0, jumps: 0 });
}

describe.skipIf(missing !== undefined)(
  "OpenAMP 1.10 (our C peer on libopen_amp) against @amp: zero-copy, name service, exhaustion, limits, restarts",
  () => {
    let binary = "";

    beforeAll(async () => {
      const b = await buildOpenampPeer();
      binary = b.binary;
      console.log(`amp-openamp-peer: ${b.binary} (build or cache: ${b.seconds.toFixed(1)} s)`);
    }, 15 * 60_000); // a cold cache builds libmetal, open-amp and the samples first

    afterAll(() => {
      killAllOpenampPeers();
    });

    for (const amp of ["host", "remote"] as const) {
      const peerRole = amp === "host" ? "remote" : "host";

      describe(`@amp ${amp} ↔ OpenAMP ${peerRole}`, () => {
        it("zero-copy both ways: @amp getTxBuffer/send(len) and msg.hold(), OpenAMP hold/release and get_tx_payload_buffer/send_nocopy", async () => {
          const link = await Link.start({ binary, amp });
          try {
            const N = 600;
            // @amp -> OpenAMP, zero-copy; OpenAMP echoes each one zero-copy (holds the rx buffer,
            // fills a tx payload buffer, send_nocopy, releases the rx buffer). @amp holds the
            // echoes' rx buffers in batches of 8 and checks them again at release.
            const ch = await openChannel(link, "oa-zero-copy", new Sink(1, "0-496", 8));
            await link.peer.ok(`mode ${ch.slot} echoz 1`);
            await ampSendZeroCopy(ch, 1, "0-496", N);
            await until("every echo", () => ch.sink.stats.received === N);
            ch.sink.releaseAll();
            const echo = await link.peer.ok(`stats ${ch.slot}`);
            expect({ rx: num(echo, "rx"), echoed: num(echo, "echoed"), held: num(echo, "held-rx") }).toEqual({
              rx: N,
              echoed: N,
              held: 0,
            });
            expect(ch.sink.stats).toMatchObject({
              received: N,
              bad: 0,
              jumps: 0,
              nextSeq: N,
              intactAtRelease: N,
              releasedHolds: N,
              held: 0,
            });

            // OpenAMP -> @amp, zero-copy: rpmsg_get_tx_payload_buffer + rpmsg_sendto_nocopy; @amp
            // holds every rx buffer in batches of 16.
            ch.sink = new Sink(2, "0-496", 16);
            await link.peer.ok(`mode ${ch.slot} sink 2`);
            const z = await link.peer.ok(`sendz ${ch.slot} ${N} 0-496 ${ch.ep.addr}`);
            expect(num(z, "sent")).toBe(N);
            // Every tx buffer OpenAMP got had room for 496 bytes: as a host, OpenAMP takes a
            // recycled buffer's capacity from vring 1's used.len, which @amp's remote writes as
            // the descriptor length (512); as a remote, from the descriptor @amp's host posted.
            expect({ min: num(z, "cap-min"), max: num(z, "cap-max") }).toEqual({ min: 496, max: 496 });
            await until("every zero-copy message", () => ch.sink.stats.received === N);
            ch.sink.releaseAll();
            expect(ch.sink.stats).toMatchObject({ received: N, bad: 0, jumps: 0, intactAtRelease: N, held: 0 });

            expectCleanAmp(link);
            expect(link.dev.heldBuffers).toBe(0);
            expectWireConventions(link);
            console.log(
              `zero-copy, @amp ${amp}: @amp->OpenAMP ${N} (echoed ${N}), OpenAMP->@amp ${N}; @amp stats ${JSON.stringify(link.dev.stats)}`,
            );
          } finally {
            link.close();
          }
        });

        it("name service: OpenAMP's rpmsg_destroy_ept is an NS DESTROY @amp sees, @amp's destroy() reaches OpenAMP's unbind callback, both re-create", async () => {
          const link = await Link.start({ binary, amp });
          try {
            const PER = 50;
            let ampToPeer = 0;
            let peerToAmp = 0;
            const nsEvents: string[] = [];
            link.dev.onNameService((e) => nsEvents.push(`${e.type} ${e.name} ${e.addr}`));

            // OpenAMP's endpoint goes and comes back, four times; @amp's endpoint stays.
            let unbinds = 0;
            const sink = { current: new Sink(3, "1-496") };
            const ampEp = (amp === "host" ? link.host : link.remote).createEndpoint({
              name: "oa-ns",
              announce: false,
              onMessage: (m) => {
                sink.current.onMessage(m);
              },
              onUnbind: () => {
                unbinds++;
              },
            });
            const peerAddrs: number[] = [];
            for (let round = 0; round < 4; round++) {
              const c = await link.peer.ok("create 1 oa-ns");
              const addr = num(c, "addr");
              peerAddrs.push(addr);
              await until(`@amp bound to OpenAMP's oa-ns at ${addr}`, () => ampEp.dst === addr);
              await link.peer.ok("mode 1 sink 3 1-496");
              sink.current = new Sink(3, "1-496");
              for (let seq = 0; seq < PER; seq++)
                await ampEp.sendTo(addr, makePayload(3, seq, sizeOf("1-496", seq)), { timeoutMs: 15_000 });
              await link.peer.ok(`send 1 ${PER} 1-496 ${ampEp.addr}`);
              await until("OpenAMP's messages", () => sink.current.stats.received === PER);
              const st = await link.peer.ok("stats 1");
              expect({ rx: num(st, "rx"), bad: num(st, "rx-bad"), jumps: num(st, "seq-jumps") }).toEqual({
                rx: PER,
                bad: 0,
                jumps: 0,
              });
              expect(sink.current.stats).toMatchObject({ received: PER, bad: 0, jumps: 0 });
              ampToPeer += PER;
              peerToAmp += PER;
              // rpmsg_destroy_ept: NS DESTROY (named, address >= 1024, NS negotiated).
              await link.peer.ok("destroy 1");
              await until("@amp saw the NS DESTROY", () => unbinds === round + 1);
              expect(ampEp.dst).toBe(RPMSG_ADDR_ANY);
              expect(link.dev.remoteServices.some((s) => s.name === "oa-ns")).toBe(false);
            }
            // OpenAMP hands out the next address each time (its bitmap search starts after the
            // last one given), so each re-creation is a new address.
            expect(new Set(peerAddrs).size).toBe(4);
            expect(nsEvents.filter((e) => e.startsWith("destroy oa-ns"))).toEqual(
              peerAddrs.map((a) => `destroy oa-ns ${a}`),
            );

            // @amp's endpoint goes and comes back, three times: OpenAMP's unbind callback runs,
            // its endpoint stays (unbound), and the next CREATE rebinds that same endpoint
            // without calling ns_bind_cb again.
            let slot = -1;
            const ampAddrs: number[] = [];
            for (let round = 0; round < 3; round++) {
              const from = link.peer.events.length;
              const s2 = new Sink(4, "1-496");
              const ep = (amp === "host" ? link.host : link.remote).createEndpoint({
                name: "amp-ns",
                announce: true,
                onMessage: s2.onMessage,
              });
              ampAddrs.push(ep.addr);
              if (round === 0) {
                const b = await link.peer.event("bind", { from, pred: (f) => f["name"] === "amp-ns" });
                slot = num(b, "slot");
                expect(num(b, "dst")).toBe(ep.addr);
              } else {
                await untilPeerStat(link, slot, "dst", ep.addr);
                expect(link.peer.events.slice(from).filter((e) => e.startsWith("ev bind"))).toEqual([]);
              }
              await link.peer.ok(`mode ${slot} sink 4 1-496`);
              const peerAddr = num(await link.peer.ok(`stats ${slot}`), "addr");
              // OpenAMP sends to the address it bound to (no explicit dst): the CREATE's address.
              await link.peer.ok(`send ${slot} ${PER} 1-496`);
              await until("OpenAMP's messages to amp-ns", () => s2.stats.received === PER);
              for (let seq = 0; seq < PER; seq++)
                await ep.sendTo(peerAddr, makePayload(4, seq, sizeOf("1-496", seq)), { timeoutMs: 15_000 });
              await untilPeerStat(link, slot, "rx", PER);
              const st = await link.peer.ok(`stats ${slot}`);
              expect({ rx: num(st, "rx"), bad: num(st, "rx-bad"), jumps: num(st, "seq-jumps") }).toEqual({
                rx: PER,
                bad: 0,
                jumps: 0,
              });
              expect(s2.stats).toMatchObject({ received: PER, bad: 0, jumps: 0 });
              ampToPeer += PER;
              peerToAmp += PER;
              const before = link.peer.events.length;
              ep.destroy(); // NS DESTROY
              const u = await link.peer.event("unbind", { from: before });
              expect(num(u, "slot")).toBe(slot);
              const d = await link.peer.event("ns-destroy", { from: before });
              expect(d).toMatchObject({ name: "amp-ns", addr: String(ep.addr) });
              expect(num(await link.peer.ok(`stats ${slot}`), "dst")).toBe(RPMSG_ADDR_ANY);
              // Unbound, OpenAMP refuses to send on it: RPMSG_ERR_PARAM (-2003) for dst ANY.
              expect(await link.peer.command(`send ${slot} 1 1`)).toBe("err send ret=-2003 after 0 sent");
            }
            expectCleanAmp(link);
            console.log(
              `name service, @amp ${amp}: @amp->OpenAMP ${ampToPeer}, OpenAMP->@amp ${peerToAmp}; OpenAMP addresses ${peerAddrs.join(",")}, @amp addresses ${ampAddrs.join(",")}`,
            );
          } finally {
            link.close();
          }
        });

        it("buffer exhaustion: every tx buffer taken or every rx buffer held, on either side, then released: nothing lost or duplicated", async () => {
          const link = await Link.start({ binary, amp });
          try {
            const R = link.vringNum; // buffers per direction (OpenAMP posts or pools one per vring entry)
            const ch = await openChannel(link, "oa-exhaust", new Sink(6, "1-496"));
            let ampToPeer = 0;
            let peerToAmp = 0;

            // 1. @amp takes every tx buffer there is, sends half, gives half back unsent, then
            //    keeps sending: the returned ones are reused, OpenAMP sees one gap-free stream.
            await link.peer.ok(`mode ${ch.slot} sink 5 1-496`);
            const taken = [];
            for (let tb = ch.ep.tryGetTxBuffer(); tb !== undefined; tb = ch.ep.tryGetTxBuffer()) taken.push(tb);
            expect(taken.length).toBe(R);
            expect(ch.ep.trySendTo(ch.peerAddr, new Uint8Array(1))).toBe(false); // none left
            taken.forEach((tb, seq) => {
              if (seq >= R / 2) {
                tb.release();
                return;
              }
              const len = sizeOf("1-496", seq);
              tb.payload.set(makePayload(5, seq, len));
              tb.send(len, ch.peerAddr);
            });
            await ampSendZeroCopy(ch, 5, "1-496", 300, R / 2);
            ampToPeer += R / 2 + 300;
            let st = await untilPeerStat(link, ch.slot, "rx", R / 2 + 300);
            expect({ bad: num(st, "rx-bad"), jumps: num(st, "seq-jumps") }).toEqual({ bad: 0, jumps: 0 });

            // 2. @amp holds every rx buffer: OpenAMP's sender runs dry (rpmsg_trysend says
            //    RPMSG_ERR_NO_BUFF, our peer keeps retrying) until @amp releases them.
            const holdSink = new Sink(6, "1-496");
            holdSink.holdAll = true;
            ch.sink = holdSink;
            await link.peer.ok(`mode ${ch.slot} sink 6 1-496`);
            let replied = false;
            const sending = link.peer.ok(`send ${ch.slot} 300 1-496 ${ch.ep.addr}`).then((f) => {
              replied = true;
              return f;
            });
            await until("@amp holding every rx buffer", () => link.dev.heldBuffers === R);
            expect(replied).toBe(false);
            expect(holdSink.stats.received).toBe(R);
            holdSink.holdAll = false;
            expect(holdSink.releaseAll()).toBe(R);
            const sent = await sending;
            expect(num(sent, "sent")).toBe(300);
            expect(num(sent, "waits")).toBeGreaterThan(0);
            await until("the rest after the release", () => holdSink.stats.received === 300);
            expect(holdSink.stats).toMatchObject({ received: 300, bad: 0, jumps: 0, intactAtRelease: R });
            peerToAmp += 300;

            // 3. OpenAMP holds every rx buffer (rpmsg_hold_rx_buffer): @amp's sends wait for a
            //    buffer until OpenAMP releases them (rpmsg_release_rx_buffer), then go on.
            await link.peer.ok(`mode ${ch.slot} hold 7 1-496`);
            let ampDone = false;
            const ampSending = ampSend(ch, 7, "1-496", 300).then(() => {
              ampDone = true;
            });
            st = await untilPeerStat(link, ch.slot, "held-rx", R);
            expect(num(st, "rx")).toBe(R);
            expect(ampDone).toBe(false);
            const rel = await link.peer.ok(`release ${ch.slot} all`);
            expect({ released: num(rel, "released"), intact: num(rel, "intact") }).toEqual({ released: R, intact: R });
            await ampSending;
            st = await untilPeerStat(link, ch.slot, "rx", 300);
            await link.peer.ok(`release ${ch.slot} all`);
            st = await link.peer.ok(`stats ${ch.slot}`);
            expect({ bad: num(st, "rx-bad"), jumps: num(st, "seq-jumps"), held: num(st, "held-rx") }).toEqual({
              bad: 0,
              jumps: 0,
              held: 0,
            });
            ampToPeer += 300;

            // 4. OpenAMP takes every tx payload buffer there is (rpmsg_get_tx_payload_buffer),
            //    sends them all with send_nocopy, then takes ten and gives them back unsent
            //    (rpmsg_release_tx_buffer): those are reused by the next sends.
            ch.sink = new Sink(8, "1-496");
            await link.peer.ok(`mode ${ch.slot} sink 8`);
            const th = await link.peer.ok(`txhold ${ch.slot} all`);
            expect({ got: num(th, "got"), min: num(th, "cap-min"), max: num(th, "cap-max") }).toEqual({
              got: R,
              min: 496,
              max: 496,
            });
            const ts = await link.peer.ok(`txsend ${ch.slot} all 1-496`);
            expect(num(ts, "sent")).toBe(R);
            await until("OpenAMP's held tx buffers, sent", () => ch.sink.stats.received === R);
            await until("@amp returned them", () => link.dev.heldBuffers === 0);
            const th2 = await link.peer.ok(`txhold ${ch.slot} 10`);
            expect(num(th2, "got")).toBe(10);
            await link.peer.ok(`txrelease ${ch.slot} all`);
            await link.peer.ok(`sendz ${ch.slot} 100 1-496 ${ch.ep.addr}`);
            await until("the sends after the release", () => ch.sink.stats.received === R + 100);
            expect(ch.sink.stats).toMatchObject({ received: R + 100, bad: 0, jumps: 0 });
            peerToAmp += R + 100;

            expectCleanAmp(link);
            expect(link.dev.heldBuffers).toBe(0);
            console.log(
              `exhaustion, @amp ${amp}: @amp->OpenAMP ${ampToPeer}, OpenAMP->@amp ${peerToAmp} (${R} buffers per direction)`,
            );
          } finally {
            link.close();
          }
        });

        it("sizes at the limits: 0, 1, 495 and 496 bytes both ways; 497 refused by @amp (ERR_MSG_SIZE), cut to 496 by OpenAMP's rpmsg_send", async () => {
          const link = await Link.start({ binary, amp });
          try {
            const LIMITS = "0,1,495,496";
            const ch = await openChannel(link, "oa-limits", new Sink(9, LIMITS));
            expect(link.dev.mtu).toBe(496);
            await link.peer.ok(`mode ${ch.slot} sink 9 ${LIMITS}`);
            await ampSend(ch, 9, LIMITS, 200);
            await ampSendZeroCopy(ch, 9, LIMITS, 200, 200);
            let st = await untilPeerStat(link, ch.slot, "rx", 400);
            expect({
              bad: num(st, "rx-bad"),
              jumps: num(st, "seq-jumps"),
              min: num(st, "rx-min"),
              max: num(st, "rx-max"),
            }).toEqual({ bad: 0, jumps: 0, min: 0, max: 496 });

            // 497 bytes: @amp refuses each way of sending, with ERR_MSG_SIZE, and sends nothing.
            const tx = link.dev.stats.txMessages;
            const big = new Uint8Array(497);
            await expect(ch.ep.sendTo(ch.peerAddr, big)).rejects.toMatchObject({
              name: "AmpError",
              code: "ERR_MSG_SIZE",
            });
            expect(() => ch.ep.trySendTo(ch.peerAddr, big)).toThrow(
              expect.objectContaining({ code: "ERR_MSG_SIZE" }) as Error,
            );
            const tb = await ch.ep.getTxBuffer();
            expect(tb.payload.length).toBe(496);
            expect(() => {
              tb.send(497, ch.peerAddr);
            }).toThrow(expect.objectContaining({ code: "ERR_MSG_SIZE" }) as Error);
            tb.release();
            expect(link.dev.stats.txMessages).toBe(tx);

            // OpenAMP -> @amp: the four sizes, copying and zero-copy.
            await link.peer.ok(`send ${ch.slot} 200 ${LIMITS} ${ch.ep.addr}`);
            await link.peer.ok(`sendz ${ch.slot} 200 ${LIMITS} ${ch.ep.addr}`);
            await until("OpenAMP's limit sizes", () => ch.sink.stats.received === 400);
            expect(ch.sink.stats).toMatchObject({ received: 400, bad: 0, jumps: 0 });

            // 497 bytes from OpenAMP. rpmsg_send does not refuse it: it cuts the payload to the
            // buffer's 496 bytes and returns 496 (rpmsg_virtio_send_offchannel_raw). @amp gets
            // the first 496 bytes of the 497-byte message.
            const seen: Uint8Array[] = [];
            ch.sink = {
              onMessage: (m: RpmsgMessage) => {
                seen.push(m.data.slice());
              },
            } as unknown as Sink;
            const raw = await link.peer.ok(`sendraw ${ch.slot} 497`);
            expect({ ret: num(raw, "ret"), txSize: num(raw, "tx-size") }).toEqual({ ret: 496, txSize: 496 });
            await until("the cut message", () => seen.length === 1);
            expect(seen[0]).toEqual(makePayload(9, 400, 497).subarray(0, 496));
            // rpmsg_send_nocopy with 497 is not checked by OpenAMP either: the header says 497
            // in a 512-byte buffer. @amp drops it (badLength, hdr.len > buffer - 16), gives the
            // buffer back, and the link goes on.
            const nocopy = await link.peer.ok(`sendzraw ${ch.slot} 497`);
            expect(num(nocopy, "ret")).toBe(497);
            await until("the bad length counted", () => link.dev.stats.dropped.badLength === 1);
            expect(seen.length).toBe(1);
            await link.peer.ok(`sendraw ${ch.slot} 0`);
            await until("a 0-byte message after it", () => seen.length === 2);
            expect(seen[1]?.length).toBe(0);

            expect(link.errors).toEqual([]);
            expect({ ...link.dev.stats.dropped, badLength: 0 }).toEqual({
              short: 0,
              oversize: 0,
              badLength: 0,
              noRecipient: 0,
              nsMalformed: 0,
              nsBadAddress: 0,
              nsUnknown: 0,
              nsDuplicate: 0,
              nsOverflow: 0,
              queueOverflow: 0,
              badBuffer: 0,
            });
            // Host: the buffer taken for the 497-byte check came from the used ring (counted) and
            // went back to the free list unsent, so it counts once more than the sends.
            expect(link.dev.stats).toMatchObject({
              protocolErrors: 0,
              callbackErrors: 0,
              usedLenIgnored: amp === "host" ? expectedUsedLenIgnored(link) + 1 : 0,
            });
            st = await link.peer.ok(`stats ${ch.slot}`);
            expect(num(st, "rx")).toBe(400);
            console.log(
              `limits, @amp ${amp}: @amp->OpenAMP 400 (0/1/495/496 bytes, 497 refused x3), OpenAMP->@amp 400 + 497 cut to 496 + 497 via nocopy dropped (badLength) + 0`,
            );
          } finally {
            link.close();
          }
        });

        if (amp === "host") {
          it("restart, @amp side: stop() and start() of the @amp host mid-traffic; OpenAMP's remote re-initialises because our peer watches the status (OpenAMP itself does not)", async () => {
            const link = await Link.start({ binary, amp, peerArgs: ["--follow-reset"] });
            try {
              const ch = await openChannel(link, "oa-restart", new Sink(1, "1-496"));
              await link.peer.ok(`mode ${ch.slot} echo 1`);
              const traffic = ampSendUntilDown(ch, 5000);
              await until("traffic flowing", () => ch.sink.stats.received >= 300);
              const from = link.peer.events.length;
              link.host.stop("the test restarts the link");
              const { sent, error } = await traffic;
              expect(error).toMatchObject({ code: "ERR_LINK_DOWN" });
              const before = { ...ch.sink.stats };
              expect(sent).toBeLessThan(5000); // the stop interrupted the sender
              // Nothing corrupt or repeated before the stop; what was in flight is lost.
              expect(before).toMatchObject({ bad: 0, jumps: 0 });
              expect(before.received).toBeLessThanOrEqual(sent);
              const reset = await link.peer.event("reset", { from });
              expect(num(reset, "status") & 0x04).toBe(0);
              link.host.start();
              await link.peer.event("link-up", { from, pred: (f) => f["gen"] === "2" });
              const again = await link.peer.event("recreated", { from });
              expect(num(again, "slot")).toBe(ch.slot);
              await echoRound(link, "oa-restart", 300, ch.slot, true);
              expect(link.dev.stats).toMatchObject({ linkUps: 2, linkDowns: 1, protocolErrors: 0 });
              expect(totalDrops(link.dev)).toBe(0);
              console.log(
                `restart (@amp host stop/start), before: @amp sent ${sent}, echoes back ${before.received} (${sent - before.received} lost in flight); after: 300/300`,
              );
            } finally {
              link.close();
            }
          });

          it("restart, @amp side, without reset handling in the OpenAMP application: its private ring indices go stale and @amp's host stops the link (ERR_PROTOCOL)", async () => {
            const link = await Link.start({ binary, amp });
            try {
              const ch = await openChannel(link, "oa-stale", new Sink(1, "1-496"));
              await link.peer.ok(`mode ${ch.slot} echo 1`);
              await ampSend(ch, 1, "1-496", 300);
              await until("300 echoes", () => ch.sink.stats.received === 300);
              const downs: string[] = [];
              link.host.onLinkChange((up, reason) => {
                if (!up) downs.push(reason?.code ?? "?");
              });
              link.host.stop("the test restarts the link");
              link.host.start(); // the OpenAMP remote never looks at the status again
              const late = new Sink(1, "1-496");
              const ep2 = link.host.createEndpoint({ name: "oa-stale-2", onMessage: late.onMessage });
              const r = await ampSendUntilDown({ ep: ep2, slot: ch.slot, peerAddr: ch.peerAddr, sink: late }, 1000, {
                window: 1000,
              });
              await until("the violation found", () => link.dev.stats.protocolErrors > 0);
              expect(downs).toEqual(["ERR_LINK_DOWN", "ERR_PROTOCOL"]);
              expect(LINK_DOWN_CODES).toContain((r.error as { code?: string }).code);
              expect(link.host.isLinkUp).toBe(false);
              const st = await link.peer.ok("status");
              expect(num(st, "gen")).toBe(1); // OpenAMP never re-initialised
              // What came back before @amp stopped (OpenAMP echoing buffers at stale positions)
              // is reported, not asserted: it depends on how far OpenAMP got first.
              console.log(
                `stale OpenAMP remote after an @amp host restart: @amp sent ${r.sent} into the new rings, ${late.stats.received} came back, then link down (ERR_PROTOCOL)`,
              );
            } finally {
              link.close();
            }
          });

          it("restart, OpenAMP side: the OpenAMP remote process is killed mid-traffic and started again; @amp's host sees the new table (status 0) and starts the link again", async () => {
            const link = await Link.start({ binary, amp });
            try {
              const ch = await openChannel(link, "oa-crash", new Sink(1, "1-496"));
              await link.peer.ok(`mode ${ch.slot} echo 1`);
              const traffic = ampSendUntilDown(ch, 1500);
              await until("traffic flowing", () => ch.sink.stats.received >= 300);
              link.peer.kill();
              await link.peer.exited;
              const before = { ...ch.sink.stats };
              // Until someone resets the device, the link looks up: @amp's sends fill the rings
              // and then wait for buffers nobody returns. The new process rewrites the table.
              await link.spawnPeer([]);
              await until("@amp saw the reset", () => !link.host.isLinkUp);
              const { sent, error } = await traffic;
              expect(LINK_DOWN_CODES).toContain((error as { code?: string }).code);
              expect(before).toMatchObject({ bad: 0, jumps: 0 });
              expect(sent).toBeLessThan(1500);
              expect(ch.sink.stats.received).toBe(before.received);
              link.host.start();
              await link.peer.event("link-up");
              await echoRound(link, "oa-crash", 300, 0);
              expect(link.dev.stats).toMatchObject({ linkUps: 2, linkDowns: 1, protocolErrors: 0 });
              expect(totalDrops(link.dev)).toBe(0);
              console.log(
                `restart (OpenAMP remote killed), before: @amp sent ${sent}, echoes back ${before.received} (${sent - before.received} lost); after: 300/300`,
              );
            } finally {
              link.close();
            }
          });
        } else {
          it("restart, @amp side: the @amp remote reboots (a new RpmsgRemote rewrites the table, status 0) and asks for a reset (NEEDS_RESET); OpenAMP's host re-initialises because our peer watches the status", async () => {
            const link = await Link.start({ binary, amp, peerArgs: ["--follow-reset"] });
            try {
              const ch = await openChannel(link, "oa-reboot", new Sink(1, "1-496"));
              await link.peer.ok(`mode ${ch.slot} echo 1`);
              let rebooted = false;
              const traffic = ampSendUntilDown(ch, 5000, { stop: () => rebooted });
              await until("traffic flowing", () => ch.sink.stats.received >= 300);
              let from = link.peer.events.length;
              link.rebootAmpRemote();
              rebooted = true;
              // The old instance is gone with its memory (a rebooted remote): nothing drives it.
              const reset = await link.peer.event("reset", { from });
              expect(num(reset, "status")).toBe(0);
              await link.peer.event("link-up", { from });
              await until("the new @amp remote up", () => link.remote.isLinkUp);
              const stuck = ch.sink.stats.received;
              await traffic; // the old instance's sender, stopped
              await echoRound(link, "oa-reboot-2", 300);
              // NEEDS_RESET from the device: OpenAMP's host library ignores it; our peer's loop
              // resets (status 0) and sets the device up again, and the same RpmsgRemote relinks.
              from = link.peer.events.length;
              const downs: string[] = [];
              link.remote.onLinkChange((up, reason) => {
                if (!up) downs.push(reason?.code ?? "?");
              });
              deviceNeedsReset(new RemoteVdevTransport(link.mem, LAYOUT.table + 20, 7, 2, 0));
              const r2 = await link.peer.event("reset", { from });
              expect(num(r2, "status") & 0x40).toBe(0x40);
              await link.peer.event("link-up", { from });
              await until("the @amp remote up again", () => link.remote.isLinkUp && link.remote.stats.linkUps === 2);
              // Either @amp's poll saw NEEDS_RESET (or the 0) first: ERR_LINK_DOWN; or our peer
              // reset and set the rings up again between two polls of @amp (status back to 0x04,
              // no generation count in a legacy vdev), and @amp found the rings changed under it:
              // ERR_PROTOCOL, NEEDS_RESET again, and one more reset by our peer.
              expect(downs.length).toBe(1);
              expect(LINK_DOWN_CODES).toContain(downs[0]);
              await echoRound(link, "oa-reboot-3", 300);
              expect(link.remote.stats).toMatchObject({
                linkUps: 2,
                linkDowns: 1,
                protocolErrors: downs[0] === "ERR_PROTOCOL" ? 1 : 0,
              });
              console.log(`@amp remote NEEDS_RESET: link down as ${String(downs[0])}`);
              expect(totalDrops(link.dev)).toBe(0);
              console.log(
                `restart (@amp remote reboot, then NEEDS_RESET): ${stuck} echoes before the reboot, 300/300 after each`,
              );
            } finally {
              link.close();
            }
          });

          for (const resetFirst of [false, true]) {
            it(`restart, OpenAMP side: the OpenAMP host process is killed mid-traffic and started again ${resetFirst ? "writing status 0 first (as Linux does before it probes)" : "as it is (rings set up again, no reset): @amp's remote sees the rings re-initialised and relinks"}`, async () => {
              const link = await Link.start({ binary, amp });
              try {
                const ch = await openChannel(link, "oa-host-crash", new Sink(1, "1-496"));
                await link.peer.ok(`mode ${ch.slot} echo 1`);
                const traffic = ampSendUntilDown(ch, 1500);
                await until("traffic flowing", () => ch.sink.stats.received >= 300);
                link.peer.kill();
                await link.peer.exited;
                const before = { ...ch.sink.stats };
                const downs: string[] = [];
                link.remote.onLinkChange((up, reason) => {
                  if (!up) downs.push(reason?.code ?? "?");
                });
                await link.spawnPeer(resetFirst ? ["--reset-first", "--follow-reset"] : ["--follow-reset"]);
                if (resetFirst) {
                  await link.peer.event("reset-written");
                  await until("@amp saw the reset", () => !link.remote.isLinkUp);
                  link.peer.child.stdin?.write("go\n");
                }
                await until("@amp's link back up", () => link.remote.isLinkUp && link.remote.stats.linkUps === 2);
                const { sent, error } = await traffic;
                expect(LINK_DOWN_CODES).toContain((error as { code?: string }).code);
                expect(before).toMatchObject({ bad: 0, jumps: 0 });
                expect(sent).toBeLessThan(1500);
                if (resetFirst) {
                  expect(downs).toEqual(["ERR_LINK_DOWN"]);
                  expect(link.remote.stats.protocolErrors).toBe(0);
                } else {
                  // The new host zeroes the rings and posts them anew without a reset. Usually
                  // @amp's remote sees its used.idx wiped at its next poll and comes up on the new
                  // rings (ERR_LINK_DOWN, no protocol error). If it looks at the rings while the
                  // host is half-way through setting them up, it sees avail.idx jump back instead,
                  // takes the link down with ERR_PROTOCOL and sets NEEDS_RESET; then either
                  // OpenAMP's whole-byte DRIVER_OK write (0x04) wipes NEEDS_RESET and @amp links up
                  // on the fresh rings, or our peer's loop sees NEEDS_RESET and resets.
                  expect([["ERR_LINK_DOWN"], ["ERR_PROTOCOL"]]).toContainEqual(downs);
                  expect(link.remote.stats.protocolErrors).toBe(downs[0] === "ERR_PROTOCOL" ? 1 : 0);
                  const reset = link.peer.events.some((e) => e.startsWith("ev reset"));
                  console.log(
                    `OpenAMP host restarted without a reset: ${downs[0] === "ERR_LINK_DOWN" ? "@amp saw the rings re-initialised and relinked" : reset ? "our peer saw NEEDS_RESET and reset" : "its DRIVER_OK write cleared @amp's NEEDS_RESET"}`,
                  );
                }
                await echoRound(link, "oa-host-crash-2", 300);
                console.log(
                  `restart (OpenAMP host killed, ${resetFirst ? "reset first" : "no reset"}), before: @amp sent ${sent}, echoes back ${before.received}; after: 300/300; @amp link downs ${downs.join(",")}`,
                );
              } finally {
                link.close();
              }
            });
          }
        }
      });
    }
  },
);
