// amp keygen / sign / verify: the @amp signed-image format of @amp/remoteproc-core.
import { signImage, verifySignedImage } from "@amp/remoteproc-core";
import { chmod } from "node:fs/promises";
import { numberOption, stringOption, type Command } from "../internal/command.js";
import { CliError } from "../internal/cli-error.js";
import { readInput, readTextInput, resolvePath, writeOutput } from "../internal/files.js";
import { generateKeyPair, importPrivateKey, importPublicKey, parseAlgorithm } from "../internal/keys.js";

const FORMAT = [
  "The signed image (version 1, little-endian): a 32-byte header (magic \"AMPS\", algorithm,",
  "image count, signature offset and length, key id), an image table, the images, then one",
  "signature (Ed25519 or ECDSA P-256/SHA-256) over everything before it. A verifying loader",
  "checks the signature before any byte of the image is parsed.",
].join("\n");

const keygenCommand: Command = {
  name: "keygen",
  summary: "create a signing key pair (PKCS#8 private key, SPKI public key, PEM)",
  usage: "keygen -o <name> [--algorithm ed25519|p256]",
  details: "Writes <name>.key (private: keep it secret) and <name>.pub (give it to verifiers).",
  options: {
    output: { type: "string", short: "o", value: "NAME", description: "Base name of the two files (required)." },
    algorithm: { type: "string", value: "ALG", description: "ed25519 (default) or p256." },
  },
  positionals: [0, 0],
  async run(args, io) {
    const out = stringOption(args, "output");
    if (out === undefined) throw new CliError("missing --output", "Pass -o <name>: amp writes <name>.key and <name>.pub.", 2);
    const algorithm = parseAlgorithm(stringOption(args, "algorithm"));
    const { privatePem, publicPem } = await generateKeyPair(algorithm);
    await writeOutput(io, `${out}.key`, privatePem);
    await chmod(resolvePath(io, `${out}.key`), 0o600);
    await writeOutput(io, `${out}.pub`, publicPem);
    io.stdout(`wrote ${out}.key (private, ${algorithm === "ED25519" ? "Ed25519" : "ECDSA P-256"}) and ${out}.pub (public)\n`);
    return 0;
  },
};

const signCommand: Command = {
  name: "sign",
  summary: "wrap firmware in an @amp signed image",
  usage: "sign <firmware.elf>... --key <name.key> -o <signed.img> [--key-id N]",
  details: FORMAT,
  options: {
    key: { type: "string", value: "FILE", description: "Private key (PEM, from `amp keygen`)." },
    output: { type: "string", short: "o", value: "FILE", description: "Signed image to write." },
    "key-id": { type: "string", value: "N", description: "Key id recorded in the header (default 0)." },
  },
  positionals: [1, 8],
  async run(args, io) {
    const keyFile = stringOption(args, "key");
    const out = stringOption(args, "output");
    if (keyFile === undefined) throw new CliError("missing --key", "Pass --key <name.key> (create one with `amp keygen -o name`).", 2);
    if (out === undefined) throw new CliError("missing --output", "Pass -o <signed.img>.", 2);
    const keyId = numberOption("sign", args, "key-id", 0, 0xffffffff) ?? 0;
    const { key, algorithm } = await importPrivateKey(await readTextInput(io, keyFile, "key file"), keyFile);
    const images: Uint8Array[] = [];
    for (const f of args.positionals) images.push(await readInput(io, f, "firmware file"));
    const signed = await signImage(images, { algorithm, privateKey: key, keyId });
    await writeOutput(io, out, signed);
    io.stdout(`wrote ${out}: ${images.length} image${images.length === 1 ? "" : "s"}, ${signed.length} bytes, ${algorithm === "ED25519" ? "Ed25519" : "ECDSA P-256"} signature, key id ${keyId}\n`);
    return 0;
  },
};

const verifyCommand: Command = {
  name: "verify",
  summary: "check an @amp signed image against a public key (and extract its firmware)",
  usage: "verify <signed.img> --key <name.pub> [-o firmware.elf]",
  details: FORMAT,
  options: {
    key: { type: "string", value: "FILE", description: "Public key (PEM, from `amp keygen`)." },
    output: { type: "string", short: "o", value: "FILE", description: "Write the first verified image here." },
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
      if (code === "ERR_AUTH") throw new CliError(`${file}: signature does NOT verify with ${keyFile}`, "The image was modified or signed with another key: do not boot it.");
      throw new CliError(`${file}: not a valid signed image (${e instanceof Error ? e.message.replace(/\.$/, "") : String(e)})`, "Pass a file written by `amp sign`.");
    }
    io.stdout(`${file}: signature OK (${algorithm === "ED25519" ? "Ed25519" : "ECDSA P-256"}), ${images.length} image${images.length === 1 ? "" : "s"}: ${images.map((i) => `${i.type === 1 ? "ELF" : `type ${i.type}`} ${i.bytes.length} bytes`).join(", ")}\n`);
    const out = stringOption(args, "output");
    const first = images[0];
    if (out !== undefined && first !== undefined) {
      await writeOutput(io, out, first.bytes);
      io.stdout(`wrote ${out}\n`);
    }
    return 0;
  },
};

/** keygen, sign, verify. */
export const signCommands: readonly Command[] = [keygenCommand, signCommand, verifyCommand];
