// The lean remote (@amp/rpmsg/remote) against OpenAMP 1.10's own host: the Linux-machine
// sample rpmsg-ping (openamp-system-reference), as openamp-linux.test.ts runs it against the
// full RpmsgRemote. We play OpenAMP's Linux-machine remote: the resource table at offset 0 of
// /dev/shm/openamp.shm, the doorbell socket /tmp/openamp.event.0 that ping connects to. Shares
// the fixed paths with the other sample tests, so it takes the same lock.
import { existsSync } from "node:fs";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { FileMemory, RemoteVdevTransport, UnixSocketDoorbell } from "@amp/node";
import { parseResourceTable, type VdevResource } from "@amp/resource-table";
import { LeanRemote } from "@amp/rpmsg/remote";
import { AddressSpace } from "@amp/virtio-ring";
import {
  SAMPLE_SHM,
  SAMPLE_SOCKET,
  buildOpenAmpNative,
  lockSamplePaths,
  missingOpenAmpDeps,
  openampSampleTable,
  removeSampleFiles,
  sampleRing,
  startPeer,
  type OpenAmpNative,
  type Peer,
} from "./openamp.ts";

const missing = missingOpenAmpDeps();
const SERVICE = "rpmsg-openamp-demo-channel"; // RPMSG_SERVICE_NAME of the samples (rpmsg-echo.h)

async function waitUntil(what: string, cond: () => boolean, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

describe.skipIf(missing)("OpenAMP 1.10 rpmsg-ping host <-> @amp lean remote", { concurrent: false }, () => {
  let native: OpenAmpNative;
  let lock: { release(): void } | undefined;
  const peers: Peer[] = [];
  const cleanups: (() => unknown)[] = [];

  beforeAll(async () => {
    native = await buildOpenAmpNative();
    lock = await lockSamplePaths();
    removeSampleFiles();
  }, 20 * 60_000);

  afterEach(async () => {
    for (const p of peers.splice(0)) p.kill();
    for (const c of cleanups.splice(0).reverse())
      await Promise.resolve()
        .then(c)
        .catch(() => undefined);
    removeSampleFiles();
  });

  afterAll(() => {
    for (const p of peers.splice(0)) p.kill();
    removeSampleFiles();
    lock?.release();
  });

  it("all 480 payloads (17..496 bytes) echoed by LeanRemote, the ping app's own checks pass", async () => {
    const file = FileMemory.open(SAMPLE_SHM, { size: 0x80000 });
    cleanups.push(() => {
      file.close();
    });
    const tableBytes = openampSampleTable();
    file.write(0, tableBytes);
    const vdev = parseResourceTable(tableBytes).entries[0] as VdevResource;
    const bellP = UnixSocketDoorbell.listen(SAMPLE_SOCKET, { timeoutMs: 60_000 });
    await waitUntil("our doorbell socket", () => existsSync(SAMPLE_SOCKET));
    const ping = startPeer(native.ping, ["1"], { timeoutMs: 150_000 }); // proc index 1: the socket client
    peers.push(ping);
    const bell = await bellP;
    cleanups.push(() => {
      bell.close();
    });

    const remote = new LeanRemote({
      transport: RemoteVdevTransport.forEntry(file, 0, vdev),
      space: new AddressSpace().map(0, file, { name: "openamp.shm" }),
      doorbell: bell,
      setDeviceFeatures: false, // dfeatures are in the table already
    });
    let rx = 0;
    let rxBytes = 0;
    let tx = 0;
    let notEchoed = 0;
    const links = new Set<string>();
    const ep = remote.createEndpoint({
      name: SERVICE, // announced at link up: OpenAMP's host binds its endpoint of that name to us
      onMessage: (m, e) => {
        links.add(`${m.src}->${m.dst}, bound to ${e.dst}`);
        rx++;
        rxBytes += m.data.length;
        if (e.trySendTo(m.src, m.data)) tx++;
        else notEchoed++;
      },
    });
    const linkLog: string[] = [];
    remote.onLinkChange((up, why) => {
      linkLog.push(up ? "up" : `down ${why?.code ?? ""}`);
    });
    // The application's main loop: drain the doorbell, process, sleep a little.
    let running = true;
    let loopError: unknown;
    const loop = (async () => {
      while (running) {
        try {
          bell.poll(() => undefined);
          remote.process();
        } catch (e) {
          loopError = e;
          return;
        }
        await new Promise((r) => setTimeout(r, 1));
      }
    })();
    cleanups.push(async () => {
      running = false;
      await loop;
    });
    const exit = await ping.exited;
    running = false;
    await loop;

    const out = ping.stdout();
    const received = [...out.matchAll(/received payload number (\d+) of size (\d+)/g)].map((m) => [
      Number(m[1]),
      Number(m[2]),
    ]);
    console.log(
      `OpenAMP rpmsg-ping -> @amp lean remote: ping exit ${JSON.stringify(exit)}, received ${rx} (${rxBytes} bytes), echoed ${tx}, not echoed ${notEchoed}; ping verified ${received.length} echoes; stats ${JSON.stringify(remote.stats)}`,
    );
    expect(loopError).toBeUndefined();
    expect(ping.timedOut()).toBe(false);
    expect(exit, ping.output()).toEqual({ code: 0, signal: null });
    expect(out).not.toContain("ERROR");
    expect(out).toContain("Test Results: Error count = 0");
    expect(out).toContain("Quitting application .. Echo test end");
    // Payload i carries 16 bytes of header (num, size) and i + 1 bytes of 0xA5: 17..496 bytes.
    expect(received).toEqual(Array.from({ length: 480 }, (_, i) => [i, 17 + i]));
    expect(rx).toBe(480);
    expect(tx).toBe(480);
    expect(notEchoed).toBe(0);
    expect(rxBytes).toBe(Array.from({ length: 480 }, (_, i) => 17 + i).reduce((a, b) => a + b, 0));
    // OpenAMP's host announces its endpoint of the same name (binding ours to it) and withdraws
    // it at the end (our endpoint is unbound again).
    expect([...links]).toEqual([`1024->1024, bound to 1024`]);
    expect(ep.dst).toBe(0xffffffff);
    expect(linkLog[0]).toBe("up");
    expect(remote.stats).toMatchObject({
      rxMessages: 482,
      txMessages: 481,
      protocolErrors: 0,
      callbackErrors: 0,
      linkUps: 1,
    });
    expect(Object.values(remote.stats.dropped).every((v) => v === 0)).toBe(true);
    // On the wire: OpenAMP's host posts whole 512-byte buffers on both rings; the lean remote
    // writes the descriptor length back as vring 1's used.len (OpenAMP takes it as the
    // recycled buffer's capacity) and 16 + payload on vring 0.
    const vring0 = sampleRing(file, 0x4000);
    const vring1 = sampleRing(file, 0x8000);
    const lastRx = vring0.used(vring0.usedIdx - 1);
    const lastTx = vring1.used(vring1.usedIdx - 1);
    expect(vring0.descLen(lastRx.id)).toBe(512);
    expect(lastRx.len).toBe(16 + 496);
    expect(vring1.descLen(lastTx.id)).toBe(512);
    expect(lastTx.len).toBe(512);
  });
});
