// TypeDoc configuration for the generated API reference (docs/api/, not committed; built and
// checked by scripts/check-docs.mjs, `corepack pnpm docs`). Every public package entry point;
// any warning (a broken {@link}, an exported type that is not reachable) fails the build.
import { OptionDefaults } from "typedoc";

/** @type {Partial<import("typedoc").TypeDocOptions>} */
export default {
  name: "@amp API reference",
  entryPoints: [
    "packages/resource-table/src/index.ts",
    "packages/elf-loader/src/index.ts",
    "packages/virtio-ring/src/index.ts",
    "packages/virtio-ring/src/lean/device.ts",
    "packages/rpmsg/src/index.ts",
    "packages/rpmsg/src/lean/index.ts",
    "packages/remoteproc-core/src/index.ts",
    "packages/virtual-io/src/index.ts",
    "packages/node/src/index.ts",
    "packages/node/src/firmware/index.ts",
    "packages/cli/src/index.ts",
  ],
  entryPointStrategy: "resolve",
  tsconfig: "docs/tsconfig.typedoc.json",
  out: "docs/api",
  readme: "none",
  excludePrivate: true,
  excludeInternal: true,
  disableSources: true,
  // Prose says "@amp" (the project's name), which TSDoc would read as a block tag: declare the
  // words as tags so they parse, and the plugin puts them back into the text.
  blockTags: [...OptionDefaults.blockTags, "@amp", "@amp-only"],
  plugin: ["./docs/typedoc-amp-words.mjs"],
  validation: { notExported: true, invalidLink: true, rewrittenLink: true, notDocumented: false },
  treatValidationWarningsAsErrors: true,
  treatWarningsAsErrors: true,
};
