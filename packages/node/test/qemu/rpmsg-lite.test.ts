// Real rpmsg-lite on a real CPU: NXP rpmsg-lite 5.4 (pinned source, scripts/peers/SOURCES)
// cross-built with arm-none-eabi-gcc as bare-metal Cortex-M4 firmware (its bare-metal
// environment, our platform layer tools/peers/rpmsg-lite-cm4, our echo app firmware/rpmsg-lite),
// running on QEMU mps2-an386 as the remote of an rpmsg-only link. The host is @amp's static host
// (createQemuStaticLink + rpmsgLiteLayout) over the RAM file, rung through the QEMU doorbell.
// One QEMU per layout: the MCU layout (VRING_ALIGN 0x10, computed VRING_SIZE), the i.MX layout
// (0x1000 / 0x8000, 256 buffers, consumed-buffer notifications, link id 1), and rpmsg-lite's
// static API with its zero-copy send on the default 2 buffers and link id 3.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { requireTools } from "@amp/test-utils";
import { AMPQ_CTRL_DA, AmpqCtrl, AmpqState, MPS2_RAM_BASE, createQemuStaticLink, type QemuStaticLink } from "@amp/node";
import {
  rpmsgLiteLayout,
  type RpmsgEndpoint,
  type RpmsgHost,
  type RpmsgLiteConfig,
  type StaticLinkLayout,
} from "@amp/rpmsg";
import { splitRingLayout } from "@amp/virtio-ring";
import { PKG_DIR, waitFor } from "./helpers.ts";

const missing = requireTools(
  "qemu-system-arm",
  "arm-none-eabi-gcc",
  "arm-none-eabi-objcopy",
  "arm-none-eabi-size",
  "flock",
  "gzip",
);
const BUILD = join(PKG_DIR, "..", "..", "scripts", "peers", "build-rpmsg-lite-cm4.sh");
const ECHO_NAME = "rpmsg-lite-echo";
const ECHO_ADDR = 30;
const MAX_PAYLOAD = 496;
const ECHOES = 1000;

interface Variant {
  readonly name: string;
  /** Settings of the firmware build (scripts/peers/build-rpmsg-lite-cm4.sh NAME=VALUE). */
  readonly build: Readonly<Record<string, number>>;
  /** The same numbers for the host, under rpmsg-lite's names. */
  readonly config: RpmsgLiteConfig;
  /** Host polling for returned tx buffers (0: the firmware notifies them). */
  readonly pollMs: number;
}

const VARIANTS: readonly Variant[] = [
  {
    name: "MCU layout: VRING_ALIGN 0x10, computed VRING_SIZE, 16 buffers, link 0, rpmsg_lite_send",
    build: { VRING_ALIGN: 0x10, RL_BUFFER_COUNT: 16, AMPRL_SHMEM_DA: 0x2110_0000, AMPRL_LINK_ID: 0 },
    config: { base: 0x2110_0000, VRING_ALIGN: 0x10, RL_BUFFER_COUNT: 16, linkId: 0 },
    pollMs: 1,
  },
  {
    name: "i.MX layout: VRING_ALIGN 0x1000, VRING_SIZE 0x8000, 256 buffers, link 1, consumed-buffer notifications",
    build: {
      VRING_ALIGN: 0x1000,
      VRING_SIZE: 0x8000,
      RL_BUFFER_COUNT: 256,
      AMPRL_SHMEM_DA: 0x2120_0000,
      AMPRL_LINK_ID: 1,
      RL_ALLOW_CONSUMED_BUFFERS_NOTIFICATION: 1,
    },
    config: { base: 0x2120_0000, VRING_ALIGN: 0x1000, VRING_SIZE: 0x8000, RL_BUFFER_COUNT: 256, linkId: 1 },
    pollMs: 0,
  },
  {
    name: "static API + zero-copy send: VRING_ALIGN 0x10, rpmsg-lite's default 2 buffers, link 3",
    build: {
      VRING_ALIGN: 0x10,
      RL_BUFFER_COUNT: 2,
      AMPRL_SHMEM_DA: 0x2140_0000,
      AMPRL_LINK_ID: 3,
      RL_USE_STATIC_API: 1,
      AMPRL_ZERO_COPY_TX: 1,
    },
    config: { base: 0x2140_0000, VRING_ALIGN: 0x10, RL_BUFFER_COUNT: 2, linkId: 3 },
    pollMs: 1,
  },
];

