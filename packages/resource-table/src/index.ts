// Public API of @amp/resource-table, listed by name (STYLE.md point 14).

// --- errors ---
export { AmpError, isAmpError } from "./errors.js";
export type { AmpErrorCode } from "./errors.js";

// --- constants (Linux names, include/linux/remoteproc.h) ---
export {
  RSC_TABLE_VERSION,
  RSC_CARVEOUT,
  RSC_DEVMEM,
  RSC_TRACE,
  RSC_VDEV,
  RSC_LAST,
  RSC_VENDOR_START,
  RSC_VENDOR_END,
  FW_RSC_ADDR_ANY,
  RSC_NOTIFY_ID_ANY,
  RESOURCE_TABLE_SIZE,
  FW_RSC_HDR_SIZE,
  FW_RSC_CARVEOUT_SIZE,
  FW_RSC_DEVMEM_SIZE,
  FW_RSC_TRACE_SIZE,
  FW_RSC_VDEV_SIZE,
  FW_RSC_VDEV_VRING_SIZE,
  RSC_NAME_SIZE,
  RSC_VDEV_MAX_VRINGS,
} from "./constants.js";
/** Field offsets inside an entry, counted from its type word (checked against gcc's offsetof). */
export { ENTRY_FIELDS as RSC_ENTRY_FIELDS } from "./internal/fields.js";

// --- the typed model ---
export type {
  CarveoutResource,
  DevmemResource,
  TraceResource,
  VdevVring,
  VdevResource,
  VendorResource,
  UnsupportedResource,
  Resource,
  ResourceTable,
  CarveoutInit,
  DevmemInit,
  TraceInit,
  VdevVringInit,
  VdevInit,
  VendorInit,
  UnsupportedInit,
  ResourceInit,
  ResourceTableInit,
  BuildOptions,
  VendorDecoder,
  ParseOptions,
  ValidateOptions,
  Diagnostic,
  DiagnosticCode,
  DiagnosticSeverity,
} from "./types.js";

// --- decode and check ---
export { parseResourceTable, validateResourceTable, checkResourceTable } from "./parse.js";
export type { ResourceTableCheck } from "./parse.js";
/** How many bytes a table occupies, from its own header and entries (attach: reading it from memory). */
export { resourceTableSize } from "./size.js";
export type { ResourceTableSizeOptions } from "./size.js";

// --- build and encode ---
export { buildResourceTable, serializeResourceTable } from "./serialize.js";
export { resourceTableToJson, resourceTableFromJson } from "./json.js";
export type {
  ResourceTableJson,
  ResourceJson,
  VdevResourceJson,
  VendorResourceJson,
  UnsupportedResourceJson,
} from "./json.js";
export { generateResourceTableC } from "./c-source.js";
export type { CSourceOptions } from "./c-source.js";

// --- live view over shared memory ---
export { createByteAccessor } from "./accessor.js";
export type { ByteAccessor } from "./accessor.js";
export { ResourceTableView } from "./live-view.js";
export type { ResourceTableViewOptions, CarveoutView, TraceView, VdevView, VringView } from "./live-view.js";
