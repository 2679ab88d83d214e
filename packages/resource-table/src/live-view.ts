// A live view over a table that sits in (shared) memory: the "loaded" table the remote reads.
// It reads and writes single fields in place, without re-serialising the table. The remote may
// scribble on the table at any moment, so every access re-reads the header and the entry
// offset and re-checks bounds; nothing read earlier is trusted.
import type { ByteAccessor } from "./accessor.js";
import {
  FW_RSC_CARVEOUT_SIZE,
  FW_RSC_HDR_SIZE,
  FW_RSC_TRACE_SIZE,
  FW_RSC_VDEV_SIZE,
  FW_RSC_VDEV_VRING_SIZE,
  RESOURCE_TABLE_SIZE,
  RSC_CARVEOUT,
  RSC_NAME_SIZE,
  RSC_TRACE,
  RSC_VDEV,
} from "./constants.js";
import { AmpError } from "./errors.js";
import { checkU32, checkU8, hex } from "./internal/bytes.js";
import { decodeName } from "./internal/name.js";
import { ENTRY_FIELDS as F } from "./internal/fields.js";
import { DEFAULT_MAX_ENTRIES } from "./internal/scan.js";
import { parseResourceTable } from "./parse.js";
import type { ParseOptions, ResourceTable } from "./types.js";

/** Live fields of a carveout entry (Linux writes da, pa and len back after allocation). */
export interface CarveoutView {
  /** Index of the entry in the offset array. */
  readonly index: number;
  /** `da` */
  da: number;
  /** `pa` */
  pa: number;
  /** `len` */
  len: number;
  /** `flags` */
  readonly flags: number;
  /** `name`, decoded up to the first NUL. */
  readonly name: string;
}

/** Live fields of a trace entry. */
export interface TraceView {
  readonly index: number;
  /** `da` */
  da: number;
  /** `len` */
  readonly len: number;
  /** `name` */
  readonly name: string;
}

/** Live fields of one vring of a vdev. */
export interface VringView {
  /** `da`: the host writes the ring's final device address before DRIVER_OK. */
  da: number;
  /** `align` */
  readonly align: number;
  /** `num` */
  readonly num: number;
  /** `notifyid`: the host writes it before the remote starts. */
  notifyId: number;
  /** `pa` */
  readonly pa: number;
}

/** Live fields of a vdev entry. */
export interface VdevView {
  readonly index: number;
  /** `id` */
  readonly id: number;
  /** `notifyid` (an OpenAMP host writes it). */
  notifyId: number;
  /** `dfeatures` */
  readonly dfeatures: number;
  /** `gfeatures`: the host writes the accepted features. */
  gfeatures: number;
  /** `config_len` */
  readonly configLen: number;
  /** `status`: the virtio status byte; the remote polls it for DRIVER_OK (0x04). */
  status: number;
  /** `num_of_vrings` */
  readonly numOfVrings: number;
  /** The vring `k` (0-based); checked against `num_of_vrings` on every access. */
  vring(k: number): VringView;
  /** Reads `length` bytes of config space at `offset` (RangeError past `config_len`). */
  readConfig(offset: number, length: number): Uint8Array;
  /** Writes `bytes` into config space at `offset` (RangeError past `config_len`). */
  writeConfig(offset: number, bytes: Uint8Array): void;
}

/** Options of {@link ResourceTableView}. */
export interface ResourceTableViewOptions {
  /** Size of the table region; defaults to the rest of the accessor after `baseOffset`. */
  readonly size?: number;
  /** Largest `num` accepted (default 64). */
  readonly maxEntries?: number;
}

/**
 * A live view of a resource table at `baseOffset` in a {@link ByteAccessor}. Entries are
 * addressed by their index in the offset array (the index in `parseResourceTable(...).entries`).
 *
 * @throws RangeError / TypeError for bad arguments (negative index, value not a u32...);
 *   AmpError ERR_MALFORMED / ERR_LIMIT / ERR_UNSUPPORTED when what is in memory does not allow
 *   the access (offset outside the table, entry of another type, vring index past
 *   num_of_vrings, `num` over the limit).
 * @example
 * const view = new ResourceTableView(memory, tableOffset);
 * const vdev = view.vdev(view.findEntry(RSC_VDEV));
 * vdev.vring(0).da = 0x8800_0000;
 * vdev.status = 0x07; // ACKNOWLEDGE | DRIVER | DRIVER_OK
 * @see docs/wire-formats.md, "Who writes what, and when"
 */
export class ResourceTableView {
  /** The accessor the table lives in. */
  readonly mem: ByteAccessor;
  /** Offset of the table in `mem`. */
  readonly baseOffset: number;
  /** Size of the table region in bytes. */
  readonly size: number;
  /** Largest `num` accepted. */
  readonly maxEntries: number;

