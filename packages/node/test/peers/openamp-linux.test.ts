// @amp against OpenAMP 1.10's own code, both roles, on OpenAMP's Linux-machine platform
// (openamp-system-reference, examples/legacy_apps, machine "generic"): the remote is a Linux
// process, memory is /dev/shm/openamp.shm, the doorbell the UNIX socket /tmp/openamp.event.0.
// The sample apps are built from the pinned sources by scripts/peers/build-openamp.sh, with our
// polling platform_poll (tools/peers/openamp/linux-sample-poll.c). The samples hard-code those
// two paths, so the tests run one after the other, under a lock other test processes respect.
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { bundleToString, toHex } from "@amp/test-utils";
import {
  FileMemory,
  OPENAMP_LINUX_MACHINE,
  RemoteVdevTransport,
  createSharedFileRemoteproc,
  type SharedFileCrashReport,
} from "@amp/node";
import { parseResourceTable, resourceTableSize, validateResourceTable, type VdevResource } from "@amp/resource-table";
import { RpmsgRemote, type NsEvent, type RpmsgHost, type RpmsgStats } from "@amp/rpmsg";
import { AddressSpace } from "@amp/virtio-ring";
import {
  SAMPLE_SHM,
  SAMPLE_SOCKET,
  openampSampleTable,
  sampleRing as ring,
  missingOpenAmpDeps,
  removeSampleFiles,
  startPeer,
  type Peer,
} from "./openamp.ts";
import {
  SAMPLE_SERVICE as SERVICE,
  echoToSender,
  expectOpenAmpHostRings,
  expectPingEchoedAll,
  startPingHost,
  useOpenAmpSamples,
  waitUntil,
} from "./support/openamp-samples.ts";

const missing = missingOpenAmpDeps();
const PKG_DIR = fileURLToPath(new URL("../..", import.meta.url));
const SHUTDOWN_MSG = 0xef56a55a; // rpmsg-echo.c: a message starting with this u32 ends the app
const MAX_PAYLOAD = 496;

/** Message `seq` of the echo run: sizes 1..496 cycling; byte 0 never starts SHUTDOWN_MSG (0x5a). */
function payload(seq: number): Uint8Array {
  const size = (seq % MAX_PAYLOAD) + 1;
  const p = new Uint8Array(size);
  for (let i = 0; i < size; i++) p[i] = (seq * 31 + i * 7 + 1) & 0xff;
  p[0] = 1 + (seq % 64);
  return p;
}

function noDrops(stats: RpmsgStats): void {
  expect(stats.dropped).toEqual(Object.fromEntries(Object.keys(stats.dropped).map((k) => [k, 0])));
  expect(stats.protocolErrors).toBe(0);
  expect(stats.callbackErrors).toBe(0);
}

