export { AmpError, isAmpError } from "./errors.js";
export type { AmpErrorCode } from "./errors.js";
