// Public API of @amp/node, listed by name. Work in progress: see the open issue.
export const PACKAGE_NAME = "@amp/node";
