// Public API of @amp/cli, listed by name. Work in progress: see the open issue.
export const PACKAGE_NAME = "@amp/cli";
