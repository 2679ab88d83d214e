// The builder and the serializer: typed table -> offsets -> bytes, laid out as a C compiler
// lays out the usual packed firmware struct: header, offset array, entries in order.
import {
  FW_RSC_ADDR_ANY,
  FW_RSC_HDR_SIZE,
  FW_RSC_VDEV_VRING_SIZE,
  RESOURCE_TABLE_SIZE,
  RSC_CARVEOUT,
  RSC_DEVMEM,
  RSC_NAME_SIZE,
  RSC_NOTIFY_ID_ANY,
  RSC_TABLE_VERSION,
  RSC_TRACE,
  RSC_VDEV,
} from "./constants.js";
import { checkU32, checkU8, writeU32 } from "./internal/bytes.js";
import { encodeName } from "./internal/name.js";
import { ENTRY_FIELDS as F } from "./internal/fields.js";
import { entryLength, isVendorType } from "./internal/scan.js";
import type {
  BuildOptions,
  Resource,
  ResourceInit,
  ResourceTable,
  ResourceTableInit,
  VdevResource,
  VdevVring,
} from "./types.js";

/**
 * Normalises a table description into a complete {@link ResourceTable}: fills the defaults
 * (`ver` 1, reserved 0, addresses and notify ids "any" where the types say so), checks every
 * field, and computes the offset of each entry that has none: right after the previous entry
 * (or after the offset array), rounded up to `options.align`. Entries that carry an `offset`
 * (such as the entries of a parsed table) keep it. `size` becomes the end of the last entry
 * unless the input gives a larger one.
 *
 * Remoteproc hosts use this to generate a table for firmware that has none; the CLI uses it
 * (through {@link resourceTableFromJson}) to encode a table written as JSON.
 *
 * @throws TypeError for an unknown `kind` or a field of the wrong type; RangeError for a value
 *   out of range (u32/u8 fields, a name longer than 31 UTF-8 bytes, a vendor type outside
 *   128..512, vrings/config not matching numOfVrings/configLen, an offset inside the header,
 *   entries that overlap, a `size` smaller than the entries need).
 * @example
 * const table = buildResourceTable({ entries: [
 *   { kind: "carveout", da: 0x1000_0000, len: 0x10_0000, name: "fw" },
 *   { kind: "vdev", id: 7, dfeatures: 1, vrings: [{ align: 4096, num: 256 }, { align: 4096, num: 256 }] },
 * ] });
 * @see docs/wire-formats.md, "Resource table"
 */
export function buildResourceTable(init: ResourceTableInit, options: BuildOptions = {}): ResourceTable {
  if (typeof init !== "object" || !isList(init.entries)) throw new TypeError("a table needs an `entries` array");
  const align = options.align ?? 1;
  if (!Number.isSafeInteger(align) || align < 1 || (align & (align - 1)) !== 0 || align > 4096) {
    throw new RangeError(`align must be a power of two in 1..4096, got ${String(align)}`);
  }
  const ver = checkU32(init.ver ?? RSC_TABLE_VERSION, "ver");
  const r = init.reserved ?? [0, 0];
  const reserved: [number, number] = [checkU32(r[0], "reserved[0]"), checkU32(r[1], "reserved[1]")];
  const num = init.entries.length;
  const headerEnd = RESOURCE_TABLE_SIZE + 4 * num;

  const entries: Resource[] = [];
  let cursor = headerEnd;
  for (let i = 0; i < num; i++) {
    const e = init.entries[i];
    if (e === undefined) throw new TypeError(`entries[${i}] is missing`);
    let offset: number;
    if (e.offset === undefined) {
      offset = Math.ceil(cursor / align) * align;
    } else {
      offset = checkU32(e.offset, `entries[${i}].offset`);
      if (offset < headerEnd)
        throw new RangeError(
          `entries[${i}].offset ${offset} lies inside the header and offset array (${headerEnd} bytes)`,
        );
    }
    const entry = normalizeEntry(e, offset, `entries[${i}]`);
    entries.push(entry);
    cursor = offset + entryLength(entry);
  }

  // No two entries may share bytes: sort by start and compare neighbours.
  const spans = entries
    .map((e, i) => ({ start: e.offset, end: e.offset + entryLength(e), i }))
    .sort((a, b) => a.start - b.start);
  let end = headerEnd;
  for (const s of spans) {
    if (s.start < end) {
      throw new RangeError(`entries[${s.i}] at offset ${s.start} overlaps the entry before it (which ends at ${end})`);
    }
    end = Math.max(end, s.end);
  }
  let size = end;
  if (init.size !== undefined) {
    size = checkU32(init.size, "size");
    if (size < end) throw new RangeError(`size ${size} is smaller than the ${end} bytes the entries need`);
  }
  return { ver, reserved, size, entries };
}

