// The typed model of a resource table. Field names are the C names of include/linux/remoteproc.h
// in camelCase; every u32 field is a `number` in 0..0xFFFFFFFF (no 64-bit resource types exist:
// docs/wire-formats.md, "Resource table"), every u8 field a `number` in 0..255.

/** A carveout: memory the host allocates for the remote (`struct fw_rsc_carveout`, type 0). */
export interface CarveoutResource {
  readonly kind: "carveout";
  readonly type: 0;
  /** Byte offset of the entry (its type word) from the start of the table. */
  readonly offset: number;
  /** `da`: device address requested by the remote, or FW_RSC_ADDR_ANY; the host rewrites it. */
  readonly da: number;
  /** `pa`: physical address, written by the host. */
  readonly pa: number;
  /** `len`: requested length; the host rewrites it with the length actually used. */
  readonly len: number;
  /** `flags`: IOMMU protection flags. */
  readonly flags: number;
  /** `reserved`: must be 0. */
  readonly reserved: number;
  /** `name`: decoded up to the first NUL (at most 32 bytes). */
  readonly name: string;
}

/** A device memory region the host IOMMU-maps (`struct fw_rsc_devmem`, type 1). */
export interface DevmemResource {
  readonly kind: "devmem";
  readonly type: 1;
  readonly offset: number;
  /** `da`: device address. */
  readonly da: number;
  /** `pa`: physical address to map. */
  readonly pa: number;
  /** `len` */
  readonly len: number;
  /** `flags`: IOMMU protection flags. */
  readonly flags: number;
  /** `reserved`: must be 0. */
  readonly reserved: number;
  /** `name` */
  readonly name: string;
}

/** A trace buffer the remote writes and the host reads (`struct fw_rsc_trace`, type 2). */
export interface TraceResource {
  readonly kind: "trace";
  readonly type: 2;
  readonly offset: number;
  /** `da`: device address of the buffer (fixed by the remote). */
  readonly da: number;
  /** `len`: buffer length in bytes. */
  readonly len: number;
  /** `reserved`: must be 0. */
  readonly reserved: number;
  /** `name` */
  readonly name: string;
}

/** One vring of a vdev (`struct fw_rsc_vdev_vring`, 20 bytes). */
export interface VdevVring {
  /** `da`: device address of the ring, or FW_RSC_ADDR_ANY; the host writes the final value. */
  readonly da: number;
  /** `align`: legacy used-ring alignment (non-zero power of two; 4096 is usual). */
  readonly align: number;
  /** `num`: queue size (non-zero power of two). */
  readonly num: number;
  /** `notifyid`: written by the host before the remote starts. */
  readonly notifyId: number;
  /** `pa` (Linux) / `reserved` (OpenAMP): 0 in the image. */
  readonly pa: number;
}

/** A virtio device (`struct fw_rsc_vdev`, type 3) with its vrings and config space. */
export interface VdevResource {
  readonly kind: "vdev";
  readonly type: 3;
  readonly offset: number;
  /** `id`: virtio device ID (7 = rpmsg). */
  readonly id: number;
  /** `notifyid` */
  readonly notifyId: number;
  /** `dfeatures`: device features, bits 0..31. */
  readonly dfeatures: number;
  /** `gfeatures`: features the host accepted (written by the host). */
  readonly gfeatures: number;
  /** `config_len`: equals `config.length`. */
  readonly configLen: number;
  /** `status`: virtio status byte (written by the host). */
  readonly status: number;
  /** `num_of_vrings`: equals `vrings.length`. */
  readonly numOfVrings: number;
  /** `reserved[2]`: must be 0, 0. */
  readonly reserved: readonly [number, number];
  /** `vring[num_of_vrings]` */
  readonly vrings: readonly VdevVring[];
  /** The `config_len` bytes of device config space that follow the vrings (a copy). */
  readonly config: Uint8Array;
}

/** A vendor resource (types 128..512 inclusive), kept as opaque bytes. */
export interface VendorResource {
  readonly kind: "vendor";
  readonly type: number;
  readonly offset: number;
  /**
   * The bytes after the type word, up to the next entry (by offset) or the end of the table:
   * Linux defines no length field for vendor resources, so this is the entry's whole extent.
   */
  readonly data: Uint8Array;
  /** What the `decodeVendor` hook returned for this entry, when a hook was given. */
  readonly decoded?: unknown;
}

