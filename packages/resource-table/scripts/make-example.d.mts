// Types of make-example.mjs for the tests that import it.
import type { ResourceTableInit } from "@amp/resource-table";

/** The example table description. */
export declare const exampleTable: ResourceTableInit;
/** Where the example is checked in. */
export declare const examplePath: URL;
