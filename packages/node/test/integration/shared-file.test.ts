// The shared-file platform with @amp on both sides: the UNIX-socket doorbell, attach with a
// polled doorbell to a remote in this process, and boot with `launch` of a remote process
// (server-side socket), recovery-free crash reports, and the rpmsg pool-size rule.
import { spawnSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { bundleToString, makeTempDir } from "@amp/test-utils";
import {
  FileMemory,
  RemoteVdevTransport,
  UnixSocketDoorbell,
  buildJsFirmware,
  createSharedFileRemoteproc,
  type SharedFileCrashReport,
  type SharedFileRemoteproc,
} from "@amp/node";
import {
  isAmpError,
  parseResourceTable,
  RSC_NOTIFY_ID_ANY,
  serializeResourceTable,
  type ResourceInit,
  type VdevResource,
} from "@amp/resource-table";
import { RpmsgRemote, type RpmsgHost } from "@amp/rpmsg";
import { AddressSpace } from "@amp/virtio-ring";
import { waitFor as waitUntil } from "../helpers.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

async function echo(host: RpmsgHost, texts: readonly string[]): Promise<string[]> {
  const svc = await host.waitForService("rpmsg-amp-echo", { timeoutMs: 10_000 });
  const got: string[] = [];
  const ep = host.createEndpoint({
    dst: svc.addr,
    onMessage: (m) => {
      got.push(dec.decode(m.data));
    },
  });
  for (const t of texts) await ep.send(enc.encode(t), { timeoutMs: 5000 });
  await waitUntil("the echoes", () => got.length === texts.length);
  ep.destroy();
  return got;
}

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse())
    await Promise.resolve()
      .then(c)
      .catch(() => undefined);
});

/** A table with `before` and then the remotes' rpmsg vdev: name service, two 32-entry vrings at 0x1000 and 0x3000. */
function rpmsgTable(before: ResourceInit[] = []): Uint8Array {
  return serializeResourceTable({
    entries: [
      ...before,
      {
        kind: "vdev",
        id: 7,
        dfeatures: 1,
        notifyId: 0,
        vrings: [
          { da: 0x1000, align: 0x1000, num: 32, notifyId: 0 },
          { da: 0x3000, align: 0x1000, num: 32, notifyId: 1 },
        ],
      },
    ],
  });
}

/** Where the attach tests put things: the table and vrings, the rpmsg buffers, the rest a pool. */
const ATTACH_REGIONS = [
  { name: "table-vrings", da: 0, size: 0x8000 },
  { name: "vdev0buffer", da: 0x8000, size: 0x8000 }, // 2 x 32 x 512
  { name: "pool", da: 0x10000, size: 0x30000, pool: true },
];

/** The remote's memory file, closed after the test. */
function remoteMemory(path: string, size: number): FileMemory {
  const mem = FileMemory.open(path, { size });
  cleanups.push(() => {
    mem.close();
  });
  return mem;
}

/**
 * The remote these tests play in this process: an RpmsgRemote on the table at `tableDa` of its
 * memory, stepped every millisecond (plus `tick`) until `stop` or the end of the test.
 */
function pollingRemote(
  mem: FileMemory,
  tableDa: number,
  vdev: VdevResource,
  tick?: () => void,
): { rp: RpmsgRemote; stop: () => void } {
  const rp = new RpmsgRemote({
    transport: RemoteVdevTransport.forEntry(mem, tableDa, vdev),
    space: new AddressSpace().map(0, mem),
    setDeviceFeatures: false,
  });
  const loop = setInterval(() => {
    rp.process();
    tick?.();
  }, 1);
  const stop = (): void => {
    clearInterval(loop);
  };
  cleanups.push(stop);
  return { rp, stop };
}

/** The remote's echo service: every message goes back to its sender. */
function serveEcho(rp: RpmsgRemote): void {
  rp.createEndpoint({
    name: "rpmsg-amp-echo",
    onMessage: (m, ep) => {
      ep.trySendTo(m.src, m.data);
    },
  });
}

/** The codes of `e` and of every cause under it. */
function causeCodes(e: unknown): unknown[] {
  const codes: unknown[] = [];
  for (let c: unknown = e; c !== undefined && c !== null; c = (c as { cause?: unknown }).cause)
    codes.push((c as { code?: unknown }).code);
  return codes;
}

