// Public API of @amp/rpmsg, listed by name. Work in progress: see the open issue.
export const PACKAGE_NAME = "@amp/rpmsg";
