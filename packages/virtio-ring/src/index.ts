// Public API of @amp/virtio-ring, listed by name. Work in progress: see the open issue.
export const PACKAGE_NAME = "@amp/virtio-ring";
