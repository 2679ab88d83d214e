// What the tests against OpenAMP's Linux-machine sample apps share: the suite's life (the native
// build, the lock on the samples' fixed paths, the peers and clean-ups a test leaves), the
// remote's side of a run against the rpmsg-ping host, the echoing endpoint, and the checks of
// what ping reports and what OpenAMP's host left on the rings.
import { existsSync } from "node:fs";
import { afterAll, afterEach, beforeAll, expect } from "vitest";
import { FileMemory, UnixSocketDoorbell } from "@amp/node";
import { parseResourceTable, type VdevResource } from "@amp/resource-table";
import { waitFor } from "../../helpers.ts";
import {
  SAMPLE_SHM,
  SAMPLE_SOCKET,
  buildOpenAmpNative,
  lockSamplePaths,
  openampSampleTable,
  removeSampleFiles,
  sampleRing,
  startPeer,
  type OpenAmpNative,
  type Peer,
} from "../openamp.ts";

/** RPMSG_SERVICE_NAME of the samples (rpmsg-echo.h). */
export const SAMPLE_SERVICE = "rpmsg-openamp-demo-channel";

/** Polls like waitFor, with the longer default the sample apps need. */
export function waitUntil<T>(what: string, cond: () => T | undefined | false, timeoutMs = 20_000): Promise<T> {
  return waitFor(what, cond, timeoutMs);
}

/** A describe() block's hold on the samples; the hooks end every peer and run every clean-up. */
export interface SampleSuite {
  /** The built apps (after beforeAll). */
  readonly native: OpenAmpNative;
  /** Killed after each test. */
  readonly peers: Peer[];
  /** Run after each test, last first; a failing one does not stop the others. */
  readonly cleanups: (() => unknown)[];
}

