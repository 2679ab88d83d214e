import { describe, expect, it } from "vitest";
import { webcrypto } from "node:crypto";
import {
  createSignedImageLoader,
  isAmpError,
  isStepError,
  signImage,
  verifySignedImage,
  type FirmwareLoader,
  type SubtleCryptoLike,
  type TrustedKey,
} from "@amp/remoteproc-core";
import { firmware, makePlatform } from "../helpers/fixture.ts";

const subtle = webcrypto.subtle as unknown as SubtleCryptoLike;

async function edKeys() {
  const k = (await webcrypto.subtle.generateKey({ name: "Ed25519" }, true, [
    "sign",
    "verify",
  ])) as webcrypto.CryptoKeyPair;
  const raw = new Uint8Array(await webcrypto.subtle.exportKey("raw", k.publicKey));
  return { privateKey: k.privateKey, trusted: { algorithm: "ED25519", publicKey: raw } as TrustedKey };
}

async function p256Keys() {
  const k = await webcrypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"]);
  const raw = new Uint8Array(await webcrypto.subtle.exportKey("raw", k.publicKey));
  return { privateKey: k.privateKey, trusted: { algorithm: "ECDSA_P256_SHA256", publicKey: raw } as TrustedKey };
}

describe("signed images", () => {
  it("round-trips one and several images with Ed25519 and ECDSA P-256", async () => {
    for (const [alg, keys] of [
      ["ED25519", await edKeys()],
      ["ECDSA_P256_SHA256", await p256Keys()],
    ] as const) {
      const a = new Uint8Array([1, 2, 3]);
      const b = new Uint8Array(1000).fill(7);
      const signed = await signImage([a, b], { algorithm: alg, privateKey: keys.privateKey, keyId: 5 });
      expect(signed.length % 8).toBe(0);
      const images = await verifySignedImage(signed, { keys: [keys.trusted] });
      expect(images.map((i) => [i.type, i.bytes.length])).toEqual([
        [1, 3],
        [1, 1000],
      ]);
      expect([...images[0]!.bytes]).toEqual([1, 2, 3]);
    }
  });

  it("documents its header bytes", async () => {
    const { privateKey } = await edKeys();
    const signed = await signImage([new Uint8Array(5)], { algorithm: "ED25519", privateKey, keyId: 0x11223344 });
    const hex = Buffer.from(signed.subarray(0, 48)).toString("hex");
    // magic "AMPS", version 1, alg 1, 1 image, signature at 56 (48 + 5 -> 8-aligned), length 64, key id
    expect(hex).toBe(
      "414d5053" +
        "0100" +
        "0100" +
        "01000000" +
        "38000000" +
        "40000000" +
        "44332211" +
        "0000000000000000" +
        "01000000" +
        "30000000" +
        "05000000" +
        "00000000",
    );
  });

  it("any flipped byte fails with ERR_AUTH, ERR_MALFORMED or ERR_LIMIT, never anything else", async () => {
    const { privateKey, trusted } = await edKeys();
    const signed = await signImage([new Uint8Array(40).fill(3)], { algorithm: "ED25519", privateKey });
    for (let i = 0; i < signed.length; i++) {
      const t = signed.slice();
      t[i]! ^= 0x01;
      const e = await verifySignedImage(t, { keys: [trusted] }).catch((x: unknown) => x);
      expect(isAmpError(e), `byte ${i}`).toBe(true);
      expect(["ERR_AUTH", "ERR_MALFORMED", "ERR_LIMIT"]).toContain((e as { code: string }).code);
    }
  });

  it("rejects wrong keys, key id mismatch, truncation, too many images", async () => {
    const a = await edKeys();
    const b = await edKeys();
    const signed = await signImage([new Uint8Array(8)], { algorithm: "ED25519", privateKey: a.privateKey, keyId: 1 });
    const code = async (p: Promise<unknown>) => ((await p.catch((x: unknown) => x)) as { code?: string }).code;
    expect(await code(verifySignedImage(signed, { keys: [b.trusted] }))).toBe("ERR_AUTH");
    expect(await code(verifySignedImage(signed, { keys: [{ ...a.trusted, keyId: 2 }] }))).toBe("ERR_AUTH");
    expect(await code(verifySignedImage(signed, { keys: [{ ...a.trusted, keyId: 1 }] }))).toBeUndefined();
    expect(await code(verifySignedImage(signed.subarray(0, signed.length - 1), { keys: [a.trusted] }))).toBe(
      "ERR_MALFORMED",
    );
    expect(await code(verifySignedImage(new Uint8Array(10), { keys: [a.trusted] }))).toBe("ERR_MALFORMED");
    const many = await signImage([new Uint8Array(1), new Uint8Array(1), new Uint8Array(1)], {
      algorithm: "ED25519",
      privateKey: a.privateKey,
    });
    expect(await code(verifySignedImage(many, { keys: [a.trusted], maxImages: 2 }))).toBe("ERR_LIMIT");
  });

  it("reports a missing WebCrypto as ERR_UNSUPPORTED", async () => {
    const saved = Object.getOwnPropertyDescriptor(globalThis, "crypto");
    Object.defineProperty(globalThis, "crypto", { value: undefined, configurable: true });
    try {
      const e = await verifySignedImage(
        new Uint8Array(200).map(
          (_, i) => [0x41, 0x4d, 0x50, 0x53, 1, 0, 1, 0, 1, 0, 0, 0, 0x38, 0, 0, 0, 0x40][i] ?? 0,
        ),
        { keys: [] },
      ).catch((x: unknown) => x);
      expect((e as { code?: string }).code).toBe("ERR_MALFORMED");
      const e2 = await signImage([new Uint8Array(1)], { algorithm: "ED25519", privateKey: {} }).catch(
        (x: unknown) => x,
      );
      expect(isAmpError(e2) && e2.code).toBe("ERR_UNSUPPORTED");
    } finally {
      if (saved) Object.defineProperty(globalThis, "crypto", saved);
    }
  });

  it("boots a signed firmware; a tampered one never reaches the ELF or table parser", async () => {
    const { privateKey, trusted } = await edKeys();
    const fw = firmware();
    const signed = await signImage([fw], { algorithm: "ED25519", privateKey });
    let innerCalls = 0;
    const inner = (await import("@amp/remoteproc-core")).createElfLoader();
    const spy: FirmwareLoader = {
      loadAndVerify: (b, c) => {
        innerCalls++;
        return inner.loadAndVerify(b, c);
      },
      release: (f) => inner.release(f),
    };
    const loader = createSignedImageLoader({ keys: [trusted], inner: spy, subtle });
    const p = makePlatform({ loader, fw: signed });
    await p.rproc.boot();
    expect(p.rproc.state).toBe("running");
    expect(innerCalls).toBe(1);
    await p.rproc.shutdown();
    const tampered = signed.slice();
    tampered[200]! ^= 0xff;
    p.source.set("fw.elf", tampered);
    const e = await p.rproc.boot().catch((x: unknown) => x);
    expect(isStepError(e) && e.step).toBe("loadAndVerify");
    expect(((e as Error).cause as { code: string }).code).toBe("ERR_AUTH");
    expect(innerCalls).toBe(1);
    expect(p.rproc.allocatedBytes).toBe(0);
  });

  it("several images load in order; two resource tables are refused", async () => {
    const { privateKey, trusted } = await edKeys();
    const loader = createSignedImageLoader({ keys: [trusted] });
    const two = await signImage([firmware(), firmware({ table: null, code: new Uint8Array([9]) })], {
      algorithm: "ED25519",
      privateKey,
    });
    const fw = await loader.loadAndVerify(two, { firmwareName: "x", rprocName: "y" });
    expect(fw.resourceTable).toBeDefined();
    await loader.release(fw);
    const bad = await signImage([firmware(), firmware()], { algorithm: "ED25519", privateKey });
    const e = await Promise.resolve(loader.loadAndVerify(bad, { firmwareName: "x", rprocName: "y" })).catch(
      (x: unknown) => x,
    );
    expect(isAmpError(e) && e.code).toBe("ERR_MALFORMED");
  });
});