describe("UnixSocketDoorbell", () => {
  it("one byte per notification; 'any' bytes name no queue, 'byte' bytes are notify ids", async () => {
    const path = join(makeTempDir("amp-bell-"), "bell.sock");
    const serverP = UnixSocketDoorbell.listen(path, { timeoutMs: 5000 });
    const client = await UnixSocketDoorbell.connect(path, { queueIds: "byte", timeoutMs: 5000 });
    const server = await serverP;
    cleanups.push(() => {
      client.close();
      server.close();
    });
    expect([server.role, client.role]).toEqual(["server", "client"]);

    const rings: number[] = [];
    server.onRing((q) => rings.push(q));
    client.notify(1);
    client.notify(0x102); // low 8 bits on the wire
    await server.wait({ timeoutMs: 5000 });
    await waitUntil("two bytes", () => server.stats.received === 2);
    expect(rings.every((q) => q === RSC_NOTIFY_ID_ANY)).toBe(true);
    const polled: number[] = [];
    expect(server.poll((q) => polled.push(q))).toBe(1);
    expect(polled).toEqual([RSC_NOTIFY_ID_ANY]);
    expect(server.pending()).toBe(false);

    server.notify(5);
    server.notify(7);
    server.notify(5);
    await waitUntil("three bytes", () => client.stats.received === 3);
    const ids: number[] = [];
    client.poll((q) => ids.push(q));
    expect(ids).toEqual([5, 7]);
    expect(client.stats.sent).toBe(2);

    // Closing one end closes the other; waits then fail, notifications are dropped (counted).
    const closed = new Promise<Error | undefined>((r) => server.onClose(r));
    client.close();
    expect(await closed).toBeUndefined();
    await expect(server.wait()).rejects.toMatchObject({ code: "ERR_DOORBELL" });
    server.notify(1);
    expect(server.stats.dropped).toBe(1);
  });

  it("a client retries until the server listens; both give up with ERR_TIMEOUT", async () => {
    const dir = makeTempDir("amp-bell-");
    const path = join(dir, "late.sock");
    const clientP = UnixSocketDoorbell.connect(path, { timeoutMs: 5000, retryMs: 5 });
    await new Promise((r) => setTimeout(r, 50));
    const server = await UnixSocketDoorbell.listen(path, { timeoutMs: 5000 });
    const client = await clientP;
    cleanups.push(() => {
      client.close();
      server.close();
    });
    const e1 = await UnixSocketDoorbell.connect(join(dir, "nobody.sock"), { timeoutMs: 50 }).catch((e: unknown) => e);
    expect(isAmpError(e1) && e1.code).toBe("ERR_TIMEOUT");
    const e2 = await UnixSocketDoorbell.listen(join(dir, "lonely.sock"), { timeoutMs: 50 }).catch((e: unknown) => e);
    expect(isAmpError(e2) && e2.code).toBe("ERR_TIMEOUT");
    const ac = new AbortController();
    const e3P = UnixSocketDoorbell.listen(join(dir, "aborted.sock"), { timeoutMs: 5000, signal: ac.signal }).catch(
      (e: unknown) => e,
    );
    ac.abort();
    const e3 = await e3P;
    expect(isAmpError(e3) && e3.code).toBe("ERR_ABORTED");
    const ac2 = new AbortController();
    const e4P = UnixSocketDoorbell.connect(join(dir, "never.sock"), { timeoutMs: 60_000, signal: ac2.signal }).catch(
      (e: unknown) => e,
    );
    setTimeout(() => {
      ac2.abort();
    }, 20);
    const e4 = await e4P;
    expect(isAmpError(e4) && e4.code).toBe("ERR_ABORTED");
  });

  it("a socket file that exists but refuses is ERR_DOORBELL_REFUSED after the grace period, not the timeout", async () => {
    const path = join(makeTempDir("amp-bell-"), "stale.sock");
    // A listener that dies without cleaning up leaves its socket file behind (as a crashed remote does).
    const died = spawnSync(
      process.execPath,
      [
        "-e",
        `require("node:net").createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, "SIGKILL"))`,
      ],
      { timeout: 10_000, stdio: "ignore" },
    );
    expect(died.signal).toBe("SIGKILL");
    expect(existsSync(path)).toBe(true);
    const started = Date.now();
    const e = await UnixSocketDoorbell.connect(path, { timeoutMs: 60_000, refusedGraceMs: 100 }).catch(
      (x: unknown) => x,
    );
    expect(isAmpError(e) && e.code).toBe("ERR_DOORBELL_REFUSED");
    expect(String(e)).toContain(path);
    expect(Date.now() - started).toBeLessThan(30_000); // hang guard: not the 60 s timeout
  }, 40_000);
});

