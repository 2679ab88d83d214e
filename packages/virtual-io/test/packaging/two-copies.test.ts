// Versions that mix, for virtual-io: the user's virtqueues and address space come from
// @amp/virtio-ring 0.1.1 at the top of node_modules while @amp/virtual-io has its own nested
// 0.1.0 (an exact pin, or ranges that cannot meet). The options of VirtqueueChannel and
// VirtqueueDeviceRunner take interfaces (AddressSpaceLike, VirtqueueDevice whose chains are
// DescriptorChainLike), so the consumer type-checks and runs; the control file shows that the
// classes themselves are two unrelated types in this layout (TS2322). All packages are packed
// from this workspace and installed with npm into a project outside it.
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { makeTempDir } from "@amp/test-utils";
import {
  freshProject,
  installedAmpCopies,
  npmInstall,
  packOne,
  repack,
  root,
  run,
  tscPath,
} from "../../../../scripts/lib/pack.mjs";

const CONSUMER = `
import { AddressSpace, AmpError, ArrayBufferMemory, SplitVirtqueueDevice, SplitVirtqueueDriver, legacyQueueAddresses } from "@amp/virtio-ring";
import { AmpError as VioAmpError, I2cBusServer, I2cClient, I2cTemperatureSensor, VirtqueueChannel, VirtqueueDeviceRunner, decodeI2cOutHdr, decodeTemperature } from "@amp/virtual-io";
declare const console: { log(...args: unknown[]): void };
declare function queueMicrotask(cb: () => void): void;

const space = new AddressSpace().map(0, new ArrayBufferMemory(new ArrayBuffer(0x10000)));
const bus = new I2cBusServer();
bus.attach(0x48, new I2cTemperatureSensor(21.5).target);
const at = (i: number) => legacyQueueAddresses(0x1000 + i * 0x1000, 16, 16);
const link: { runner?: VirtqueueDeviceRunner; channel?: VirtqueueChannel } = {};
const kick = { notify: () => { queueMicrotask(() => link.runner?.process()); } };
const irq = { notify: () => { queueMicrotask(() => link.channel?.process()); } };
const drivers = Array.from({ length: bus.numQueues }, (_, i) => new SplitVirtqueueDriver<number>({ size: 16, space, ...at(i), doorbell: kick, notifyId: i }));
const devices = Array.from({ length: bus.numQueues }, (_, i) => new SplitVirtqueueDevice({ size: 16, space, ...at(i), doorbell: irq, notifyId: i }));
link.channel = new VirtqueueChannel({ queues: drivers, space, bufferAddr: 0x8000, bufferSize: 0x8000, features: bus.features });
link.runner = new VirtqueueDeviceRunner(bus, { queues: devices });
const raw = await new I2cClient(link.channel).writeRead(0x48, new Uint8Array([0]), 2);
console.log("temperature", decodeTemperature(((raw[0] ?? 0) << 8) | (raw[1] ?? 0)));
// virtual-io's AmpError is its nested virtio-ring 0.1.0's class, the user's is 0.1.1's: two
// classes, one identity (instanceof asks isAmpError).
let code = "none";
try { decodeI2cOutHdr(new DataView(new ArrayBuffer(1)), 0); } catch (e) { if (e instanceof AmpError) code = e.code; }
console.log("two classes", VioAmpError !== AmpError, "one identity", code);
`;

const CONTROL = `
import { AddressSpace, SplitVirtqueueDevice } from "@amp/virtio-ring";
import type { SplitVirtqueueDevice as Nested } from "./node_modules/@amp/virtual-io/node_modules/@amp/virtio-ring/dist/index.js";
export const q: Nested = new SplitVirtqueueDevice({ size: 16, space: new AddressSpace(), descAddr: 0, driverAddr: 256, deviceAddr: 512 });
`;

function tsconfig(dir: string, file: string, emit: boolean): string {
  const path = join(dir, `tsconfig.${file}.json`);
  writeFileSync(
    path,
    JSON.stringify({
      compilerOptions: {
        strict: true,
        target: "es2022",
        lib: ["es2022"],
        types: [],
        module: "nodenext",
        moduleResolution: "nodenext",
        skipLibCheck: true,
        ...(emit ? { outDir: "out" } : { noEmit: true }),
      },
      files: [file],
    }),
  );
  return path;
}

let work: string;
let project: string | undefined;

beforeAll(async () => {
  work = makeTempDir("amp-vio-two-copies-");
  const t = join(work, "tarballs");
  const vr010 = await packOne(join(root, "packages", "virtio-ring"), t);
  const rpmsg = await packOne(join(root, "packages", "rpmsg"), t);
  const vio = await packOne(join(root, "packages", "virtual-io"), t);
  const vr011 = await repack(vr010, join(work, "next"), (pkg) => {
    pkg.version = "0.1.1";
  });
  // virtual-io with an exact pin that 0.1.1 cannot satisfy (what `workspace:*` used to pack).
  const pinned = await repack(vio, join(work, "pinned"), (pkg) => {
    pkg.dependencies = { ...pkg.dependencies, "@amp/virtio-ring": "0.1.0" };
  });
  project = freshProject("amp-vio-two-copies-", {
    dependencies: {
      "@amp/virtio-ring": `file:${vr011}`,
      "@amp/rpmsg": `file:${rpmsg}`,
      "@amp/virtual-io": `file:${pinned}`,
    },
    overrides: { "@amp/virtual-io": { "@amp/virtio-ring": `file:${vr010}` } },
  });
  await npmInstall(project, []);
}, 180_000);

afterAll(() => {
  if (project !== undefined) rmSync(project, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
});

it("virtio-ring 0.1.1 beside a virtual-io with its own 0.1.0: classes differ (TS2322), the options still type-check and an I2C read runs", async () => {
  const dir = project ?? "";
  // npm applies the override to virtual-io's whole subtree, so rpmsg (reached through
  // virtual-io) gets a nested 0.1.0 too: three copies of virtio-ring.
  expect(
    installedAmpCopies(dir)
      .map((c) => `${c.path}@${c.version}`)
      .sort(),
  ).toEqual([
    "node_modules/@amp/rpmsg/node_modules/@amp/virtio-ring@0.1.0",
    "node_modules/@amp/rpmsg@0.1.0",
    "node_modules/@amp/virtio-ring@0.1.1",
    "node_modules/@amp/virtual-io/node_modules/@amp/virtio-ring@0.1.0",
    "node_modules/@amp/virtual-io@0.1.0",
  ]);

  writeFileSync(join(dir, "control.mts"), CONTROL);
  const control = await run(process.execPath, [tscPath, "-p", tsconfig(dir, "control.mts", false)], {
    cwd: dir,
    timeoutMs: 120_000,
  });
  expect(control.code).not.toBe(0);
  expect(control.stdout).toContain("error TS2322");
  expect(control.stdout).toContain("separate declarations of a private property");

  writeFileSync(join(dir, "consumer.mts"), CONSUMER);
  const tsc = await run(process.execPath, [tscPath, "-p", tsconfig(dir, "consumer.mts", true)], {
    cwd: dir,
    timeoutMs: 120_000,
  });
  expect(tsc.stdout + tsc.stderr).toBe("");
  const node = await run(process.execPath, [join(dir, "out", "consumer.mjs")], { cwd: dir, timeoutMs: 60_000 });
  expect(node.stderr).toBe("");
  expect(node.stdout.trim()).toBe("temperature 21.5\ntwo classes true one identity ERR_TRUNCATED");
});
