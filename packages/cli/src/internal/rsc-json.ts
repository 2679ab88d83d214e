// The JSON form of a resource table, shared by `amp inspect --json` and `amp rsc`: field
// names are the @amp/resource-table names (the C names in camelCase); addresses, lengths,
// feature words and offsets are "0x..." strings, small counts and ids plain numbers. Decoding
// a table and encoding the JSON again gives the same bytes (offsets and size are kept).
import type { Resource, ResourceInit, ResourceTable, ResourceTableInit, VdevVringInit } from "@amp/resource-table";
import { CliError } from "./cli-error.js";
import { hex } from "./format.js";

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = Record<string, Json>;

function bytesToHex(b: Uint8Array): string {
  let s = "";
  for (const x of b) s += x.toString(16).padStart(2, "0");
  return s;
}

function withReserved(obj: JsonObject, reserved: number): JsonObject {
  if (reserved !== 0) obj["reserved"] = hex(reserved);
  return obj;
}

/** One entry as JSON. */
export function resourceToJson(r: Resource): JsonObject {
  const base: JsonObject = { kind: r.kind, type: r.type, offset: hex(r.offset) };
  switch (r.kind) {
    case "carveout":
    case "devmem":
      return withReserved(
        { ...base, da: hex(r.da), pa: hex(r.pa), len: hex(r.len), flags: hex(r.flags), name: r.name },
        r.reserved,
      );
    case "trace":
      return withReserved({ ...base, da: hex(r.da), len: hex(r.len), name: r.name }, r.reserved);
    case "vdev": {
      const o: JsonObject = {
        ...base,
        id: r.id,
        notifyId: hex(r.notifyId),
        dfeatures: hex(r.dfeatures),
        gfeatures: hex(r.gfeatures),
        configLen: r.configLen,
        status: hex(r.status),
        vrings: r.vrings.map((v) => ({
          da: hex(v.da),
          align: hex(v.align),
          num: v.num,
          notifyId: hex(v.notifyId),
          pa: hex(v.pa),
        })),
        config: bytesToHex(r.config),
      };
      if (r.reserved[0] !== 0 || r.reserved[1] !== 0) o["reserved"] = [r.reserved[0], r.reserved[1]];
      return o;
    }
    case "vendor":
    case "unsupported":
      return { ...base, data: bytesToHex(r.data) };
  }
}

/** A whole table as JSON (address of the table added by the caller when known). */
export function tableToJson(t: ResourceTable): JsonObject {
  const o: JsonObject = { ver: t.ver, size: hex(t.size), entries: t.entries.map(resourceToJson) };
  if (t.reserved[0] !== 0 || t.reserved[1] !== 0) o["reserved"] = [t.reserved[0], t.reserved[1]];
  return o;
}

// ------------------------------------------------------------------------------------------
// JSON -> builder input. Every field is checked; a bad one names its JSON path.

