import { describe, expect, it } from "vitest";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { serializeResourceTable, FW_RSC_ADDR_ANY } from "@amp/resource-table";
import { makeTempDir, toHex } from "@amp/test-utils";
import { isOneLine, runAmp } from "../helpers.ts";

const dir = makeTempDir("amp-rsc-");

const TABLE = {
  entries: [
    { kind: "carveout" as const, da: 0x10000000, len: 0x8000, name: "sram" },
    {
      kind: "vdev" as const,
      id: 7,
      dfeatures: 1,
      vrings: [
        { align: 4096, num: 256 },
        { align: 4096, num: 256 },
      ],
    },
    { kind: "trace" as const, da: 0x20000, len: 0x400, name: "trace" },
    { kind: "vendor" as const, type: 200, data: Uint8Array.of(1, 2, 3, 4) },
  ],
};

describe("amp rsc", () => {
  it("decodes a binary table to JSON with hex addresses and encodes it back identically", async () => {
    const bin = join(dir, "t.bin");
    const bytes = serializeResourceTable(TABLE);
    writeFileSync(bin, bytes);
    const d = await runAmp(["rsc", "decode", bin]);
    expect(d.code).toBe(0);
    const doc = JSON.parse(d.stdout);
    expect(doc.entries[0]).toMatchObject({
      kind: "carveout",
      da: "0x10000000",
      len: "0x8000",
      name: "sram",
      pa: "0xffffffff",
    });
    expect(doc.entries[3]).toMatchObject({ kind: "vendor", type: 200, data: "01020304" });
    const json = join(dir, "t.json");
    writeFileSync(json, d.stdout);
    const out = join(dir, "t2.bin");
    expect((await runAmp(["rsc", "encode", json, "-o", out])).code).toBe(0);
    expect(toHex(new Uint8Array(readFileSync(out)))).toBe(toHex(bytes));
  });

  it("encodes a hand-written table with computed offsets and ANY defaults", async () => {
    const json = join(dir, "hand.json");
    writeFileSync(
      json,
      JSON.stringify({
        entries: [
          {
            kind: "vdev",
            id: 7,
            dfeatures: "0x1",
            vrings: [
              { align: 4096, num: 8 },
              { align: "0x1000", num: 8 },
            ],
          },
          { kind: "trace", da: "0x3000", len: 512, name: "log" },
        ],
      }),
    );
    const out = join(dir, "hand.bin");
    const r = await runAmp(["rsc", "encode", json, "-o", out]);
    expect(r.code, r.stderr).toBe(0);
    const expected = serializeResourceTable({
      entries: [
        {
          kind: "vdev",
          id: 7,
          dfeatures: 1,
          vrings: [
            { align: 4096, num: 8, da: FW_RSC_ADDR_ANY },
            { align: 4096, num: 8 },
          ],
        },
        { kind: "trace", da: 0x3000, len: 512, name: "log" },
      ],
    });
    expect(toHex(new Uint8Array(readFileSync(out)))).toBe(toHex(expected));
  });

  it("encode and c refuse a bad binary table without suggesting a flag they do not take (issue 15 item 12)", async () => {
    const bin = join(dir, "bad-ver.bin");
    const b = serializeResourceTable(TABLE);
    new DataView(b.buffer, b.byteOffset).setUint32(12, 1, true); // reserved[1] != 0: Linux rejects it
    writeFileSync(bin, b);
    for (const argv of [
      ["rsc", "encode", bin, "-o", join(dir, "never.bin")],
      ["rsc", "c", bin],
    ]) {
      const r = await runAmp(argv);
      expect(r.code).toBe(1);
      expect(isOneLine(r.stderr)).toBe(true);
      expect(r.stderr).toMatch(/RSC_HEADER_RESERVED_NONZERO/);
      // The old hint was "pass --force", which encode and c reject as an unknown option.
      expect(r.stderr).not.toMatch(/pass --force/);
      expect(r.stderr).toMatch(/`amp rsc decode --force`/);
      expect((await runAmp([...argv, "--force"])).stderr).toMatch(/unknown option "--force"/);
    }
    // decode does take --force, and says so.
    const d = await runAmp(["rsc", "decode", bin]);
    expect(d.code).toBe(1);
    expect(d.stderr).toMatch(/pass --force/);
    expect((await runAmp(["rsc", "decode", bin, "--force"])).code).toBe(0);
  });

  it("prints readable text with --text", async () => {
    const bin = join(dir, "text.bin");
    writeFileSync(bin, serializeResourceTable(TABLE));
    const r = await runAmp(["rsc", "decode", bin, "--text"]);
    expect(r.stdout).toMatch(/carveout "sram": da 0x10000000, pa ANY, len 0x8000/);
    expect(r.stdout).toMatch(/vring1: da ANY, align 4096, num 256/);
  });

  it("names the JSON path of a bad field in one line", async () => {
    const json = join(dir, "bad.json");
    writeFileSync(json, JSON.stringify({ entries: [{ kind: "trace", da: "0x3000", len: "lots" }] }));
    const r = await runAmp(["rsc", "encode", json, "-o", join(dir, "x.bin")]);
    expect(r.code).toBe(1);
    expect(isOneLine(r.stderr)).toBe(true);
    expect(r.stderr).toContain("$.entries[0].len");
  });

  it("refuses to encode a table Linux would reject (vring num not a power of two)", async () => {
    const json = join(dir, "npot.json");
    writeFileSync(json, JSON.stringify({ entries: [{ kind: "vdev", id: 7, vrings: [{ align: 4096, num: 3 }] }] }));
    const r = await runAmp(["rsc", "encode", json, "-o", join(dir, "y.bin")]);
    expect(r.code).toBe(1);
    expect(isOneLine(r.stderr)).toBe(true);
    expect(r.stderr).toMatch(/RSC_VRING_NUM_NOT_POWER_OF_2|power of/);
  });

  it("rejects invalid JSON syntax in one line", async () => {
    const json = join(dir, "syntax.json");
    writeFileSync(json, "{ entries: [");
    const r = await runAmp(["rsc", "c", json]);
    expect(r.code).toBe(1);
    expect(isOneLine(r.stderr)).toBe(true);
    expect(r.stderr).toMatch(/not valid JSON/);
  });

  it("writes C with the chosen symbol name", async () => {
    const bin = join(dir, "c.bin");
    writeFileSync(bin, serializeResourceTable(TABLE));
    const r = await runAmp(["rsc", "c", bin, "--name", "rproc_table"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/struct amp_resource_table rproc_table/);
    expect(r.stdout).toMatch(/\n$/);
    const bad = await runAmp(["rsc", "c", bin, "--name", "1bad"]);
    expect(bad.code).toBe(2);
  });
});
