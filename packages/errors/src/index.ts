// Public API of @amp/errors, by name. The floor of the @amp package graph: every package may
// import it, it imports nothing.

// The error type
export { AmpError, isAmpError } from "./amp-error.js";
export type { AmpErrorOptions } from "./amp-error.js";

// Helpers shared by every layer's messages and layouts
export { hex, alignUp, concatBytes } from "./format.js";
