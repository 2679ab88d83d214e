// The JS-firmware ELF read by GNU readelf, a reader we did not write.
import { describe, expect, it } from "vitest";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { FW_RSC_ADDR_ANY } from "@amp/resource-table";
import { buildJsFirmware } from "@amp/node";
import { makeTempDir, requireTools, run } from "@amp/test-utils";

const missing = requireTools("readelf");

describe.skipIf(missing !== undefined)("JS firmware under readelf", () => {
  const file = join(makeTempDir("amp-jsfw-"), "fw.elf");
  writeFileSync(
    file,
    buildJsFirmware({
      program: "export default async () => {};\n",
      resourceTable: { entries: [{ kind: "trace", da: FW_RSC_ADDR_ANY, len: 512, name: "trace" }] },
    }),
  );

  it("shows the header fields we document", () => {
    const out = run("readelf", ["-hW", file]);
    expect(out).toMatch(/Class:\s+ELF32/);
    expect(out).toMatch(/Data:\s+2's complement, little endian/);
    expect(out).toMatch(/Type:\s+EXEC/);
    expect(out).toMatch(/Machine:\s+None/);
    expect(out).toMatch(/Entry point address:\s+0x1000/);
    expect(out).toMatch(/Flags:\s+0x4a504d41/);
  });

  it("lists the segments and sections with no warnings", () => {
    const out = run("readelf", ["-lSsW", file]);
    expect(out).not.toMatch(/Warning|Error/i);
    expect(out).toMatch(/\.resource_table\s+PROGBITS\s+0+2000/);
    expect(out).toMatch(/\.noinit\s+NOBITS\s+0+3000/);
    expect(out).toMatch(/LOAD\s+0x[0-9a-f]+ 0x0+1000 0x0+1000/);
    expect(out).toMatch(/OBJECT\s+GLOBAL\s+DEFAULT\s+\d+ trace_buf/);
    expect(out).toMatch(/FUNC\s+GLOBAL\s+DEFAULT\s+1 _start/);
  });
});
