import { fileURLToPath } from "node:url";
import { ampVitestConfig } from "../../vitest.shared.ts";

export default ampVitestConfig(fileURLToPath(new URL(".", import.meta.url)));