/** Builds (or finds in the cache) the firmware for a variant; a build failure fails the test. */
function buildFirmware(settings: Readonly<Record<string, number>>): { elf: string; bytes: Uint8Array; sizes: string } {
  const args = Object.entries(settings).map(([k, v]) => `${k}=0x${v.toString(16)}`);
  const elf = execFileSync("bash", [BUILD, ...args], {
    encoding: "utf8",
    timeout: 300_000,
    stdio: ["ignore", "pipe", "pipe"],
  })
    .trim()
    .split("\n")
    .pop()!;
  return {
    elf,
    bytes: new Uint8Array(readFileSync(elf)),
    sizes: readFileSync(join(dirname(elf), "sizes.txt"), "utf8"),
  };
}

function payload(i: number): Uint8Array {
  const n = (i % MAX_PAYLOAD) + 1; // 1..496, cycling
  return Uint8Array.from({ length: n }, (_, j) => (i * 7 + j * 13 + n) & 0xff);
}

function ctrl(link: QemuStaticLink, offset: number): number {
  return link.driver.memory.getU32(AMPQ_CTRL_DA - MPS2_RAM_BASE + offset);
}

/** used.idx and the `len` of every element of a vring's used ring, read from the RAM file. */
function usedRing(link: QemuStaticLink, layout: StaticLinkLayout, vring: 0 | 1): { idx: number; lens: number[] } {
  const at =
    (vring === 0 ? layout.vring0 : layout.vring1) -
    MPS2_RAM_BASE +
    splitRingLayout(layout.numBuffers, layout.align).used;
  const mem = link.driver.memory;
  return {
    idx: mem.getU16(at + 2),
    lens: Array.from({ length: layout.numBuffers }, (_, i) => mem.getU32(at + 4 + 8 * i + 4)),
  };
}

/** An endpoint bound to the echo service whose replies are kept in arrival order. */
function echoClient(host: RpmsgHost): { ep: RpmsgEndpoint; replies: Uint8Array[]; next(): Promise<Uint8Array> } {
  const replies: Uint8Array[] = [];
  let wake: (() => void) | undefined;
  const ep = host.createEndpoint({
    dst: ECHO_ADDR,
    onMessage: (m) => {
      replies.push(m.data.slice());
      wake?.();
    },
  });
  let taken = 0;
  return {
    ep,
    replies,
    async next() {
      while (replies.length <= taken) {
        await new Promise<void>((resolve, reject) => {
          const t = setTimeout(() => reject(new Error(`no echo ${taken} within 10 s`)), 10_000);
          wake = () => {
            clearTimeout(t);
            wake = undefined;
            resolve();
          };
        });
      }
      return replies[taken++]!;
    },
  };
}

