import { describe, expect, it } from "vitest";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { isAmpError } from "@amp/remoteproc-core";
import { createDirectoryFirmwareSource } from "@amp/node";
import { makeTempDir } from "@amp/test-utils";

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
    const e: unknown = await createDirectoryFirmwareSource(dir, { maxImageSize: 10 }).get("big.elf").catch((x: unknown) => x);
    expect(isAmpError(e) && e.code).toBe("ERR_LIMIT");
  });
});
