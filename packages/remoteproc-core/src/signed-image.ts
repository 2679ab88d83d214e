import type { AmpError } from "./errors.js";
import { rprocError } from "./internal/error.js";

/*
 * The @amp signed image, version 1 (all integers little-endian). Ours, not OP-TEE's: a header,
 * an image table, the images, then one signature over everything before it.
 *
 *   off  size  field
 *   0    4     magic "AMPS" (0x53504d41 as u32 LE)
 *   4    2     version = 1
 *   6    2     algorithm: 1 = Ed25519, 2 = ECDSA P-256 with SHA-256 (signature r||s, 64 bytes)
 *   8    4     image count n (1 .. maxImages)
 *   12   4     signature offset S = number of signed bytes, a multiple of 8
 *   16   4     signature length L (64 for both algorithms)
 *   20   4     key id (chosen by the signer, covered by the signature)
 *   24   8     reserved, zero
 *   32   16*n  image table: u32 type (1 = ELF), u32 offset, u32 length, u32 reserved (zero)
 *   ...        images, each at an 8-aligned offset, in table order, inside [32 + 16n, S)
 *   S    L     signature over bytes [0, S)
 *
 * The file ends exactly at S + L. Verification checks the header bounds, then the signature,
 * and only then reads the (now authenticated) image table, so a tampered image never reaches
 * an ELF or resource-table parser.
 */

const MAGIC = 0x53504d41;
const VERSION = 1;
const HEADER_SIZE = 32;
const ENTRY_SIZE = 16;
const SIGNATURE_SIZE = 64;
const LE = true;

/** Signature algorithms of the signed image. */
export const SignatureAlgorithm = {
  ED25519: 1,
  ECDSA_P256_SHA256: 2,
} as const;

/** One of the {@link SignatureAlgorithm} names. */
export type SignatureAlgorithmName = keyof typeof SignatureAlgorithm;

/** Image types in the image table. */
export const SignedImageType = { ELF: 1 } as const;

/** An opaque WebCrypto `CryptoKey` (no DOM types in this package). */
export type CryptoKeyLike = object;

/** The part of WebCrypto's `SubtleCrypto` used here; `globalThis.crypto.subtle` fits it. */
export interface SubtleCryptoLike {
  importKey(
    format: "raw",
    keyData: Uint8Array,
    algorithm: object,
    extractable: boolean,
    keyUsages: string[],
  ): Promise<CryptoKeyLike>;
  verify(algorithm: object, key: CryptoKeyLike, signature: Uint8Array, data: Uint8Array): Promise<boolean>;
  sign(algorithm: object, key: CryptoKeyLike, data: Uint8Array): Promise<ArrayBuffer>;
}

/** A trusted public key: raw bytes (Ed25519: 32; P-256: 65, uncompressed) or an imported CryptoKey. */
export interface TrustedKey {
  readonly algorithm: SignatureAlgorithmName;
  readonly publicKey: Uint8Array | CryptoKeyLike;
  /** When set, the key only verifies images whose header carries this key id. */
  readonly keyId?: number;
}

/** Options of {@link verifySignedImage}. */
export interface VerifySignedImageOptions {
  /** Keys to accept; the first that verifies wins. */
  readonly keys: readonly TrustedKey[];
  /** WebCrypto implementation (default: `globalThis.crypto.subtle`, feature-detected). */
  readonly subtle?: SubtleCryptoLike;
  /** Largest image count accepted (default 8). */
  readonly maxImages?: number;
}

/** An image out of a verified container. */
export interface VerifiedImage {
  readonly type: number;
  readonly bytes: Uint8Array;
}

/** Options of {@link signImage}. */
export interface SignImageOptions {
  readonly algorithm: SignatureAlgorithmName;
  /** Private key (a CryptoKey with usage "sign"). */
  readonly privateKey: CryptoKeyLike;
  /** Key id written into the header (default 0). */
  readonly keyId?: number;
  /** Image type of every image (default ELF). */
  readonly imageType?: number;
  readonly subtle?: SubtleCryptoLike;
}

