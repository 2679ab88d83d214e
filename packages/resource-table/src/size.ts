// How many bytes a resource table occupies, read from the table itself. A host that attaches to
// a running remote (Linux rproc_attach, `amp attach`) knows where the table is but not its size:
// the ELF section that would tell is not at hand. The table describes its own extent through
// its header, its offset array and each entry's type (docs/wire-formats.md, "Resource table").
import {
  FW_RSC_CARVEOUT_SIZE,
  FW_RSC_DEVMEM_SIZE,
  FW_RSC_HDR_SIZE,
  FW_RSC_TRACE_SIZE,
  FW_RSC_VDEV_SIZE,
  FW_RSC_VDEV_VRING_SIZE,
  RESOURCE_TABLE_SIZE,
  RSC_CARVEOUT,
  RSC_DEVMEM,
  RSC_TABLE_VERSION,
  RSC_TRACE,
  RSC_VDEV,
} from "./constants.js";
import { AmpError } from "./errors.js";
import { hex, readU32, readU32BE } from "./internal/bytes.js";
import { ENTRY_FIELDS } from "./internal/fields.js";

/** Options of {@link resourceTableSize}. */
export interface ResourceTableSizeOptions {
  /** Largest `num` accepted (default 64, as parseResourceTable). */
  readonly maxEntries?: number;
  /** Byte order of the table's integers (default "little"; a big-endian remote's table is "big"). */
  readonly endianness?: "little" | "big";
}

// struct fw_rsc_vdev, from the entry's type word: config_len and num_of_vrings (internal/fields.ts).
const { VDEV_CONFIG_LEN, VDEV_NUM_OF_VRINGS } = ENTRY_FIELDS;

/**
 * The size in bytes of the resource table at the start of `bytes`: the end of its header and
 * offset array, or of its furthest entry, whichever is further. `bytes` is what the caller could
 * read at the table's address (e.g. up to the end of the remote's memory); only the table's own
 * bytes are looked at.
 *
 * Carveout, devmem, trace and vdev entries (vrings and config space included) have a known
 * length. Vendor and unsupported types do not say how long they are: they count up to the next
 * entry, or as their 4-byte type word when they are last, so a table that ends with one needs
 * its size from elsewhere (the ELF `.resource_table` section).
 *
 * @throws AmpError ERR_TRUNCATED when `bytes` ends before the table does (`offset`: how many
 *   bytes are needed to go on; read more and call again); ERR_UNSUPPORTED when `ver` is not 1;
 *   ERR_LIMIT when `num` exceeds `maxEntries`.
 * @throws TypeError / RangeError for a bad argument.
 * @example
 * const head = memory.read(tableDa, Math.min(65536, memory.byteLength - tableDa));
 * const table = parseResourceTable(head.subarray(0, resourceTableSize(head)));
 * @see docs/wire-formats.md, "Resource table" (include/linux/remoteproc.h: struct resource_table, fw_rsc_*)
 */
export function resourceTableSize(bytes: Uint8Array, options: ResourceTableSizeOptions = {}): number {
  if (!(bytes instanceof Uint8Array)) throw new TypeError("bytes must be a Uint8Array");
  const maxEntries = options.maxEntries ?? 64;
  if (!Number.isSafeInteger(maxEntries) || maxEntries < 0)
    throw new RangeError(`maxEntries must be a non-negative integer, got ${String(maxEntries)}`);
  const endianness: unknown = options.endianness ?? "little";
  if (endianness !== "little" && endianness !== "big")
    throw new TypeError(`endianness must be "little" or "big", got ${String(endianness)}`);
  const rd = endianness === "little" ? readU32 : readU32BE;
  // Reading [off, off + len) needs off + len bytes: say so, so that the caller can read that much.
  const need = (off: number, len: number, what: string): void => {
    if (off > bytes.length || len > bytes.length - off) {
      throw new AmpError(
        "ERR_TRUNCATED",
        `resource table: ${what} at ${hex(off)} needs ${off + len} bytes, only ${bytes.length} were given`,
        { offset: off + len },
      );
    }
  };
  const u32 = (off: number, what: string): number => {
    need(off, 4, what);
    return rd(bytes, off);
  };

  const ver = u32(0, "ver");
  if (ver !== RSC_TABLE_VERSION)
    throw new AmpError(
      "ERR_UNSUPPORTED",
      `resource table version ${ver} (only ${RSC_TABLE_VERSION} exists): no table here?`,
      { offset: 0 },
    );
  const num = u32(4, "num");
  if (num > maxEntries)
    throw new AmpError(
      "ERR_LIMIT",
      `resource table declares ${num} entries, more than the limit of ${maxEntries} (option maxEntries)`,
      { offset: 4 },
    );
  let end = RESOURCE_TABLE_SIZE + 4 * num;
  need(0, end, "the offset array");
  const offsets: number[] = [];
  for (let i = 0; i < num; i++) offsets.push(rd(bytes, RESOURCE_TABLE_SIZE + 4 * i));
  for (const off of offsets) {
    const type = u32(off, "an entry's type word");
    let body: number;
    switch (type) {
      case RSC_CARVEOUT:
        body = FW_RSC_CARVEOUT_SIZE;
        break;
      case RSC_DEVMEM:
        body = FW_RSC_DEVMEM_SIZE;
        break;
      case RSC_TRACE:
        body = FW_RSC_TRACE_SIZE;
        break;
      case RSC_VDEV: {
        need(off, FW_RSC_HDR_SIZE + FW_RSC_VDEV_SIZE, "a vdev entry");
        const configLen = rd(bytes, off + VDEV_CONFIG_LEN);
        const numOfVrings = bytes[off + VDEV_NUM_OF_VRINGS] ?? 0;
        body = FW_RSC_VDEV_SIZE + numOfVrings * FW_RSC_VDEV_VRING_SIZE + configLen;
        break;
      }
      default:
        body = 0; // vendor or unsupported: no self-described length
    }
    // Sizes come from the other side: a config_len near 2^32 must not make a huge number
    // silently; it reads as "that many bytes are missing".
    need(off, FW_RSC_HDR_SIZE + body, `entry of type ${type}`);
    end = Math.max(end, off + FW_RSC_HDR_SIZE + body);
  }
  return end;
}
