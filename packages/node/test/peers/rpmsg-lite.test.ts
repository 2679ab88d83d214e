// rpmsg-only mode against NXP rpmsg-lite 5.4's own C code (pinned source, built for Linux
// userspace with our environment + platform port: tools/peers/rpmsg-lite), in both roles:
//   @amp host (createStaticHost)  <->  rpmsg-lite remote (rl-remote: rpmsg_queue echo)
//   rpmsg-lite master (rl-master) <->  @amp remote (createStaticRemote)
// 992 messages of 1..496 bytes per run, checked byte for byte on both sides, over the layouts
// rpmsg-lite platforms use (i.MX: VRING_ALIGN 0x1000, VRING_SIZE 0x8000; MCU: VRING_ALIGN 0x10,
// VRING_SIZE computed; i.MX943 TCM: 0x10 / 0x80), buffer counts 2, 16 and 256, link ids 0, 1
// and 5, RL_ALLOW_CONSUMED_BUFFERS_NOTIFICATION 0 and 1, the static API, zero-copy on both sides.
import { rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rpmsgLiteLayout, staticLinkLayout, type StaticLinkLayout } from "@amp/rpmsg";
import { makeTempDir, requireTools } from "@amp/test-utils";
import { hostVsLiteRemote, liteMasterVsRemote, type LiteOutcome, type LiteRun } from "./rpmsg-lite-drivers.ts";
import { buildRpmsgLite, killAllPeers, spawnPeerPair, type PeerExit } from "./rpmsg-lite-peer.ts";

const N = 992;

/** Build variants: name (see scripts/peers/build-rpmsg-lite.sh) and the numbers in rpmsg-lite's names. */
const V = {
  imx256: { name: "b256-a1000-v8000-n0-s0", RL_BUFFER_COUNT: 256, VRING_ALIGN: 0x1000, VRING_SIZE: 0x8000 },
  imx16notify: { name: "b16-a1000-v8000-n1-s0", RL_BUFFER_COUNT: 16, VRING_ALIGN: 0x1000, VRING_SIZE: 0x8000 },
  mcu2: { name: "b2-a10-vauto-n0-s0", RL_BUFFER_COUNT: 2, VRING_ALIGN: 0x10, VRING_SIZE: undefined },
  mcu16static: { name: "b16-a10-vauto-n1-s1", RL_BUFFER_COUNT: 16, VRING_ALIGN: 0x10, VRING_SIZE: undefined },
  imx943: { name: "b2-a10-v80-n0-s1", RL_BUFFER_COUNT: 2, VRING_ALIGN: 0x10, VRING_SIZE: 0x80 },
} as const;
type VariantKey = keyof typeof V;

const missing = requireTools("gcc", "bash", "flock", "sha256sum");

