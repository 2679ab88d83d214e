// Public API of @amp/rpmsg, listed by name (STYLE.md point 14).

// Roles
/** The host (virtio driver, Linux's role): owns the buffer pool, rx on vring 0, tx on vring 1. */
export { RpmsgHost } from "./host.js";
export type { RpmsgHostOptions, RpmsgHostGeometry } from "./host.js";
/** The remote (virtio device, OpenAMP's role): waits for DRIVER_OK, sends in host-posted buffers. */
export { RpmsgRemote } from "./remote.js";
export type { RpmsgRemoteOptions, BufferPool } from "./remote.js";
/** The core both roles share: endpoints, name service, process(), link state, stats. */
export { RpmsgDevice } from "./device.js";
export type { RpmsgDeviceOptions } from "./device.js";
/** Name-service events and the peer's announced services. */
export type { NsEvent, RemoteService } from "./name-service.js";
/** Counters: traffic, drops by reason, callback and protocol errors, link changes. */
export type { RpmsgStats, RpmsgDropStats } from "./stats.js";
/** rpmsg-only mode: a fixed agreed layout in shared memory, no life-cycle manager (rpmsg-lite style). */
export { staticLinkLayout, rpmsgLiteLayout, createStaticHost, createStaticRemote } from "./static-link.js";
export type { StaticLinkLayout, StaticLinkLayoutOptions, StaticLinkOptions, RpmsgLiteConfig } from "./static-link.js";

// Endpoints and messages
/** A local endpoint: send / sendTo / sendOffchannel, trySend*, zero-copy tx, callback or async iterator. */
export { RpmsgEndpoint } from "./endpoint.js";
export type { EndpointOptions } from "./endpoint.js";
/** What receivers get, held rx buffers, zero-copy tx buffers. */
export type { ReceivedMessage, RpmsgMessage, RxHold, TxBuffer } from "./message.js";
/** Per-call options of blocking operations (timeout needs the device's `scheduler`), and the injected timer shape. */
export type { WaitOptions, Scheduler, AbortSignalLike } from "./internal/wait.js";

// Wire formats
/** struct rpmsg_hdr codec (16 bytes) and its field offsets. */
export { encodeRpmsgHeader, decodeRpmsgHeader, RpmsgHdrOffsets } from "./header.js";
export type { RpmsgHeader } from "./header.js";
/** struct rpmsg_ns_msg codec (exactly 40 bytes). */
export { encodeRpmsgNsMessage, decodeRpmsgNsMessage, isNsDestroy } from "./ns-message.js";
export type { RpmsgNsMessage, DecodedNsMessage } from "./ns-message.js";
/** The 32-byte NUL-padded name field and a UTF-8 codec that needs no TextEncoder. */
export { encodeName, decodeName, nameBytes, utf8Encode, utf8Decode } from "./name.js";
export type { DecodedName } from "./name.js";

// Constants (Linux names)
/** Addresses, sizes, NS flags, feature bits, vring roles. */
export {
  RPMSG_ADDR_ANY,
  RPMSG_NS_ADDR,
  RPMSG_RESERVED_ADDRESSES,
  RPMSG_NAME_SIZE,
  RPMSG_HDR_SIZE,
  RPMSG_NS_MSG_SIZE,
  RPMSG_BUF_SIZE,
  RPMSG_DEFAULT_NUM_BUFS,
  RPMSG_MAX_BUF_SIZE,
  RpmsgNsFlags,
  VIRTIO_ID_RPMSG,
  VIRTIO_RPMSG_F_NS,
  VIRTIO_RPMSG_F_AMP_BUFSZ,
  RPMSG_CONFIG_MAX_BUF_SIZE_OFFSET,
  RPMSG_VRING_HOST_RX,
  RPMSG_VRING_HOST_TX,
} from "./constants.js";

// Errors
/** The @amp error class (from @amp/virtio-ring) and its guard; rpmsg's codes. */
export { AmpError, isAmpError } from "./errors.js";
export type { RpmsgErrorCode } from "./errors.js";

// Clock exchange ("amp-clock"): remote clock offset and drift against the host's
/** The remote's responder (announces "amp-clock", answers with its receive and send times). */
export { serveClock } from "./clock/responder.js";
export type { ClockResponder, ClockResponderOptions } from "./clock/responder.js";
/** The host's side: periodic exchanges, offset + drift with an error bound, `toHostTime`. */
export { ClockSync } from "./clock/sync.js";
export type { ClockSyncOptions, ClockSyncStats } from "./clock/sync.js";
/** The estimator alone (pure arithmetic over NTP-style samples). */
export { ClockEstimator } from "./clock/estimator.js";
export type {
  ClockSample,
  ClockEstimate,
  ClockEstimatorOptions,
  ClockSampleVerdict,
  HostTime,
} from "./clock/estimator.js";
/** The two 16- and 32-byte messages of the exchange. */
export {
  AMP_CLOCK_SERVICE,
  AMP_CLOCK_VERSION,
  AMP_CLOCK_REQUEST_SIZE,
  AMP_CLOCK_RESPONSE_SIZE,
  AmpClockType,
  AmpClockOffsets,
  encodeClockRequest,
  decodeClockRequest,
  encodeClockResponse,
  decodeClockResponse,
} from "./clock/wire.js";
export type { AmpClockRequest, AmpClockResponse } from "./clock/wire.js";
