// Public API of @amp/remoteproc-core, listed by name. Work in progress: see the open issue.
export const PACKAGE_NAME = "@amp/remoteproc-core";
