import { createElfLoader } from "./elf-loader.js";
import { rprocError } from "./internal/error.js";
import type { FirmwareLoader, LoadedFirmware, LoaderContext } from "./loader.js";
import { verifySignedImage, type SubtleCryptoLike, type TrustedKey } from "./signed-image.js";

/** Options of {@link createSignedImageLoader}. */
export interface SignedImageLoaderOptions {
  /** Public keys to trust. */
  readonly keys: readonly TrustedKey[];
  /** Loader for each verified image (default: the ELF loader). */
  readonly inner?: FirmwareLoader;
  /** WebCrypto (default `globalThis.crypto.subtle`). */
  readonly subtle?: SubtleCryptoLike;
  /** Largest image count (default 8). */
  readonly maxImages?: number;
}

/**
 * A loader for @amp signed images: `loadAndVerify` checks the signature first, so a tampered
 * image fails with `ERR_AUTH` before any ELF or resource-table parser sees it; then each image
 * goes through the inner loader. Several images load in order; the boot address is the first
 * image's; at most one image may carry a resource table (as OP-TEE). `release` releases every
 * inner image.
 * @example
 * const loader = createSignedImageLoader({ keys: [{ algorithm: "ED25519", publicKey: rawKey }] });
 */
export function createSignedImageLoader(options: SignedImageLoaderOptions): FirmwareLoader {
  const inner = options.inner ?? createElfLoader();
  const parts = new WeakMap<LoadedFirmware, LoadedFirmware[]>();
  return {
    async loadAndVerify(image: Uint8Array, context: LoaderContext): Promise<LoadedFirmware> {
      const images = await verifySignedImage(image, {
        keys: options.keys,
        ...(options.subtle === undefined ? {} : { subtle: options.subtle }),
        ...(options.maxImages === undefined ? {} : { maxImages: options.maxImages }),
      });
      const loaded: LoadedFirmware[] = [];
      // Only the signed bytes are trusted: no companion files (split firmware) for the inner loader.
      const innerContext: LoaderContext = { firmwareName: context.firmwareName, rprocName: context.rprocName };
      try {
        for (const img of images) loaded.push(await inner.loadAndVerify(img.bytes, innerContext));
        const withTable = loaded.filter((l) => l.resourceTable !== undefined);
        if (withTable.length > 1)
          throw rprocError(
            "ERR_MALFORMED",
            `signed image: ${withTable.length} images carry a resource table; at most one may`,
          );
        const first = loaded[0];
        if (first === undefined) throw rprocError("ERR_MALFORMED", "signed image: no images");
        const fw: LoadedFirmware = {
          bootAddr: first.bootAddr,
          resourceTable: withTable[0]?.resourceTable,
          ...(first.elf === undefined ? {} : { elf: first.elf }),
          async loadSegments(target) {
            for (const l of loaded) await l.loadSegments(target);
          },
        };
        parts.set(fw, loaded);
        return fw;
      } catch (e) {
        for (const l of loaded.reverse()) await inner.release(l);
        throw e;
      }
    },
    async release(firmware: LoadedFirmware): Promise<void> {
      const loaded = parts.get(firmware) ?? [];
      parts.delete(firmware);
      for (const l of [...loaded].reverse()) await inner.release(l);
    },
  };
}
