import type { LifecycleStep } from "../errors.js";

/** Teardown failures, collected while the teardown goes on (the first one is thrown at the end). */
export type Failures = { step: LifecycleStep; error: unknown }[];
