// Issue #16: one AmpError identity. resource-table, elf-loader and virtio-ring each keep the same
// src/amp-error.ts (they import nothing; scripts/check-copies.mjs holds the copies identical), and
// the packages above re-export the class of their lower layer. An error thrown by any package is
// `instanceof` the AmpError imported from any other, and every package's guard agrees.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import * as elfLoader from "@amp/elf-loader";
import * as remoteprocCore from "@amp/remoteproc-core";
import * as resourceTable from "@amp/resource-table";
import * as rpmsg from "@amp/rpmsg";
import * as virtioRing from "@amp/virtio-ring";
import * as virtualIo from "@amp/virtual-io";

const packages = {
  "resource-table": resourceTable,
  "elf-loader": elfLoader,
  "virtio-ring": virtioRing,
  rpmsg,
  "remoteproc-core": remoteprocCore,
  "virtual-io": virtualIo,
};

function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error("expected a throw");
}

const thrownBy: Record<string, [code: string, error: unknown]> = {
  "resource-table": ["ERR_TRUNCATED", thrown(() => resourceTable.parseResourceTable(new Uint8Array(4)))],
  "elf-loader": ["ERR_TRUNCATED", thrown(() => elfLoader.parseElf(Uint8Array.of(0x7f, 0x45, 0x4c, 0x46)))],
  "virtio-ring": ["ERR_RANGE", thrown(() => virtioRing.toSafeNumber(1n << 60n, "da"))],
};

describe.each(Object.entries(thrownBy))("an AmpError thrown by @amp/%s", (_from, [code, error]) => {
  it.each(Object.entries(packages))(
    "is instanceof the AmpError of @amp/%s, and its isAmpError agrees",
    (_name, pkg) => {
      expect(error).toBeInstanceOf(pkg.AmpError);
      expect(pkg.isAmpError(error)).toBe(true);
      expect((error as { code: string }).code).toBe(code);
    },
  );
});

it("the packages above the floor re-export virtio-ring's very class and guard", () => {
  for (const pkg of [rpmsg, remoteprocCore, virtualIo]) {
    expect(pkg.AmpError).toBe(virtioRing.AmpError);
    expect(pkg.isAmpError).toBe(virtioRing.isAmpError);
  }
});

it("the three layer-0 copies are the same text", () => {
  const text = (pkg: string): string =>
    readFileSync(fileURLToPath(new URL(`../../../${pkg}/src/amp-error.ts`, import.meta.url)), "utf8");
  expect(text("resource-table")).toBe(text("virtio-ring"));
  expect(text("elf-loader")).toBe(text("virtio-ring"));
});

it("StepError of @amp/remoteproc-core is an AmpError of every copy, and only StepErrors are StepErrors", () => {
  const e = new remoteprocCore.StepError("boot", "start", new Error("no"));
  for (const pkg of Object.values(packages)) expect(e).toBeInstanceOf(pkg.AmpError);
  const plain = new resourceTable.AmpError("ERR_MALFORMED", "not a step");
  expect(plain).not.toBeInstanceOf(remoteprocCore.StepError);
});

it("a lookalike that is not an Error, or has no string code, is no AmpError", () => {
  for (const pkg of Object.values(packages)) {
    expect({ name: "AmpError", code: "ERR_X" }).not.toBeInstanceOf(pkg.AmpError);
    expect(Object.assign(new Error("x"), { name: "AmpError" })).not.toBeInstanceOf(pkg.AmpError);
    expect(new TypeError("x")).not.toBeInstanceOf(pkg.AmpError);
    expect(null).not.toBeInstanceOf(pkg.AmpError);
  }
});
