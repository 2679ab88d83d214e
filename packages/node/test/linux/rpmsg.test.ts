// Linux 6.1's rpmsg stack (virtio_rpmsg_bus, rpmsg_ns, rpmsg_char, rpmsg_ctrl, rpmsg_tty) as the
// host of an @amp RpmsgRemote served over vhost-user. The kernel carries our work-queue patch
// (tools/peers/uml/virtio-uml-rpmsg-workqueue.patch), so name-service announcements are safe.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RpmsgEndpoint, RpmsgMessage } from "@amp/rpmsg";
import { serveVhostUserRpmsg, type VhostUserRpmsgService } from "../../src/index.js";
import { bootGuest, missingUmlDeps, socketIn, tail, umlImages, type UmlImages } from "./uml.js";

const skip = missingUmlDeps();
const CTRL_ADDR = 0x30; // the @amp endpoint Linux talks to through /dev/rpmsg_ctrl0 (no announcement)
const N = 1000; // messages per check, sizes 1..496 cycling

/** The guest tools' payload pattern (rpmsg-ept.c `pattern`). */
function pattern(n: number, seq: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, j) => (seq * 7 + j * 13 + 1) & 0xff);
}

/** An echo endpoint's tally: messages, bytes, and whether each matched the guest's pattern. */
interface Tally {
  count: number;
  bytes: number;
  mismatches: number;
}

const GUEST = String.raw`
pass() { echo "AMP-PASS $1"; }
failc() { echo "AMP-FAIL $1: $2"; }
rc=0
waitdev() { i=0; while [ $i -lt 100 ]; do [ -e "$1" ] && return 0; sleep 0.1; i=$((i+1)); done; return 1; }
waitgone() { i=0; while [ $i -lt 100 ]; do [ -e "$1" ] || return 0; sleep 0.1; i=$((i+1)); done; return 1; }
findch() { i=0; while [ $i -lt 100 ]; do rpmsg-ept find "$1" 2>/dev/null && return 0; sleep 0.1; i=$((i+1)); done; return 1; }

# 1. an endpoint created from userspace through /dev/rpmsg_ctrl0, to a fixed @amp address (no NS)
if waitdev /dev/rpmsg_ctrl0 && dev=$(rpmsg-ept create /dev/rpmsg_ctrl0 amp-ctrl ${CTRL_ADDR}); then
  echo "ctrl endpoint: $dev"
  if rpmsg-ept echo $dev ${N} 496; then pass rpmsg-ctrl-echo; else failc rpmsg-ctrl-echo "echo failed"; rc=1; fi
  if rpmsg-ept destroy $dev && waitgone $dev; then pass rpmsg-ctrl-destroy; else failc rpmsg-ctrl-destroy "$dev still there"; rc=1; fi
else
  failc rpmsg-ctrl-echo "no /dev/rpmsg_ctrl0 endpoint"; rc=1
fi

# 2. a channel announced by @amp (NS) and bound by rpmsg_char: /dev/rpmsgN
if raw=$(findch rpmsg-raw); then
  echo "rpmsg-raw channel: $raw"
  if rpmsg-ept echo $raw ${N} 496; then pass rpmsg-raw-echo; else failc rpmsg-raw-echo "echo failed"; rc=1; fi
else
  failc rpmsg-raw-echo "no /dev/rpmsgN for the announced rpmsg-raw channel"; rc=1
fi

# 3. a channel announced by @amp and bound by rpmsg_tty: /dev/ttyRPMSG0, a byte stream
if waitdev /dev/ttyRPMSG0; then
  if rpmsg-ept tty /dev/ttyRPMSG0 300 496; then pass rpmsg-tty-echo; else failc rpmsg-tty-echo "echo failed"; rc=1; fi
else
  failc rpmsg-tty-echo "no /dev/ttyRPMSG0"; rc=1
fi

# 4. NS destroy removes the channel's device; a new announcement brings a new one
if [ -n "$raw" ]; then
  echo "@@amp destroy rpmsg-raw"
  if waitgone $raw; then pass rpmsg-ns-destroy; else failc rpmsg-ns-destroy "$raw still there after NS destroy"; rc=1; fi
  echo "@@amp announce rpmsg-raw"
  if raw2=$(findch rpmsg-raw) && rpmsg-ept echo $raw2 100 496; then pass rpmsg-ns-reannounce; else failc rpmsg-ns-reannounce "no working channel after the new announcement"; rc=1; fi
fi
exit $rc
`;

