// A hostile host against the firmware side (issue 15, item 3): forged status, features, vring
// addresses, notify ids, ring geometry and buffer addresses in the table and rings, after
// DRIVER_OK and across resets. The remote (Firmware.rpmsg(): RpmsgRemote over
// RemoteVdevTransport) never throws out of process(), writes nothing outside what the host
// offered (checked byte by byte by the rig), answers with link-down / NEEDS_RESET / counted
// drops, and comes back after a reset by a well-behaved host. Mirror of the host-side
// packages/rpmsg/test/unit/hostile.test.ts.
import { describe, expect, it } from "vitest";
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
import { splitRingLayout } from "@amp/virtio-ring";

const NEEDS_RESET = 0x40;
const RING = splitRingLayout(NUM, ALIGN);

function up(): Rig {
  const r = makeRig();
  r.resetHost();
  r.settle();
  expect(r.remote.isLinkUp).toBe(true);
  return r;
}

const vringAt = (r: Rig, i: number): number => r.vdev + VDEV.VRINGS + VDEV.VRING_SIZE * i;

/** The firmware's own bytes (program header, resource table, trace buffer) except the status byte, which the remote may set. */
function ownBytes(r: Rig, withTrace = true): string {
  const parts = [
    r.bytes.slice(BOOT, BOOT + 32),
    r.bytes.slice(TABLE_DA, r.vdev + VDEV.STATUS),
    r.bytes.slice(r.vdev + VDEV.STATUS + 1, TABLE_DA + 0x100),
  ];
  if (withTrace) parts.push(r.bytes.slice(TRACE_DA, TRACE_DA + 512));
  return parts.map((b) => Buffer.from(b).toString("hex")).join("|");
}
const status = (r: Rig): number => r.mem.getU8(r.vdev + VDEV.STATUS);

/**
 * The host resets the device, sets its rings up again (zeroed, rx buffers posted) as a normal
 * restart does, lets `forge` scribble on the table, then sets DRIVER_OK. Returns true when the
 * remote refused: it never came up, counted a protocol error and asked for a reset (NEEDS_RESET).
 */
function forgedRestart(r: Rig, forge: () => void): boolean {
  r.host.stop("forging", { reset: true });
  r.settle(3);
  expect(r.remote.isLinkUp).toBe(false);
  r.host.start(); // a clean restart: rings zeroed, buffers posted, DRIVER_OK...
  r.poke8(r.vdev + VDEV.STATUS, 0x03); // ...taken back before the remote looked
  const ups = r.remote.stats.linkUps;
  const errors = r.remote.stats.protocolErrors;
  forge();
  r.poke8(r.vdev + VDEV.STATUS, 0x07);
  r.settle(3);
  return r.remote.stats.linkUps === ups && r.remote.stats.protocolErrors > errors && (status(r) & NEEDS_RESET) !== 0;
}

