// RpmsgEndpoint.trySendWith: zero-copy without a handle. What it sends, what it refuses, and
// that its buffer is never lost (given back when the fill fails, gone with a link that went down).
import { describe, expect, it } from "vitest";
import type { RpmsgMessage } from "@amp/rpmsg";
import { makePair } from "../helpers/pair.ts";
import { codeOf } from "../helpers/code-of.ts";

function linked(num = 4) {
  const p = makePair({ num });
  const got: { src: number; data: number[] }[] = [];
  const rep = p.remote.createEndpoint({
    name: "svc",
    onMessage: (m: RpmsgMessage) => {
      got.push({ src: m.src, data: [...m.data] });
    },
  });
  p.host.start();
  p.settle();
  const ep = p.host.createEndpoint({ name: "svc" });
  return { p, ep, rep, got };
}

describe("trySendWith", () => {
  it("fills the buffer in place and sends what fill says, to the bound peer or to dst", () => {
    const { p, ep, rep, got } = linked();
    const seen: number[] = [];
    expect(
      ep.trySendWith((payload) => {
        seen.push(payload.length);
        payload.set([1, 2, 3]);
        return 3;
      }),
    ).toBe(true);
    expect(seen).toEqual([p.host.mtu]); // the whole payload area of a 512-byte buffer: 496
    expect(ep.trySendWith((payload) => ((payload[0] = 9), 1), rep.addr)).toBe(true);
    expect(ep.trySendWith(() => 0)).toBe(true); // an empty message is a message
    p.settle();
    expect(got).toEqual([
      { src: ep.addr, data: [1, 2, 3] },
      { src: ep.addr, data: [9] },
      { src: ep.addr, data: [] },
    ]);
    expect(p.host.stats.txMessages).toBe(3);
  });

  it("is false without calling fill when no buffer is free, and works again once they come back", () => {
    const { p, ep, got } = linked(4);
    let calls = 0;
    const fill = (payload: Uint8Array): number => {
      payload[0] = calls++;
      return 1;
    };
    for (let i = 0; i < 4; i++) expect(ep.trySendWith(fill)).toBe(true);
    expect(ep.trySendWith(fill)).toBe(false);
    expect(calls).toBe(4);
    p.settle();
    expect(ep.trySendWith(fill)).toBe(true);
    p.settle();
    expect(got.map((g) => g.data[0])).toEqual([0, 1, 2, 3, 4]);
  });

  it("a fill that throws gets its buffer back and its exception through", () => {
    const { p, ep, got } = linked(1);
    const boom = new Error("boom");
    expect(() =>
      ep.trySendWith(() => {
        throw boom;
      }),
    ).toThrow(boom);
    // The ring's only buffer was given back: the next send takes it.
    expect(ep.trySendWith((payload) => ((payload[0] = 5), 1))).toBe(true);
    p.settle();
    expect(got).toEqual([{ src: ep.addr, data: [5] }]);
    expect(p.host.stats.txMessages).toBe(1);
  });

  it("refuses a length outside the payload area with ERR_MSG_SIZE, keeping the buffer", () => {
    const { p, ep, got } = linked(1);
    for (const bad of [-1, 1.5, Number.NaN, p.host.mtu + 1])
      expect(codeOf(() => ep.trySendWith(() => bad))).toBe("ERR_MSG_SIZE");
    expect(ep.trySendWith(() => p.host.mtu)).toBe(true); // the full area is fine
    p.settle();
    expect(got[0]?.data.length).toBe(p.host.mtu);
  });

  it("checks addresses and state before taking a buffer: ERR_BAD_ADDRESS, ERR_NOT_BOUND, ERR_CLOSED", () => {
    const { p, ep } = linked(1);
    let calls = 0;
    const fill = (): number => (calls++, 0);
    expect(codeOf(() => ep.trySendWith(fill, 0xffffffff))).toBe("ERR_BAD_ADDRESS");
    expect(codeOf(() => p.host.createEndpoint({}).trySendWith(fill))).toBe("ERR_NOT_BOUND");
    ep.destroy();
    expect(codeOf(() => ep.trySendWith(fill))).toBe("ERR_CLOSED");
    expect(calls).toBe(0);
  });

  it("a fill that takes the link down sends nothing and reports ERR_LINK_DOWN", () => {
    const { p, ep, got } = linked(2);
    expect(
      codeOf(() =>
        ep.trySendWith(() => {
          p.host.stop("stopped from inside fill");
          return 1;
        }),
      ),
    ).toBe("ERR_LINK_DOWN");
    p.host.start();
    p.settle();
    expect(got).toEqual([]);
    expect(p.host.stats.txMessages).toBe(0);
  });

  it("an endpoint closed from inside fill sends nothing (ERR_CLOSED) and its buffer serves the next send", () => {
    const { p, ep, got } = linked(1);
    const other = p.host.createEndpoint({ dst: ep.dst });
    expect(
      codeOf(() =>
        ep.trySendWith(() => {
          ep.destroy();
          return 1;
        }),
      ),
    ).toBe("ERR_CLOSED");
    expect(other.trySendWith((payload) => ((payload[0] = 7), 1))).toBe(true);
    p.settle();
    expect(got.map((g) => g.data)).toEqual([[7]]);
  });
});
