// What a remote-side application imports: the remote role (virtio and rpmsg-only), plus the
// memory and address-space pieces of @amp/virtio-ring it needs to construct one.
export { RpmsgRemote, createStaticRemote, staticLinkLayout } from "@amp/rpmsg";
export { AddressSpace, ArrayBufferMemory } from "@amp/virtio-ring";
