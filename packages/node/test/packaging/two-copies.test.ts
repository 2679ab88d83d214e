// Versions that mix, for @amp/node's remoteproc glue: an app on @amp/remoteproc-core 0.1.1 and
// an @amp/node that brought its own nested 0.1.0 (a pin that cannot meet, or a lockfile that
// kept an old copy). Remoteproc and RprocVdev are classes with private members, so the two
// copies' classes are unrelated types (the control shows TS2322); bindRpmsgHost, rpmsgHostDriver,
// deliverInterrupt and the onRpmsg listeners take structural types, so the app still type-checks.
// The layout is made by unpacking the packed tarballs where npm would put them (no registry).
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeTempDir } from "@amp/test-utils";
import { freshProject, packAll, repack, run, tscPath, unpackInto } from "../../../../scripts/lib/pack.mjs";

const CONSUMER = `
import type { Remoteproc, RprocVdev } from "@amp/remoteproc-core";
import { bindRpmsgHost, createSharedFileRemoteproc, deliverInterrupt, rpmsgHostDriver } from "@amp/node";

// The app's own Remoteproc (top-level @amp/remoteproc-core 0.1.1).
export function wire(rproc: Remoteproc): number {
  rproc.registerVirtioDriver(rpmsgHostDriver({ onHost: (host, vdev: RprocVdev) => { void host; void vdev.index; } }));
  rproc.registerVirtioDriver({ deviceIds: [7], probe: (vdev) => bindRpmsgHost(vdev) });
  return deliverInterrupt(rproc, 0xffffffff);
}
export function listen(): void {
  const remote = createSharedFileRemoteproc({ memoryPath: "/dev/shm/x", doorbell: { kind: "poll" } });
  remote.onRpmsg((host, vdev: RprocVdev) => { void host; void vdev.id; });
}
`;

// The Remoteproc that @amp/node made (its nested copy) is not the app's class: only valid with ONE copy.
const CONTROL = `
import type { Remoteproc } from "@amp/remoteproc-core";
import type { SharedFileRemoteproc } from "@amp/node";
export function mine(remote: SharedFileRemoteproc): Remoteproc { return remote.rproc; }
`;

function tsconfig(dir: string, file: string): string {
  const path = join(dir, `tsconfig.${file.replace(/\W/g, "_")}.json`);
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
        noEmit: true,
      },
      files: [file],
    }),
  );
  return path;
}

let work: string;
let project: string;

beforeAll(async () => {
  work = makeTempDir("amp-node-two-copies-");
  const tarballs = await packAll(join(work, "tarballs"));
  project = freshProject("amp-node-two-copies-");
  const mods = join(project, "node_modules", "@amp");
  for (const name of [
    "@amp/resource-table",
    "@amp/elf-loader",
    "@amp/virtio-ring",
    "@amp/rpmsg",
    "@amp/virtual-io",
    "@amp/node",
  ]) {
    await unpackInto(tarballs.get(name)!, join(mods, name.slice(5)));
  }
  const core = tarballs.get("@amp/remoteproc-core")!;
  await unpackInto(
    await repack(core, join(work, "next"), (pkg) => {
      pkg.version = "0.1.1";
    }),
    join(mods, "remoteproc-core"),
  );
  await unpackInto(core, join(mods, "node", "node_modules", "@amp", "remoteproc-core"));
}, 120_000);

afterAll(() => {
  rmSync(project, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
});

describe("@amp/remoteproc-core 0.1.1 beside an @amp/node with its own 0.1.0", () => {
  it("the classes are two types (TS2322), yet the node glue accepts the app's Remoteproc and vdevs", async () => {
    writeFileSync(join(project, "control.mts"), CONTROL);
    const control = await run(process.execPath, [tscPath, "-p", tsconfig(project, "control.mts")], {
      cwd: project,
      timeoutMs: 120_000,
    });
    expect(control.code).not.toBe(0);
    expect(control.stdout).toContain("error TS2322");
    expect(control.stdout).toContain("separate declarations of a private property");

    writeFileSync(join(project, "consumer.mts"), CONSUMER);
    const tsc = await run(process.execPath, [tscPath, "-p", tsconfig(project, "consumer.mts")], {
      cwd: project,
      timeoutMs: 120_000,
    });
    expect(tsc.stdout + tsc.stderr).toBe("");
    expect(tsc.code).toBe(0);
  }, 120_000);
});
