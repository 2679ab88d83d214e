import { findResourceTable, loadElf, parseElf, validateElf } from "@amp/elf-loader";
import type { ElfFile, ParseElfOptions } from "@amp/elf-loader";
import { AmpError, type RemoteprocErrorCode } from "./errors.js";
import type { FirmwareLoader, LoadedFirmware } from "./loader.js";

/** Options of {@link createElfLoader}: the parse limits of @amp/elf-loader. */
export type ElfLoaderOptions = ParseElfOptions;

/**
 * The default loader: an ELF32/ELF64 little-endian image whose `PT_LOAD` segments go to their
 * `p_paddr` and whose `.resource_table` section (optional) is the resource table, cached from the
 * file and installed at its `sh_addr` (Linux `remoteproc_elf_loader.c`, wire-formats.md §2, §3.2).
 * @example
 * const rproc = createRemoteproc({ name: "m4", driver, loader: createElfLoader({ maxProgramHeaders: 64 }) });
 */
export function createElfLoader(options: ElfLoaderOptions = {}): FirmwareLoader {
  return {
    loadAndVerify(image: Uint8Array): LoadedFirmware {
      const elf: ElfFile = parseElf(image, options);
      const bad = validateElf(elf, { ...options, endianness: "little" }).find((d) => d.severity === "error");
      if (bad !== undefined) throw new AmpError<RemoteprocErrorCode>("ERR_MALFORMED", `firmware ELF: ${bad.code}: ${bad.message}`, { offset: bad.offset });
      const rsc = findResourceTable(elf);
      let resourceTable: LoadedFirmware["resourceTable"];
      if (rsc !== undefined) {
        if (rsc.address > 0xffffffffn) throw new AmpError<RemoteprocErrorCode>("ERR_MALFORMED", `.resource_table sh_addr 0x${rsc.address.toString(16)} is beyond 32 bits`, { offset: rsc.section.headerOffset });
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
    },
    release() {
      // Nothing is held outside the LoadedFirmware object itself.
    },
  };
}