/**
 * Encodes a table to bytes: header, offset array, entries at their offsets (computed by
 * {@link buildResourceTable} where absent), zero padding up to `size`. For a table laid out
 * as the usual packed C struct, `serializeResourceTable(parseResourceTable(bytes))` returns
 * `bytes` exactly.
 *
 * @throws TypeError / RangeError as {@link buildResourceTable}.
 * @example
 * const bytes = serializeResourceTable({ entries: [{ kind: "trace", da: 0x2000_0000, len: 1024, name: "trace" }] });
 * @see docs/wire-formats.md, "A typical table"
 */
export function serializeResourceTable(init: ResourceTableInit, options: BuildOptions = {}): Uint8Array {
  const table = buildResourceTable(init, options);
  const out = new Uint8Array(table.size);
  writeU32(out, 0, table.ver);
  writeU32(out, 4, table.entries.length);
  writeU32(out, 8, table.reserved[0]);
  writeU32(out, 12, table.reserved[1]);
  table.entries.forEach((e, i) => {
    writeU32(out, RESOURCE_TABLE_SIZE + 4 * i, e.offset);
    writeEntry(out, e);
  });
  return out;
}

function writeEntry(out: Uint8Array, e: Resource): void {
  const o = e.offset;
  writeU32(out, o, e.type);
  switch (e.kind) {
    case "carveout":
    case "devmem":
      writeU32(out, o + F.CARVEOUT_DA, e.da);
      writeU32(out, o + F.CARVEOUT_PA, e.pa);
      writeU32(out, o + F.CARVEOUT_LEN, e.len);
      writeU32(out, o + F.CARVEOUT_FLAGS, e.flags);
      writeU32(out, o + F.CARVEOUT_RESERVED, e.reserved);
      encodeName(e.name, out, o + F.CARVEOUT_NAME);
      return;
    case "trace":
      writeU32(out, o + F.TRACE_DA, e.da);
      writeU32(out, o + F.TRACE_LEN, e.len);
      writeU32(out, o + F.TRACE_RESERVED, e.reserved);
      encodeName(e.name, out, o + F.TRACE_NAME);
      return;
    case "vdev": {
      writeU32(out, o + F.VDEV_ID, e.id);
      writeU32(out, o + F.VDEV_NOTIFYID, e.notifyId);
      writeU32(out, o + F.VDEV_DFEATURES, e.dfeatures);
      writeU32(out, o + F.VDEV_GFEATURES, e.gfeatures);
      writeU32(out, o + F.VDEV_CONFIG_LEN, e.configLen);
      out[o + F.VDEV_STATUS] = e.status;
      out[o + F.VDEV_NUM_OF_VRINGS] = e.numOfVrings;
      out[o + F.VDEV_RESERVED] = e.reserved[0];
      out[o + F.VDEV_RESERVED + 1] = e.reserved[1];
      e.vrings.forEach((v, k) => {
        const vo = o + F.VDEV_VRINGS + k * FW_RSC_VDEV_VRING_SIZE;
        writeU32(out, vo + F.VRING_DA, v.da);
        writeU32(out, vo + F.VRING_ALIGN, v.align);
        writeU32(out, vo + F.VRING_NUM, v.num);
        writeU32(out, vo + F.VRING_NOTIFYID, v.notifyId);
        writeU32(out, vo + F.VRING_PA, v.pa);
      });
      out.set(e.config, o + F.VDEV_VRINGS + e.vrings.length * FW_RSC_VDEV_VRING_SIZE);
      return;
    }
    case "vendor":
    case "unsupported":
      out.set(e.data, o + FW_RSC_HDR_SIZE);
      return;
  }
}

/** Array.isArray without narrowing: input from JSON may not match its declared type. */
function isList(v: unknown): boolean {
  return Array.isArray(v);
}

const nameScratch = /*@__PURE__*/ new Uint8Array(RSC_NAME_SIZE);

function checkName(v: unknown, what: string): string {
  if (v === undefined) return "";
  if (typeof v !== "string") throw new TypeError(`${what} must be a string`);
  encodeName(v, nameScratch, 0); // throws RangeError when it does not fit
  return v;
}

function checkBytes(v: unknown, what: string): Uint8Array {
  if (v === undefined) return new Uint8Array(0);
  if (!(v instanceof Uint8Array)) throw new TypeError(`${what} must be a Uint8Array`);
  return v.slice();
}