/** Registers the hooks of a sample suite; call it inside describe(). */
export function useOpenAmpSamples(options: { logBuild?: boolean } = {}): SampleSuite {
  let native: OpenAmpNative | undefined;
  let lock: { release(): void } | undefined;
  const peers: Peer[] = [];
  const cleanups: (() => unknown)[] = [];

  beforeAll(async () => {
    native = await buildOpenAmpNative();
    if (options.logBuild === true)
      console.log(`OpenAMP native build: ${native.prefix} (${native.seconds.toFixed(1)} s)`);
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

  return {
    get native(): OpenAmpNative {
      if (native === undefined) throw new Error("the OpenAMP samples are not built yet (use it inside a test)");
      return native;
    },
    peers,
    cleanups,
  };
}

/** Our remote's side of a run against rpmsg-ping, set up the way OpenAMP's Linux-machine remote does it. */
export interface PingRun {
  /** The shared file, with the samples' resource table at offset 0. */
  readonly file: FileMemory;
  /** The table's vdev entry. */
  readonly vdev: VdevResource;
  /** The rpmsg-ping host process. */
  readonly ping: Peer;
  /** The doorbell ping connected to. */
  readonly bell: UnixSocketDoorbell;
}

/**
 * Writes the table at offset 0 of the shared file, listens on the doorbell socket and starts
 * rpmsg-ping (proc index 1: the socket client), which connects to it.
 */
export async function startPingHost(suite: SampleSuite): Promise<PingRun> {
  removeSampleFiles();
  const file = FileMemory.open(SAMPLE_SHM, { size: 0x80000 });
  suite.cleanups.push(() => {
    file.close();
  });
  const tableBytes = openampSampleTable();
  file.write(0, tableBytes);
  const vdev = parseResourceTable(tableBytes).entries[0] as VdevResource;
  const bellP = UnixSocketDoorbell.listen(SAMPLE_SOCKET, { timeoutMs: 60_000 });
  await waitUntil("our doorbell socket", () => existsSync(SAMPLE_SOCKET));
  const ping = startPeer(suite.native.ping, ["1"], { timeoutMs: 150_000 });
  suite.peers.push(ping);
  const bell = await bellP;
  suite.cleanups.push(() => {
    bell.close();
  });
  return { file, vdev, ping, bell };
}

/** What an endpoint that echoes every message back to its sender counted. */
export interface EchoCounts {
  rx: number;
  rxBytes: number;
  tx: number;
  notEchoed: number;
  /** "src->dst, bound to X" for every message: which addresses the traffic used. */
  readonly links: Set<string>;
}

/** An onMessage that echoes each message to its source and counts (for either remote's endpoints). */
export function echoToSender(): {
  counts: EchoCounts;
  onMessage: (
    m: { src: number; dst: number; data: Uint8Array },
    e: { dst: number; trySendTo(dst: number, data: Uint8Array): boolean },
  ) => void;
} {
  const counts: EchoCounts = { rx: 0, rxBytes: 0, tx: 0, notEchoed: 0, links: new Set() };
  return {
    counts,
    onMessage: (m, e) => {
      counts.links.add(`${m.src}->${m.dst}, bound to ${e.dst}`);
      counts.rx++;
      counts.rxBytes += m.data.length;
      if (e.trySendTo(m.src, m.data)) counts.tx++;
      else counts.notEchoed++;
    },
  };
}

/**
 * Checks a finished rpmsg-ping run: its own checks passed, it verified all 480 echoes (payload i
 * carries 16 bytes of header (num, size) and i + 1 bytes of 0xA5: 17..496 bytes), and our
 * endpoint got and echoed each one, bound to OpenAMP's endpoint of the same name.
 */
export function expectPingEchoedAll(
  label: string,
  run: PingRun,
  exit: { code: number | null; signal: NodeJS.Signals | null },
  counts: EchoCounts,
  stats: unknown,
): void {
  const out = run.ping.stdout();
  const received = [...out.matchAll(/received payload number (\d+) of size (\d+)/g)].map((m) => [
    Number(m[1]),
    Number(m[2]),
  ]);
  console.log(
    `OpenAMP rpmsg-ping -> ${label}: ping exit ${JSON.stringify(exit)}, received ${counts.rx} (${counts.rxBytes} bytes), echoed ${counts.tx}, not echoed ${counts.notEchoed}; ping verified ${received.length} echoes; stats ${JSON.stringify(stats)}`,
  );
  expect(run.ping.timedOut()).toBe(false);
  expect(exit, run.ping.output()).toEqual({ code: 0, signal: null });
  expect(out).not.toContain("ERROR");
  expect(out).toContain("Test Results: Error count = 0");
  expect(out).toContain("Quitting application .. Echo test end");
  expect(received).toEqual(Array.from({ length: 480 }, (_, i) => [i, 17 + i]));
  expect(counts.rx).toBe(480);
  expect(counts.tx).toBe(480);
  expect(counts.notEchoed).toBe(0);
  expect(counts.rxBytes).toBe(Array.from({ length: 480 }, (_, i) => 17 + i).reduce((a, b) => a + b, 0));
  // OpenAMP's host announces its endpoint of the same name, which binds ours to it.
  expect([...counts.links]).toEqual([`1024->1024, bound to 1024`]);
}

/**
 * The rings after a ping run: OpenAMP's host posts whole 512-byte buffers on both rings (tx
 * descriptors too: receivers must go by hdr.len), and our remote wrote the descriptor length
 * back as vring 1's used.len, which OpenAMP's host takes as the recycled buffer's capacity.
 * Returns the last used entry of vring 0 (our tx) for the caller's own checks.
 */
export function expectOpenAmpHostRings(file: FileMemory): { len: number } {
  const vring0 = sampleRing(file, 0x4000);
  const vring1 = sampleRing(file, 0x8000);
  const lastRx = vring0.used(vring0.usedIdx - 1);
  const lastTx = vring1.used(vring1.usedIdx - 1);
  console.log(
    `wire: vring0 used.idx ${vring0.usedIdx}, last used {len ${lastRx.len}} for a descriptor of len ${vring0.descLen(lastRx.id)}; vring1 used.idx ${vring1.usedIdx}, last used {len ${lastTx.len}} for a descriptor of len ${vring1.descLen(lastTx.id)}`,
  );
  expect(vring0.descLen(lastRx.id)).toBe(512);
  expect(vring1.descLen(lastTx.id)).toBe(512);
  expect(lastTx.len).toBe(512);
  return lastRx;
}
