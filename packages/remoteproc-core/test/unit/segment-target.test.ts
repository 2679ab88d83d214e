// The loader -> core contract for segment bytes: SegmentTarget uses bigint device addresses and
// lengths, exactly as @amp/elf-loader's LoadSink, so the ELF path hands its p_memsz - p_filesz
// lengths through without conversion and nothing is truncated on the way.
import { describe, expect, expectTypeOf, it } from "vitest";
import type { LoadSink } from "@amp/elf-loader";
import { isStepError, type FirmwareLoader, type SegmentTarget } from "@amp/remoteproc-core";
import { makePlatform } from "../helpers/fixture.ts";

function fillingLoader(da: bigint, length: bigint, value: number): FirmwareLoader {
  return {
    loadAndVerify: () => ({
      bootAddr: 0n,
      resourceTable: undefined,
      loadSegments: (t) => {
        t.fill(da, length, value);
      },
    }),
    release: () => undefined,
  };
}

describe("SegmentTarget", () => {
  it("has elf-loader's LoadSink signatures (bigint da and length)", () => {
    expectTypeOf<Parameters<SegmentTarget["fill"]>>().toEqualTypeOf<Parameters<LoadSink["fill"]>>();
    expectTypeOf<Parameters<SegmentTarget["write"]>>().toEqualTypeOf<Parameters<LoadSink["write"]>>();
    expectTypeOf<SegmentTarget>().toExtend<Pick<LoadSink, "write" | "fill">>();
  });

  it("fills a bigint length at a bigint device address", async () => {
    const p = makePlatform({ loader: fillingLoader(0x200n, 0x40n, 0xab), resources: [] });
    p.memory.fill(0x200 - 1, 0x42, 0x11);
    await p.rproc.boot();
    expect([...p.read(0x1ff, 1)]).toEqual([0x11]);
    expect([...p.read(0x200, 0x40)]).toEqual(new Array(0x40).fill(0xab));
    expect([...p.read(0x240, 1)]).toEqual([0x11]);
  });

  it("refuses a fill length beyond 32 bits at the load-segments step, nothing truncated", async () => {
    const p = makePlatform({ loader: fillingLoader(0x200n, 0x1_0000_0040n, 0xab), resources: [] });
    p.memory.fill(0x200, 0x40, 0x11);
    const error: unknown = await p.rproc.boot().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isStepError(error) && error.step).toBe("load segments");
    expect(isStepError(error) && (error.cause as { code?: string }).code).toBe("ERR_TRANSLATE");
    expect(p.rproc.state).toBe("offline");
    expect([...p.read(0x200, 0x40)]).toEqual(new Array(0x40).fill(0x11));
  });

  it("refuses a fill that leaves device memory", async () => {
    const p = makePlatform({ loader: fillingLoader(0xfff0n, 0x20n, 0), resources: [] });
    const error: unknown = await p.rproc.boot().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isStepError(error) && (error.cause as { code?: string }).code).toBe("ERR_TRANSLATE");
  });
});