  constructor(mem: ByteAccessor, baseOffset = 0, options: ResourceTableViewOptions = {}) {
    if (typeof mem !== "object" || typeof mem.getU32 !== "function") throw new TypeError("mem must be a ByteAccessor");
    const total = mem.byteLength;
    if (!Number.isSafeInteger(baseOffset) || baseOffset < 0 || baseOffset > total) {
      throw new RangeError(`baseOffset ${String(baseOffset)} is outside the ${total}-byte accessor`);
    }
    const size = options.size ?? total - baseOffset;
    if (!Number.isSafeInteger(size) || size < 0 || size > total - baseOffset) {
      throw new RangeError(`size ${String(size)} does not fit in the accessor after baseOffset ${baseOffset}`);
    }
    const maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 0)
      throw new RangeError(`maxEntries must be a non-negative integer`);
    this.mem = mem;
    this.baseOffset = baseOffset;
    this.size = size;
    this.maxEntries = maxEntries;
  }

  /** `ver` of the table header. */
  get ver(): number {
    return u32(this, 0);
  }

  /** `num` of the table header, checked against `maxEntries` and the table size. */
  get num(): number {
    if (this.size < RESOURCE_TABLE_SIZE) {
      throw new AmpError(
        "ERR_TRUNCATED",
        `RSC_TABLE_TRUNCATED: a ${this.size}-byte region cannot hold the ${RESOURCE_TABLE_SIZE}-byte header`,
        { offset: 0 },
      );
    }
    const ver = u32(this, 0);
    if (ver !== 1)
      throw new AmpError("ERR_UNSUPPORTED", `RSC_VERSION_UNSUPPORTED: table version is ${ver}`, { offset: 0 });
    const num = u32(this, 4);
    if (num > this.maxEntries)
      throw new AmpError("ERR_LIMIT", `RSC_TOO_MANY_ENTRIES: num ${num} exceeds ${this.maxEntries}`, { offset: 4 });
    if (num > (this.size - RESOURCE_TABLE_SIZE) / 4) {
      throw new AmpError(
        "ERR_MALFORMED",
        `RSC_OFFSET_ARRAY_OUT_OF_RANGE: ${num} offsets do not fit in ${this.size} bytes`,
        { offset: 4 },
      );
    }
    return num;
  }

  /** Offset of entry `index` from the start of the table (bounds-checked). */
  entryOffset(index: number): number {
    if (!Number.isSafeInteger(index) || index < 0)
      throw new RangeError(`entry index must be a non-negative integer, got ${String(index)}`);
    const num = this.num;
    if (index >= num)
      throw new AmpError("ERR_MALFORMED", `entry ${index} does not exist (num = ${num})`, { offset: 4 });
    const slot = RESOURCE_TABLE_SIZE + 4 * index;
    const off = u32(this, slot);
    if (off > this.size - FW_RSC_HDR_SIZE) {
      throw new AmpError(
        "ERR_MALFORMED",
        `RSC_OFFSET_OUT_OF_RANGE: entry ${index} offset ${hex(off)} is outside the ${this.size}-byte table`,
        { offset: slot },
      );
    }
    return off;
  }

  /** The `type` word of entry `index`. */
  entryType(index: number): number {
    return u32(this, this.entryOffset(index));
  }

  /** Index of the `nth` (0-based) entry of `type`, or -1. */
  findEntry(type: number, nth = 0): number {
    let seen = 0;
    const num = this.num;
    for (let i = 0; i < num; i++) {
      if (this.entryType(i) === type) {
        if (seen === nth) return i;
        seen++;
      }
    }
    return -1;
  }

  /** Live fields of the carveout at entry `index`. */
  carveout(index: number): CarveoutView {
    locate(this, index, RSC_CARVEOUT, FW_RSC_CARVEOUT_SIZE);
    return new LiveCarveout(this, index);
  }

  /** Live fields of the trace entry at entry `index`. */
  trace(index: number): TraceView {
    locate(this, index, RSC_TRACE, FW_RSC_TRACE_SIZE);
    return new LiveTrace(this, index);
  }

  /** Live fields of the vdev at entry `index`. */
  vdev(index: number): VdevView {
    locate(this, index, RSC_VDEV, FW_RSC_VDEV_SIZE);
    return new LiveVdev(this, index);
  }

  /** Parses the current bytes of the table (a snapshot; later writes are not reflected). */
  snapshot(options: ParseOptions = {}): ResourceTable {
    return parseResourceTable(this.mem.read(this.baseOffset, this.size), options);
  }
}

// --- internal helpers: every access goes through these bounds checks ---

