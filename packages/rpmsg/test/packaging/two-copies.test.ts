// Versions that mix: a user's project with @amp/virtio-ring 0.1.1 installed beside an
// @amp/rpmsg built against 0.1.0. Both packages are packed from this workspace (pnpm pack turns
// `workspace:^` into `^0.1.0`), a 0.1.1 is made by re-packing virtio-ring with a new version,
// and npm installs the tarballs into a project outside the workspace. Two layouts:
// - rpmsg's `^0.1.0` range dedupes: npm installs ONE virtio-ring (0.1.1) for both;
// - two copies anyway (an exact pin, as `workspace:*` used to pack, or ranges that cannot
//   meet): rpmsg gets its own nested 0.1.0. A class with private members is then two unrelated
//   types (TS2322 "separate declarations of a private property"), which the control file
//   shows; the consumer still type-checks because rpmsg's options take `AddressSpaceLike`.
// In both, the consumer is compiled with tsc and run: name service and an echo.
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
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
import { AddressSpace, ArrayBufferMemory, InMemoryTransport, LocalDoorbell } from "@amp/virtio-ring";
import { RpmsgHost, RpmsgRemote, createStaticHost, staticLinkLayout } from "@amp/rpmsg";
declare const console: { log(...args: unknown[]): void };

// The user's AddressSpace comes from the top-level @amp/virtio-ring (0.1.1).
const space = new AddressSpace().map(0, new ArrayBufferMemory(new ArrayBuffer(0x10000)));
const transport = new InMemoryTransport({ deviceId: 7, deviceFeatures: 0n, legacy: true, queues: [16, 16] });
const remote = new RpmsgRemote({ transport, space });
remote.createEndpoint({ name: "echo", onMessage: (m, ep) => { ep.trySendTo(m.src, m.data); } });
const host = new RpmsgHost({ transport, space, rings: { addr: 0 }, poolAddr: 0x8000, numBuffers: 16 });
host.start();
remote.process();
host.process();
const got: number[][] = [];
const ep = host.createEndpoint({ name: "echo", onMessage: (m) => { got.push([...m.data]); } });
ep.trySend(new Uint8Array([104, 105]));
remote.process();
host.process();
// rpmsg-only mode takes the same space type.
const layout = staticLinkLayout({ base: 0, numBuffers: 16 });
const staticHost = createStaticHost({ layout, space: new AddressSpace().map(0, new ArrayBufferMemory(new ArrayBuffer(0x10000))), doorbell: new LocalDoorbell() });
console.log("echo", JSON.stringify(got), "dst", ep.dst, "static host", staticHost instanceof RpmsgHost);
`;

// Assigning the top-level class to the nested copy's class: only valid with ONE copy.
const CONTROL = `
import { AddressSpace } from "@amp/virtio-ring";
import type { AddressSpace as RpmsgsAddressSpace } from "./node_modules/@amp/rpmsg/node_modules/@amp/virtio-ring/dist/index.js";
export const s: RpmsgsAddressSpace = new AddressSpace();
`;

function tsconfig(dir: string, files: string[], emit: boolean): string {
  const file = join(dir, `tsconfig.${files.join("-").replace(/\W/g, "_")}.json`);
  writeFileSync(
    file,
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
      files,
    }),
  );
  return file;
}

let work: string;
let vr010: string;
let vr011: string;
let rpmsg: string;
const projects: string[] = [];

beforeAll(async () => {
  work = makeTempDir("amp-two-copies-");
  const tarballs = join(work, "tarballs");
  vr010 = await packOne(join(root, "packages", "virtio-ring"), tarballs);
  rpmsg = await packOne(join(root, "packages", "rpmsg"), tarballs);
  vr011 = await repack(vr010, join(work, "next"), (pkg) => {
    pkg.version = "0.1.1";
  });
}, 120_000);

afterAll(() => {
  for (const p of projects) rmSync(p, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
});

async function consumerRuns(project: string): Promise<string> {
  writeFileSync(join(project, "consumer.mts"), CONSUMER);
  const tsc = await run(process.execPath, [tscPath, "-p", tsconfig(project, ["consumer.mts"], true)], {
    cwd: project,
    timeoutMs: 120_000,
  });
  expect(tsc.stdout + tsc.stderr).toBe("");
  expect(tsc.code).toBe(0);
  const node = await run(process.execPath, [join(project, "out", "consumer.mjs")], { cwd: project, timeoutMs: 60_000 });
  expect(node.stderr).toBe("");
  return node.stdout.trim();
}

describe("virtio-ring 0.1.1 beside an rpmsg built against 0.1.0", () => {
  it("rpmsg's ^0.1.0 range dedupes: npm installs one virtio-ring, and the consumer type-checks and runs", async () => {
    const project = freshProject("amp-dedupe-");
    projects.push(project);
    await npmInstall(project, [vr011, rpmsg]);
    const copies = installedAmpCopies(project)
      .map((c) => `${c.path}@${c.version}`)
      .sort();
    expect(copies).toEqual(["node_modules/@amp/rpmsg@0.1.0", "node_modules/@amp/virtio-ring@0.1.1"]);
    expect(await consumerRuns(project)).toBe("echo [[104,105]] dst 1024 static host true");
  });

  it("with two copies installed, a class is two types (TS2322), yet the consumer type-checks and runs", async () => {
    // rpmsg as `workspace:*` used to pack it: an exact pin that 0.1.1 cannot satisfy.
    const pinned = await repack(rpmsg, join(work, "pinned"), (pkg) => {
      pkg.dependencies = { ...pkg.dependencies, "@amp/virtio-ring": "0.1.0" };
    });
    const project = freshProject("amp-two-copies-", {
      dependencies: {
        "@amp/virtio-ring": `file:${vr011}`,
        "@amp/rpmsg": `file:${pinned}`,
      },
      // The registry is closed to @amp here, so rpmsg's own 0.1.0 comes from its tarball.
      overrides: { "@amp/rpmsg": { "@amp/virtio-ring": `file:${vr010}` } },
    });
    projects.push(project);
    mkdirSync(join(project, "out"), { recursive: true });
    await npmInstall(project, []);
    const copies = installedAmpCopies(project)
      .map((c) => `${c.path}@${c.version}`)
      .sort();
    expect(copies).toEqual([
      "node_modules/@amp/rpmsg/node_modules/@amp/virtio-ring@0.1.0",
      "node_modules/@amp/rpmsg@0.1.0",
      "node_modules/@amp/virtio-ring@0.1.1",
    ]);

    writeFileSync(join(project, "control.mts"), CONTROL);
    const control = await run(process.execPath, [tscPath, "-p", tsconfig(project, ["control.mts"], false)], {
      cwd: project,
      timeoutMs: 120_000,
    });
    expect(control.code).not.toBe(0);
    expect(control.stdout).toContain("error TS2322");
    expect(control.stdout).toContain("separate declarations of a private property");

    expect(await consumerRuns(project)).toBe("echo [[104,105]] dst 1024 static host true");
  });
});
