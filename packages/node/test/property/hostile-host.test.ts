// Random sequences of a hostile host against the firmware side (issue 15, item 3): between the
// remote's process() calls the host forges status, features, vring addresses, notify ids, ring
// geometry, descriptors (buffer addresses, lengths, flags, chains) and ring indexes, mixed with
// legitimate traffic and restarts. After every step: process() did not throw, the remote wrote
// nothing outside what the host offered (the rig checks each byte); at the end a well-behaved
// host resets the device and the remote echoes again. Mirror of
// packages/rpmsg/test/property/hostile-fuzz.test.ts (the host's side).
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { fcParams } from "@amp/test-utils";
import { isAmpError, type RpmsgEndpoint } from "@amp/rpmsg";
import { splitRingLayout } from "@amp/virtio-ring";
import {
  ALIGN,
  BOOT,
  MEM_SIZE,
  NUM,
  POOL_DA,
  RING1_DA,
  RINGS_DA,
  TABLE_DA,
  TRACE_DA,
  VDEV,
  VRING,
  expectRecovers,
  makeRig,
  type Rig,
} from "../hostile-host-rig.ts";

const RING = splitRingLayout(NUM, ALIGN);
const ringDa = (i: number): number => (i === 0 ? RINGS_DA : RING1_DA);
const u32 = fc.oneof(
  fc.constantFrom(0, 1, 2, 7, 8, 16, 63, 64, 512, 0xffff, 0x2000_0001, 0xffff_ffff),
  fc.integer({ min: 0, max: 0xffff_ffff }),
);
const addr = fc.oneof(
  fc.constantFrom(
    0,
    0xffff_ffff,
    0xffff_fff0,
    BOOT,
    TABLE_DA,
    TRACE_DA,
    RINGS_DA,
    RING1_DA,
    RINGS_DA + 16,
    POOL_DA,
    POOL_DA + 8 * 512,
    MEM_SIZE - 8,
    MEM_SIZE,
  ),
  fc.integer({ min: 0, max: MEM_SIZE }),
  fc.integer({ min: 0, max: 0xffff_ffff }),
);
const vring = fc.constantFrom(0, 1);

const op = fc.oneof(
  fc.record({
    k: fc.constant("status" as const),
    v: fc.oneof(fc.constantFrom(0, 1, 3, 4, 7, 0x0f, 0x47, 0x87, 0xff), fc.nat(255)),
  }),
  fc.record({ k: fc.constant("gfeatures" as const), v: u32 }),
  fc.record({ k: fc.constant("dfeatures" as const), v: u32 }),
  fc.record({ k: fc.constant("vringDa" as const), i: vring, v: addr }),
  fc.record({ k: fc.constant("notifyId" as const), i: vring, v: u32 }),
  fc.record({ k: fc.constant("geometry" as const), i: vring, f: fc.constantFrom(VRING.NUM, VRING.ALIGN), v: u32 }),
  fc.record({
    k: fc.constant("desc" as const),
    i: vring,
    j: fc.nat(NUM - 1),
    a: addr,
    len: u32,
    flags: fc.nat(0xffff),
    next: fc.nat(0xffff),
  }),
  fc.record({ k: fc.constant("availIdx" as const), i: vring, v: fc.nat(0xffff) }),
  fc.record({ k: fc.constant("availRing" as const), i: vring, j: fc.nat(NUM - 1), v: fc.nat(0xffff) }),
  fc.record({ k: fc.constant("ringFlags" as const), i: vring, used: fc.boolean(), v: fc.nat(0xffff) }),
  fc.record({ k: fc.constant("usedIdx" as const), i: vring, v: fc.nat(0xffff) }),
  fc.record({ k: fc.constant("hostSend" as const), n: fc.nat(520) }),
  fc.record({ k: fc.constant("remoteSend" as const), n: fc.nat(520) }),
  fc.record({ k: fc.constant("restart" as const) }),
  fc.record({ k: fc.constant("driverOk" as const) }),
);
type Op = typeof op extends fc.Arbitrary<infer T> ? T : never;

/** A send that may meet a link the adversary broke: only typed errors are acceptable. */
function trySend(ep: RpmsgEndpoint | undefined, n: number): void {
  if (ep === undefined || ep.closed) return;
  try {
    ep.trySend(new Uint8Array(n).fill(0x5a));
  } catch (e) {
    if (!isAmpError(e)) throw e;
  }
}

function apply(r: Rig, o: Op, eps: { host?: RpmsgEndpoint | undefined; remote?: RpmsgEndpoint | undefined }): void {
  const vringAt = (i: number): number => r.vdev + VDEV.VRINGS + VDEV.VRING_SIZE * i;
  switch (o.k) {
    case "status":
      r.poke8(r.vdev + VDEV.STATUS, o.v);
      break;
    case "gfeatures":
      r.poke32(r.vdev + VDEV.GFEATURES, o.v);
      break;
    case "dfeatures":
      r.poke32(r.vdev + VDEV.DFEATURES, o.v);
      break;
    case "vringDa":
      r.poke32(vringAt(o.i) + VRING.DA, o.v);
      break;
    case "notifyId":
      r.poke32(vringAt(o.i) + VRING.NOTIFYID, o.v);
      break;
    case "geometry":
      r.poke32(vringAt(o.i) + o.f, o.v);
      break;
    case "desc": {
      const d = ringDa(o.i) + 16 * o.j;
      r.poke32(d, o.a);
      r.poke32(d + 4, 0);
      r.poke32(d + 8, o.len);
      r.poke16(d + 12, o.flags);
      r.poke16(d + 14, o.next);
      break;
    }
    case "availIdx":
      r.poke16(ringDa(o.i) + RING.avail + 2, o.v);
      break;
    case "availRing":
      r.poke16(ringDa(o.i) + RING.avail + 4 + 2 * o.j, o.v);
      break;
    case "ringFlags":
      r.poke16(ringDa(o.i) + (o.used ? RING.used : RING.avail), o.v);
      break;
    case "usedIdx":
      r.poke16(ringDa(o.i) + RING.used + 2, o.v);
      break;
    case "hostSend":
      trySend(eps.host, o.n);
      break;
    case "remoteSend":
      trySend(eps.remote, o.n);
      break;
    case "restart":
      try {
        r.host.start();
      } catch (e) {
        if (!isAmpError(e)) throw e;
      }
      eps.host = r.host.isLinkUp ? r.hostEndpoint() : undefined;
      break;
    case "driverOk":
      r.poke8(r.vdev + VDEV.STATUS, 0x07);
      break;
  }
}

describe("a hostile host, seen from the remote", () => {
  it("never makes the firmware's process() throw or write outside what was offered; a reset brings it back", () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 25 }), (ops) => {
        const r = makeRig();
        r.resetHost();
        r.settle();
        const eps: { host?: RpmsgEndpoint | undefined; remote?: RpmsgEndpoint | undefined } = {
          host: r.hostEndpoint(),
          remote: r.remote.createEndpoint({ dst: 0x400 }),
        };
        for (const o of ops) {
          apply(r, o, eps);
          r.remoteStep();
          r.hostStep();
        }
        expect(r.hostThrows.filter((e) => !isAmpError(e))).toEqual([]);
        expectRecovers(r);
        return true;
      }),
      fcParams(100),
    );
  });
});