function check(t: ResourceTableView, rel: number, len: number): void {
  if (rel < 0 || rel > t.size - len) {
    throw new AmpError("ERR_MALFORMED", `access [${rel}, ${rel + len}) is outside the ${t.size}-byte table`, {
      offset: rel,
    });
  }
}
function u32(t: ResourceTableView, rel: number): number {
  check(t, rel, 4);
  return t.mem.getU32(t.baseOffset + rel);
}
function u8(t: ResourceTableView, rel: number): number {
  check(t, rel, 1);
  return t.mem.getU8(t.baseOffset + rel);
}
function setU32(t: ResourceTableView, rel: number, value: number): void {
  check(t, rel, 4);
  t.mem.setU32(t.baseOffset + rel, value);
}
function setU8(t: ResourceTableView, rel: number, value: number): void {
  check(t, rel, 1);
  t.mem.setU8(t.baseOffset + rel, value);
}

/** Offset of entry `index` after checking its type and that `bodyLen` bytes follow inside the table. */
function locate(t: ResourceTableView, index: number, type: number, bodyLen: number): number {
  const off = t.entryOffset(index);
  const actual = u32(t, off);
  if (actual !== type)
    throw new AmpError("ERR_MALFORMED", `entry ${index} has type ${actual}, expected ${type}`, { offset: off });
  if (bodyLen > t.size - off - FW_RSC_HDR_SIZE) {
    throw new AmpError(
      "ERR_MALFORMED",
      `RSC_ENTRY_TRUNCATED: entry ${index} at ${hex(off)} runs past the end of the table`,
      { offset: off },
    );
  }
  return off;
}

/** Table offset of vring `k` of the vdev at entry `index`, re-checked against num_of_vrings. */
function vringOffset(t: ResourceTableView, index: number, k: number): number {
  const off = locate(t, index, RSC_VDEV, FW_RSC_VDEV_SIZE);
  const n = u8(t, off + F.VDEV_NUM_OF_VRINGS);
  if (k >= n)
    throw new AmpError("ERR_MALFORMED", `vdev entry ${index} has ${n} vrings; vring ${k} does not exist`, {
      offset: off + F.VDEV_NUM_OF_VRINGS,
    });
  const vo = off + F.VDEV_VRINGS + k * FW_RSC_VDEV_VRING_SIZE;
  if (vo > t.size - FW_RSC_VDEV_VRING_SIZE) {
    throw new AmpError(
      "ERR_MALFORMED",
      `RSC_VDEV_VRINGS_TRUNCATED: vring ${k} of vdev entry ${index} runs past the end of the table`,
      { offset: vo },
    );
  }
  return vo;
}

/**
 * What every live view shares: the table, and checked reads and writes of fields counted from
 * where `at` says the entry (or vring) is now. `at` locates it again on every access.
 */
abstract class LiveFields {
  protected readonly t: ResourceTableView;
  constructor(t: ResourceTableView) {
    this.t = t;
  }
  /** Table offset of `field`, counted from the entry (or vring) after re-checking it. */
  protected abstract at(field: number): number;
  protected u32(field: number): number {
    return u32(this.t, this.at(field));
  }
  protected setU32(field: number, v: number, what: string): void {
    setU32(this.t, this.at(field), checkU32(v, what));
  }
  protected u8(field: number): number {
    return u8(this.t, this.at(field));
  }
  protected setU8(field: number, v: number, what: string): void {
    setU8(this.t, this.at(field), checkU8(v, what));
  }
  protected text(field: number): string {
    return readName(this.t, this.at(field));
  }
}

/** A view of the entry at `index`, which must still have `type` and room for `bodyLen` bytes. */
abstract class LiveEntry extends LiveFields {
  readonly index: number;
  private readonly type: number;
  private readonly bodyLen: number;
  constructor(t: ResourceTableView, index: number, type: number, bodyLen: number) {
    super(t);
    this.index = index;
    this.type = type;
    this.bodyLen = bodyLen;
  }
  protected at(field: number): number {
    return locate(this.t, this.index, this.type, this.bodyLen) + field;
  }
}

class LiveCarveout extends LiveEntry implements CarveoutView {
  constructor(t: ResourceTableView, index: number) {
    super(t, index, RSC_CARVEOUT, FW_RSC_CARVEOUT_SIZE);
  }
  get da(): number {
    return this.u32(F.CARVEOUT_DA);
  }
  set da(v: number) {
    this.setU32(F.CARVEOUT_DA, v, "da");
  }
  get pa(): number {
    return this.u32(F.CARVEOUT_PA);
  }
  set pa(v: number) {
    this.setU32(F.CARVEOUT_PA, v, "pa");
  }
  get len(): number {
    return this.u32(F.CARVEOUT_LEN);
  }
  set len(v: number) {
    this.setU32(F.CARVEOUT_LEN, v, "len");
  }
  get flags(): number {
    return this.u32(F.CARVEOUT_FLAGS);
  }
  get name(): string {
    return this.text(F.CARVEOUT_NAME);
  }
}

