// A message whose src is RPMSG_ADDR_ANY (issue 15, item 2). Linux (rpmsg_recv_single looks the
// endpoint up by dst only) and OpenAMP (rpmsg_virtio_rx_callback) deliver it to the endpoint
// anyway; replying to it is what fails there (Linux rpmsg_send_offchannel_raw: -EINVAL for src or
// dst ANY; OpenAMP: RPMSG_ERR_PARAM for dst ANY). @amp does the same, and the failed reply is
// an AmpError with a stable code (ERR_BAD_ADDRESS), never a TypeError.
import { describe, expect, it } from "vitest";
import { RPMSG_ADDR_ANY, isAmpError } from "@amp/rpmsg";
import { makePair, type Pair } from "../helpers/pair.ts";
import { codeOf } from "../helpers/code-of.ts";

const toHex = (b: Uint8Array): string => [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
/** The forged buffer of the issue: header (src ANY, dst 0x400, len 4) | four zero bytes. */
const FORGED = "ffffffff" + "00040000" + "00000000" + "0400" + "0000" + "00000000";

/** Sends 4 zero bytes from the host to remote address 0x400 and rewrites the header's src to ANY
 * before the remote sees the buffer (one thread: the remote only runs in process()). */
function forgeToRemote(p: Pair): void {
  const hep = p.host.createEndpoint({ dst: 0x400 });
  const buf = hep.tryGetTxBuffer()!;
  const header = new Uint8Array(buf.payload.buffer, buf.payload.byteOffset - 16, 20);
  buf.payload.fill(0, 0, 4);
  buf.send(4);
  new DataView(header.buffer, header.byteOffset, 4).setUint32(0, RPMSG_ADDR_ANY, true);
  expect(toHex(header)).toBe(FORGED);
}

describe("src = RPMSG_ADDR_ANY and bad destinations", () => {
  it("a message from ANY is delivered (as Linux and OpenAMP do); the endpoint stays unbound", () => {
    const p = makePair();
    p.host.start();
    const seen: { src: number; data: string }[] = [];
    const rep = p.remote.createEndpoint({
      addr: 0x400,
      onMessage: (m) => {
        seen.push({ src: m.src, data: toHex(m.data) });
      },
    });
    p.settle();
    forgeToRemote(p);
    expect(p.remote.process()).toBeGreaterThan(0);
    expect(seen).toEqual([{ src: RPMSG_ADDR_ANY, data: "00000000" }]);
    expect(rep.dst).toBe(RPMSG_ADDR_ANY); // ANY is never learnt as the peer
    expect(p.remote.stats.dropped.noRecipient).toBe(0);
  });

  it("replying to it with trySendTo(m.src) is an AmpError ERR_BAD_ADDRESS; process() stays usable", () => {
    const p = makePair();
    p.host.start();
    const errors: unknown[] = [];
    p.remote.createEndpoint({
      addr: 0x400,
      onMessage: (m, ep) => {
        ep.trySendTo(m.src, m.data);
      },
    });
    p.settle();
    forgeToRemote(p);
    // Without onError the callback's exception comes out of process() (after the buffer went back).
    let thrown: unknown;
    try {
      p.remote.process();
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(Error);
    expect(thrown).not.toBeInstanceOf(TypeError);
    expect(isAmpError(thrown) && thrown.code).toBe("ERR_BAD_ADDRESS");
    expect((thrown as Error).message).toMatch(/0xffffffff/);
    expect(p.remote.stats.callbackErrors).toBe(1);
    // The link is still up and a well-formed message is echoed.
    const hep = p.host.createEndpoint({
      dst: 0x400,
      onMessage: (m) => {
        errors.push(toHex(m.data));
      },
    });
    expect(hep.trySend(Uint8Array.of(1, 2))).toBe(true);
    p.settle();
    expect(errors).toEqual(["0102"]);
  });

  it("every send path refuses a bad address with ERR_BAD_ADDRESS; promise-returning ones reject", async () => {
    const p = makePair();
    p.host.start();
    p.remote.createEndpoint({ addr: 0x400 });
    p.settle();
    const hep = p.host.createEndpoint({ dst: 0x400 });
    const data = Uint8Array.of(1);
    for (const bad of [RPMSG_ADDR_ANY, -1, 2 ** 32, 1.5, Number.NaN]) {
      expect(codeOf(() => hep.trySendTo(bad, data))).toBe("ERR_BAD_ADDRESS");
      expect(codeOf(() => hep.trySendOffchannel(bad, 0x400, data))).toBe("ERR_BAD_ADDRESS");
      expect(codeOf(() => hep.trySendOffchannel(7, bad, data))).toBe("ERR_BAD_ADDRESS");
      let sync: unknown;
      let p1: Promise<void> | undefined;
      let p2: Promise<void> | undefined;
      try {
        p1 = hep.sendTo(bad, data);
        p2 = hep.sendOffchannel(bad, 0x400, data);
      } catch (e) {
        sync = e;
      }
      expect(sync).toBeUndefined(); // a promise-returning call reports through its promise
      await expect(p1).rejects.toMatchObject({ name: "AmpError", code: "ERR_BAD_ADDRESS" });
      await expect(p2).rejects.toMatchObject({ name: "AmpError", code: "ERR_BAD_ADDRESS" });
      const buf = hep.tryGetTxBuffer()!;
      expect(
        codeOf(() => {
          buf.send(1, bad);
        }),
      ).toBe("ERR_BAD_ADDRESS");
      expect(buf.done).toBe(false); // the buffer stays the caller's
      buf.release();
    }
    // Nothing was sent, nothing leaked: every tx buffer is still free.
    expect(p.host.stats.txMessages).toBe(0);
    let free = 0;
    while (hep.trySend(data)) free++;
    expect(free).toBe(16);
  });

  it("an unbound endpoint's send() is still ERR_NOT_BOUND (no destination yet), not a bad address", async () => {
    const p = makePair();
    p.host.start();
    p.settle();
    const hep = p.host.createEndpoint({});
    await expect(hep.send(Uint8Array.of(1))).rejects.toMatchObject({ code: "ERR_NOT_BOUND" });
    expect(codeOf(() => hep.trySend(Uint8Array.of(1)))).toBe("ERR_NOT_BOUND");
  });
});
