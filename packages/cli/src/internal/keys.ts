// Signing keys on disk: PKCS#8 PEM private keys and SPKI PEM public keys, Ed25519 or ECDSA
// P-256, imported into WebCrypto (node:crypto's webcrypto, the same API the core verifies with).
import { webcrypto } from "node:crypto";
import { CliError } from "./cli-error.js";

/** The algorithm names of the @amp signed-image format. */
export type KeyAlgorithm = "ED25519" | "ECDSA_P256_SHA256";

const PARAMS: Record<KeyAlgorithm, { name: string; namedCurve?: string }> = {
  ED25519: { name: "Ed25519" },
  ECDSA_P256_SHA256: { name: "ECDSA", namedCurve: "P-256" },
};

/** Parses `ed25519` / `p256` (as users type them). */
export function parseAlgorithm(s: string | undefined): KeyAlgorithm {
  if (s === undefined || /^ed25519$/i.test(s)) return "ED25519";
  if (/^(p-?256|ecdsa(-p-?256)?)$/i.test(s)) return "ECDSA_P256_SHA256";
  throw new CliError(`unknown algorithm "${s}"`, "Use ed25519 or p256.", 2);
}

function pemBody(pem: string, label: string, file: string): Uint8Array {
  const m = new RegExp(`-----BEGIN ${label}-----([\\s\\S]*?)-----END ${label}-----`).exec(pem);
  if (m?.[1] === undefined)
    throw new CliError(`${file}: not a ${label} PEM file`, `Pass a key written by \`amp keygen\` (${label}).`);
  return new Uint8Array(Buffer.from(m[1].replace(/\s+/g, ""), "base64"));
}

function toPem(der: ArrayBuffer, label: string): string {
  const b64 = Buffer.from(der)
    .toString("base64")
    .replace(/(.{64})/g, "$1\n")
    .trimEnd();
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

async function importWithAny(
  format: "pkcs8" | "spki",
  der: Uint8Array,
  usage: "sign" | "verify",
  file: string,
): Promise<{ key: webcrypto.CryptoKey; algorithm: KeyAlgorithm }> {
  for (const algorithm of ["ED25519", "ECDSA_P256_SHA256"] as const) {
    try {
      return { key: await webcrypto.subtle.importKey(format, der, PARAMS[algorithm], false, [usage]), algorithm };
    } catch {
      // try the next algorithm
    }
  }
  throw new CliError(`${file}: not an Ed25519 or P-256 key`, "Create one with `amp keygen`.");
}

/** Imports a PKCS#8 PEM private key. */
export function importPrivateKey(
  pem: string,
  file: string,
): Promise<{ key: webcrypto.CryptoKey; algorithm: KeyAlgorithm }> {
  return importWithAny("pkcs8", pemBody(pem, "PRIVATE KEY", file), "sign", file);
}

/** Imports an SPKI PEM public key. */
export function importPublicKey(
  pem: string,
  file: string,
): Promise<{ key: webcrypto.CryptoKey; algorithm: KeyAlgorithm }> {
  return importWithAny("spki", pemBody(pem, "PUBLIC KEY", file), "verify", file);
}

/** Generates a key pair; returns the two PEM texts. */
export async function generateKeyPair(algorithm: KeyAlgorithm): Promise<{ privatePem: string; publicPem: string }> {
  const usages: webcrypto.KeyUsage[] = ["sign", "verify"];
  const pair = (await webcrypto.subtle.generateKey(PARAMS[algorithm], true, usages)) as webcrypto.CryptoKeyPair;
  return {
    privatePem: toPem(await webcrypto.subtle.exportKey("pkcs8", pair.privateKey), "PRIVATE KEY"),
    publicPem: toPem(await webcrypto.subtle.exportKey("spki", pair.publicKey), "PUBLIC KEY"),
  };
}