class LiveTrace extends LiveEntry implements TraceView {
  constructor(t: ResourceTableView, index: number) {
    super(t, index, RSC_TRACE, FW_RSC_TRACE_SIZE);
  }
  get da(): number {
    return this.u32(F.TRACE_DA);
  }
  set da(v: number) {
    this.setU32(F.TRACE_DA, v, "da");
  }
  get len(): number {
    return this.u32(F.TRACE_LEN);
  }
  get name(): string {
    return this.text(F.TRACE_NAME);
  }
}

class LiveVdev extends LiveEntry implements VdevView {
  constructor(t: ResourceTableView, index: number) {
    super(t, index, RSC_VDEV, FW_RSC_VDEV_SIZE);
  }
  get id(): number {
    return this.u32(F.VDEV_ID);
  }
  get notifyId(): number {
    return this.u32(F.VDEV_NOTIFYID);
  }
  set notifyId(v: number) {
    this.setU32(F.VDEV_NOTIFYID, v, "notifyId");
  }
  get dfeatures(): number {
    return this.u32(F.VDEV_DFEATURES);
  }
  get gfeatures(): number {
    return this.u32(F.VDEV_GFEATURES);
  }
  set gfeatures(v: number) {
    this.setU32(F.VDEV_GFEATURES, v, "gfeatures");
  }
  get configLen(): number {
    return this.u32(F.VDEV_CONFIG_LEN);
  }
  get status(): number {
    return this.u8(F.VDEV_STATUS);
  }
  set status(v: number) {
    this.setU8(F.VDEV_STATUS, v, "status");
  }
  get numOfVrings(): number {
    return this.u8(F.VDEV_NUM_OF_VRINGS);
  }

  vring(k: number): VringView {
    if (!Number.isSafeInteger(k) || k < 0)
      throw new RangeError(`vring index must be a non-negative integer, got ${String(k)}`);
    vringOffset(this.t, this.index, k);
    return new LiveVring(this.t, this.index, k);
  }

  private config(offset: number, length: number): number {
    if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) {
      throw new RangeError("config offset and length must be non-negative integers");
    }
    const off = this.at(0);
    const configLen = u32(this.t, off + F.VDEV_CONFIG_LEN);
    // Like Linux's rproc_virtio_get/set: reject offset + len > config_len, wrap-safe.
    if (offset > configLen || length > configLen - offset) {
      throw new RangeError(`config access [${offset}, ${offset + length}) is outside config_len ${configLen}`);
    }
    const n = u8(this.t, off + F.VDEV_NUM_OF_VRINGS);
    const start = off + F.VDEV_VRINGS + n * FW_RSC_VDEV_VRING_SIZE + offset;
    if (start > this.t.size || length > this.t.size - start) {
      throw new AmpError(
        "ERR_MALFORMED",
        `RSC_VDEV_CONFIG_TRUNCATED: config space of vdev entry ${this.index} runs past the end of the table`,
        { offset: off + F.VDEV_CONFIG_LEN },
      );
    }
    return start;
  }

  readConfig(offset: number, length: number): Uint8Array {
    const start = this.config(offset, length);
    return this.t.mem.read(this.t.baseOffset + start, length).slice();
  }

  writeConfig(offset: number, bytes: Uint8Array): void {
    if (!(bytes instanceof Uint8Array)) throw new TypeError("bytes must be a Uint8Array");
    const start = this.config(offset, bytes.length);
    for (let i = 0; i < bytes.length; i++) setU8(this.t, start + i, bytes[i] ?? 0);
  }
}

class LiveVring extends LiveFields implements VringView {
  private readonly index: number;
  private readonly k: number;
  constructor(t: ResourceTableView, index: number, k: number) {
    super(t);
    this.index = index;
    this.k = k;
  }
  protected at(field: number): number {
    return vringOffset(this.t, this.index, this.k) + field;
  }
  get da(): number {
    return this.u32(F.VRING_DA);
  }
  set da(v: number) {
    this.setU32(F.VRING_DA, v, "da");
  }
  get align(): number {
    return this.u32(F.VRING_ALIGN);
  }
  get num(): number {
    return this.u32(F.VRING_NUM);
  }
  get notifyId(): number {
    return this.u32(F.VRING_NOTIFYID);
  }
  set notifyId(v: number) {
    this.setU32(F.VRING_NOTIFYID, v, "notifyId");
  }
  get pa(): number {
    return this.u32(F.VRING_PA);
  }
}

function readName(t: ResourceTableView, rel: number): string {
  check(t, rel, RSC_NAME_SIZE);
  const bytes = t.mem.read(t.baseOffset + rel, RSC_NAME_SIZE);
  return decodeName(bytes, 0).name;
}