describe.skipIf(skip !== undefined)("Linux 6.1 (UML) drives the @amp rpmsg remote over vhost-user", () => {
  let images: UmlImages;
  let dir = "";
  let svc: VhostUserRpmsgService | undefined;

  beforeAll(async () => {
    images = await umlImages();
    dir = mkdtempSync(join(tmpdir(), "amp-vu-rpmsg-"));
  }, 90 * 60_000);

  afterAll(async () => {
    await svc?.close();
    if (dir !== "") rmSync(dir, { recursive: true, force: true });
  });

  it("rpmsg bus online; /dev/rpmsg_ctrl0, /dev/rpmsgN and /dev/ttyRPMSG0 echo 496-byte messages; NS destroy and re-announce", async () => {
    const errors: unknown[] = [];
    const socket = socketIn(dir, "rpmsg");
    svc = await serveVhostUserRpmsg({
      socketPath: socket,
      scheduler: {
        setTimeout,
        clearTimeout: (h) => {
          clearTimeout(h as NodeJS.Timeout);
        },
      },
      onError: (e) => errors.push(e),
    });
    const remote = svc.remote;
    const tallies = new Map<string, Tally>();
    let raw: RpmsgEndpoint | undefined;
    const echo =
      (name: string, checkPattern: boolean) =>
      (m: RpmsgMessage, ep: RpmsgEndpoint): void => {
        const t = tallies.get(name) ?? { count: 0, bytes: 0, mismatches: 0 };
        if (checkPattern) {
          const want = pattern(1 + (t.count % 496), t.count);
          if (m.data.length !== want.length || m.data.some((b, i) => b !== want[i])) t.mismatches++;
        }
        t.count++;
        t.bytes += m.data.length;
        tallies.set(name, t);
        ep.sendTo(m.src, m.data.slice()).catch((e: unknown) => errors.push(e));
      };
    const create = (): void => {
      remote.createEndpoint({ addr: CTRL_ADDR, onMessage: echo("ctrl", true) });
      raw = remote.createEndpoint({ name: "rpmsg-raw", onMessage: echo("raw", false) });
      remote.createEndpoint({ name: "rpmsg-tty", onMessage: echo("tty", false) });
    };
    create();
    const links: boolean[] = [];
    remote.onLinkChange((up) => {
      links.push(up);
      if (!up) create(); // the next driver instance finds the same services
    });

    const guest = bootGuest({
      images,
      devices: [{ socket, id: 7 }],
      script: GUEST.replaceAll("${CTRL_ADDR}", String(CTRL_ADDR)).replaceAll("${N}", String(N)),
      timeoutMs: 150_000,
      onRequest: (req, args) => {
        if (req === "destroy" && args[0] === "rpmsg-raw") raw?.destroy();
        if (req === "announce" && args[0] === "rpmsg-raw")
          raw = remote.createEndpoint({ name: "rpmsg-raw", onMessage: echo("raw2", false) });
      },
    });
    const r = await guest.done;
    const why = tail(r);
    expect(r.timedOut, why).toBe(false);
    expect(r.trouble, why).toEqual([]);
    expect(
      r.lines.some((l) => l.includes("rpmsg host is online")),
      why,
    ).toBe(true);
    expect(r.failed, why).toEqual([]);
    expect(r.passed, why).toEqual([
      "rpmsg-ctrl-echo",
      "rpmsg-ctrl-destroy",
      "rpmsg-raw-echo",
      "rpmsg-tty-echo",
      "rpmsg-ns-destroy",
      "rpmsg-ns-reannounce",
    ]);
    expect(r.rc, why).toBe(0);
    expect(r.requestErrors).toEqual([]);
    expect(errors).toEqual([]);
    // What @amp received, counted on its side: every message, byte for byte the guest's pattern.
    const bytes = Array.from({ length: N }, (_, i) => 1 + (i % 496)).reduce((a, b) => a + b, 0);
    expect(tallies.get("ctrl")).toEqual({ count: N, bytes, mismatches: 0 });
    expect(tallies.get("raw")).toMatchObject({ count: N, bytes });
    expect(tallies.get("raw2")).toMatchObject({ count: 100 });
    expect(tallies.get("tty")?.bytes).toBe(
      Array.from({ length: 300 }, (_, i) => 1 + (i % 496)).reduce((a, b) => a + b, 0),
    );
    // Linux powered off: its rings were disabled, which @amp took as a reset (link down).
    expect(links).toEqual([true, false]);
    expect(svc.backend.stats.resets).toBe(1);
    const rung: number[] = [];
    svc.backend.kicks.poll((q) => rung.push(q)); // the same kicks, as a DoorbellReceiver
    expect(rung).toEqual([0, 1]);
    console.log(
      `linux rpmsg: boot to /init ${r.bootMs ?? "?"} ms, run ${r.totalMs} ms, kernel script ${images.kernelSeconds.toFixed(1)} s; stats ${JSON.stringify(remote.stats)}`,
    );
  }, 180_000);
  it("a second Linux boot against the same backend finds a fresh device (reconnection)", async () => {
    const first = svc;
    expect(first).toBeDefined();
    if (first === undefined) return;
    const socket = first.backend.socketPath;
    const guest = bootGuest({
      images,
      devices: [{ socket, id: 7 }],
      timeoutMs: 60_000,
      script: String.raw`
dev=$(rpmsg-ept create /dev/rpmsg_ctrl0 amp-ctrl ${CTRL_ADDR}) && rpmsg-ept echo $dev 200 496 && echo "AMP-PASS rpmsg-ctrl-echo-again"
i=0; while [ $i -lt 100 ]; do raw=$(rpmsg-ept find rpmsg-raw 2>/dev/null) && break; sleep 0.1; i=$((i+1)); done
rpmsg-ept echo "$raw" 200 496 && echo "AMP-PASS rpmsg-raw-echo-again"
`,
    });
    const r = await guest.done;
    const why = tail(r);
    expect(r.trouble, why).toEqual([]);
    expect(r.passed, why).toEqual(["rpmsg-ctrl-echo-again", "rpmsg-raw-echo-again"]);
    expect(first.backend.stats.connections).toBe(2);
    expect(first.remote.stats.linkUps).toBe(2);
  }, 120_000);

  it("the @amp side restarting is seen by Linux: its rpmsg devices go away; the restarted backend serves the next boot", async () => {
    const socket = socketIn(dir, "restart");
    const echoService = async (): Promise<VhostUserRpmsgService> => {
      const s = await serveVhostUserRpmsg({ socketPath: socket });
      const create = (): void => {
        s.remote.createEndpoint({
          name: "rpmsg-raw",
          onMessage: (m, ep) => {
            void ep.sendTo(m.src, m.data.slice());
          },
        });
        s.remote.createEndpoint({
          addr: CTRL_ADDR,
          onMessage: (m, ep) => {
            void ep.sendTo(m.src, m.data.slice());
          },
        });
      };
      create();
      s.remote.onLinkChange((up) => {
        if (!up) create();
      });
      return s;
    };
    let current = await echoService();
    try {
      const guest = bootGuest({
        images,
        devices: [{ socket, id: 7 }],
        timeoutMs: 60_000,
        // 6.1's virtio_uml still talks to the dead socket while it removes the device and warns
        // for it (WARN_ON in vu_del_vqs): expected here, and only here.
        allowWarning: /WARNING: CPU: \d+ PID: \d+ at arch\/um\/drivers\/virtio_uml\.c:(925|928) /,
        script: String.raw`
i=0; while [ $i -lt 100 ]; do raw=$(rpmsg-ept find rpmsg-raw 2>/dev/null) && break; sleep 0.1; i=$((i+1)); done
rpmsg-ept echo "$raw" 50 496 && echo "AMP-PASS rpmsg-before-restart"
echo "@@amp restart"
i=0; while [ $i -lt 100 ]; do [ -e /dev/rpmsg_ctrl0 ] || [ -e "$raw" ] || break; sleep 0.1; i=$((i+1)); done
if [ ! -e /dev/rpmsg_ctrl0 ] && [ ! -e "$raw" ] && [ -z "$(ls /sys/bus/virtio/devices/)" ]; then echo "AMP-PASS rpmsg-device-gone"; else echo "AMP-FAIL rpmsg-device-gone: still $(ls /dev/rpmsg*)"; fi
`,
        onRequest: async (req) => {
          if (req !== "restart") return;
          await current.close(); // the @amp process going away: its socket hangs up
          current = await echoService();
        },
      });
      const r = await guest.done;
      const why = tail(r);
      expect(r.trouble, why).toEqual([]);
      expect(r.failed, why).toEqual([]);
      expect(r.passed, why).toEqual(["rpmsg-before-restart", "rpmsg-device-gone"]);
      expect(r.requestErrors).toEqual([]);
      // The restarted backend on the same path serves the next Linux boot from scratch.
      const again = bootGuest({
        images,
        devices: [{ socket, id: 7 }],
        timeoutMs: 60_000,
        script: String.raw`
dev=$(rpmsg-ept create /dev/rpmsg_ctrl0 amp-ctrl ${CTRL_ADDR}) && rpmsg-ept echo $dev 100 496 && echo "AMP-PASS rpmsg-after-restart"
`,
      });
      const r2 = await again.done;
      expect(r2.trouble, tail(r2)).toEqual([]);
      expect(r2.passed, tail(r2)).toEqual(["rpmsg-after-restart"]);
    } finally {
      await current.close();
    }
  }, 180_000);

  it("without the name service (no kernel change needed): /dev/rpmsg_ctrl0 endpoints only, no channels", async () => {
    const socket = socketIn(dir, "nons");
    const s = await serveVhostUserRpmsg({ socketPath: socket, nameService: false });
    let count = 0;
    s.remote.createEndpoint({
      addr: CTRL_ADDR,
      onMessage: (m, ep) => {
        count++;
        void ep.sendTo(m.src, m.data.slice());
      },
    });
    // A named endpoint: with NS off it is never announced, so Linux creates no channel for it.
    s.remote.createEndpoint({ name: "rpmsg-raw", onMessage: () => undefined });
    try {
      const guest = bootGuest({
        images,
        devices: [{ socket, id: 7 }],
        timeoutMs: 60_000,
        script: String.raw`
dev=$(rpmsg-ept create /dev/rpmsg_ctrl0 amp-ctrl ${CTRL_ADDR}) && rpmsg-ept echo $dev ${N} 496 && echo "AMP-PASS rpmsg-ctrl-echo-no-ns"
sleep 0.3
if rpmsg-ept find rpmsg-raw >/dev/null 2>&1; then echo "AMP-FAIL rpmsg-no-channels: a channel appeared"; else echo "AMP-PASS rpmsg-no-channels"; fi
`.replaceAll("${N}", String(N)),
      });
      const r = await guest.done;
      const why = tail(r);
      expect(r.trouble, why).toEqual([]);
      expect(r.passed, why).toEqual(["rpmsg-ctrl-echo-no-ns", "rpmsg-no-channels"]);
      expect(
        r.lines.some((l) => l.includes("creating channel")),
        why,
      ).toBe(false);
      expect(count).toBe(N);
      expect(s.remote.nameService).toBe(false);
    } finally {
      await s.close();
    }
  }, 120_000);
});
