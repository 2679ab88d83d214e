// The vhost-user backend without a kernel: the message codec, and the parts of the protocol a
// frontend can drive without passing descriptors (a Node socket cannot pass them): feature and
// protocol-feature negotiation, config space, reply flags, refusals, hang-up and reconnection.
// Guest memory and rings are exercised by the Linux tests beside this file.
import { mkdtempSync, rmSync } from "node:fs";
import { createConnection, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { requireTools } from "@amp/test-utils";
import { VIRTIO_CONFIG_S_FEATURES_OK } from "@amp/virtio-ring";
import { VhostUserBackend, type VhostUserEvent } from "../../src/index.js";
import {
  MessageReader,
  VhostUserRequest,
  decodeMemTable,
  encodeMessage,
  encodeU64,
  fdsExpected,
} from "../../src/vhost-user/protocol.js";

const dir = mkdtempSync(join(tmpdir(), "amp-vu-unit-"));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});
const noCc = requireTools("cc");

const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");

describe("vhost-user messages", () => {
  it("reassembles messages split anywhere and hands each its descriptors", () => {
    const r = new MessageReader();
    const table = new Uint8Array(8 + 32);
    new DataView(table.buffer).setUint32(0, 1, true);
    const bytes = new Uint8Array([
      ...encodeMessage(VhostUserRequest.GET_FEATURES, 1, new Uint8Array(0)),
      ...encodeMessage(VhostUserRequest.SET_MEM_TABLE, 1, table),
      ...encodeMessage(VhostUserRequest.SET_VRING_CALL, 1, encodeU64(0x100n)),
    ]);
    r.addFds([7]);
    const got = [...r.push(bytes.subarray(0, 5)), ...r.push(bytes.subarray(5, 30)), ...r.push(bytes.subarray(30))];
    expect(got.map((m) => [m.request, m.fds])).toEqual([
      [VhostUserRequest.GET_FEATURES, []],
      [VhostUserRequest.SET_MEM_TABLE, [7]],
      [VhostUserRequest.SET_VRING_CALL, []], // bit 8: no descriptor
    ]);
    expect(decodeMemTable(got[1]?.payload ?? new Uint8Array(0))).toHaveLength(1);
    expect(fdsExpected(VhostUserRequest.SET_VRING_KICK, encodeU64(1n))).toBe(1);
  });

  it("refuses a wrong version and an oversized payload", () => {
    expect(() => new MessageReader().push(encodeMessage(1, 2, new Uint8Array(0)))).toThrow(
      expect.objectContaining({ code: "ERR_MALFORMED" }),
    );
    const big = encodeMessage(5, 1, new Uint8Array(0));
    new DataView(big.buffer).setUint32(8, 1 << 20, true);
    expect(() => new MessageReader().push(big)).toThrow(expect.objectContaining({ code: "ERR_MALFORMED" }));
    const table = new Uint8Array(8);
    new DataView(table.buffer).setUint32(0, 9, true);
    expect(() => decodeMemTable(table)).toThrow(expect.objectContaining({ code: "ERR_MALFORMED" }));
  });
});

/** A frontend that speaks vhost-user without descriptors. */
class Frontend {
  private buf = Buffer.alloc(0);
  private waiting: ((b: Buffer) => void) | undefined;
  private readonly sock: Socket;
  private constructor(sock: Socket) {
    this.sock = sock;
    sock.on("data", (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.pump();
    });
  }
  static connect(path: string): Promise<Frontend> {
    return new Promise((resolve, reject) => {
      const s = createConnection(path, () => {
        resolve(new Frontend(s));
      });
      s.on("error", reject);
    });
  }
  private pump(): void {
    if (this.waiting === undefined || this.buf.length < 12) return;
    const size = this.buf.readUInt32LE(8);
    if (this.buf.length < 12 + size) return;
    const msg = this.buf.subarray(0, 12 + size);
    this.buf = this.buf.subarray(12 + size);
    const w = this.waiting;
    this.waiting = undefined;
    w(msg);
  }
  send(request: number, payload: Uint8Array = new Uint8Array(0), flags = 1): void {
    this.sock.write(encodeMessage(request, flags, payload));
  }
  ask(request: number, payload?: Uint8Array, flags?: number): Promise<Buffer> {
    const p = new Promise<Buffer>((resolve) => {
      this.waiting = resolve;
    });
    this.send(request, payload, flags);
    this.pump();
    return p;
  }
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.sock.end(() => {
        resolve();
      });
    });
  }
}