/** A resource of a type Linux skips with "unsupported resource" (4..127 and above 512). */
export interface UnsupportedResource {
  readonly kind: "unsupported";
  readonly type: number;
  readonly offset: number;
  /** The bytes after the type word, up to the next entry (by offset) or the end of the table. */
  readonly data: Uint8Array;
}

/** Any entry of a parsed table. Switch on `kind`. */
export type Resource =
  CarveoutResource | DevmemResource | TraceResource | VdevResource | VendorResource | UnsupportedResource;

/** A parsed resource table (`struct resource_table` and its entries, in offset-array order). */
export interface ResourceTable {
  /** `ver`: 1. */
  readonly ver: number;
  /** `reserved[2]`: must be 0, 0. */
  readonly reserved: readonly [number, number];
  /** Size of the table region in bytes (Linux's `table_sz`, the section's `sh_size`). */
  readonly size: number;
  /** Entries in the order of the offset array. */
  readonly entries: readonly Resource[];
}

// ---------------------------------------------------------------------------------------------
// Inputs of the builder: the same shapes with `offset` and the usual fields optional.

/** Builder input for a carveout; `da` and `pa` default to FW_RSC_ADDR_ANY, the rest to 0/"". */
export interface CarveoutInit {
  readonly kind: "carveout";
  readonly type?: 0;
  /** Where to put the entry; computed from the previous entry when absent. */
  readonly offset?: number;
  readonly da?: number;
  readonly pa?: number;
  readonly len: number;
  readonly flags?: number;
  readonly reserved?: number;
  readonly name?: string;
}

/** Builder input for a devmem entry. */
export interface DevmemInit {
  readonly kind: "devmem";
  readonly type?: 1;
  readonly offset?: number;
  readonly da: number;
  readonly pa: number;
  readonly len: number;
  readonly flags?: number;
  readonly reserved?: number;
  readonly name?: string;
}

/** Builder input for a trace entry. */
export interface TraceInit {
  readonly kind: "trace";
  readonly type?: 2;
  readonly offset?: number;
  readonly da: number;
  readonly len: number;
  readonly reserved?: number;
  readonly name?: string;
}

/** Builder input for a vring; `da` and `notifyId` default to "any" (0xFFFFFFFF), `pa` to 0. */
export interface VdevVringInit {
  readonly da?: number;
  readonly align: number;
  readonly num: number;
  readonly notifyId?: number;
  readonly pa?: number;
}

/**
 * Builder input for a vdev. `notifyId` defaults to RSC_NOTIFY_ID_ANY, the host-written fields
 * to 0; `configLen` and `numOfVrings`, when given, must agree with `config` and `vrings`.
 */
export interface VdevInit {
  readonly kind: "vdev";
  readonly type?: 3;
  readonly offset?: number;
  readonly id: number;
  readonly notifyId?: number;
  readonly dfeatures?: number;
  readonly gfeatures?: number;
  readonly configLen?: number;
  readonly status?: number;
  readonly numOfVrings?: number;
  readonly reserved?: readonly [number, number];
  readonly vrings?: readonly VdevVringInit[];
  readonly config?: Uint8Array;
}

/** Builder input for a vendor entry (type 128..512) with its opaque bytes. */
export interface VendorInit {
  readonly kind: "vendor";
  readonly type: number;
  readonly offset?: number;
  readonly data?: Uint8Array;
  readonly decoded?: unknown;
}

/** Builder input for an entry of an unsupported type (4..127 or above 512), kept verbatim. */
export interface UnsupportedInit {
  readonly kind: "unsupported";
  readonly type: number;
  readonly offset?: number;
  readonly data?: Uint8Array;
}

/** Any builder input entry. Every parsed `Resource` is also a valid `ResourceInit`. */
export type ResourceInit = CarveoutInit | DevmemInit | TraceInit | VdevInit | VendorInit | UnsupportedInit;

/** Builder input for a whole table. Every parsed `ResourceTable` is also a `ResourceTableInit`. */
export interface ResourceTableInit {
  /** Defaults to 1. */
  readonly ver?: number;
  /** Defaults to [0, 0]. */
  readonly reserved?: readonly [number, number];
  /** Total size: the bytes are zero-padded up to it (e.g. a section rounded to 256 bytes). */
  readonly size?: number;
  readonly entries: readonly ResourceInit[];
}

