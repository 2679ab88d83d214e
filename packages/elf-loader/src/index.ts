// Public API of @amp/elf-loader, listed by name. Work in progress: see the open issue.
export const PACKAGE_NAME = "@amp/elf-loader";
