/**
 * Where a loader writes segments: device addresses translated by the core (driver `translate`,
 * then allocated carveouts, then the platform's regions). Both throw `ERR_TRANSLATE` when the
 * range is not backed by memory (Linux: "bad phdr da").
 */
export interface SegmentTarget {
  /** Copies `bytes` to device address `da`. */
  write(da: bigint, bytes: Uint8Array): void;
  /** Fills `length` bytes at `da` with `value` (the memsz - filesz tail of a segment). */
  fill(da: bigint, length: bigint, value: number): void;
}

/** The resource table a loader found in an image: the bytes (cached copy) and where it is loaded. */
export interface ImageResourceTable {
  /** A copy of the table as stored in the image (`.resource_table`, `sh_size` bytes). */
  readonly bytes: Uint8Array;
  /** Device address of the loaded copy (`sh_addr`, below 2^53), where the core installs its cached table. */
  readonly da: number;
}

/** A firmware image after {@link FirmwareLoader.loadAndVerify}: verified, parsed, not yet in device memory. */
export interface LoadedFirmware {
  /** Boot address (ELF `e_entry`), passed to the driver's `start`. */
  readonly bootAddr: bigint;
  /** The image's resource table, or undefined when it has none. */
  readonly resourceTable: ImageResourceTable | undefined;
  /** ELF class and machine, for coredumps (undefined: the core's `coredumpElf` option decides). */
  readonly elf?: { readonly elfClass: 32 | 64; readonly machine: number };
  /** Copies the image's segments into device memory. Called after the table is installed. */
  loadSegments(target: SegmentTarget): void | Promise<void>;
}

/**
 * Turns firmware bytes into a {@link LoadedFirmware}. `loadAndVerify` runs first in a boot, before
 * any resource of the image is parsed, so an authenticating loader rejects a tampered image before
 * the resource parser sees a byte; `release` undoes it and is called exactly once per successful
 * `loadAndVerify`: on shutdown, on recovery (before the next load) and on any error.
 */
export interface FirmwareLoader {
  /** Parses (and, for a secure loader, authenticates) `image`. Throws AmpError on bad bytes. */
  loadAndVerify(image: Uint8Array, context: LoaderContext): LoadedFirmware | Promise<LoadedFirmware>;
  /** Forgets a loaded image (a TEE would drop its authenticated copy). */
  release(firmware: LoadedFirmware): void | Promise<void>;
}

/** What the core tells a loader about the load. */
export interface LoaderContext {
  /** Firmware name as requested from the source. */
  readonly firmwareName: string;
  /** Name of the remote processor. */
  readonly rprocName: string;
  /**
   * Reads another file of the same firmware source by name (undefined when it does not exist):
   * the `.bNN` companions of split `.mdt` firmware. The core always supplies it; a loader that
   * authenticates its image (the signed loader) hides it from the loaders it wraps, since
   * companion files are not covered by the signature.
   */
  readonly readCompanion?: (name: string) => Promise<Uint8Array | undefined>;
}
