import { describe, expect, it } from "vitest";
import { AmpError as RingAmpError } from "@amp/virtio-ring";

describe("public API surface", () => {
  it("exports exactly these names", async () => {
    expect(Object.keys(await import("@amp/rpmsg")).sort()).toEqual([
      "AMP_CLOCK_REQUEST_SIZE",
      "AMP_CLOCK_RESPONSE_SIZE",
      "AMP_CLOCK_SERVICE",
      "AMP_CLOCK_VERSION",
      "AmpClockOffsets",
      "AmpClockType",
      "AmpError",
      "ClockEstimator",
      "ClockSync",
      "RPMSG_ADDR_ANY",
      "RPMSG_BUF_SIZE",
      "RPMSG_CONFIG_MAX_BUF_SIZE_OFFSET",
      "RPMSG_DEFAULT_NUM_BUFS",
      "RPMSG_HDR_SIZE",
      "RPMSG_MAX_BUF_SIZE",
      "RPMSG_NAME_SIZE",
      "RPMSG_NS_ADDR",
      "RPMSG_NS_MSG_SIZE",
      "RPMSG_RESERVED_ADDRESSES",
      "RPMSG_VRING_HOST_RX",
      "RPMSG_VRING_HOST_TX",
      "RpmsgDevice",
      "RpmsgEndpoint",
      "RpmsgHdrOffsets",
      "RpmsgHost",
      "RpmsgNsFlags",
      "RpmsgRemote",
      "VIRTIO_ID_RPMSG",
      "VIRTIO_RPMSG_F_AMP_BUFSZ",
      "VIRTIO_RPMSG_F_NS",
      "createStaticHost",
      "createStaticRemote",
      "decodeClockRequest",
      "decodeClockResponse",
      "decodeName",
      "decodeRpmsgHeader",
      "decodeRpmsgNsMessage",
      "encodeClockRequest",
      "encodeClockResponse",
      "encodeName",
      "encodeRpmsgHeader",
      "encodeRpmsgNsMessage",
      "isAmpError",
      "isNsDestroy",
      "nameBytes",
      "rpmsgLiteLayout",
      "serveClock",
      "staticLinkLayout",
      "utf8Decode",
      "utf8Encode",
    ]);
  });

  it("AmpError is the one class of @amp/virtio-ring, with rpmsg codes", async () => {
    const m = await import("@amp/rpmsg");
    expect(m.AmpError).toBe(RingAmpError);
    expect(m.RPMSG_ADDR_ANY).toBe(0xffffffff);
    expect(m.RPMSG_NS_ADDR).toBe(53);
    expect(m.RPMSG_MAX_BUF_SIZE).toBe(16 + 0xffff);
  });
});
