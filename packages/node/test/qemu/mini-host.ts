// A minimal, test-side rpmsg host (virtio driver role, Linux order: docs/wire-formats.md, "Who writes what, and when",
// "rpmsg") written straight against the byte layouts, independent of @amp/rpmsg and
// @amp/remoteproc-core. It checks the firmware on its own, and serves as the low-level path of the
// benchmark. Layout: the legacy vring formula of "Split virtqueue"; buffers from the "vdev0buffer" carveout,
// first half posted as rx on vring 0, second half used for tx on vring 1.
import type { Memory } from "@amp/virtio-ring";

export const RAM_BASE = 0x2100_0000;
const BUF_SIZE = 512;
const HDR = 16;
const DESC_F_WRITE = 2;
const AVAIL_F_NO_INTERRUPT = 1;

export interface VdevLayout {
  /** Offset (in the memory) of the vdev entry's type word. */
  readonly vdevOffset: number;
  readonly vrings: readonly {
    readonly da: number;
    readonly align: number;
    readonly num: number;
    readonly notifyId: number;
  }[];
  readonly bufferDa: number;
}

/** Reads the firmware's resource table (at `tableDa`) with plain offsets; buffers go to `bufferDa`. */
export function readLayout(mem: Memory, tableDa: number, bufferDa = 0x2120_0000): VdevLayout {
  const t = tableDa - RAM_BASE;
  const num = mem.getU32(t + 4);
  let vdevOffset = -1;
  const vrings: { da: number; align: number; num: number; notifyId: number }[] = [];
  for (let i = 0; i < num; i++) {
    const e = t + mem.getU32(t + 16 + 4 * i);
    const type = mem.getU32(e);
    if (type === 3) {
      vdevOffset = e;
      const n = mem.getU8(e + 25);
      for (let v = 0; v < n; v++) {
        const r = e + 28 + 20 * v;
        vrings.push({
          da: mem.getU32(r),
          align: mem.getU32(r + 4),
          num: mem.getU32(r + 8),
          notifyId: mem.getU32(r + 12),
        });
      }
    }
  }
  if (vdevOffset < 0 || vrings.length !== 2) throw new Error("firmware table without an rpmsg vdev");
  return { vdevOffset, vrings, bufferDa };
}

export interface Message {
  readonly src: number;
  readonly dst: number;
  readonly payload: Uint8Array;
}

class Ring {
  readonly desc: number;
  readonly avail: number;
  readonly used: number;
  readonly num: number;
  constructor(da: number, num: number, align: number) {
    this.num = num;
    this.desc = da - RAM_BASE;
    this.avail = this.desc + 16 * num;
    this.used = this.desc + ((16 * num + 6 + 2 * num + align - 1) & ~(align - 1));
  }
}

/** The host side of one rpmsg vdev over the firmware's memory. */
export class MiniRpmsgHost {
  private readonly rx: Ring; // vring 0
  private readonly tx: Ring; // vring 1
  private rxLastUsed = 0;
  private txAvail = 0;
  private txLastUsed = 0;
  private readonly txFree: number[] = [];
  private readonly txBase: number;
  private readonly rxBase: number;
  private readonly scratch = new Uint8Array(BUF_SIZE);
  readonly mem: Memory;
  readonly layout: VdevLayout;
  private readonly kick: (notifyId: number) => void;
  constructor(mem: Memory, layout: VdevLayout, kick: (notifyId: number) => void) {
    this.mem = mem;
    this.layout = layout;
    this.kick = kick;
    const [v0, v1] = layout.vrings as [VdevLayout["vrings"][0], VdevLayout["vrings"][0]];
    this.rx = new Ring(v0.da, v0.num, v0.align);
    this.tx = new Ring(v1.da, v1.num, v1.align);
    this.rxBase = layout.bufferDa - RAM_BASE;
    this.txBase = this.rxBase + v0.num * BUF_SIZE;
    for (let i = 0; i < v1.num; i++) this.txFree.push(i);
  }

  /** Linux's order: reset, ACK, DRIVER, zero rings, post rx buffers, gfeatures, DRIVER_OK, kick. */
  start(features = 1): void {
    const m = this.mem;
    const v = this.layout.vdevOffset;
    m.setU8(v + 24, 0);
    m.setU8(v + 24, 1);
    m.setU8(v + 24, 3);
    for (const r of [this.rx, this.tx]) m.fill(r.desc, r.used + 6 + 8 * r.num - r.desc, 0);
    for (let i = 0; i < this.rx.num; i++) {
      const d = this.rx.desc + 16 * i;
      m.setU64(d, BigInt(this.layout.bufferDa + i * BUF_SIZE));
      m.setU32(d + 8, BUF_SIZE);
      m.setU16(d + 12, DESC_F_WRITE);
      m.setU16(this.rx.avail + 4 + 2 * i, i);
    }
    m.setU16Release(this.rx.avail + 2, this.rx.num);
    m.setU16(this.tx.avail, AVAIL_F_NO_INTERRUPT); // like Linux: no tx-complete interrupts
    m.setU32(v + 16, features);
    m.setU8Release(v + 24, 7);
    this.kick(this.layout.vrings[0]!.notifyId);
  }

