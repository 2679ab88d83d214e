// Split firmware (issue 15 item 6): a Qualcomm-style `.mdt` (ELF header and program headers)
// whose segments are in `.bNN` files beside it, read from the same firmware source. The core
// boots it, recovers it, and refuses it clearly when a companion is missing or cannot be trusted.
import { webcrypto } from "node:crypto";
import { describe, expect, it } from "vitest";
import { parseElf } from "@amp/elf-loader";
import { parseResourceTable } from "@amp/resource-table";
import {
  createSignedImageLoader,
  isAmpError,
  isStepError,
  signImage,
  type SubtleCryptoLike,
  type TrustedKey,
} from "@amp/remoteproc-core";
import { buildElf } from "../helpers/elf.ts";
import { ENTRY, RSC_DA, defaultTable, makePlatform } from "../helpers/fixture.ts";

const CODE = new Uint8Array(64).map((_, i) => i + 1);

/**
 * Splits an ELF as Qualcomm's tools do: `<base>.mdt` is everything before the first segment's
 * bytes, `<base>.bNN` holds the bytes of program header NN.
 */
function split(elf: Uint8Array, base: string): Map<string, Uint8Array> {
  const phdrs = parseElf(elf).programHeaders.filter((p) => p.filesz > 0n);
  const first = Math.min(...phdrs.map((p) => Number(p.offset)));
  const files = new Map<string, Uint8Array>([[`${base}.mdt`, elf.slice(0, first)]]);
  for (const p of phdrs)
    files.set(`${base}.b${String(p.index).padStart(2, "0")}`, elf.slice(Number(p.offset), Number(p.offset + p.filesz)));
  return files;
}

function image(sectionsFirst: boolean): Uint8Array {
  return buildElf({
    entry: ENTRY,
    segments: [{ paddr: 0x100, data: CODE, memsz: CODE.length + 32 }],
    resourceTable: { addr: RSC_DA, bytes: defaultTable() },
    sectionsFirst,
  });
}

function splitPlatform(files: Map<string, Uint8Array>, extra: Parameters<typeof makePlatform>[0] = {}) {
  const p = makePlatform({ fw: null, firmware: "fw.mdt", ...extra });
  for (const [name, bytes] of files) p.source.set(name, bytes);
  return p;
}

describe("split firmware (.mdt + .bNN)", () => {
  it("boots from the .mdt and its companions: segments at p_paddr, the table installed", async () => {
    const files = split(image(true), "fw");
    expect([...files.keys()]).toEqual(["fw.mdt", "fw.b00", "fw.b01"]);
    const p = splitPlatform(files);
    p.memory.fill(0x100, 0x100, 0xee);
    await p.rproc.boot();
    expect(p.rproc.state).toBe("running");
    expect(p.driver.log).toContain(`start ${ENTRY}`);
    expect([...p.read(0x100, CODE.length)]).toEqual([...CODE]);
    expect([...p.read(0x100 + CODE.length, 32)]).toEqual(new Array(32).fill(0));
    const live = parseResourceTable(p.read(RSC_DA, defaultTable().length));
    const vdev = live.entries.find((e) => e.kind === "vdev");
    expect(vdev?.kind === "vdev" && vdev.vrings.map((v) => v.notifyId)).toEqual([0, 1]);
    expect(p.rproc.vdevs).toHaveLength(1);
    expect(p.errors).toEqual([]);
  });

  it("reads the companions again on recovery", async () => {
    const files = split(image(true), "fw");
    const p = splitPlatform(files, { recovery: "enabled" });
    const reads: string[] = [];
    const get = p.source.get.bind(p.source);
    p.source.get = (name) => {
      reads.push(name);
      return get(name);
    };
    await p.rproc.boot();
    await p.rproc.reportCrash("fatal error");
    expect(p.rproc.state).toBe("running");
    expect(reads).toEqual(["fw.mdt", "fw.b00", "fw.b01", "fw.mdt", "fw.b00", "fw.b01"]);
    expect(p.loader.loads).toBe(2);
    expect(p.errors).toEqual([]);
  });

  it("boots a split whose section headers were not kept, without a resource table (as Qualcomm remotes run)", async () => {
    const files = split(image(false), "fw");
    const p = splitPlatform(files);
    await p.rproc.boot();
    expect(p.rproc.state).toBe("running");
    expect(p.rproc.resourceTable).toBeUndefined();
    expect([...p.read(0x100, CODE.length)]).toEqual([...CODE]);
  });

  it("refuses a missing companion with ERR_NO_FIRMWARE naming it, before anything is prepared", async () => {
    const files = split(image(true), "fw");
    files.delete("fw.b01");
    const p = splitPlatform(files);
    const e: unknown = await p.rproc.boot().catch((x: unknown) => x);
    expect(isStepError(e) && e.step).toBe("loadAndVerify");
    const cause = (e as Error).cause;
    expect(isAmpError(cause) && cause.code).toBe("ERR_NO_FIRMWARE");
    expect((cause as Error).message).toMatch(/fw\.b01/);
    expect(p.driver.log).toEqual([]);
    expect(p.rproc.allocatedBytes).toBe(0);
  });

  it("refuses a split image inside a signed container: its companions are not authenticated", async () => {
    const files = split(image(true), "fw");
    const k = (await webcrypto.subtle.generateKey({ name: "Ed25519" }, true, [
      "sign",
      "verify",
    ])) as webcrypto.CryptoKeyPair;
    const trusted: TrustedKey = {
      algorithm: "ED25519",
      publicKey: new Uint8Array(await webcrypto.subtle.exportKey("raw", k.publicKey)),
    };
    const subtle = webcrypto.subtle as unknown as SubtleCryptoLike;
    const signed = await signImage([files.get("fw.mdt") ?? new Uint8Array()], {
      algorithm: "ED25519",
      privateKey: k.privateKey,
      subtle,
    });
    files.set("fw.mdt", signed);
    const p = splitPlatform(files, { loader: createSignedImageLoader({ keys: [trusted], subtle }) });
    const e: unknown = await p.rproc.boot().catch((x: unknown) => x);
    expect(isStepError(e) && e.step).toBe("loadAndVerify");
    const cause = (e as Error).cause;
    expect(isAmpError(cause) && cause.code).toBe("ERR_UNSUPPORTED");
    expect((cause as Error).message).toMatch(/fw\.b00/);
  });

  it("still refuses a truncated ELF whose name is not .mdt as truncated (no companion lookup)", async () => {
    const whole = image(true);
    const p = makePlatform({ fw: whole.slice(0, whole.length - 8) });
    const e: unknown = await p.rproc.boot().catch((x: unknown) => x);
    expect(isStepError(e) && e.step).toBe("loadAndVerify");
    expect((e as Error).message).toMatch(/SEGMENT_PAST_EOF/);
  });
});
