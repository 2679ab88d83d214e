// amp coredump on an ELF that is not a core (issue 15 item 11): a one-line error and a
// non-zero exit, never "core of None" with status 0.
import { describe, expect, it } from "vitest";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildJsFirmware } from "@amp/node";
import { makeTempDir } from "@amp/test-utils";
import { TEST_TABLE } from "../fixtures.ts";
import { isOneLine, runAmp } from "../helpers.ts";

describe("amp coredump", () => {
  it("refuses a firmware ELF (ET_EXEC) with one line that says what the file is", async () => {
    const dir = makeTempDir("amp-core-");
    const fw = join(dir, "fw.elf");
    writeFileSync(fw, buildJsFirmware({ program: "export default async () => {};\n", resourceTable: TEST_TABLE }));
    for (const extra of [[], ["--json"]]) {
      const r = await runAmp(["coredump", fw, ...extra]);
      expect(r.code).toBe(1);
      // With --json the failure is also the JSON document (src/internal/json-out.ts).
      if (extra.length === 0) expect(r.stdout).toBe("");
      else
        expect(JSON.parse(r.stdout)).toMatchObject({
          error: { code: "ERR_NOT_CORE", message: expect.stringMatching(/not a core file .*ET_EXEC/) as string },
        });
      expect(isOneLine(r.stderr)).toBe(true);
      expect(r.stderr).toMatch(/not a core file/);
      expect(r.stderr).toMatch(/ET_EXEC/);
      expect(r.stderr).toMatch(/amp inspect/);
      expect(r.stderr).not.toMatch(/None/);
    }
  });
});
