// generateResourceTableC is checked by the compilers themselves: the generated C must compile
// warning-free, and the bytes gcc lays out must equal serializeResourceTable's, for the example
// table and for random tables. arm-none-eabi-gcc (the firmware compiler) must agree too: we
// extract the .resource_table section of its object file with objcopy.
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compileC, makeTempDir, requireTools, toHex } from "@amp/test-utils";
import { generateResourceTableC, serializeResourceTable, type ResourceTableInit } from "@amp/resource-table";
import { exampleTable } from "../../scripts/make-example.mjs";
import { tableArb } from "../arbitraries.ts";

const FLAGS = ["-O0", "-std=c11", "-Wall", "-Wextra", "-Werror"];
const example = exampleTable;
// Random tables from a fixed seed (one compile for all of them keeps the test fast).
const randoms = fc.sample(tableArb, { numRuns: 25, seed: 42 });
const tables: ResourceTableInit[] = [example, { entries: [] }, { size: 256, entries: example.entries }, ...randoms];

describe.skipIf(requireTools("gcc") !== undefined)("generated C compiled by gcc", () => {
  it("lays out exactly the serializer's bytes, for the example and 25 random tables", () => {
    const parts = tables.map((t, i) =>
      generateResourceTableC(t, { symbol: `table${i}`, structName: `table${i}_t`, section: `.rsc${i}` }),
    );
    const main = [
      "#include <stdio.h>",
      "int main(void) {",
      ...tables.map(
        (_, i) =>
          `  printf("%zu\\n", sizeof table${i}); fwrite(&table${i}, sizeof table${i}, 1, stdout); printf("\\n");`,
      ),
      "  return 0;",
      "}",
    ];
    const exe = compileC([...parts, ...main].join("\n"), { flags: FLAGS, name: "generated" });
    const out = new Uint8Array(execFileSync(exe));
    let at = 0;
    tables.forEach((t, i) => {
      let nl = out.indexOf(10, at);
      const len = Number(String.fromCharCode(...out.subarray(at, nl)));
      const bytes = out.subarray(nl + 1, nl + 1 + len);
      expect(toHex(bytes), `table ${i}`).toBe(toHex(serializeResourceTable(t)));
      nl = nl + 1 + len;
      expect(out[nl]).toBe(10);
      at = nl + 1;
    });
  });

  it("honours aligned entry offsets and explicit offsets with gaps", () => {
    const t: ResourceTableInit = {
      entries: [
        { kind: "vendor", type: 140, data: new Uint8Array([1, 2, 3]) },
        { kind: "trace", da: 0x100, len: 0x10, name: 't?"\\é' },
        { kind: "carveout", len: 0x1000, offset: 200 },
      ],
    };
    const c =
      generateResourceTableC(t, { align: 8 }) +
      "\n#include <stdio.h>\nint main(void) { fwrite(&resource_table, sizeof resource_table, 1, stdout); return 0; }\n";
    const bytes = new Uint8Array(execFileSync(compileC(c, { flags: FLAGS, name: "aligned" })));
    expect(toHex(bytes)).toBe(toHex(serializeResourceTable(t, { align: 8 })));
  });

  it("rejects names that are not C identifiers", () => {
    expect(() => generateResourceTableC(example, { symbol: "1x" })).toThrow(RangeError);
    expect(() => generateResourceTableC(example, { structName: "a-b" })).toThrow(RangeError);
    expect(() => generateResourceTableC(example, { section: 'x"y' })).toThrow(RangeError);
    expect(() => generateResourceTableC(example, { alignment: 3 })).toThrow(RangeError);
    expect(generateResourceTableC(example, { section: false })).not.toContain("section(");
  });
});

describe.skipIf(requireTools("arm-none-eabi-gcc", "arm-none-eabi-objcopy") !== undefined)(
  "generated C compiled by arm-none-eabi-gcc",
  () => {
    it.each([
      ["example", example],
      ["random", randoms[3] as ResourceTableInit],
    ])("the .resource_table section of the %s table holds the serializer's bytes", (_n, t) => {
      const dir = makeTempDir("amp-rsc-arm-");
      const obj = join(dir, "table.o");
      const bin = join(dir, "table.bin");
      const src = join(dir, "table.c");
      writeFileSync(src, generateResourceTableC(t));
      execFileSync("arm-none-eabi-gcc", ["-c", "-O2", "-mcpu=cortex-m4", "-mthumb", ...FLAGS.slice(1), "-o", obj, src]);
      execFileSync("arm-none-eabi-objcopy", ["-O", "binary", "--only-section=.resource_table", obj, bin]);
      expect(toHex(new Uint8Array(readFileSync(bin)))).toBe(toHex(serializeResourceTable(t)));
    });
  },
);
