// Public API of @amp/virtual-io, listed by name. Work in progress: see the open issue.
export const PACKAGE_NAME = "@amp/virtual-io";
