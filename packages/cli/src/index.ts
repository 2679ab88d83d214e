// Public API of @amp/cli: the `amp` command line as a function, for tests and for tools that
// embed it. The executable is dist/bin.js (package.json "bin").

// Running the CLI
export { main, VERSION } from "./main.js";
export type { CliIo } from "./internal/io.js";
