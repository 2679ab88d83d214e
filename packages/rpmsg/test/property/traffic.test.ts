// Random traffic between a host and a remote over one shared memory: payload sizes, endpoint
// churn, name-service races (destroy while the CREATE is in flight, sends to endpoints that
// just went away), both sides sending at once, tx-buffer exhaustion (tiny rings), and rx
// buffers held by the application. Properties: no loss and no duplication on endpoints that
// stay, per-endpoint order everywhere, nothing but "no recipient" drops, no protocol errors.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { fcParams } from "@amp/test-utils";
import type { RpmsgEndpoint, RpmsgMessage, RxHold } from "@amp/rpmsg";
import { makePair } from "../helpers/pair.ts";

type Op =
  | { k: "send"; fromHost: boolean; ch: number; size: number }
  | { k: "ph" }
  | { k: "pr" }
  | { k: "create"; ch: number }
  | { k: "destroy"; ch: number }
  | { k: "release" };

const STABLE = 3; // channels 0..2 never go away
const CHURN = 3; // channels 3..5 are created and destroyed by the remote at random

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      k: fc.constant("send" as const),
      fromHost: fc.boolean(),
      ch: fc.nat(STABLE + CHURN - 1),
      size: fc.integer({ min: 6, max: 496 }),
    }),
  },
  { weight: 3, arbitrary: fc.constant({ k: "ph" as const }) },
  { weight: 3, arbitrary: fc.constant({ k: "pr" as const }) },
  {
    weight: 1,
    arbitrary: fc.record({
      k: fc.constant("create" as const),
      ch: fc.integer({ min: STABLE, max: STABLE + CHURN - 1 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      k: fc.constant("destroy" as const),
      ch: fc.integer({ min: STABLE, max: STABLE + CHURN - 1 }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ k: "release" as const }) },
);

function payload(ch: number, seq: number, size: number): Uint8Array {
  const b = new Uint8Array(size);
  const v = new DataView(b.buffer);
  v.setUint16(0, ch, true);
  v.setUint32(2, seq, true);
  for (let i = 6; i < size; i++) b[i] = (seq + i) & 255;
  return b;
}

function check(data: Uint8Array): { ch: number; seq: number } {
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const ch = v.getUint16(0, true);
  const seq = v.getUint32(2, true);
  for (let i = 6; i < data.length; i++)
    if (data[i] !== ((seq + i) & 255)) throw new Error(`corrupt payload ch ${ch} seq ${seq} at ${i}`);
  return { ch, seq };
}

describe("random traffic (fast-check)", () => {
  it("no loss or duplication on stable endpoints, order everywhere", () => {
    let delivered = 0;
    let refused = 0;
    fc.assert(
      fc.property(
        fc.constantFrom(2, 4, 8),
        fc.boolean(),
        fc.array(op, { minLength: 30, maxLength: 200 }),
        (num, eventIdx, ops) => {
          const p = makePair({ num, remote: { eventIdx } });
          p.host.start();
          // received[dir][ch] = sequence numbers; sent likewise (only what trySend accepted)
          const sent = [new Map<number, number[]>(), new Map<number, number[]>()]; // 0: host->remote, 1: remote->host
          const recv = [new Map<number, number[]>(), new Map<number, number[]>()];
          const push = (m: Map<number, number[]>, ch: number, seq: number): void => {
            const l = m.get(ch) ?? [];
            l.push(seq);
            m.set(ch, l);
          };
          const holds: RxHold[] = [];
          let seq = 0;
          const onRemote = (m: RpmsgMessage): void => {
            const x = check(m.data);
            push(recv[0]!, x.ch, x.seq);
          };
          const onHost = (m: RpmsgMessage): void => {
            const x = check(m.data);
            push(recv[1]!, x.ch, x.seq);
            if (x.seq % 3 === 0 && holds.length < 2) holds.push(m.hold());
          };
          const remoteEps = new Map<number, RpmsgEndpoint>();
          const hostEps = new Map<number, RpmsgEndpoint>();
          // The host binds to whatever the remote announces, by exact name (ch<N>).
          p.host.onNameService((e) => {
            const ch = Number(e.name.slice(2));
            if (e.type === "create") {
              hostEps.get(ch)?.destroy();
              hostEps.set(ch, p.host.createEndpoint({ name: e.name, dst: e.addr, onMessage: onHost }));
            } else if (hostEps.get(ch)?.dst === e.addr || hostEps.get(ch)?.dst === 0xffffffff) {
              hostEps.get(ch)?.destroy();
              hostEps.delete(ch);
            }
          });
          for (let ch = 0; ch < STABLE; ch++)
            remoteEps.set(ch, p.remote.createEndpoint({ name: `ch${ch}`, onMessage: onRemote }));
          p.settle();
          for (let ch = 0; ch < STABLE; ch++) if (hostEps.get(ch) === undefined) return false;
          for (const o of ops) {
            switch (o.k) {
              case "ph":
                p.host.process();
                break;
              case "pr":
                p.remote.process();
                break;
              case "release":
                holds.shift()?.release();
                break;
              case "create":
                if (!remoteEps.has(o.ch))
                  remoteEps.set(o.ch, p.remote.createEndpoint({ name: `ch${o.ch}`, onMessage: onRemote }));
                break;
              case "destroy":
                remoteEps.get(o.ch)?.destroy();
                remoteEps.delete(o.ch);
                break;
              case "send": {
                const ep = o.fromHost ? hostEps.get(o.ch) : remoteEps.get(o.ch);
                if (ep === undefined || ep.closed || ep.dst === 0xffffffff) break;
                const s = seq++;
                if (ep.trySend(payload(o.ch, s, o.size))) push(sent[o.fromHost ? 0 : 1]!, o.ch, s);
                else refused++;
                break;
              }
            }
          }
          for (const h of holds.splice(0)) h.release();
          p.settle(200);
          for (const dir of [0, 1]) {
            for (const [ch, got] of recv[dir]!) {
              const exp = sent[dir]!.get(ch) ?? [];
              // order and no duplicates: `got` is a subsequence of `exp`
              let j = 0;
              for (const g of got) {
                while (j < exp.length && exp[j] !== g) j++;
                if (j === exp.length) throw new Error(`dir ${dir} ch ${ch}: ${g} out of order or duplicated`);
                j++;
              }
            }
            for (let ch = 0; ch < STABLE; ch++) expect(recv[dir]!.get(ch) ?? []).toEqual(sent[dir]!.get(ch) ?? []);
          }
          const zero = Object.fromEntries(Object.keys(p.host.stats.dropped).map((k) => [k, 0]));
          expect({
            host: { ...p.host.stats.dropped, noRecipient: 0 },
            remote: { ...p.remote.stats.dropped, noRecipient: 0 },
          }).toEqual({ host: zero, remote: zero });
          expect([
            p.host.stats.protocolErrors,
            p.remote.stats.protocolErrors,
            p.host.isLinkUp,
            p.remote.isLinkUp,
          ]).toEqual([0, 0, true, true]);
          for (const m of recv) for (const l of m.values()) delivered += l.length;
          return true;
        },
      ),
      fcParams(150),
    );
    // The runs did exercise traffic and exhaustion (not a vacuous pass).
    expect(delivered).toBeGreaterThan(100);
    expect(refused).toBeGreaterThan(0);
  });

  it("blocking sends from both sides under exhaustion all arrive, in order", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(2, 4),
        fc.boolean(),
        fc.array(fc.integer({ min: 0, max: 496 }), { minLength: 1, maxLength: 40 }),
        async (num, eventIdx, sizes) => {
          const p = makePair({ num, remote: { eventIdx } });
          p.host.start();
          const rx: number[] = [];
          const hx: number[] = [];
          const rep = p.remote.createEndpoint({
            name: "b",
            onMessage: (m) => {
              rx.push(m.data.length);
            },
          });
          p.settle();
          const hep = p.host.createEndpoint({
            name: "b",
            onMessage: (m) => {
              hx.push(m.data.length);
            },
          });
          hep.trySend(new Uint8Array(0));
          p.settle();
          rx.length = 0;
          const sends = sizes.flatMap((n) => [hep.send(new Uint8Array(n)), rep.send(new Uint8Array(n))]);
          const state = { done: false };
          void Promise.all(sends).then(() => {
            state.done = true;
          });
          for (let i = 0; i < 10_000 && !state.done; i++) {
            p.host.process();
            p.remote.process();
            await Promise.resolve();
          }
          await Promise.all(sends);
          p.settle();
          expect(rx).toEqual(sizes);
          expect(hx).toEqual(sizes);
          return true;
        },
      ),
      fcParams(60),
    );
  });
});

describe("decoders never throw anything but AmpError or RangeError on arbitrary bytes", () => {
  it("NS message and name", async () => {
    const { decodeRpmsgNsMessage, decodeName, isAmpError, utf8Decode, utf8Encode } = await import("@amp/rpmsg");
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
        try {
          decodeRpmsgNsMessage(b);
        } catch (e) {
          if (!isAmpError(e)) return false;
        }
        if (b.length >= 32) decodeName(b);
        return utf8Decode(b) === new TextDecoder().decode(b);
      }),
      fcParams(500),
    );
    fc.assert(
      fc.property(
        fc.string({ unit: "binary" }),
        (s) => utf8Decode(utf8Encode(s)) === new TextDecoder().decode(new TextEncoder().encode(s)),
      ),
      fcParams(500),
    );
  });
});