describe.skipIf(missing !== undefined)("rpmsg-lite 5.4 (its own C code) as a peer of rpmsg-only mode", () => {
  let bin = "";
  let dir = "";
  let serial = 0;
  beforeAll(() => {
    bin = buildRpmsgLite(Object.values(V).map((v) => v.name));
    dir = makeTempDir("amp-rpmsg-lite-");
  }, 600_000);
  afterAll(() => {
    killAllPeers();
    if (dir !== "") rmSync(dir, { recursive: true, force: true });
  });

  function layoutOf(k: VariantKey, base: number, linkId: number): StaticLinkLayout {
    const v = V[k];
    return rpmsgLiteLayout({
      base,
      RL_BUFFER_COUNT: v.RL_BUFFER_COUNT,
      VRING_ALIGN: v.VRING_ALIGN,
      linkId,
      ...(v.VRING_SIZE === undefined ? {} : { VRING_SIZE: v.VRING_SIZE }),
    });
  }

  function run(
    k: VariantKey,
    o: Partial<Omit<LiteRun, "bin" | "variant" | "file">> & { linkId?: number; shmOffset?: number } = {},
  ): LiteRun {
    const daBase = o.daBase ?? 0;
    const layout = o.layout ?? layoutOf(k, daBase + (o.shmOffset ?? 0), o.linkId ?? 0);
    return {
      bin,
      variant: V[k].name,
      layout,
      daBase,
      file: join(dir, `run-${serial++}.shm`),
      count: o.count ?? N,
      window: o.window ?? 1,
      liteZeroCopy: o.liteZeroCopy ?? false,
      ampZeroCopy: o.ampZeroCopy ?? false,
      ...(o.sink === undefined ? {} : { sink: o.sink }),
    };
  }

  /**
   * Every message both ways, byte-exact, nothing dropped, the RESULT line agrees, and the
   * doorbell carried only this link's vector ids, with consumed-buffer notifications exactly
   * when the build enables them.
   */
  function expectClean(out: LiteOutcome, role: "host" | "remote", k: VariantKey, linkId = 0): void {
    expect(out.linkDown).toBeUndefined();
    expect(out.ampMismatches).toEqual([]);
    expect(out.ampMatched).toBe(N);
    expect(out.ampSent).toBe(N);
    expect(out.ampStats.dropped).toEqual({
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
    expect(out.ampStats.protocolErrors).toBe(0);
    expect(out.ampStats.callbackErrors).toBe(0);
    expect(out.peer.stderr).toBe("");
    expect(out.peer.code).toBe(0);
    const r = out.peer.result ?? {};
    expect(r["ok"]).toBe("1");
    expect(r["rings_unknown"]).toBe("0");
    if (V[k].name.endsWith("-s1")) expect(r["allocations"]).toBe("0"); // the static API allocates nothing
    const v0 = linkId << 1;
    const v1 = v0 | 1;
    expect([...out.ringsFromPeer.keys(), ...out.ringsToPeer.keys()].every((id) => id === v0 || id === v1)).toBe(true);
    const notify = V[k].name.includes("-n1-");
    if (role === "host") {
      // rl-remote rings vector 1 (host tx completions) only with RL_ALLOW_CONSUMED_BUFFERS_NOTIFICATION.
      // (One ring per drained batch or per released buffer, so fewer than N.)
      if (notify) expect(out.ringsFromPeer.get(v1) ?? 0).toBeGreaterThan(0);
      else expect(out.ringsFromPeer.get(v1) ?? 0).toBe(0);
      // Every echo rang: counted by the peer itself (its notify calls; the socket may lose the
      // last few when the peer exits with our rings unread, which resets the connection).
      expect(Number(r["rings_sent"])).toBeGreaterThanOrEqual(N);
    } else {
      // rl-master kicks vector 0 once at init, and after a freed rx buffer only with the option and
      // only when vring 0's used.flags lets it: @amp's remote sets VRING_USED_F_NO_NOTIFY there while
      // no send waits for a buffer, and rl-master honours it (so with the option: 1 + the waits).
      // The init kick itself is skipped when the @amp remote came up while rl-master was still
      // posting its rx buffers (it comes up at the first one) and had already said NO_NOTIFY:
      // seen under CI load. Without the option, then, at most that one.
      if (!notify) expect(out.ringsFromPeer.get(v0) ?? 0).toBeLessThanOrEqual(1);
      // Every message kicked (vring 1's used.flags never said NO_NOTIFY): the peer's own count of
      // its notify calls (see above for why not the socket's).
      expect(Number(r["rings_sent"])).toBeGreaterThanOrEqual(N);
    }
    const fromPeer = [...out.ringsFromPeer.values()].reduce((a, b) => a + b, 0);
    expect(fromPeer).toBeLessThanOrEqual(Number(r["rings_sent"])); // no ring we did not get from it
    expect(fromPeer).toBeGreaterThan(0);
    if (role === "host") {
      expect(r["received"]).toBe(String(N));
      expect(r["rx_bad"]).toBe("0"); // rl-remote checked every message against the pattern
      expect(r["echoed"]).toBe(String(N));
      // NS CREATE bound the endpoint to rpmsg-lite's address; the DESTROY came at the end.
      expect(out.ampBoundTo).toBe(Number(r["ept"]));
      expect(out.ampNs.map((e) => `${e.type} ${e.addr}`)).toEqual([`destroy ${r["ept"] ?? ""}`]);
    } else {
      expect(r["sent"]).toBe(String(N));
      expect(r["echoed"]).toBe(String(N));
      expect(r["bad"]).toBe("0");
      expect(r["ns_create"]).toBe("1");
      expect(r["ns_destroy"]).toBe("1");
      expect(out.ampNs.map((e) => `${e.type} ${e.name}`)).toEqual(["create rl-master", "destroy rl-master"]);
    }
  }

  describe("rpmsg-lite master <-> rpmsg-lite remote (the port itself)", () => {
    for (const k of ["imx256", "mcu2"] as const) {
      it(`${V[k].name}: 992 echoes, copy and zero-copy`, async () => {
        for (const zc of [false, true]) {
          const { master, remote } = await spawnPeerPair(
            join(bin, V[k].name),
            join(dir, `pair-${serial++}`),
            N,
            zc,
            60_000,
          );
          expect(master.stderr).toBe("");
          expect(master.code).toBe(0);
          expect(master.result?.["echoed"]).toBe(String(N));
          expect(master.result?.["bad"]).toBe("0");
          expect(remote.code).toBe(0);
          expect(remote.result?.["echoed"]).toBe(String(N));
        }
      });
    }
  });

  describe("@amp host <-> rpmsg-lite remote", () => {
    it("i.MX layout (0x1000 / 0x8000), 256 buffers, link 1, 8 in flight", async () => {
      const out = await hostVsLiteRemote(run("imx256", { linkId: 1, window: 8 }));
      expectClean(out, "host", "imx256", 1);
      // rpmsg-lite's remote writes the descriptor length back on vring 1: counted, not fatal.
      expect(out.ampStats.usedLenIgnored).toBeGreaterThan(0);
    });
    it("MCU layout (0x10, computed VRING_SIZE), 2 buffers, zero-copy on both sides", async () => {
      expectClean(
        await hostVsLiteRemote(run("mcu2", { liteZeroCopy: true, ampZeroCopy: true, window: 2 })),
        "host",
        "mcu2",
      );
    });
    it("MCU layout, 16 buffers, consumed-buffer notification, static API, link 5, base 0x2000_0000 + 0x1000", async () => {
      expectClean(
        await hostVsLiteRemote(run("mcu16static", { linkId: 5, daBase: 0x2000_0000, shmOffset: 0x1000, window: 4 })),
        "host",
        "mcu16static",
        5,
      );
    });
    it("i.MX layout, 16 buffers, consumed-buffer notification, zero-copy on the rpmsg-lite side", async () => {
      expectClean(
        await hostVsLiteRemote(run("imx16notify", { liteZeroCopy: true, window: 16 })),
        "host",
        "imx16notify",
      );
    });
    it("i.MX943 TCM layout (0x10 / 0x80), 2 buffers, static API, zero-copy on the @amp side", async () => {
      expectClean(await hostVsLiteRemote(run("imx943", { ampZeroCopy: true })), "host", "imx943");
    });
    it("one way: 992 messages into 2 buffers of a remote that never interrupts for consumed ones (the host polls)", async () => {
      const out = await hostVsLiteRemote(run("mcu2", { sink: true }));
      expect(out.linkDown).toBeUndefined();
      expect(out.ampSent).toBe(N);
      expect(out.ampStats.txMessages).toBe(N);
      expect(out.ampStats.protocolErrors).toBe(0);
      expect(Object.values(out.ampStats.dropped).every((n) => n === 0)).toBe(true);
      expect(out.peer.code).toBe(0);
      expect(out.peer.result?.["received"]).toBe(String(N));
      expect(out.peer.result?.["rx_bad"]).toBe("0");
      expect(out.peer.result?.["echoed"]).toBe("0");
      expect(out.ringsFromPeer.get(1) ?? 0).toBe(0); // not one tx-completion interrupt: polling did it
    });
  });

  describe("rpmsg-lite master <-> @amp remote", () => {
    it("i.MX layout (0x1000 / 0x8000), 256 buffers, link 1, 8 in flight", async () => {
      expectClean(await liteMasterVsRemote(run("imx256", { linkId: 1, window: 8 })), "remote", "imx256", 1);
    });
    it("MCU layout (0x10, computed VRING_SIZE), 2 buffers, zero-copy on both sides", async () => {
      const out = await liteMasterVsRemote(run("mcu2", { liteZeroCopy: true, ampZeroCopy: true, window: 2 }));
      expectClean(out, "remote", "mcu2");
      // rpmsg_lite_alloc_tx_buffer takes vring 1's used.len as the capacity: 512 - 16.
      expect(out.peer.result?.["tx_capacity_min"]).toBe("496");
    });
    it("MCU layout, 16 buffers, consumed-buffer notification, static API, link 5, base 0x2000_0000 + 0x1000", async () => {
      expectClean(
        await liteMasterVsRemote(run("mcu16static", { linkId: 5, daBase: 0x2000_0000, shmOffset: 0x1000, window: 4 })),
        "remote",
        "mcu16static",
        5,
      );
    });
    it("i.MX layout, 16 buffers, consumed-buffer notification, zero-copy on the rpmsg-lite side", async () => {
      const out = await liteMasterVsRemote(run("imx16notify", { liteZeroCopy: true, window: 16 }));
      expectClean(out, "remote", "imx16notify");
      expect(out.peer.result?.["tx_capacity_min"]).toBe("496");
    });
    it("i.MX943 TCM layout (0x10 / 0x80), 2 buffers, static API, zero-copy on the @amp side", async () => {
      expectClean(await liteMasterVsRemote(run("imx943", { ampZeroCopy: true })), "remote", "imx943");
    });
  });

  describe("a layout that does not match rpmsg-lite's (staticLinkLayout() defaults against an i.MX build)", () => {
    const runError = async (p: Promise<LiteOutcome>): Promise<Error & { code?: string; peer?: PeerExit }> => {
      const e = await p.then(
        () => undefined,
        (x: unknown) => x,
      );
      expect(e).toBeInstanceOf(Error);
      return e as Error & { code?: string; peer?: PeerExit };
    };
    it("@amp remote, 16 buffers: ERR_LAYOUT at link-up (rpmsg-lite's pool lies outside the agreed one)", async () => {
      const layout = staticLinkLayout({ base: 0, numBuffers: 16, align: 0x1000 }); // vring 1 at 0x2000, pool 0x4000
      const e = await runError(liteMasterVsRemote({ ...run("imx16notify", { layout, count: 1 }), timeoutMs: 5000 }));
      expect(e.code).toBe("ERR_LAYOUT");
      expect(e.message).toContain("0x10000"); // rpmsg-lite's first buffer: base + 2 × VRING_SIZE
    });
    // With 256 buffers the agreed pool [0x6000, 0x46000) contains rpmsg-lite's first rx buffer at
    // 0x10000, so only the first-buffer rule catches it: both rpmsg-lite's master and @amp's static
    // host post the pool from its first buffer.
    it("@amp remote, 256 buffers: ERR_LAYOUT at link-up (rpmsg-lite's first buffer is inside the agreed pool, not at its start)", async () => {
      const layout = staticLinkLayout({ base: 0, numBuffers: 256, align: 0x1000 });
      const e = await runError(liteMasterVsRemote({ ...run("imx256", { layout, count: 1 }), timeoutMs: 3000 }));
      expect(e.code).toBe("ERR_LAYOUT");
      expect(e.message).toContain("first buffer is at 0x10000");
    });
    it("@amp host: cannot be detected from the host side; rpmsg-lite never sees a message", async () => {
      const layout = staticLinkLayout({ base: 0, numBuffers: 16, align: 0x1000 });
      const e = await runError(hostVsLiteRemote({ ...run("imx16notify", { layout, count: 2 }), timeoutMs: 3000 }));
      // The name service works (vring 0 is at the base on both sides); the host's messages sit in
      // a vring 1 the remote does not read. The host gets no error, only no answers.
      expect(e.code).toBeUndefined();
      expect(e.peer?.result?.["echoed"]).toBe("0");
      expect(e.peer?.result?.["ns_create_rc"]).toBe("0");
    });
  });
});
