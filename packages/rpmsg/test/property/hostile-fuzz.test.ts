// A peer that scribbles random bytes over the shared rings and buffers between steps. Neither
// side may throw from process(), hang, or touch memory outside the mapping (SharedMemory would
// throw RangeError); violations end in a counted drop or a link taken down with ERR_PROTOCOL.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { fcParams } from "@amp/test-utils";
import { isAmpError } from "@amp/rpmsg";
import { makePair, RINGS_ADDR } from "../helpers/pair.ts";

describe("random corruption of shared memory", () => {
  it("never makes process() throw, on either side", () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.array(fc.record({ at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }), steps: fc.nat(3) }), {
          minLength: 1,
          maxLength: 30,
        }),
        (eventIdx, pokes) => {
          const p = makePair({ num: 8, remote: { eventIdx } });
          p.host.start();
          const echo = (
            m: { src: number; data: Uint8Array },
            ep: { trySendTo(d: number, b: Uint8Array): boolean },
          ): void => {
            try {
              ep.trySendTo(m.src, m.data);
            } catch (e) {
              // the ring broke under the reply, or the scribbled header said src = ANY
              if (!isAmpError(e) || (e.code !== "ERR_LINK_DOWN" && e.code !== "ERR_BAD_ADDRESS")) throw e;
            }
          };
          const rep = p.remote.createEndpoint({ name: "f", onMessage: echo });
          p.settle();
          const hep = p.host.createEndpoint({ name: "f" });
          const span = p.mem.byteLength - RINGS_ADDR;
          for (const k of pokes) {
            const at = RINGS_ADDR + (k.at % span);
            p.mem.write(at, k.bytes.subarray(0, Math.min(k.bytes.length, p.mem.byteLength - at)));
            for (let s = 0; s <= k.steps; s++) {
              for (const ep of [hep, rep]) {
                if (ep.closed || ep.dst === 0xffffffff) continue;
                try {
                  ep.trySend(Uint8Array.of(s));
                } catch (e) {
                  // a send may find the link broken under it: that is reported, never a crash
                  if (!isAmpError(e) || e.code !== "ERR_LINK_DOWN") throw e;
                }
              }
              p.host.process();
              p.remote.process();
            }
          }
          // whatever happened, the host can always bring the link back up
          p.host.start();
          expect(p.host.isLinkUp).toBe(true);
          return true;
        },
      ),
      fcParams(300),
    );
  });
});
