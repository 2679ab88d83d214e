// amp keygen / sign / verify: the @amp signed-image format of @amp/remoteproc-core.
import { signImage, verifySignedImage } from "@amp/remoteproc-core";
import { chmod } from "node:fs/promises";
import { flag, numberOption, stringOption, type Command } from "../internal/command.js";
import { CliError } from "../internal/cli-error.js";
import { readInput, readTextInput, resolvePath, writeOutput } from "../internal/files.js";
import { toJson } from "../internal/format.js";
import {
  generateKeyPair,
  importPrivateKey,
  importPublicKey,
  parseAlgorithm,
  type KeyAlgorithm,
} from "../internal/keys.js";

const JSON_OPTION = { type: "boolean", description: "Print the result as one JSON document." } as const;

/** The algorithm as users type it (and as --json names it). */
function algorithmName(a: KeyAlgorithm): string {
  return a === "ED25519" ? "ed25519" : "p256";
}

/** The algorithm as people read it. */
function algorithmText(a: KeyAlgorithm): string {
  return a === "ED25519" ? "Ed25519" : "ECDSA P-256";
}

const FORMAT = [
  'The signed image (version 1, little-endian): a 32-byte header (magic "AMPS", algorithm,',
  "image count, signature offset and length, key id), an image table, the images, then one",
  "signature (Ed25519 or ECDSA P-256/SHA-256) over everything before it. A verifying loader",
  "checks the signature before any byte of the image is parsed.",
].join("\n");

const keygenCommand: Command = {
  name: "keygen",
  summary: "create a signing key pair (PKCS#8 private key, SPKI public key, PEM)",
  usage: "keygen -o <name> [--algorithm ed25519|p256] [--json]",
  details:
    "Writes <name>.key (private: keep it secret) and <name>.pub (give it to verifiers).\nWith --json: {privateKey, publicKey, algorithm}.",
  options: {
    output: { type: "string", short: "o", value: "NAME", description: "Base name of the two files (required)." },
    algorithm: { type: "string", value: "ALG", description: "ed25519 (default) or p256." },
    json: JSON_OPTION,
  },
  positionals: [0, 0],
  async run(args, io) {
    const out = stringOption(args, "output");
    if (out === undefined)
      throw new CliError("missing --output", "Pass -o <name>: amp writes <name>.key and <name>.pub.", 2);
    const algorithm = parseAlgorithm(stringOption(args, "algorithm"));
    const { privatePem, publicPem } = await generateKeyPair(algorithm);
    await writeOutput(io, `${out}.key`, privatePem);
    await chmod(resolvePath(io, `${out}.key`), 0o600);
    await writeOutput(io, `${out}.pub`, publicPem);
    if (flag(args, "json"))
      io.stdout(toJson({ privateKey: `${out}.key`, publicKey: `${out}.pub`, algorithm: algorithmName(algorithm) }));
    else io.stdout(`wrote ${out}.key (private, ${algorithmText(algorithm)}) and ${out}.pub (public)\n`);
    return 0;
  },
};

const signCommand: Command = {
  name: "sign",
  summary: "wrap firmware in an @amp signed image",
  usage: "sign <firmware.elf>... --key <name.key> -o <signed.img> [--key-id N] [--json]",
  details: `${FORMAT}\n\nWith --json: {output, images, bytes, algorithm, keyId}.`,
  options: {
    key: { type: "string", value: "FILE", description: "Private key (PEM, from `amp keygen`)." },
    output: { type: "string", short: "o", value: "FILE", description: "Signed image to write." },
    "key-id": { type: "string", value: "N", description: "Key id recorded in the header (default 0)." },
    json: JSON_OPTION,
  },
  positionals: [1, 8],
  async run(args, io) {
    const keyFile = stringOption(args, "key");
    const out = stringOption(args, "output");
    if (keyFile === undefined)
      throw new CliError("missing --key", "Pass --key <name.key> (create one with `amp keygen -o name`).", 2);
    if (out === undefined) throw new CliError("missing --output", "Pass -o <signed.img>.", 2);
    const keyId = numberOption("sign", args, "key-id", 0, 0xffffffff) ?? 0;
    const { key, algorithm } = await importPrivateKey(await readTextInput(io, keyFile, "key file"), keyFile);
    const images: Uint8Array[] = [];
    for (const f of args.positionals) images.push(await readInput(io, f, "firmware file"));
    const signed = await signImage(images, { algorithm, privateKey: key, keyId });
    await writeOutput(io, out, signed);
    if (flag(args, "json"))
      io.stdout(
        toJson({
          output: out,
          images: images.length,
          bytes: signed.length,
          algorithm: algorithmName(algorithm),
          keyId,
        }),
      );
    else
      io.stdout(
        `wrote ${out}: ${images.length} image${images.length === 1 ? "" : "s"}, ${signed.length} bytes, ${algorithmText(algorithm)} signature, key id ${keyId}\n`,
      );
    return 0;
  },
};

const verifyCommand: Command = {
  name: "verify",
  summary: "check an @amp signed image against a public key (and extract its firmware)",
  usage: "verify <signed.img> --key <name.pub> [-o firmware.elf] [--json]",
  details: `${FORMAT}\n\nWith --json: {file, verified, algorithm, images: [{type, bytes}], output}; a signature that\ndoes not verify is the error ERR_AUTH (exit 1).`,
  options: {
    key: { type: "string", value: "FILE", description: "Public key (PEM, from `amp keygen`)." },
    output: { type: "string", short: "o", value: "FILE", description: "Write the first verified image here." },
    json: JSON_OPTION,
  },
  positionals: [1, 1],
  async run(args, io) {
    const file = args.positionals[0] ?? "";
    const keyFile = stringOption(args, "key");
    if (keyFile === undefined) throw new CliError("missing --key", "Pass --key <name.pub>.", 2);
    const { key, algorithm } = await importPublicKey(await readTextInput(io, keyFile, "key file"), keyFile);
    const bytes = await readInput(io, file, "signed image");
    let images;
    try {
      images = await verifySignedImage(bytes, { keys: [{ algorithm, publicKey: key }] });
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      if (code === "ERR_AUTH")
        throw new CliError(
          `${file}: signature does NOT verify with ${keyFile}`,
          "The image was modified or signed with another key: do not boot it.",
          1,
          { code: "ERR_AUTH", cause: e },
        );
      throw new CliError(
        `${file}: not a valid signed image (${e instanceof Error ? e.message.replace(/\.$/, "") : String(e)})`,
        "Pass a file written by `amp sign`.",
        1,
        { code: "ERR_MALFORMED", cause: e },
      );
    }
    const json = flag(args, "json");
    if (!json)
      io.stdout(
        `${file}: signature OK (${algorithmText(algorithm)}), ${images.length} image${images.length === 1 ? "" : "s"}: ${images.map((i) => `${i.type === 1 ? "ELF" : `type ${i.type}`} ${i.bytes.length} bytes`).join(", ")}\n`,
      );
    const out = stringOption(args, "output");
    const first = images[0];
    const written = out !== undefined && first !== undefined;
    if (written) {
      await writeOutput(io, out, first.bytes);
      if (!json) io.stdout(`wrote ${out}\n`);
    }
    // One document, after the write: a failed write is then the only output (the error).
    if (json)
      io.stdout(
        toJson({
          file,
          verified: true,
          algorithm: algorithmName(algorithm),
          images: images.map((i) => ({ type: i.type, bytes: i.bytes.length })),
          output: written ? out : null,
        }),
      );
    return 0;
  },
};

/** keygen, sign, verify. */
export const signCommands: readonly Command[] = [keygenCommand, signCommand, verifyCommand];