describe.skipIf(missing)("rpmsg-lite 5.4 bare-metal remote on QEMU mps2-an386, @amp rpmsg-only host", () => {
  const links: QemuStaticLink[] = [];
  afterAll(async () => {
    for (const l of links) await l.close();
  });

  for (const v of VARIANTS) {
    it(v.name, async () => {
      const fw = buildFirmware(v.build);
      const layout = rpmsgLiteLayout(v.config);
      const link = createQemuStaticLink({ firmware: fw.bytes, layout, pollMs: v.pollMs });
      links.push(link);
      const hosts: RpmsgHost[] = [];
      link.onHost((h) => hosts.push(h));
      const crashes: string[] = [];
      link.onCrash((c) => crashes.push(c.message));

      const t0 = performance.now();
      await link.rproc.boot();
      const bootMs = performance.now() - t0;
      const host = await waitFor("the static host", () => hosts[0]);
      const service = await host.waitForService(ECHO_NAME, { timeoutMs: 10_000 });
      const bootToNsMs = performance.now() - t0;
      expect(service.addr).toBe(ECHO_ADDR);
      expect(link.rproc.state).toBe("running");
      expect(host.mtu).toBe(MAX_PAYLOAD);
      const console_ = await waitFor("the boot line on the console", () => {
        const t = link.driver.machine!.consoleText();
        return t.includes("\n") ? t : undefined;
      });
      expect(console_).toContain(
        `link ${v.config.linkId ?? 0}, shmem 0x${v.config.base.toString(16).padStart(8, "0")}`,
      );
      expect(console_).toContain(`VRING_SIZE 0x${layout.vringStride.toString(16).padStart(8, "0")}`);

      // 1000 round trips, one at a time, sizes 1..496 cycling: every host tx buffer is recycled many times.
      const c = echoClient(host);
      const t1 = performance.now();
      for (let i = 0; i < ECHOES; i++) {
        const p = payload(i);
        await c.ep.send(p, { timeoutMs: 10_000 });
        const r = await c.next();
        if (r.length !== p.length || Buffer.compare(r, p) !== 0) expect({ i, r: [...r] }).toEqual({ i, r: [...p] });
      }
      const echoMs = performance.now() - t1;
      // Then a burst that keeps every buffer in flight: the host runs out of tx buffers and must
      // get them back from the firmware (by polling, or by its consumed-buffer notifications).
      const burst = 4 * layout.numBuffers + 8;
      const sends: Promise<void>[] = [];
      for (let i = 0; i < burst; i++) sends.push(c.ep.send(payload(ECHOES + i), { timeoutMs: 10_000 }));
      await Promise.all(sends);
      for (let i = 0; i < burst; i++) {
        const p = payload(ECHOES + i);
        const r = await c.next();
        if (r.length !== p.length || Buffer.compare(r, p) !== 0)
          expect({ i: ECHOES + i, r: [...r] }).toEqual({ i: ECHOES + i, r: [...p] });
      }
      const total = ECHOES + burst;

      // Counts per direction: host -> firmware `total` echo requests; firmware -> host the NS
      // announcement and `total` echoes. The firmware's own counters agree; nothing dropped.
      await waitFor("firmware counters", () => ctrl(link, AmpqCtrl.TX) === total);
      expect(ctrl(link, AmpqCtrl.RX)).toBe(total);
      expect(ctrl(link, AmpqCtrl.STATE)).toBe(AmpqState.RUNNING);
      expect(c.replies).toHaveLength(total);
      const s = host.stats;
      expect(s.txMessages).toBe(total);
      expect(s.rxMessages).toBe(total + 1);
      expect(Object.values(s.dropped).every((n) => n === 0)).toBe(true);
      expect(s.protocolErrors).toBe(0);
      expect(s.callbackErrors).toBe(0);
      expect(crashes).toEqual([]);
      expect(host.isLinkUp).toBe(true);
      expect(link.driver.machine!.consoleText()).not.toMatch(/dropped|failed/);
      // rpmsg-lite's wire conventions, as seen in the rings: used.len is the descriptor's length,
      // not the bytes written or read. Vring 0: the whole host rx buffer it filled (512), whatever
      // the message size. Vring 1: the length the host gave the tx descriptor (16 + payload, the
      // message m being used element m), which the host ignores, once per recycled tx buffer.
      const n = layout.numBuffers;
      expect(usedRing(link, layout, 0)).toEqual({
        idx: (total + 1) & 0xffff,
        lens: Array<number>(n).fill(layout.bufferSize),
      });
      const first = total - n; // the last n messages, one per used-ring slot
      const lastTx = Array.from(
        { length: n },
        (_, slot) => 16 + payload(first + ((((slot - first) % n) + n) % n)).length,
      );
      expect(usedRing(link, layout, 1)).toEqual({ idx: total & 0xffff, lens: lastTx });
      expect(s.usedLenIgnored).toBe(total - n);

      const notifies = ctrl(link, AmpqCtrl.NOTIFY);
      const kicks = ctrl(link, AmpqCtrl.IRQS);
      // Stop: the link goes down, QEMU quits with status 0, the remote is offline.
      const m = link.driver.machine!;
      const fwConsole = m.consoleText();
      await link.rproc.shutdown();
      expect(link.rproc.state).toBe("offline");
      expect(host.isLinkUp).toBe(false);
      expect(link.host).toBeUndefined();
      expect((await m.exited).code).toBe(0);

      const gz = /image_gzip9_bytes (\d+)/.exec(fw.sizes)?.[1];
      const img = /image_bytes (\d+)/.exec(fw.sizes)?.[1];
      console.info(
        `[rpmsg-lite cm4] ${v.name}: image ${img} B (gzip -9 ${gz} B), boot to NS ${bootToNsMs.toFixed(0)} ms ` +
          `(rproc.boot ${bootMs.toFixed(0)} ms, firmware ${/link up after (\d+) ms/.exec(fwConsole)?.[1] ?? "?"} ms to link-up), ` +
          `${ECHOES} echoes in ${echoMs.toFixed(0)} ms, ` +
          `host->fw ${s.txMessages}, fw->host ${s.rxMessages} (1 NS + ${total} echoes), usedLenIgnored ${s.usedLenIgnored}, ` +
          `fw->host doorbells ${notifies}, host->fw doorbell interrupts ${kicks}`,
      );
    });
  }

  it("recovery: QEMU killed under the link -> crash report, a new QEMU, a new host, the announcement again, echoes", async () => {
    const v = VARIANTS[0]!;
    const link = createQemuStaticLink({ firmware: buildFirmware(v.build).bytes, layout: rpmsgLiteLayout(v.config) });
    links.push(link);
    const hosts: RpmsgHost[] = [];
    link.onHost((h) => hosts.push(h));
    const crashes: string[] = [];
    link.onCrash((c) => crashes.push(c.message));
    await link.rproc.boot();
    const first = await waitFor("the first host", () => hosts[0]);
    await first.waitForService(ECHO_NAME, { timeoutMs: 10_000 });
    const before = echoClient(first);
    await before.ep.send(payload(1), { timeoutMs: 10_000 });
    expect(await before.next()).toEqual(payload(1));

    const pid = link.driver.machine!.pid!;
    process.kill(pid, "SIGKILL"); // our own child: the driver sees QEMU end on its own
    const second = await waitFor("the host after recovery", () => hosts[1], 20_000);
    expect(crashes).toHaveLength(1);
    expect(crashes[0]).toMatch(/^QEMU exited \(signal SIGKILL\)/);
    expect(first.isLinkUp).toBe(false);
    await waitFor("running again", () => link.rproc.state === "running");
    expect(link.driver.machine!.pid).not.toBe(pid);
    expect(link.host).toBe(second);
    await second.waitForService(ECHO_NAME, { timeoutMs: 10_000 });
    const after = echoClient(second);
    for (let i = 0; i < 100; i++) {
      await after.ep.send(payload(i), { timeoutMs: 10_000 });
      expect(await after.next()).toEqual(payload(i));
    }
    expect(ctrl(link, AmpqCtrl.BOOTS)).toBeGreaterThanOrEqual(2);
    await link.rproc.shutdown();
    expect(link.rproc.state).toBe("offline");
  });

  it("refuses a layout that overlaps the image or the control block, or leaves the RAM", () => {
    const fw = buildFirmware(VARIANTS[0]!.build).bytes;
    const refusal = (config: RpmsgLiteConfig): string => {
      try {
        links.push(createQemuStaticLink({ firmware: fw, layout: rpmsgLiteLayout(config) })); // closed in afterAll if it was accepted
        return "accepted";
      } catch (e) {
        return String(e);
      }
    };
    expect(refusal({ base: MPS2_RAM_BASE, VRING_ALIGN: 0x10, RL_BUFFER_COUNT: 16 })).toMatch(
      /^RangeError: .*overlaps the image segment at 0x21000000/,
    );
    expect(refusal({ base: 0x21ff_0000, VRING_ALIGN: 0x1000, VRING_SIZE: 0x8000, RL_BUFFER_COUNT: 256 })).toMatch(
      /^RangeError: .*not inside the RAM/,
    );
    expect(refusal({ base: 0x21ff_ec00, VRING_ALIGN: 0x10, RL_BUFFER_COUNT: 2 })).toMatch(
      /^RangeError: .*overlaps the control block/,
    );
  });
});