describe.skipIf(noCc !== undefined)("vhost-user backend (a frontend without descriptors)", () => {
  it("offers VERSION_1 and PROTOCOL_FEATURES beside the device's bits, SLAVE_REQ/CONFIG/INBAND, replies with flags 0x5", async () => {
    const socketPath = join(dir, "a.sock");
    const events: VhostUserEvent[] = [];
    const b = await VhostUserBackend.listen({
      socketPath,
      deviceId: 41,
      queues: [256, 256],
      config: Uint8Array.of(4, 0, 0, 0, 20, 0, 0, 0),
    });
    b.onEvent((e) => events.push(e));
    b.transport.setDeviceFeatures(1n);
    try {
      const f = await Frontend.connect(socketPath);
      const feat = await f.ask(VhostUserRequest.GET_FEATURES);
      expect(hex(feat)).toBe(
        hex(encodeMessage(VhostUserRequest.GET_FEATURES, 0x5, encodeU64((1n << 32n) | (1n << 30n) | 1n))),
      );
      const proto = await f.ask(VhostUserRequest.GET_PROTOCOL_FEATURES);
      expect(proto.readBigUInt64LE(12)).toBe((1n << 5n) | (1n << 9n) | (1n << 14n));
      f.send(VhostUserRequest.SET_FEATURES, encodeU64((1n << 32n) | (1n << 30n) | 1n));
      // GET_CONFIG: offset 0, size 8 (Linux asks for offset + len from 0)
      const cfgReq = new Uint8Array(12 + 8);
      new DataView(cfgReq.buffer).setUint32(4, 8, true);
      const cfg = await f.ask(VhostUserRequest.GET_CONFIG, cfgReq);
      expect(cfg.readUInt32LE(4)).toBe(0x5);
      expect(hex(cfg.subarray(24))).toBe("0400000014000000");
      expect(b.transport.getStatus() & VIRTIO_CONFIG_S_FEATURES_OK).not.toBe(0);
      expect(b.transport.getDriverFeatures()).toBe((1n << 32n) | 1n);
      const q = await f.ask(VhostUserRequest.GET_QUEUE_NUM);
      expect(q.readBigUInt64LE(12)).toBe(2n);
      await f.close();
      for (let i = 0; i < 100 && !events.some((e) => e.type === "disconnected"); i++)
        await new Promise((r) => setTimeout(r, 10));
      expect(events.map((e) => e.type)).toEqual(["connected", "disconnected"]);
      expect(b.transport.getStatus()).toBe(0); // a frontend that comes back starts from a fresh device
      const f2 = await Frontend.connect(socketPath);
      expect((await f2.ask(VhostUserRequest.GET_FEATURES)).readBigUInt64LE(12)).toBe((1n << 32n) | (1n << 30n) | 1n);
      await f2.close();
    } finally {
      await b.close();
    }
  });

  it("answers REPLY_ACK requests, 1 for what it refuses, and reports the refusal", async () => {
    const socketPath = join(dir, "b.sock");
    const errors: string[] = [];
    const b = await VhostUserBackend.listen({
      socketPath,
      deviceId: 34,
      replyAck: true,
      onError: (e) => errors.push(e.code),
    });
    try {
      const f = await Frontend.connect(socketPath);
      f.send(VhostUserRequest.SET_PROTOCOL_FEATURES, encodeU64(1n << 3n));
      const ok = await f.ask(VhostUserRequest.SET_OWNER, undefined, 1 | 8);
      expect([ok.readUInt32LE(4), ok.readBigUInt64LE(12)]).toEqual([0x5, 0n]);
      const bad = await f.ask(VhostUserRequest.SET_VRING_NUM, Uint8Array.of(0, 0, 0, 0, 3, 0, 0, 0), 1 | 8); // not a power of two
      expect(bad.readBigUInt64LE(12)).toBe(1n);
      const unknown = await f.ask(99, undefined, 1 | 8);
      expect(unknown.readBigUInt64LE(12)).toBe(1n);
      expect(errors).toEqual(["ERR_PROTOCOL", "ERR_PROTOCOL"]);
      await f.close();
    } finally {
      await b.close();
    }
  });

  it("a socket path that is too long is ERR_SOCKET", async () => {
    await expect(
      VhostUserBackend.listen({ socketPath: join(dir, "x".repeat(120)), deviceId: 3 }),
    ).rejects.toMatchObject({ code: "ERR_SOCKET" });
  });
});
