// JSON-friendly form of a table: the same objects with byte arrays (vdev config, opaque vendor
// and unsupported data) as lower-case hex strings. `amp rsc decode --json` prints it and
// `amp rsc encode` reads it back.
import type {
  CarveoutResource,
  DevmemResource,
  ResourceInit,
  ResourceTable,
  ResourceTableInit,
  TraceResource,
  UnsupportedResource,
  VdevResource,
  VdevVringInit,
  VendorResource,
} from "./types.js";

/** A vdev in JSON form: `config` is hex. */
export type VdevResourceJson = Omit<VdevResource, "config"> & { readonly config: string };
/** A vendor entry in JSON form: `data` is hex. */
export type VendorResourceJson = Omit<VendorResource, "data"> & { readonly data: string };
/** An unsupported entry in JSON form: `data` is hex. */
export type UnsupportedResourceJson = Omit<UnsupportedResource, "data"> & { readonly data: string };
/** Any entry in JSON form. */
export type ResourceJson =
  CarveoutResource | DevmemResource | TraceResource | VdevResourceJson | VendorResourceJson | UnsupportedResourceJson;
/** A table in JSON form (what `JSON.stringify(resourceTableToJson(t))` serialises). */
export interface ResourceTableJson {
  readonly ver: number;
  readonly reserved: readonly [number, number];
  readonly size: number;
  readonly entries: readonly ResourceJson[];
}

/**
 * Converts a table to plain JSON-compatible objects (byte arrays become hex strings).
 *
 * @example
 * console.log(JSON.stringify(resourceTableToJson(parseResourceTable(bytes)), null, 2));
 */
export function resourceTableToJson(table: ResourceTable): ResourceTableJson {
  return {
    ver: table.ver,
    reserved: [table.reserved[0], table.reserved[1]],
    size: table.size,
    entries: table.entries.map((e): ResourceJson => {
      switch (e.kind) {
        case "vdev":
          return {
            ...e,
            reserved: [e.reserved[0], e.reserved[1]],
            vrings: e.vrings.map((v) => ({ ...v })),
            config: toHex(e.config),
          };
        case "vendor":
        case "unsupported":
          return { ...e, data: toHex(e.data) };
        default:
          return { ...e };
      }
    }),
  };
}

/**
 * Reads a table description from parsed JSON (the output of {@link resourceTableToJson}, or a
 * hand-written file with only the fields that matter): hex strings become bytes; numbers may
 * also be given as strings such as "0x10000000". The result goes to `serializeResourceTable`
 * or `buildResourceTable`, which check ranges and fill defaults.
 *
 * @throws TypeError when the shape is wrong (not an object, no `entries` array, bad hex,
 *   a number that is not an integer).
 * @example
 * const bytes = serializeResourceTable(resourceTableFromJson(JSON.parse(text)));
 */
export function resourceTableFromJson(json: unknown): ResourceTableInit {
  const t = asObject(json, "table");
  const entries = t["entries"];
  if (!Array.isArray(entries)) throw new TypeError("table.entries must be an array");
  const out: Record<string, unknown> = { entries: entries.map((e: unknown, i) => entryFromJson(e, `entries[${i}]`)) };
  copyNumber(t, out, "ver", "table");
  copyNumber(t, out, "size", "table");
  if (t["reserved"] !== undefined) out["reserved"] = pair(t["reserved"], "table.reserved");
  return out as unknown as ResourceTableInit;
}

const NUMBER_FIELDS = [
  "type",
  "offset",
  "da",
  "pa",
  "len",
  "flags",
  "id",
  "notifyId",
  "dfeatures",
  "gfeatures",
  "configLen",
  "status",
  "numOfVrings",
];

function entryFromJson(json: unknown, what: string): ResourceInit {
  const e = asObject(json, what);
  const out: Record<string, unknown> = { kind: e["kind"] };
  for (const f of NUMBER_FIELDS) copyNumber(e, out, f, what);
  if (e["name"] !== undefined) out["name"] = e["name"];
  // `reserved` is a u32 for carveout/devmem/trace and a pair of bytes for a vdev.
  if (e["reserved"] !== undefined)
    out["reserved"] =
      e["kind"] === "vdev" ? pair(e["reserved"], `${what}.reserved`) : toInt(e["reserved"], `${what}.reserved`);
  if (e["config"] !== undefined) out["config"] = fromHex(e["config"], `${what}.config`);
  if (e["data"] !== undefined) out["data"] = fromHex(e["data"], `${what}.data`);
  if (e["decoded"] !== undefined) out["decoded"] = e["decoded"];
  if (e["vrings"] !== undefined) {
    const vr = e["vrings"];
    if (!Array.isArray(vr)) throw new TypeError(`${what}.vrings must be an array`);
    out["vrings"] = vr.map((v: unknown, k): VdevVringInit => {
      const o = asObject(v, `${what}.vrings[${k}]`);
      const r: Record<string, unknown> = {};
      for (const f of ["da", "align", "num", "notifyId", "pa"]) copyNumber(o, r, f, `${what}.vrings[${k}]`);
      return r as unknown as VdevVringInit;
    });
  }
  return out as unknown as ResourceInit;
}

function asObject(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new TypeError(`${what} must be an object`);
  return v as Record<string, unknown>;
}

function copyNumber(from: Record<string, unknown>, to: Record<string, unknown>, field: string, what: string): void {
  const v = from[field];
  if (v !== undefined) to[field] = toInt(v, `${what}.${field}`);
}

function toInt(v: unknown, what: string): number {
  if (typeof v === "number" && Number.isSafeInteger(v)) return v;
  if (typeof v === "string" && /^(0x[0-9a-f]+|[0-9]+)$/i.test(v.trim())) {
    const n = Number(v.trim());
    if (Number.isSafeInteger(n)) return n;
  }
  throw new TypeError(`${what} must be an integer (a number or a decimal/0x string), got ${JSON.stringify(v)}`);
}

function pair(v: unknown, what: string): [number, number] {
  if (!Array.isArray(v) || v.length !== 2) throw new TypeError(`${what} must be an array of two integers`);
  return [toInt(v[0], `${what}[0]`), toInt(v[1], `${what}[1]`)];
}

function toHex(b: Uint8Array): string {
  let s = "";
  for (const x of b) s += (x < 16 ? "0" : "") + x.toString(16);
  return s;
}

function fromHex(v: unknown, what: string): Uint8Array {
  if (typeof v !== "string") throw new TypeError(`${what} must be a hex string`);
  const h = v.replace(/\s+/g, "");
  if (h.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(h)) throw new TypeError(`${what} is not a hex string`);
  const out = new Uint8Array(h.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(h.slice(2 * i, 2 * i + 2), 16);
  return out;
}
