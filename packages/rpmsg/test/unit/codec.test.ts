import { describe, expect, it } from "vitest";
import { toHex, fromHex } from "@amp/test-utils";
import {
  decodeName,
  decodeRpmsgHeader,
  decodeRpmsgNsMessage,
  encodeName,
  encodeRpmsgHeader,
  encodeRpmsgNsMessage,
  isAmpError,
  RPMSG_HDR_SIZE,
  RPMSG_NS_MSG_SIZE,
  RpmsgNsFlags,
  utf8Decode,
  utf8Encode,
} from "@amp/rpmsg";

describe("rpmsg header (struct rpmsg_hdr)", () => {
  it("encodes the 16 bytes little-endian: src, dst, reserved, len, flags", () => {
    const v = new DataView(new ArrayBuffer(RPMSG_HDR_SIZE));
    encodeRpmsgHeader({ src: 0x400, dst: 0x35, reserved: 0, len: 40, flags: 0 }, v);
    expect(toHex(v)).toBe("00040000" + "35000000" + "00000000" + "2800" + "0000");
  });

  it("round-trips at an offset", () => {
    const v = new DataView(new ArrayBuffer(40));
    const h = { src: 0xfffffffe, dst: 1, reserved: 0xdeadbeef, len: 0xffff, flags: 7 };
    encodeRpmsgHeader(h, v, 20);
    expect(decodeRpmsgHeader(v, 20)).toEqual(h);
  });

  it("rejects fields that do not fit and headers outside the view", () => {
    const v = new DataView(new ArrayBuffer(16));
    expect(() => encodeRpmsgHeader({ src: -1, dst: 0, reserved: 0, len: 0, flags: 0 }, v)).toThrow(RangeError);
    expect(() => encodeRpmsgHeader({ src: 0, dst: 0, reserved: 0, len: 0x10000, flags: 0 }, v)).toThrow(RangeError);
    expect(() => decodeRpmsgHeader(v, 1)).toThrow(RangeError);
    expect(() => decodeRpmsgHeader(new DataView(new ArrayBuffer(15)))).toThrow(RangeError);
  });
});

describe("name field (32 bytes, NUL-padded)", () => {
  it("pads with NUL and reads back", () => {
    const f = new Uint8Array(32).fill(0xaa);
    encodeName("rpmsg-tty", f);
    expect(toHex(f)).toBe("72706d73672d747479" + "00".repeat(23));
    expect(decodeName(f)).toEqual({ name: "rpmsg-tty", unterminated: false });
  });

  it("accepts 31 bytes, rejects 32 (Linux forces byte 31 to NUL)", () => {
    encodeName("a".repeat(31), new Uint8Array(32));
    expect(() => {
      encodeName("a".repeat(32), new Uint8Array(32));
    }).toThrow(RangeError);
    expect(() => {
      encodeName("é".repeat(16), new Uint8Array(32));
    }).toThrow(RangeError); // 32 UTF-8 bytes
    expect(() => {
      encodeName("a\0b", new Uint8Array(32));
    }).toThrow(TypeError);
  });

  it("cuts an unterminated name at 31 bytes and says so", () => {
    const f = new Uint8Array(32).fill(0x41);
    expect(decodeName(f)).toEqual({ name: "A".repeat(31), unterminated: true });
  });

  it("UTF-8 without TextEncoder matches Node's", () => {
    for (const s of ["", "abc", "é", "€", "😀", "a\ud800b", "日本語"]) {
      expect(toHex(utf8Encode(s))).toBe(toHex(new TextEncoder().encode(s)));
    }
    for (const hex of ["c3a9", "e282ac", "f09f9880", "ff", "c0af", "eda080", "f4908080", "e282", "41c3"]) {
      const b = fromHex(hex);
      expect(utf8Decode(b)).toBe(new TextDecoder().decode(b));
    }
  });
});

describe("name-service message (struct rpmsg_ns_msg)", () => {
  it("is exactly 40 bytes: name[32], addr, flags", () => {
    const m = encodeRpmsgNsMessage({ name: "rpmsg-openamp-demo-channel", addr: 0x400, flags: RpmsgNsFlags.CREATE });
    expect(m.length).toBe(RPMSG_NS_MSG_SIZE);
    expect(toHex(m)).toBe(toHex(utf8Encode("rpmsg-openamp-demo-channel")) + "00".repeat(6) + "00040000" + "00000000");
    expect(decodeRpmsgNsMessage(m)).toEqual({
      name: "rpmsg-openamp-demo-channel",
      addr: 0x400,
      flags: 0,
      unterminated: false,
    });
  });

  it("DESTROY is flags = 1", () => {
    const m = encodeRpmsgNsMessage({ name: "x", addr: 1025, flags: RpmsgNsFlags.DESTROY });
    expect(toHex(m.subarray(32))).toBe("01040000" + "01000000");
  });

  it("rejects 39 and 41 bytes with ERR_MALFORMED", () => {
    for (const n of [0, 39, 41]) {
      try {
        decodeRpmsgNsMessage(new Uint8Array(n));
        expect.unreachable();
      } catch (e) {
        expect(isAmpError(e) && e.code === "ERR_MALFORMED" && e.offset === n).toBe(true);
      }
    }
  });
});