describe("hostile host against the remote", () => {
  it("baseline: link up, echo byte for byte, and the remote writes only rings, tx buffers, status and trace", () => {
    const r = up();
    expectRecovers(r);
    expect(r.remote.stats.protocolErrors).toBe(0);
  });

  it("status forged after DRIVER_OK: link down (or up) as the bits say, never a throw; recovers", () => {
    for (const s of [0x00, 0x01, 0x03, 0x04, 0x0f, 0x07 | NEEDS_RESET, 0x07 | 0x80, 0xff, 0x05]) {
      const r = up();
      r.poke8(r.vdev + VDEV.STATUS, s);
      r.settle(3);
      const driverOk = (s & 0x04) !== 0 && (s & 0xc0) === 0;
      expect(r.remote.isLinkUp, `status 0x${s.toString(16)}`).toBe(driverOk);
      expectRecovers(r);
    }
  });

  it("gfeatures forged after DRIVER_OK are ignored until the next reset", () => {
    const r = up();
    r.poke32(r.vdev + VDEV.GFEATURES, 0xffff_ffff);
    r.settle(3);
    expect(r.remote.isLinkUp).toBe(true);
    expect(r.remote.features).toBe(1n);
    expectRecovers(r);
  });

  it("gfeatures the device never offered: refused at DRIVER_OK with NEEDS_RESET", () => {
    for (const g of [0xffff_ffff, 1 | (1 << 29), 1 | (1 << 1), 1 << 28]) {
      const r = up();
      expect(
        forgedRestart(r, () => {
          r.poke32(r.vdev + VDEV.GFEATURES, g);
        }),
        `gfeatures 0x${g.toString(16)}`,
      ).toBe(true);
      expectRecovers(r);
    }
  });

  it("dfeatures rewritten by the host do not widen the device's offer", () => {
    const r = up();
    const refused = forgedRestart(r, () => {
      r.poke32(r.vdev + VDEV.DFEATURES, 0xffff_ffff); // the device offered only NS (bit 0)
      r.poke32(r.vdev + VDEV.GFEATURES, 1 | (1 << 29)); // and the host takes EVENT_IDX too
    });
    expect(refused).toBe(true);
    expect(r.remote.features).toBe(0n);
    expectRecovers(r);
  });

  it("vring da rewritten after DRIVER_OK: the running link keeps its rings", () => {
    const r = up();
    for (const da of [RING1_DA, 0, 0xffff_ffff, TABLE_DA, MEM_SIZE - 8]) {
      r.poke32(vringAt(r, 0) + VRING.DA, da);
      r.poke32(vringAt(r, 1) + VRING.DA, da);
      r.settle(3);
      expect(r.remote.isLinkUp).toBe(true);
    }
    expectRecovers(r);
  });

  it("vring da forged at DRIVER_OK (unmapped, ANY, 0, over the table, program, trace, the other ring): NEEDS_RESET, nothing written there", () => {
    const cases: [string, number, number][] = [
      ["ANY", 0xffff_ffff, RING1_DA],
      ["0 (Linux: no ring)", 0, RING1_DA],
      ["past memory", MEM_SIZE - 8, RING1_DA],
      ["wrapping 2^32", 0xffff_fff0, RING1_DA],
      ["over the resource table", TABLE_DA, RING1_DA],
      ["over the program header", BOOT, RING1_DA],
      ["over the trace buffer", TRACE_DA, RING1_DA],
      ["vring 0 on vring 1", RING1_DA, RING1_DA],
      ["vring 1 overlapping vring 0", RINGS_DA, RINGS_DA + 16],
    ];
    for (const [what, d0, d1] of cases) {
      const r = up();
      let own = "";
      const refused = forgedRestart(r, () => {
        r.poke32(vringAt(r, 0) + VRING.DA, d0);
        r.poke32(vringAt(r, 1) + VRING.DA, d1);
        own = ownBytes(r);
      });
      expect(refused, what).toBe(true);
      expect(ownBytes(r), what).toBe(own); // no used ring written over the firmware's own state
      expectRecovers(r);
    }
  });

  it("notify ids forged at DRIVER_OK (beyond the doorbell's 64 queues, huge): NEEDS_RESET, not a crash", () => {
    for (const id of [64, 0xffff, 0xffff_ffff]) {
      const r = up();
      expect(
        forgedRestart(r, () => {
          r.poke32(vringAt(r, 0) + VRING.NOTIFYID, id);
        }),
        `notify id ${id}`,
      ).toBe(true);
      expectRecovers(r);
    }
  });

  it("notify ids forged after DRIVER_OK are not re-read: the link keeps working", () => {
    const r = up();
    r.poke32(vringAt(r, 0) + VRING.NOTIFYID, 0xffff_ffff);
    r.poke32(vringAt(r, 1) + VRING.NOTIFYID, 63);
    const got: number[] = [];
    const ep = r.host.createEndpoint({
      dst: r.hostEndpoint().dst,
      onMessage: (m) => {
        got.push(m.data.length);
      },
    });
    expect(ep.trySend(new Uint8Array(5))).toBe(true);
    r.settle();
    expect(got).toEqual([5]);
  });

  it("num / align rewritten by the host (not a power of two, zero, huge): the remote keeps its own geometry", () => {
    for (const [num, align] of [
      [0, ALIGN],
      [3, ALIGN],
      [0x8000, ALIGN],
      [0xffff_ffff, ALIGN],
      [NUM, 0],
      [NUM, 3],
      [NUM, 0xffff_ffff],
    ] as const) {
      const r = up();
      expect(
        forgedRestart(r, () => {
          r.poke32(vringAt(r, 0) + VRING.NUM, num);
          r.poke32(vringAt(r, 1) + VRING.ALIGN, align);
        }),
      ).toBe(false);
      // the rings are where the host put them, with the firmware's num/align: the link comes up
      expect(r.remote.isLinkUp, `num ${num} align ${align}`).toBe(true);
      expectRecovers(r);
    }
  });

  it("tx buffers (vring 0) pointing at the table, the program, the trace, past memory, or too short: counted or NEEDS_RESET, nothing written there", () => {
    const targets: [string, number, number][] = [
      ["the resource table", TABLE_DA, 512],
      ["the program header", BOOT, 512],
      ["the trace buffer", TRACE_DA, 512],
      ["past memory", MEM_SIZE - 100, 512],
      ["wrapping 2^32", 0xffff_ff00, 512],
      ["shorter than a header", POOL_DA, 8],
      ["a huge length", POOL_DA, 0xffff_ffff],
      ["zero length", POOL_DA, 0],
    ];
    for (const [what, addr, len] of targets) {
      const r = up();
      const ep = r.remote.createEndpoint({ name: "talker", dst: 0x400 });
      // every posted rx buffer of the host (the remote's tx) now says `addr`/`len`
      for (let j = 0; j < NUM; j++) {
        r.poke32(RINGS_DA + 16 * j, addr);
        r.poke32(RINGS_DA + 16 * j + 4, 0);
        r.poke32(RINGS_DA + 16 * j + 8, len);
      }
      const own = ownBytes(r, false); // the trace may log the failure: the remote writes there itself
      let sendThrew: unknown;
      try {
        ep.trySend(new Uint8Array(4));
      } catch (e) {
        sendThrew = e;
      }
      if (sendThrew !== undefined) expect((sendThrew as { name?: string }).name, what).toBe("AmpError");
      r.settle(3);
      expect(ownBytes(r, false), what).toBe(own);
      expect(r.hostThrows, what).toEqual([]);
      expectRecovers(r);
    }
  });

  it("rx buffers (vring 1) pointing at the table or past memory: NEEDS_RESET or dropped, never read out of bounds", () => {
    for (const [addr, len] of [
      [TABLE_DA, 64],
      [MEM_SIZE - 8, 64],
      [0xffff_fff0, 64],
      [POOL_DA, 0xffff_ffff],
    ] as const) {
      const r = up();
      const hep = r.hostEndpoint();
      expect(hep.trySend(Uint8Array.of(1, 2, 3))).toBe(true);
      // rewrite the descriptor the host just made available on vring 1
      for (let j = 0; j < NUM; j++) {
        r.poke32(RING1_DA + 16 * j, addr);
        r.poke32(RING1_DA + 16 * j + 8, len);
      }
      r.settle(3);
      expect(r.echoed).toEqual([]);
      expectRecovers(r);
    }
  });

  it("avail index running ahead, used index and flags scribbled: no hang, NEEDS_RESET or ignored, recovers", () => {
    const r = up();
    r.poke16(RING1_DA + RING.avail + 2, 0x7fff);
    r.poke16(RINGS_DA + RING.used + 2, 0x1234);
    r.poke16(RINGS_DA + RING.avail, 0xffff);
    r.settle(3);
    expect(r.remote.stats.protocolErrors).toBeGreaterThan(0);
    expect(r.remote.isLinkUp).toBe(false);
    expectRecovers(r);
  });
});