describe("SharedFileDriver", () => {
  it("attaches to a remote that polls (no doorbell): the table appears late, its size is read from it, rpmsg echoes", async () => {
    const path = join(makeTempDir("amp-shf-"), "remote.mem");
    // The remote: its table at 0x100 (written after the host started waiting), its own vrings.
    const remoteMem = remoteMemory(path, 0x40000);
    const table = rpmsgTable();
    const remote = createSharedFileRemoteproc({
      memoryPath: path,
      doorbell: { kind: "poll", intervalMs: 1 },
      resourceTable: { da: 0x100 },
      regions: ATTACH_REGIONS,
    });
    cleanups.push(() => remote.close());
    const hostP = new Promise<RpmsgHost>((r) => remote.onRpmsg(r));
    const booting = remote.rproc.boot();
    await new Promise((r) => setTimeout(r, 30));
    remoteMem.write(0x100, table);
    serveEcho(pollingRemote(remoteMem, 0x100, parseResourceTable(table).entries[0] as VdevResource).rp);
    await booting;
    expect(remote.rproc.state).toBe("attached");
    expect(remote.rproc.resourceTableLocation).toEqual({ da: 0x100, size: table.length });
    const host = await hostP;
    expect(host.geometry?.rxAddr).toBe(0x8000);
    expect(await echo(host, ["one", "two", "three"])).toEqual(["one", "two", "three"]);
    await remote.rproc.detach();
    expect(remote.rproc.state).toBe("detached");
  });

  it("a remote that leaves a last message and closes its doorbell without a kick: the message is delivered before the crash", async () => {
    const dir = makeTempDir("amp-shf-");
    const path = join(dir, "remote.mem");
    const sock = join(dir, "bell.sock");
    const remoteMem = remoteMemory(path, 0x40000);
    const table = rpmsgTable();
    remoteMem.write(0x100, table);
    // The remote end of the doorbell is ours: it rings after each poll, and at the end it closes
    // right after withdrawing its endpoint, with no ring for that last message.
    const bellP = UnixSocketDoorbell.listen(sock, { timeoutMs: 5000 });
    const remote = createSharedFileRemoteproc({
      memoryPath: path,
      doorbell: { kind: "unix-socket", path: sock, role: "client", queueIds: "any" },
      resourceTable: { da: 0x100 },
      regions: ATTACH_REGIONS,
    });
    cleanups.push(() => remote.close());
    const events: string[] = [];
    remote.onRpmsg((h) => {
      h.onNameService((ns) => events.push(`${ns.type} ${ns.name}`));
    });
    remote.onCrash((report: SharedFileCrashReport) => events.push(`crash: ${report.message}`));
    const booting = remote.rproc.boot();
    const bell = await bellP;
    cleanups.push(() => {
      bell.close();
    });
    const { rp, stop } = pollingRemote(remoteMem, 0x100, parseResourceTable(table).entries[0] as VdevResource, () => {
      bell.notify(0);
    });
    const ep = rp.createEndpoint({ name: "rpmsg-amp-last-words" });
    await booting;
    await waitUntil("the announcement", () => events.includes("create rpmsg-amp-last-words"));
    stop();
    // Let the host read every ring already sent, so none is left to carry the last message.
    await new Promise((r) => setTimeout(r, 100));
    ep.destroy(); // the name-service DESTROY goes into vring 0
    rp.process();
    bell.close();
    await waitUntil("the crash report", () => events.some((e) => e.startsWith("crash: ")));
    expect(events).toEqual([
      "create rpmsg-amp-last-words",
      "destroy rpmsg-amp-last-words",
      expect.stringMatching(/^crash: the remote closed its doorbell/),
    ]);
  });

  it("says ERR_TIMEOUT when no table appears", async () => {
    const path = join(makeTempDir("amp-shf-"), "empty.mem");
    FileMemory.open(path, { size: 0x10000 }).close(); // the remote made the file, never a table
    const remote = createSharedFileRemoteproc({
      memoryPath: path,
      memorySize: 0x10000,
      doorbell: { kind: "poll" },
      tableTimeoutMs: 50,
      regions: [{ name: "memory", da: 0, size: 0x10000, pool: true }],
    });
    cleanups.push(() => remote.close());
    const e = await remote.rproc.boot().catch((x: unknown) => x);
    expect(String(e)).toMatch(/no resource table appeared at 0x0/);
    expect(remote.rproc.state).toBe("detached");
  });

  it("never creates the memory file when attaching: a missing file is ERR_NO_MEMORY_FILE at once", () => {
    const path = join(makeTempDir("amp-shf-"), "missing.mem");
    const e = (() => {
      try {
        createSharedFileRemoteproc({
          memoryPath: path,
          memorySize: 0x10000,
          createMemory: true,
          doorbell: { kind: "poll" },
        });
      } catch (x) {
        return x;
      }
      return undefined;
    })();
    expect(isAmpError(e) && e.code).toBe("ERR_NO_MEMORY_FILE");
    expect(String(e)).toContain(path);
    expect(existsSync(path)).toBe(false);
  });

  it("an AbortSignal ends the attach's doorbell wait with ERR_ABORTED", async () => {
    const dir = makeTempDir("amp-shf-");
    const path = join(dir, "remote.mem");
    FileMemory.open(path, { size: 0x10000 }).close();
    const ac = new AbortController();
    const remote = createSharedFileRemoteproc({
      memoryPath: path,
      regions: [{ name: "memory", da: 0, size: 0x10000, pool: true }],
      doorbell: { kind: "unix-socket", path: join(dir, "nobody.sock"), role: "client", timeoutMs: 60_000 },
      signal: ac.signal,
    });
    cleanups.push(() => remote.close());
    const booting = remote.rproc.boot().catch((x: unknown) => x);
    setTimeout(() => {
      ac.abort();
    }, 20);
    expect(causeCodes(await booting)).toContain("ERR_ABORTED");
    expect(remote.rproc.state).toBe("detached");
  });

  it("without regions, derives them from the table: the table, vrings and carveouts stay out of the pool", async () => {
    const path = join(makeTempDir("amp-shf-"), "remote.mem");
    const remoteMem = remoteMemory(path, 0x20000);
    const table = rpmsgTable([{ kind: "carveout", da: 0x6000, pa: 0x6000, len: 0x2000, flags: 0, name: "fw-data" }]);
    remoteMem.write(0, table);
    const remote = createSharedFileRemoteproc({ memoryPath: path, doorbell: { kind: "poll", intervalMs: 1 } });
    cleanups.push(() => remote.close());
    // A vring of 32 entries at align 0x1000 is 0x1106 bytes, reserved as whole pages (0x2000).
    expect(remote.driver.regions.map((r) => [r.name, r.da, r.size, r.pool === true])).toEqual([
      ["reserved", 0, table.length, false],
      ["pool", table.length, 0x1000 - table.length, true],
      ["reserved-1", 0x1000, 0x2000, false],
      ["reserved-2", 0x3000, 0x2000, false],
      ["pool-1", 0x5000, 0x1000, true],
      ["fw-data", 0x6000, 0x2000, false],
      ["pool-2", 0x8000, 0x18000, true],
    ]);
    serveEcho(pollingRemote(remoteMem, 0, parseResourceTable(table).entries[1] as VdevResource).rp);
    const hostP = new Promise<RpmsgHost>((r) => remote.onRpmsg(r));
    await remote.rproc.boot();
    const host = await hostP;
    // 2 x 256 x 512 bytes do not fit a gap below 0x8000: the buffers come from the big pool.
    expect(host.geometry?.rxAddr).toBeGreaterThanOrEqual(0x8000);
    expect(await echo(host, ["derived", "regions"])).toEqual(["derived", "regions"]);
  });

  it("without regions and with no table yet, the attach is refused with ERR_NO_REGIONS", async () => {
    const path = join(makeTempDir("amp-shf-"), "remote.mem");
    const remoteMem = remoteMemory(path, 0x10000);
    const remote = createSharedFileRemoteproc({ memoryPath: path, doorbell: { kind: "poll" } });
    cleanups.push(() => remote.close());
    expect(remote.driver.regions.some((r) => r.pool === true)).toBe(false);
    remoteMem.write(0, serializeResourceTable({ entries: [] })); // too late for the regions
    const e = await remote.rproc.boot().catch((x: unknown) => x);
    expect(causeCodes(e)).toContain("ERR_NO_REGIONS");
    expect(() =>
      createSharedFileRemoteproc({ memoryPath: path, firmware: new Uint8Array(16), doorbell: { kind: "poll" } }),
    ).toThrow(/needs `regions`/);
  });

  describe("boots a remote process it launches (server-side socket)", () => {
    let remote: SharedFileRemoteproc;
    const crashes: SharedFileCrashReport[] = [];

    async function bootLaunched(): Promise<{ host: RpmsgHost; output: () => string }> {
      const dir = makeTempDir("amp-shf-");
      const script = join(dir, "remote.mjs");
      writeFileSync(
        script,
        await bundleToString(fileURLToPath(new URL("../fixtures/shared-file-remote.ts", import.meta.url)), {
          platform: "node",
        }),
      );
      const memoryPath = join(dir, "remote.mem");
      const socket = join(dir, "doorbell.sock");
      const firmware = buildJsFirmware({
        program: "export default async function main() {}", // not run: the process is the CPU
        resourceTable: {
          entries: [
            {
              kind: "vdev",
              id: 7,
              dfeatures: 1,
              vrings: [
                { align: 4096, num: 16 },
                { align: 4096, num: 16 },
              ],
            },
          ],
        },
      });
      let output = "";
      remote = createSharedFileRemoteproc({
        memoryPath,
        memorySize: 0x100000,
        firmware,
        regions: [
          { name: "image", da: 0, size: 0x10000 },
          { name: "vdev0buffer", da: 0x10000, size: 0x1000 }, // too small for 2 x 16 x 512: not used
          { name: "pool", da: 0x20000, size: 0xe0000, pool: true },
        ],
        doorbell: { kind: "unix-socket", path: socket, role: "server", timeoutMs: 20_000 },
        launch: {
          command: process.execPath,
          args: [script, memoryPath, "0x2000", socket, "client"],
          onOutput: (t) => {
            output += t;
          },
        },
      });
      cleanups.push(() => remote.close());
      remote.onCrash((c) => crashes.push(c));
      const hostP = new Promise<RpmsgHost>((r) => remote.onRpmsg(r));
      await remote.rproc.boot();
      return { host: await hostP, output: () => output };
    }

    it("loads the image, installs the table, starts the process, echoes, and stops it", async () => {
      crashes.length = 0;
      const { host, output } = await bootLaunched();
      expect(remote.rproc.state).toBe("running");
      // The pool-size rule: the 4 KiB vdev0buffer region is too small, so the pool came from "pool".
      expect(host.geometry?.rxAddr).toBeGreaterThanOrEqual(0x20000);
      expect(await echo(host, ["launched", "and", "echoing"])).toEqual(["launched", "and", "echoing"]);
      const pid = remote.driver.process?.pid;
      expect(pid).toBeGreaterThan(0);
      await remote.rproc.shutdown();
      expect(remote.rproc.state).toBe("offline");
      expect(remote.driver.process).toBeUndefined();
      expect(() => process.kill(pid!, 0)).toThrow(); // the process group is gone
      expect(crashes).toEqual([]);
      expect(output()).toContain("remote: doorbell open");
    });

    it("fails the boot at once when the process ends before opening its doorbell", async () => {
      const dir = makeTempDir("amp-shf-");
      const r = createSharedFileRemoteproc({
        memoryPath: join(dir, "remote.mem"),
        memorySize: 0x100000,
        firmware: buildJsFirmware({
          program: "export default async function main() {}",
          resourceTable: { entries: [] },
        }),
        regions: [{ name: "image", da: 0, size: 0x100000, pool: true }],
        doorbell: { kind: "unix-socket", path: join(dir, "doorbell.sock"), role: "server", timeoutMs: 60_000 },
        launch: { command: process.execPath, args: ["-e", "console.error('no such remote'); process.exit(3)"] },
      });
      cleanups.push(() => r.close());
      const started = Date.now();
      const e = await r.rproc.boot().catch((x: unknown) => x);
      expect(Date.now() - started).toBeLessThan(30_000); // not the doorbell's 60 s
      expect(String(e)).toMatch(/ERR_SPAWN|ended before its doorbell opened/);
      expect(String((e as { cause?: unknown }).cause)).toMatch(/no such remote/);
      expect(r.rproc.state).toBe("offline");
    });

    it("reports the process ending on its own as a fatal-error crash", async () => {
      crashes.length = 0;
      await bootLaunched();
      process.kill(remote.driver.process!.pid!, "SIGKILL");
      await waitUntil("the crash", () => crashes.length > 0 && remote.rproc.state === "crashed");
      expect(crashes[0]!.type).toBe("fatal error");
      expect(crashes[0]!.message).toMatch(/exited \(SIGKILL\)|closed its doorbell/);
    });
  });
});