  /** Queues one message on vring 1 and kicks. Returns false when no tx buffer is free. */
  send(src: number, dst: number, payload: Uint8Array, kick = true): boolean {
    this.reclaimTx();
    const i = this.txFree.pop();
    if (i === undefined) return false;
    const m = this.mem;
    const off = this.txBase + i * BUF_SIZE;
    const buf = this.scratch;
    const dv = new DataView(buf.buffer);
    dv.setUint32(0, src, true);
    dv.setUint32(4, dst, true);
    dv.setUint32(8, 0, true);
    dv.setUint16(12, payload.length, true);
    dv.setUint16(14, 0, true);
    buf.set(payload, HDR);
    m.write(off, buf.subarray(0, HDR + payload.length));
    const d = this.tx.desc + 16 * i;
    m.setU64(d, BigInt(RAM_BASE + off));
    m.setU32(d + 8, HDR + payload.length);
    m.setU16(d + 12, 0);
    m.setU16(this.tx.avail + 4 + 2 * (this.txAvail % this.tx.num), i);
    this.txAvail = (this.txAvail + 1) & 0xffff;
    m.setU16Release(this.tx.avail + 2, this.txAvail);
    if (kick) this.kick(this.layout.vrings[1]!.notifyId);
    return true;
  }

  /**
   * Hostile host: queues one descriptor with an arbitrary device address and length on vring 1
   * (its buffer gets `bytes` when the address is one of ours). Returns false when no tx slot is free.
   */
  sendRawDescriptor(addr: bigint, len: number, bytes?: Uint8Array): boolean {
    this.reclaimTx();
    const i = this.txFree.pop();
    if (i === undefined) return false;
    const m = this.mem;
    if (bytes !== undefined) m.write(this.txBase + i * BUF_SIZE, bytes);
    const d = this.tx.desc + 16 * i;
    m.setU64(d, bytes !== undefined ? BigInt(RAM_BASE + this.txBase + i * BUF_SIZE) : addr);
    m.setU32(d + 8, len);
    m.setU16(d + 12, 0);
    m.setU16(this.tx.avail + 4 + 2 * (this.txAvail % this.tx.num), i);
    this.txAvail = (this.txAvail + 1) & 0xffff;
    m.setU16Release(this.tx.avail + 2, this.txAvail);
    this.kick(this.layout.vrings[1]!.notifyId);
    return true;
  }

  private reclaimTx(): void {
    const m = this.mem;
    const idx = m.getU16Acquire(this.tx.used + 2);
    while (this.txLastUsed !== idx) {
      const id = m.getU32(this.tx.used + 4 + 8 * (this.txLastUsed % this.tx.num));
      if (id < this.tx.num) this.txFree.push(id);
      this.txLastUsed = (this.txLastUsed + 1) & 0xffff;
    }
  }

  /** True when vring 0 holds an unread message. */
  hasMessage(): boolean {
    return this.mem.getU16Acquire(this.rx.used + 2) !== this.rxLastUsed;
  }

  /** Takes every received message, re-posts their buffers, and kicks once when any was taken. */
  receive(kick = true): Message[] {
    const m = this.mem;
    const out: Message[] = [];
    const idx = m.getU16Acquire(this.rx.used + 2);
    let availIdx = m.getU16(this.rx.avail + 2);
    while (this.rxLastUsed !== idx) {
      const e = this.rx.used + 4 + 8 * (this.rxLastUsed % this.rx.num);
      const id = m.getU32(e);
      const len = m.getU32(e + 4);
      this.rxLastUsed = (this.rxLastUsed + 1) & 0xffff;
      if (id >= this.rx.num || len > BUF_SIZE || len < HDR) throw new Error(`bad used entry id ${id} len ${len}`);
      const b = m.read(this.rxBase + id * BUF_SIZE, len);
      const dv = new DataView(b.buffer);
      const n = dv.getUint16(12, true);
      if (n > len - HDR) throw new Error(`hdr.len ${n} > used.len ${len} - 16`);
      out.push({ src: dv.getUint32(0, true), dst: dv.getUint32(4, true), payload: b.slice(HDR, HDR + n) });
      m.setU16(this.rx.avail + 4 + 2 * (availIdx % this.rx.num), id);
      availIdx = (availIdx + 1) & 0xffff;
    }
    if (out.length > 0) {
      m.setU16Release(this.rx.avail + 2, availIdx);
      if (kick) this.kick(this.layout.vrings[0]!.notifyId);
    }
    return out;
  }
}
