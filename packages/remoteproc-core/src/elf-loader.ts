import {
  assembleMdt,
  findResourceTable,
  isAmpError,
  loadElf,
  mdtSegmentFileName,
  parseElf,
  parseMdt,
  validateElf,
} from "@amp/elf-loader";
import type { ElfFile, ParseElfOptions } from "@amp/elf-loader";
import { rprocError } from "./internal/error.js";
import type { FirmwareLoader, LoadedFirmware, LoaderContext } from "./loader.js";

/** Options of {@link createElfLoader}: the parse limits of @amp/elf-loader. */
export type ElfLoaderOptions = ParseElfOptions;

/**
 * The default loader: an ELF32/ELF64 little-endian image whose `PT_LOAD` segments go to their
 * `p_paddr` and whose `.resource_table` section (optional) is the resource table, cached from the
 * file and installed at its `sh_addr` (Linux `remoteproc_elf_loader.c`, docs/wire-formats.md,
 * "Firmware ELF and coredumps"). Addresses may lie above 4 GiB (ELF64). A big-endian image is
 * refused with `ERR_UNSUPPORTED`, as Linux refuses firmware whose byte order differs from the
 * host's. Split firmware (a `*.mdt` whose segments are in `.bNN` files) is assembled from its
 * companions, read through `LoaderContext.readCompanion`; a missing one is `ERR_NO_FIRMWARE`.
 * @example
 * const rproc = createRemoteproc({ name: "m4", driver, loader: createElfLoader({ maxProgramHeaders: 64 }) });
 */
export function createElfLoader(options: ElfLoaderOptions = {}): FirmwareLoader {
  const load = (image: Uint8Array): LoadedFirmware => {
    const elf: ElfFile = parseElf(image, options);
    // @amp/elf-loader checks the byte order against ours (ENDIANNESS_MISMATCH, at EI_DATA).
    const diagnostics = validateElf(elf, { ...options, endianness: "little" });
    if (!elf.header.littleEndian) {
      const at = diagnostics.find((d) => d.code === "ENDIANNESS_MISMATCH")?.offset;
      // Linux's rproc_elf_sanity_check refuses the same way: the host shares the resource
      // table, the vrings and the rpmsg headers with the remote, and the remote reads them in
      // its own byte order, which this (little-endian) host does not write.
      throw rprocError(
        "ERR_UNSUPPORTED",
        "firmware ELF is big-endian (EI_DATA = ELFDATA2MSB) but remoteproc-core is a little-endian host: the remote would read its resource table, vrings and messages in the other byte order. Rebuild the firmware little-endian (e.g. without -mbig-endian)",
        at === undefined ? {} : { offset: at },
      );
    }
    const bad = diagnostics.find((d) => d.severity === "error");
    if (bad !== undefined)
      throw rprocError("ERR_MALFORMED", `firmware ELF: ${bad.code}: ${bad.message}`, { offset: bad.offset });
    const rsc = findResourceTable(elf);
    let resourceTable: LoadedFirmware["resourceTable"];
    if (rsc !== undefined) {
      // A 64-bit remote may keep its table above 4 GiB; device addresses are exact numbers below 2^53.
      if (rsc.address > BigInt(Number.MAX_SAFE_INTEGER))
        throw rprocError("ERR_MALFORMED", `.resource_table sh_addr 0x${rsc.address.toString(16)} is beyond 2^53`, {
          offset: rsc.section.headerOffset,
        });
      resourceTable = { bytes: new Uint8Array(rsc.bytes), da: Number(rsc.address) }; // a real copy, also for a Buffer input
    }
    return {
      bootAddr: elf.header.entry,
      resourceTable,
      elf: { elfClass: elf.header.elfClass, machine: elf.header.machine },
      loadSegments(target) {
        loadElf(elf, target, { ...options, endianness: "little" });
      },
    };
  };
  return {
    loadAndVerify(image: Uint8Array, context?: LoaderContext): LoadedFirmware | Promise<LoadedFirmware> {
      if (context !== undefined && isSplitMdt(image, context.firmwareName))
        return assembleSplit(image, context, options).then(load);
      return load(image);
    },
    release() {
      // Nothing is held outside the LoadedFirmware object itself.
    },
  };
}

/**
 * Qualcomm split firmware: an image named `*.mdt` some of whose segments lie past its end, in
 * `.bNN` files beside it (Linux `qcom_mdt_load`). Anything else is an ordinary ELF, so a
 * truncated `fw.elf` is still refused as truncated rather than sent looking for companions.
 */
function isSplitMdt(image: Uint8Array, firmwareName: string): boolean {
  if (!firmwareName.toLowerCase().endsWith(".mdt")) return false;
  try {
    return parseMdt(image, { symbols: false }).split;
  } catch {
    return false; // not even the headers parse: the ELF path says why
  }
}

/** The whole image of split firmware, its segments read from the companions through the source. */
async function assembleSplit(mdt: Uint8Array, context: LoaderContext, options: ElfLoaderOptions): Promise<Uint8Array> {
  const read = context.readCompanion;
  const name = context.firmwareName;
  if (read === undefined) {
    let first = "";
    try {
      const p = parseMdt(mdt).elf.programHeaders.find((x) => x.filesz > 0n && x.offset + x.filesz > BigInt(mdt.length));
      first = p === undefined ? "" : ` (${mdtSegmentFileName(name, p.index)})`;
    } catch {
      // isSplitMdt parsed it already
    }
    throw rprocError(
      "ERR_UNSUPPORTED",
      `split firmware "${name}": its segments are in .bNN files${first}, which this loader cannot read (a signed image authenticates only its own bytes); sign the assembled image instead`,
    );
  }
  try {
    return await assembleMdt(mdt, name, read, options);
  } catch (e) {
    if (isAmpError(e) && e.code === "ERR_SINK")
      throw rprocError("ERR_NO_FIRMWARE", `split firmware "${name}": ${e.message}`, { cause: e });
    if (isAmpError(e))
      throw rprocError("ERR_MALFORMED", `split firmware "${name}": ${e.code}: ${e.message}`, { cause: e });
    throw e;
  }
}