/** Options of `buildResourceTable` / `serializeResourceTable`. */
export interface BuildOptions {
  /**
   * Alignment of computed entry offsets. Default 1: packed, exactly as a C compiler lays out
   * the usual `__packed` firmware struct (header, offset array, entries in order). Use 4 or 8
   * to align every entry that has no explicit `offset`.
   */
  readonly align?: number;
}

// ---------------------------------------------------------------------------------------------
// Parsing and validation options, diagnostics.

/** Decodes the opaque bytes of a vendor entry; whatever it returns lands in `decoded`. */
export type VendorDecoder = (type: number, data: Uint8Array, offset: number) => unknown;

/** Options of `parseResourceTable` and `validateResourceTable`. */
export interface ParseOptions {
  /**
   * Size of the table region (Linux's `table_sz`). Defaults to `bytes.length`. Bytes past it
   * are ignored; if it is larger than `bytes.length`, reads past the bytes fail ERR_TRUNCATED.
   */
  readonly regionSize?: number;
  /** Largest `num` accepted (default 64): a hostile `num` never drives a long loop. */
  readonly maxEntries?: number;
  /** Called for each vendor entry (types 128..512). Its exceptions become ERR_MALFORMED. */
  readonly decodeVendor?: VendorDecoder;
  /**
   * Byte order of the table's integers (default "little"). The remote reads its table in its
   * own byte order, so a big-endian firmware's table (ELF EI_DATA = ELFDATA2MSB) is "big".
   */
  readonly endianness?: "little" | "big";
}

/** Options of `validateResourceTable`: the parse options plus the hardening limits. */
export interface ValidateOptions extends ParseOptions {
  /** Largest vring `num` accepted (default 32768, the virtio maximum queue size). */
  readonly maxVringNum?: number;
  /** Largest vring `align` accepted (default 65536, rpmsg-lite's RL_MAX_VRING_ALIGN). */
  readonly maxVringAlign?: number;
}

/** "error": Linux or a hardened OpenAMP rejects the table, or it is unsafe; "warning": accepted but suspect. */
export type DiagnosticSeverity = "error" | "warning";

/** Stable diagnostic codes (see the README's diagnostics table). */
export type DiagnosticCode =
  | "RSC_TABLE_TRUNCATED"
  | "RSC_VERSION_UNSUPPORTED"
  | "RSC_HEADER_RESERVED_NONZERO"
  | "RSC_TOO_MANY_ENTRIES"
  | "RSC_OFFSET_ARRAY_OUT_OF_RANGE"
  | "RSC_OFFSET_OUT_OF_RANGE"
  | "RSC_OFFSET_IN_HEADER"
  | "RSC_OFFSET_MISALIGNED"
  | "RSC_ENTRIES_OVERLAP"
  | "RSC_ENTRY_TRUNCATED"
  | "RSC_RESERVED_NONZERO"
  | "RSC_NAME_UNTERMINATED"
  | "RSC_NAME_INVALID_UTF8"
  | "RSC_ADDRESS_RANGE_WRAPS"
  | "RSC_CARVEOUT_LEN_ZERO"
  | "RSC_DEVMEM_NEEDS_IOMMU"
  | "RSC_TRACE_UNUSABLE"
  | "RSC_VDEV_TOO_MANY_VRINGS"
  | "RSC_VDEV_VRINGS_TRUNCATED"
  | "RSC_VDEV_CONFIG_TRUNCATED"
  | "RSC_VRING_NUM_ZERO"
  | "RSC_VRING_NUM_NOT_POWER_OF_2"
  | "RSC_VRING_NUM_TOO_LARGE"
  | "RSC_VRING_ALIGN_ZERO"
  | "RSC_VRING_ALIGN_NOT_POWER_OF_2"
  | "RSC_VRING_ALIGN_TOO_LARGE"
  | "RSC_TYPE_UNSUPPORTED"
  | "RSC_VENDOR_DECODE_FAILED";

/** One finding of `validateResourceTable`. */
export interface Diagnostic {
  /** Stable code, e.g. "RSC_OFFSET_OUT_OF_RANGE". */
  readonly code: DiagnosticCode;
  readonly severity: DiagnosticSeverity;
  /** Byte offset from the start of the table of the field concerned. */
  readonly offset: number;
  /** Human-readable explanation. */
  readonly message: string;
}