class Reader {
  private readonly file: string;
  constructor(file: string) {
    this.file = file;
  }
  fail(path: string, what: string): never {
    throw new CliError(`${this.file}: ${path}: ${what}`, "Fix the JSON (see `amp rsc --help` for the format).", 1, {
      code: "ERR_MALFORMED",
    });
  }
  obj(v: Json | undefined, path: string): JsonObject {
    if (v === null || typeof v !== "object" || Array.isArray(v)) this.fail(path, "expected an object");
    return v;
  }
  arr(v: Json | undefined, path: string): Json[] {
    if (!Array.isArray(v)) this.fail(path, "expected an array");
    return v;
  }
  u32(v: Json | undefined, path: string, max = 0xffffffff): number {
    let n: number;
    if (typeof v === "number") n = v;
    else if (typeof v === "string" && /^0x[0-9a-f]+$/i.test(v)) n = parseInt(v.slice(2), 16);
    else if (typeof v === "string" && /^\d+$/.test(v)) n = Number(v);
    else this.fail(path, `expected a number or "0x..." string, got ${JSON.stringify(v ?? null)}`);
    if (!Number.isInteger(n) || n < 0 || n > max)
      this.fail(path, `${JSON.stringify(v)} is out of range 0..${hex(max)}`);
    return n;
  }
  optU32(o: JsonObject, key: string, path: string, max?: number): number | undefined {
    const v = o[key];
    return v === undefined ? undefined : this.u32(v, `${path}.${key}`, max);
  }
  str(v: Json | undefined, path: string): string {
    if (typeof v !== "string") this.fail(path, "expected a string");
    return v;
  }
  bytes(v: Json | undefined, path: string): Uint8Array {
    const s = this.str(v, path).replace(/\s+/g, "");
    if (s.length % 2 !== 0 || /[^0-9a-f]/i.test(s)) this.fail(path, 'expected hex bytes, e.g. "00ff"');
    const out = new Uint8Array(s.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
    return out;
  }
  pair(v: Json | undefined, path: string): [number, number] {
    const a = this.arr(v, path);
    if (a.length !== 2) this.fail(path, "expected two numbers");
    return [this.u32(a[0], `${path}[0]`), this.u32(a[1], `${path}[1]`)];
  }
}

function opt<K extends string, V>(key: K, v: V | undefined): Partial<Record<K, V>> {
  return v === undefined ? {} : ({ [key]: v } as Record<K, V>);
}

/** Parses the JSON text of a table into builder input. */
export function jsonToTableInit(text: string, file: string): ResourceTableInit {
  const rd = new Reader(file);
  let doc: Json;
  try {
    doc = JSON.parse(text) as Json;
  } catch (e) {
    throw new CliError(
      `${file}: not valid JSON (${e instanceof Error ? e.message : String(e)})`,
      "Fix the JSON syntax.",
      1,
      { code: "ERR_MALFORMED" },
    );
  }
  let root = rd.obj(doc, "$");
  // Accept `amp inspect --json` output as well: its table lives under "resourceTable".
  if (root["resourceTable"] !== undefined && root["entries"] === undefined)
    root = rd.obj(root["resourceTable"], "$.resourceTable");
  const entries = rd
    .arr(root["entries"], "$.entries")
    .map((e, i) => entryInit(rd, rd.obj(e, `$.entries[${i}]`), `$.entries[${i}]`));
  return {
    ...opt("ver", rd.optU32(root, "ver", "$")),
    ...opt("size", rd.optU32(root, "size", "$")),
    ...opt("reserved", root["reserved"] === undefined ? undefined : rd.pair(root["reserved"], "$.reserved")),
    entries,
  };
}

function entryInit(rd: Reader, o: JsonObject, path: string): ResourceInit {
  const kind = rd.str(o["kind"], `${path}.kind`);
  const offset = rd.optU32(o, "offset", path);
  const reserved = rd.optU32(o, "reserved", path);
  const name = o["name"] === undefined ? undefined : rd.str(o["name"], `${path}.name`);
  const common = { ...opt("offset", offset) };
  switch (kind) {
    case "carveout":
      return {
        kind,
        ...common,
        ...opt("da", rd.optU32(o, "da", path)),
        ...opt("pa", rd.optU32(o, "pa", path)),
        len: rd.u32(o["len"], `${path}.len`),
        ...opt("flags", rd.optU32(o, "flags", path)),
        ...opt("reserved", reserved),
        ...opt("name", name),
      };
    case "devmem":
      return {
        kind,
        ...common,
        da: rd.u32(o["da"], `${path}.da`),
        pa: rd.u32(o["pa"], `${path}.pa`),
        len: rd.u32(o["len"], `${path}.len`),
        ...opt("flags", rd.optU32(o, "flags", path)),
        ...opt("reserved", reserved),
        ...opt("name", name),
      };
    case "trace":
      return {
        kind,
        ...common,
        da: rd.u32(o["da"], `${path}.da`),
        len: rd.u32(o["len"], `${path}.len`),
        ...opt("reserved", reserved),
        ...opt("name", name),
      };
    case "vdev": {
      const vrings: VdevVringInit[] = (o["vrings"] === undefined ? [] : rd.arr(o["vrings"], `${path}.vrings`)).map(
        (v, i) => {
          const p = `${path}.vrings[${i}]`;
          const vo = rd.obj(v, p);
          return {
            ...opt("da", rd.optU32(vo, "da", p)),
            align: rd.u32(vo["align"], `${p}.align`),
            num: rd.u32(vo["num"], `${p}.num`),
            ...opt("notifyId", rd.optU32(vo, "notifyId", p)),
            ...opt("pa", rd.optU32(vo, "pa", p)),
          };
        },
      );
      return {
        kind,
        ...common,
        id: rd.u32(o["id"], `${path}.id`),
        ...opt("notifyId", rd.optU32(o, "notifyId", path)),
        ...opt("dfeatures", rd.optU32(o, "dfeatures", path)),
        ...opt("gfeatures", rd.optU32(o, "gfeatures", path)),
        ...opt("configLen", rd.optU32(o, "configLen", path)),
        ...opt("status", rd.optU32(o, "status", path, 0xff)),
        ...opt("numOfVrings", rd.optU32(o, "numOfVrings", path, 0xff)),
        ...opt("reserved", o["reserved"] === undefined ? undefined : rd.pair(o["reserved"], `${path}.reserved`)),
        vrings,
        ...opt("config", o["config"] === undefined ? undefined : rd.bytes(o["config"], `${path}.config`)),
      };
    }
    case "vendor":
    case "unsupported":
      return {
        kind,
        ...common,
        type: rd.u32(o["type"], `${path}.type`),
        ...opt("data", o["data"] === undefined ? undefined : rd.bytes(o["data"], `${path}.data`)),
      };
    default:
      return rd.fail(
        `${path}.kind`,
        `unknown kind "${kind}" (expected carveout, devmem, trace, vdev, vendor or unsupported)`,
      );
  }
}