// Never concurrent: the samples share two fixed paths.
describe.skipIf(missing)("OpenAMP 1.10 Linux-machine sample apps <-> @amp", { concurrent: false }, () => {
  const suite = useOpenAmpSamples({ logBuild: true });
  const { peers, cleanups } = suite;

  /** Starts rpmsg-echo (socket server, writes the table) and waits until it listens. */
  async function startEcho(): Promise<Peer> {
    removeSampleFiles();
    const echo = startPeer(suite.native.echo, [], { timeoutMs: 150_000 });
    peers.push(echo);
    await waitUntil(
      "rpmsg-echo to listen on its doorbell",
      () => existsSync(SAMPLE_SOCKET) || echo.child.exitCode !== null,
    );
    expect(echo.child.exitCode, echo.output()).toBeNull();
    return echo;
  }

  it("@amp host <-> OpenAMP rpmsg-echo remote: attach, DRIVER_OK, name service, 1488 messages of 1..496 bytes echoed byte-identical", async () => {
    const echo = await startEcho();

    // The table the remote wrote, read the way attach reads it: size from the table itself.
    const file = FileMemory.open(SAMPLE_SHM, { create: false });
    cleanups.push(() => {
      file.close();
    });
    const head = file.read(0, 0x1000);
    const size = resourceTableSize(head);
    const written = head.subarray(0, size);
    expect(validateResourceTable(written)).toEqual([]);
    expect(toHex(written)).toBe(toHex(openampSampleTable()));

    const remote = createSharedFileRemoteproc({
      ...OPENAMP_LINUX_MACHINE,
      doorbell: { kind: "unix-socket", path: SAMPLE_SOCKET, role: "client", timeoutMs: 30_000 },
    });
    cleanups.push(() => remote.close());
    const crashes: SharedFileCrashReport[] = [];
    remote.onCrash((c) => crashes.push(c));
    const ns: NsEvent[] = [];
    const hostP = new Promise<RpmsgHost>((resolve) =>
      remote.onRpmsg((h) => {
        h.onNameService((e) => ns.push(e));
        resolve(h);
      }),
    );
    await remote.rproc.boot();
    expect(remote.rproc.state).toBe("attached");
    const host = await hostP;
    expect(remote.rproc.resourceTableLocation).toEqual({ da: 0, size });
    const vdev = remote.rproc.vdevs[0]!;
    expect(vdev.vrings.map((v) => [v.da, v.num, v.align])).toEqual([
      [0x4000, 256, 0x1000],
      [0x8000, 256, 0x1000],
    ]);
    // DRIVER_OK (0x07 = ACKNOWLEDGE | DRIVER | DRIVER_OK, legacy: no FEATURES_OK) and the name
    // service accepted, in the table the remote polls.
    const live = parseResourceTable(file.read(0, size)).entries[0] as VdevResource;
    expect(live.status).toBe(0x07);
    expect(live.gfeatures & 1).toBe(1);
    expect(host.geometry).toMatchObject({
      bufferSize: 512,
      numRxBuffers: 256,
      numTxBuffers: 256,
      rxAddr: 0x10000,
      txAddr: 0x10000 + 256 * 512,
    });

    const svc = await host.waitForService(SERVICE, { timeoutMs: 20_000 });
    expect(ns).toEqual([{ type: "create", name: SERVICE, addr: svc.addr }]);
    expect(svc.addr).toBe(0x400); // OpenAMP's first dynamic address

    // Many messages, several in flight; OpenAMP echoes in order.
    const N = 3 * MAX_PAYLOAD;
    const WINDOW = 16;
    let echoed = 0;
    let echoedBytes = 0;
    let mismatches = 0;
    let sent = 0;
    let sentBytes = 0;
    let maxInFlight = 0;
    let wake: (() => void) | undefined;
    const ep = host.createEndpoint({
      dst: svc.addr,
      onMessage: (m) => {
        const want = payload(echoed);
        if (m.src !== svc.addr || toHex(m.data) !== toHex(want)) mismatches++;
        echoed++;
        echoedBytes += m.data.length;
        wake?.();
      },
    });
    for (let seq = 0; seq < N; seq++) {
      while (sent - echoed >= WINDOW)
        await new Promise<void>((r) => {
          wake = r;
        });
      const p = payload(seq);
      await ep.send(p, { timeoutMs: 20_000 });
      sent++;
      sentBytes += p.length;
      maxInFlight = Math.max(maxInFlight, sent - echoed);
    }
    await waitUntil(`${N} echoes (have ${echoed})`, () => echoed === N || mismatches > 0 || crashes.length > 0);
    console.log(
      `@amp host -> OpenAMP rpmsg-echo: ${sent} messages (${sentBytes} bytes) sent, ${echoed} (${echoedBytes} bytes) echoed back, ${mismatches} mismatches, up to ${maxInFlight} in flight; host stats ${JSON.stringify(host.stats)}`,
    );
    expect(crashes).toEqual([]);
    expect(mismatches).toBe(0);
    expect(echoed).toBe(N);
    expect(echoedBytes).toBe(sentBytes);
    expect(maxInFlight).toBeGreaterThanOrEqual(4);
    noDrops(host.stats);
    expect(host.stats.txMessages).toBe(N);
    expect(host.stats.rxMessages).toBe(N + 1); // the echoes and the NS announcement

    // On the wire. vring 0 (OpenAMP's tx): it reports the whole 512-byte buffer as used.len.
    // vring 1 (our tx, 16 + payload per descriptor): OpenAMP writes the descriptor length back
    // as used.len where the spec says 0; the host accepts it (counted) without trusting it.
    const rx = ring(file, 0x4000);
    const tx = ring(file, 0x8000);
    const lastRx = rx.used(rx.usedIdx - 1);
    const lastTx = tx.used(tx.usedIdx - 1);
    console.log(
      `wire: vring0 used.idx ${rx.usedIdx}, last used.len ${lastRx.len}; vring1 used.idx ${tx.usedIdx}, last used {id ${lastTx.id}, len ${lastTx.len}} for a descriptor of len ${tx.descLen(lastTx.id)}`,
    );
    expect(lastRx.len).toBe(512);
    // The last 8 messages' buffers were not posted again: their used entries are theirs.
    for (let k = 1; k <= 8; k++) {
      const u = tx.used(tx.usedIdx - k);
      expect([u.len, tx.descLen(u.id)]).toEqual([16 + payload(N - k).length, 16 + payload(N - k).length]);
    }
    expect(host.stats.usedLenIgnored).toBe(N - 256); // every recycled tx buffer (the first 256 are fresh)

    // The sample's own way to end: SHUTDOWN_MSG; it destroys its endpoint (NS destroy) and exits 0.
    const shutdown = new Uint8Array(4);
    new DataView(shutdown.buffer).setUint32(0, SHUTDOWN_MSG, true);
    await ep.send(shutdown, { timeoutMs: 20_000 });
    const exit = await echo.exited;
    expect(echo.timedOut()).toBe(false);
    expect(exit, echo.output()).toEqual({ code: 0, signal: null });
    expect(echo.output()).toContain("shutdown message is received");
    await waitUntil("the NS destroy", () => ns.length === 2);
    expect(ns[1]).toEqual({ type: "destroy", name: SERVICE, addr: svc.addr });
    // Its process ending closes the doorbell: a crash for remoteproc (recovery is off by default).
    await waitUntil("the crash report", () => crashes.length === 1);
    expect(crashes[0]!.message).toContain("closed its doorbell");
    noDrops(host.stats);
  });

  it("OpenAMP rpmsg-ping host <-> @amp remote: all 480 payloads (17..496 bytes) echoed, the ping app's own checks pass", async () => {
    const run = await startPingHost(suite);
    const { file, vdev, ping, bell } = run;
    const remote = new RpmsgRemote({
      transport: RemoteVdevTransport.forEntry(file, 0, vdev),
      space: new AddressSpace().map(0, file, { name: "openamp.shm" }),
      doorbell: bell,
      setDeviceFeatures: false, // dfeatures are in the table already
      scheduler: {
        setTimeout: (cb, ms) => setTimeout(cb, ms),
        clearTimeout: (h) => {
          clearTimeout(h as ReturnType<typeof setTimeout>);
        },
      },
    });
    const hostNs: NsEvent[] = [];
    remote.onNameService((e) => hostNs.push(e));
    const echoed = echoToSender();
    // Announced at link up: OpenAMP's host binds its endpoint of that name to us.
    remote.createEndpoint({ name: SERVICE, onMessage: echoed.onMessage });
    const stop = new AbortController();
    const serving = remote.serve(bell, { pollMs: 1, signal: stop.signal }).catch((e: unknown) => e);
    const exit = await ping.exited;
    stop.abort();
    const served = await serving;

    expectPingEchoedAll("@amp remote", run, exit, echoed.counts, remote.stats);
    // OpenAMP's host's NS CREATE bound our endpoint (so no event); it withdraws its endpoint at
    // the end (the DESTROY event).
    expect(hostNs).toEqual([{ type: "destroy", name: SERVICE, addr: 1024 }]);
    noDrops(remote.stats);
    expectOpenAmpHostRings(file);
    // serve ends with the abort, or with the doorbell closing when the ping app exited first.
    if (served !== undefined)
      expect(served instanceof Error ? served.message : "not an Error").toMatch(/doorbell|abort/i);
  });

  it("the README's attach example runs against rpmsg-echo and prints what it says", async () => {
    const echo = await startEcho();
    const md = readFileSync(join(PKG_DIR, "README.md"), "utf8");
    const start = md.search(/^## Attaching to a process-based remote/m);
    expect(start).toBeGreaterThanOrEqual(0);
    const code = /```ts\n([\s\S]*?)```/.exec(md.slice(start))?.[1];
    expect(code).toBeDefined();
    const expected = [...code!.matchAll(/\/\/ → (.*)$/gm)].map((m) => (m[1] ?? "").trim());
    const entry = join(PKG_DIR, "test", ".readme-attach.tmp.ts");
    writeFileSync(entry, code!);
    cleanups.push(() => {
      rmSync(entry, { force: true });
    });
    const bundled = join(PKG_DIR, "test", ".readme-attach.tmp.mjs");
    writeFileSync(bundled, await bundleToString(entry, { platform: "node" }));
    cleanups.push(() => {
      rmSync(bundled, { force: true });
    });
    const printed: string[] = [];
    const orig = console.log;
    console.log = (...args: unknown[]) => {
      printed.push(args.map(String).join(" "));
    };
    try {
      await import(`${bundled}?t=${Date.now()}`);
    } finally {
      console.log = orig;
    }
    expect(expected.length).toBeGreaterThanOrEqual(3);
    expect(printed).toEqual(expected);
    expect(echo.child.exitCode).toBeNull(); // detached: the remote still runs
  });
});
