import { describe, expect, it } from "vitest";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { isAmpError } from "@amp/remoteproc-core";
import { buildJsFirmware, createDirectoryFirmwareSource } from "@amp/node";
import { makeTempDir, splitElf } from "@amp/test-utils";
import { SMALL_RPMSG_TABLE } from "../helpers.ts";

describe("createDirectoryFirmwareSource", () => {
  it("reads an existing image and says undefined for a missing one", async () => {
    const dir = makeTempDir("amp-fwdir-");
    writeFileSync(join(dir, "a.elf"), Uint8Array.of(1, 2, 3));
    const src = createDirectoryFirmwareSource(dir);
    expect([...((await src.get("a.elf")) ?? [])]).toEqual([1, 2, 3]);
    expect(await src.get("b.elf")).toBeUndefined();
  });

  it("refuses names with directory parts", async () => {
    const src = createDirectoryFirmwareSource(makeTempDir("amp-fwdir-"));
    await expect(src.get("../etc/passwd")).rejects.toThrow(TypeError);
    expect(() => src.waitFor("a/b")).toThrow(TypeError);
  });

  it("waits for an image that appears later", async () => {
    const dir = makeTempDir("amp-fwdir-");
    const src = createDirectoryFirmwareSource(dir, { pollMs: 20 });
    const pending = src.waitFor("late.elf");
    setTimeout(() => writeFileSync(join(dir, "late.elf"), Uint8Array.of(9, 8, 7)), 50);
    expect([...(await pending)]).toEqual([9, 8, 7]);
  });

  it("waits in a directory that does not exist yet (a late mount)", async () => {
    const root = makeTempDir("amp-fwdir-");
    const dir = join(root, "mnt");
    const src = createDirectoryFirmwareSource(dir, { pollMs: 20 });
    const pending = src.waitFor("fw.elf");
    setTimeout(() => {
      mkdirSync(dir);
      writeFileSync(join(dir, "fw.elf"), Uint8Array.of(5));
    }, 50);
    expect([...(await pending)]).toEqual([5]);
  });

  it("stops waiting with ERR_ABORTED when the signal aborts", async () => {
    const src = createDirectoryFirmwareSource(makeTempDir("amp-fwdir-"), { pollMs: 20 });
    const ac = new AbortController();
    const pending = src.waitFor("never.elf", { signal: ac.signal });
    ac.abort();
    const e: unknown = await pending.catch((x: unknown) => x);
    expect(isAmpError(e) && e.code).toBe("ERR_ABORTED");
  });

  it("refuses an image above the size limit with ERR_LIMIT", async () => {
    const dir = makeTempDir("amp-fwdir-");
    writeFileSync(join(dir, "big.elf"), new Uint8Array(100));
    const e: unknown = await createDirectoryFirmwareSource(dir, { maxImageSize: 10 })
      .get("big.elf")
      .catch((x: unknown) => x);
    expect(isAmpError(e) && e.code).toBe("ERR_LIMIT");
  });

  describe("split firmware (.mdt + .bNN, issue 15 item 6)", () => {
    const files = splitElf(
      buildJsFirmware({ program: "export default async () => {};\n", resourceTable: SMALL_RPMSG_TABLE }),
      "fw",
      { keepSections: true },
    );
    const mdt = files.get("fw.mdt") ?? new Uint8Array();
    const companions = [...files].filter(([n]) => n !== "fw.mdt");

    it("serves the companions by name beside the .mdt", async () => {
      const dir = makeTempDir("amp-fwdir-");
      for (const [n, b] of files) writeFileSync(join(dir, n), b);
      const src = createDirectoryFirmwareSource(dir);
      expect([...((await src.get("fw.mdt")) ?? [])]).toEqual([...mdt]);
      for (const [n, b] of companions) expect([...((await src.get(n)) ?? [])]).toEqual([...b]);
    });

    it("waitFor on an .mdt resolves only once every companion it names is complete", async () => {
      expect(companions.length).toBeGreaterThanOrEqual(2);
      const dir = makeTempDir("amp-fwdir-");
      writeFileSync(join(dir, "fw.mdt"), mdt);
      const [first, ...rest] = companions;
      writeFileSync(join(dir, first![0]), first![1]);
      const src = createDirectoryFirmwareSource(dir, { pollMs: 5 });
      let companionsOnDisk: boolean | undefined;
      const pending = src.waitFor("fw.mdt").then((image) => {
        companionsOnDisk = rest.every(([n]) => existsSync(join(dir, n)));
        return image;
      });
      // Give the old behaviour (resolve as soon as the .mdt is stable, two 5 ms polls) ample
      // time to resolve early; a slow machine can only make this check weaker, never fail it.
      await new Promise((r) => setTimeout(r, 300));
      expect(companionsOnDisk).toBeUndefined();
      // A companion still being written (short) does not count either.
      const [last] = rest.slice(-1);
      for (const [n, b] of rest) writeFileSync(join(dir, n), n === last![0] ? b.subarray(0, 1) : b);
      await new Promise((r) => setTimeout(r, 300));
      expect(companionsOnDisk).toBeUndefined();
      writeFileSync(join(dir, last![0]), last![1]);
      expect([...(await pending)]).toEqual([...mdt]);
      expect(companionsOnDisk).toBe(true);
    });
  });
});
