// Issue #16: there is one AmpError class. An error thrown by any layer-0 package is `instanceof`
// the AmpError imported from any @amp package (they all re-export @amp/errors' class), and the
// guard of every package agrees with it.
import { describe, expect, it } from "vitest";
import * as errors from "@amp/errors";
import * as elfLoader from "@amp/elf-loader";
import * as remoteprocCore from "@amp/remoteproc-core";
import * as resourceTable from "@amp/resource-table";
import * as rpmsg from "@amp/rpmsg";
import * as virtioRing from "@amp/virtio-ring";
import * as virtualIo from "@amp/virtual-io";

const packages = {
  errors,
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

it("every package exports the very same class and guard", () => {
  for (const pkg of Object.values(packages)) {
    expect(pkg.AmpError).toBe(errors.AmpError);
    expect(pkg.isAmpError).toBe(errors.isAmpError);
  }
});

it("StepError of @amp/remoteproc-core is an AmpError too", () => {
  const e = new remoteprocCore.StepError("boot", "start", new Error("no"));
  expect(e).toBeInstanceOf(errors.AmpError);
  expect(e).toBeInstanceOf(resourceTable.AmpError);
});
