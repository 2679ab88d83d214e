// Coredumps written by the life cycle, checked by tools we did not write: GNU readelf lists the
// segments, gdb-multiarch reads the remote's memory out of the core.
import { describe, expect, it } from "vitest";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeTempDir, requireTools, run } from "@amp/test-utils";
import type { CoredumpSink } from "@amp/remoteproc-core";
import { SRAM_DA, makePlatform } from "../helpers/fixture.ts";

async function crashDump(): Promise<string> {
  const chunks: Uint8Array[] = [];
  const sink: CoredumpSink = {
    write: (c) => {
      chunks.push(c.slice());
    },
  };
  const p = makePlatform({
    coredump: "inline",
    coredumpSink: sink,
    coredumpSegments: [{ da: 0x100, size: 0x40, name: "code" }],
  });
  await p.rproc.boot();
  const w = p.rproc.translate(SRAM_DA, 8)!;
  w.memory.write(w.offset, new Uint8Array([0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88]));
  await p.rproc.reportCrash("mmufault");
  const file = join(makeTempDir("amp-rproc-core-"), "core");
  writeFileSync(file, Uint8Array.from(chunks.flatMap((c) => [...c])));
  return file;
}

describe.skipIf(requireTools("readelf"))("readelf reads our crash coredump", () => {
  it("shows an ARM ET_CORE with one RWX PT_LOAD per carveout, vring, trace buffer and custom segment", async () => {
    const core = await crashDump();
    const h = run("readelf", ["-hW", core]);
    expect(h).toMatch(/Type:\s+CORE/);
    expect(h).toMatch(/Machine:\s+ARM/);
    expect(h).toMatch(/Entry point address:\s+0x101/);
    const l = run("readelf", ["-lW", core]);
    const loads = l.split("\n").filter((x) => x.trim().startsWith("LOAD"));
    // In address order: the custom segment, the trace buffer, the ddr carveout, the two
    // pool-allocated vrings (carveouts in Linux too).
    expect(loads).toHaveLength(5);
    expect(loads[0]).toMatch(/0x00000100 0x00000100 0x00040 0x00040 RWE/);
    expect(loads[1]).toMatch(/0x00009000 0x00009000 0x00100 0x00100 RWE/);
    expect(loads[2]).toMatch(/0x10000000 0x10000000 0x04000 0x04000 RWE/);
    expect(loads[3]).toMatch(/0x10004000 0x10004000 0x01000 0x01000 RWE/);
    expect(loads[4]).toMatch(/0x10005000 0x10005000 0x01000 0x01000 RWE/);
  });
});

describe.skipIf(requireTools("gdb-multiarch"))("gdb reads our crash coredump", () => {
  it("prints the remote's memory at its device addresses", async () => {
    const core = await crashDump();
    const out = run(
      "gdb-multiarch",
      [
        "-batch",
        "-nx",
        "-ex",
        "set architecture arm",
        "-ex",
        `core-file ${core}`,
        "-ex",
        `x/8xb 0x${SRAM_DA.toString(16)}`,
        "-ex",
        "x/4xb 0x100",
      ],
      { timeoutMs: 60_000 },
    );
    expect(out).toMatch(/0x10000000:\s+0x11\s+0x22\s+0x33\s+0x44\s+0x55\s+0x66\s+0x77\s+0x88/);
    expect(out).toMatch(/0x100:\s+0x01\s+0x02\s+0x03\s+0x04/);
  });
});
