/**
 * The part of an AbortSignal this package uses (the one of @amp/virtio-ring): the package
 * compiles against ES2020 only, without DOM types; a real AbortSignal fits it.
 */
export type { AbortSignalLike } from "@amp/virtio-ring";