function checkType(e: { readonly type?: number }, expected: number, what: string): void {
  if (e.type !== undefined && e.type !== expected)
    throw new RangeError(`${what}.type ${String(e.type)} does not match its kind (type ${expected})`);
}

function normalizeEntry(e: ResourceInit, offset: number, what: string): Resource {
  switch (e.kind) {
    case "carveout":
    case "devmem": {
      const isCarveout = e.kind === "carveout";
      checkType(e, isCarveout ? RSC_CARVEOUT : RSC_DEVMEM, what);
      const common = {
        offset,
        da: checkU32(e.da ?? FW_RSC_ADDR_ANY, `${what}.da`),
        pa: checkU32(e.pa ?? FW_RSC_ADDR_ANY, `${what}.pa`),
        len: checkU32(e.len, `${what}.len`),
        flags: checkU32(e.flags ?? 0, `${what}.flags`),
        reserved: checkU32(e.reserved ?? 0, `${what}.reserved`),
        name: checkName(e.name, `${what}.name`),
      };
      return isCarveout
        ? { kind: "carveout", type: RSC_CARVEOUT, ...common }
        : { kind: "devmem", type: RSC_DEVMEM, ...common };
    }
    case "trace":
      checkType(e, RSC_TRACE, what);
      return {
        kind: "trace",
        type: RSC_TRACE,
        offset,
        da: checkU32(e.da, `${what}.da`),
        len: checkU32(e.len, `${what}.len`),
        reserved: checkU32(e.reserved ?? 0, `${what}.reserved`),
        name: checkName(e.name, `${what}.name`),
      };
    case "vdev": {
      checkType(e, RSC_VDEV, what);
      const vringsIn = e.vrings ?? [];
      if (!isList(vringsIn)) throw new TypeError(`${what}.vrings must be an array`);
      const vrings: VdevVring[] = vringsIn.map((v, k) => ({
        da: checkU32(v.da ?? FW_RSC_ADDR_ANY, `${what}.vrings[${k}].da`),
        align: checkU32(v.align, `${what}.vrings[${k}].align`),
        num: checkU32(v.num, `${what}.vrings[${k}].num`),
        notifyId: checkU32(v.notifyId ?? RSC_NOTIFY_ID_ANY, `${what}.vrings[${k}].notifyId`),
        pa: checkU32(v.pa ?? 0, `${what}.vrings[${k}].pa`),
      }));
      const numOfVrings = checkU8(e.numOfVrings ?? vrings.length, `${what}.numOfVrings`);
      if (numOfVrings !== vrings.length)
        throw new RangeError(`${what}.numOfVrings ${numOfVrings} does not match the ${vrings.length} vrings given`);
      const config = checkBytes(e.config, `${what}.config`);
      const configLen = checkU32(e.configLen ?? config.length, `${what}.configLen`);
      if (configLen !== config.length)
        throw new RangeError(`${what}.configLen ${configLen} does not match the ${config.length} config bytes given`);
      const res = e.reserved ?? [0, 0];
      const vdev: VdevResource = {
        kind: "vdev",
        type: RSC_VDEV,
        offset,
        id: checkU32(e.id, `${what}.id`),
        notifyId: checkU32(e.notifyId ?? RSC_NOTIFY_ID_ANY, `${what}.notifyId`),
        dfeatures: checkU32(e.dfeatures ?? 0, `${what}.dfeatures`),
        gfeatures: checkU32(e.gfeatures ?? 0, `${what}.gfeatures`),
        configLen,
        status: checkU8(e.status ?? 0, `${what}.status`),
        numOfVrings,
        reserved: [checkU8(res[0], `${what}.reserved[0]`), checkU8(res[1], `${what}.reserved[1]`)],
        vrings,
        config,
      };
      return vdev;
    }
    case "vendor": {
      const type = checkU32(e.type, `${what}.type`);
      if (!isVendorType(type)) throw new RangeError(`${what}.type ${type} is not a vendor type (128..512)`);
      const data = checkBytes(e.data, `${what}.data`);
      return "decoded" in e
        ? { kind: "vendor", type, offset, data, decoded: e.decoded }
        : { kind: "vendor", type, offset, data };
    }
    case "unsupported": {
      const type = checkU32(e.type, `${what}.type`);
      if (type < 4 || isVendorType(type))
        throw new RangeError(`${what}.type ${type} is a standard or vendor type, not an unsupported one`);
      return { kind: "unsupported", type, offset, data: checkBytes(e.data, `${what}.data`) };
    }
    default:
      throw new TypeError(
        `${what}.kind ${JSON.stringify((e as { kind?: unknown }).kind)} is not carveout, devmem, trace, vdev, vendor or unsupported`,
      );
  }
}
