// Public API of @amp/rpmsg/remote: the lean remote (virtio device role) for small engines.
// Everything else (the host, RpmsgRemote with every feature, codecs) is in "@amp/rpmsg".

/** The lean rpmsg remote, its options and counters. */
export { LeanRemote } from "./remote.js";
export type { LeanRemoteOptions, LeanRemoteStats } from "./remote.js";
/** Its endpoints and what their callbacks receive. */
export { LeanEndpoint } from "./endpoint.js";
export type { LeanEndpointOptions, LeanMessage } from "./endpoint.js";
/** The @amp error class and its guard (codes: see the README errors table). */
export { AmpError, isAmpError } from "../errors.js";
export type { RpmsgErrorCode } from "../errors.js";