/**
 * Builds and signs an @amp signed image holding `images` (one or more firmware files).
 * @throws AmpError `ERR_UNSUPPORTED` when no WebCrypto is available.
 * @example
 * const keys = await crypto.subtle.generateKey({ name: "Ed25519" }, false, ["sign", "verify"]);
 * const signed = await signImage([elf], { algorithm: "ED25519", privateKey: keys.privateKey });
 */
export async function signImage(images: readonly Uint8Array[], options: SignImageOptions): Promise<Uint8Array> {
  if (images.length === 0) throw new RangeError("signImage needs at least one image");
  const alg = SignatureAlgorithm[options.algorithm] as number | undefined;
  if (alg === undefined) throw new TypeError(`unknown signature algorithm ${options.algorithm}`);
  const keyId = options.keyId ?? 0;
  if (!Number.isInteger(keyId) || keyId < 0 || keyId > 0xffffffff) throw new RangeError("keyId must be a u32");
  const type = options.imageType ?? SignedImageType.ELF;
  let cursor = align8(HEADER_SIZE + ENTRY_SIZE * images.length);
  const offsets: number[] = [];
  for (const img of images) {
    if (!(img instanceof Uint8Array)) throw new TypeError("images must be Uint8Arrays");
    offsets.push(cursor);
    cursor = align8(cursor + img.length);
  }
  if (cursor + SIGNATURE_SIZE > 0xffffffff) throw new RangeError("images too large for a signed image (4 GiB)");
  const out = new Uint8Array(cursor + SIGNATURE_SIZE);
  const v = new DataView(out.buffer);
  v.setUint32(0, MAGIC, LE);
  v.setUint16(4, VERSION, LE);
  v.setUint16(6, alg, LE);
  v.setUint32(8, images.length, LE);
  v.setUint32(12, cursor, LE);
  v.setUint32(16, SIGNATURE_SIZE, LE);
  v.setUint32(20, keyId, LE);
  images.forEach((img, i) => {
    const e = HEADER_SIZE + ENTRY_SIZE * i;
    v.setUint32(e, type, LE);
    v.setUint32(e + 4, offsets[i] ?? 0, LE);
    v.setUint32(e + 8, img.length, LE);
    out.set(img, offsets[i]);
  });
  const subtle = getSubtle(options.subtle);
  const sig = new Uint8Array(await subtle.sign(algorithmParams(alg), options.privateKey, out.subarray(0, cursor)));
  if (sig.length !== SIGNATURE_SIZE)
    throw rprocError(
      "ERR_UNSUPPORTED",
      `WebCrypto produced a ${sig.length}-byte signature; expected ${SIGNATURE_SIZE}`,
    );
  out.set(sig, cursor);
  return out;
}

/**
 * Checks the container and its signature, then returns the images (copies).
 * @throws AmpError `ERR_MALFORMED` (offset set) for a bad container, `ERR_AUTH` when no trusted key
 * verifies the signature, `ERR_LIMIT` for too many images, `ERR_UNSUPPORTED` without WebCrypto.
 */
