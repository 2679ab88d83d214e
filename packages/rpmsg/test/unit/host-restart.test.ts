// A host that restarts the link in one step (RpmsgHost.start() again: status 0, rings zeroed,
// DRIVER_OK) between two polls of the remote leaves the status byte as it was. The remote must
// still notice (its used.idx was wiped) and come up on the new rings, with no protocol error.
import { describe, expect, it } from "vitest";
import type { ReceivedMessage, RpmsgRemote } from "@amp/rpmsg";
import { makePair } from "../helpers/pair.ts";

function echoService(remote: RpmsgRemote, got: number[]): void {
  remote.createEndpoint({
    name: "echo",
    onMessage: (m: ReceivedMessage, ep) => {
      got.push(m.data.length);
      ep.trySendTo(m.src, m.data);
    },
  });
}

describe("host restart between two remote polls", () => {
  it("the remote takes the link down, comes up on the new rings, and echoes again", () => {
    const p = makePair({ num: 8 });
    const changes: string[] = [];
    p.remote.onLinkChange((up, why) => {
      changes.push(up ? "up" : `down: ${why?.message ?? ""}`);
    });
    const got: number[] = [];
    p.host.start();
    echoService(p.remote, got);
    p.settle();
    const back: number[] = [];
    let hep = p.host.createEndpoint({
      name: "echo",
      onMessage: (m: ReceivedMessage) => {
        back.push(m.data.length);
      },
    });
    p.settle();
    for (let i = 1; i <= 20; i++) {
      expect(hep.trySend(new Uint8Array(i))).toBe(true);
      p.settle();
    }
    expect(back).toHaveLength(20);

    p.host.start(); // reset + re-init + DRIVER_OK, all before the remote looks again
    expect(p.hostTransport.getStatus()).toBe(0x07);
    p.remote.process();
    expect(changes).toEqual([
      "up",
      "down: rpmsg link down: the host re-initialised the rings (a reset between two polls)",
      "up",
    ]);
    expect(p.remote.stats.protocolErrors).toBe(0);

    // The firmware re-creates its endpoint on the new link (endpoints close with the old one).
    echoService(p.remote, got);
    p.settle();
    back.length = 0;
    hep = p.host.createEndpoint({
      name: "echo",
      onMessage: (m: ReceivedMessage) => {
        back.push(m.data.length);
      },
    });
    p.settle();
    for (let i = 1; i <= 20; i++) {
      expect(hep.trySend(new Uint8Array(i))).toBe(true);
      p.settle();
    }
    expect(back).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(p.host.stats.protocolErrors).toBe(0);
    expect(p.remote.stats.protocolErrors).toBe(0);
  });
});