export async function verifySignedImage(
  bytes: Uint8Array,
  options: VerifySignedImageOptions,
): Promise<VerifiedImage[]> {
  if (!(bytes instanceof Uint8Array)) throw new TypeError("signed image must be a Uint8Array");
  const maxImages = options.maxImages ?? 8;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < HEADER_SIZE) throw malformed("shorter than the 32-byte header", 0);
  if (v.getUint32(0, LE) !== MAGIC) throw malformed("bad magic (not an @amp signed image)", 0);
  if (v.getUint16(4, LE) !== VERSION) throw malformed(`unsupported version ${v.getUint16(4, LE)}`, 4);
  const alg = v.getUint16(6, LE);
  if (alg !== SignatureAlgorithm.ED25519 && alg !== SignatureAlgorithm.ECDSA_P256_SHA256)
    throw malformed(`unknown algorithm ${alg}`, 6);
  const count = v.getUint32(8, LE);
  if (count === 0) throw malformed("no images", 8);
  if (count > maxImages) throw rprocError("ERR_LIMIT", `${count} images exceed maxImages ${maxImages}`, { offset: 8 });
  const sigOff = v.getUint32(12, LE);
  const sigLen = v.getUint32(16, LE);
  const keyId = v.getUint32(20, LE);
  if (v.getUint32(24, LE) !== 0 || v.getUint32(28, LE) !== 0) throw malformed("reserved header words are not zero", 24);
  if (sigLen !== SIGNATURE_SIZE) throw malformed(`signature length ${sigLen}, expected ${SIGNATURE_SIZE}`, 16);
  const tableEnd = HEADER_SIZE + ENTRY_SIZE * count;
  if (sigOff % 8 !== 0 || sigOff < tableEnd || sigOff > bytes.length || bytes.length - sigOff !== sigLen) {
    throw malformed("signature offset/length do not match the file size", 12);
  }
  // Authenticate before looking at anything the signature covers beyond the header.
  const signed = bytes.subarray(0, sigOff);
  const signature = bytes.subarray(sigOff, sigOff + sigLen);
  const subtle = getSubtle(options.subtle);
  let ok = false;
  for (const key of options.keys) {
    if (SignatureAlgorithm[key.algorithm] !== alg) continue;
    if (key.keyId !== undefined && key.keyId !== keyId) continue;
    const cryptoKey =
      key.publicKey instanceof Uint8Array
        ? await subtle.importKey("raw", key.publicKey, importParams(alg), false, ["verify"])
        : key.publicKey;
    if (await subtle.verify(algorithmParams(alg), cryptoKey, signature, signed)) {
      ok = true;
      break;
    }
  }
  if (!ok) throw rprocError("ERR_AUTH", "signed image: no trusted key verifies the signature");
  const images: VerifiedImage[] = [];
  let prevEnd = tableEnd;
  for (let i = 0; i < count; i++) {
    const e = HEADER_SIZE + ENTRY_SIZE * i;
    const type = v.getUint32(e, LE);
    const off = v.getUint32(e + 4, LE);
    const len = v.getUint32(e + 8, LE);
    if (v.getUint32(e + 12, LE) !== 0) throw malformed(`image ${i}: reserved word is not zero`, e + 12);
    if (off % 8 !== 0 || off < prevEnd || off > sigOff || len > sigOff - off)
      throw malformed(`image ${i}: offset/length out of bounds or out of order`, e + 4);
    images.push({ type, bytes: bytes.slice(off, off + len) });
    prevEnd = off + len;
  }
  return images;
}

function align8(x: number): number {
  return (x + 7) & ~7;
}

function malformed(msg: string, offset: number): AmpError {
  return rprocError("ERR_MALFORMED", `signed image: ${msg}`, { offset });
}

function algorithmParams(alg: number): object {
  return alg === SignatureAlgorithm.ED25519 ? { name: "Ed25519" } : { name: "ECDSA", hash: "SHA-256" };
}

function importParams(alg: number): object {
  return alg === SignatureAlgorithm.ED25519 ? { name: "Ed25519" } : { name: "ECDSA", namedCurve: "P-256" };
}

/** The injected WebCrypto, or the runtime's, looked up lazily (never at module load). */
function getSubtle(injected: SubtleCryptoLike | undefined): SubtleCryptoLike {
  if (injected !== undefined) return injected;
  const g = globalThis as { crypto?: { subtle?: SubtleCryptoLike } };
  const subtle = g.crypto?.subtle;
  if (subtle === undefined)
    throw rprocError("ERR_UNSUPPORTED", "no WebCrypto (globalThis.crypto.subtle); pass options.subtle");
  return subtle;
}
