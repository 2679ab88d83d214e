import js from "@eslint/js";
import { defineConfig, globalIgnores } from "eslint/config";
import tseslint from "typescript-eslint";

export default defineConfig(
  globalIgnores(["**/dist/**", "**/coverage/**", "**/test-results/**", "**/fixtures-build/**", "**/*.d.ts", ".bin/**"]),
  js.configs.recommended,
  tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      "@typescript-eslint/restrict-template-expressions": ["error", { allowNumber: true, allowBoolean: true }],
      "@typescript-eslint/consistent-type-imports": "error",
      "@typescript-eslint/explicit-module-boundary-types": "error",
      "@typescript-eslint/no-unnecessary-condition": ["error", { allowConstantLoopConditions: true }],
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              group: ["@amp/*/src/*", "**/packages/*/src/*"],
              message: "Import another package through its public entry, never its src/.",
            },
          ],
        },
      ],
    },
  },
  {
    files: ["packages/{resource-table,elf-loader,virtio-ring,rpmsg,remoteproc-core,virtual-io}/src/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              group: ["node:*", "fs", "path", "os", "worker_threads", "child_process", "crypto", "buffer"],
              message: "Runtime-agnostic package: ECMAScript built-ins only (DESIGN.md).",
            },
            {
              group: ["@amp/*/src/*", "**/packages/*/src/*"],
              message: "Import another package through its public entry, never its src/.",
            },
          ],
        },
      ],
      "no-restricted-globals": [
        "error",
        "Buffer",
        "process",
        "console",
        "setTimeout",
        "setInterval",
        "clearTimeout",
        "clearInterval",
        "setImmediate",
        "TextEncoder",
        "TextDecoder",
        "window",
        "document",
      ],
    },
  },
  {
    files: ["**/test/**/*.ts", "**/bench/**/*.ts"],
    rules: {
      "@typescript-eslint/no-non-null-assertion": "off",
      "@typescript-eslint/explicit-module-boundary-types": "off",
      "@typescript-eslint/no-unsafe-assignment": "off",
      "@typescript-eslint/no-unsafe-member-access": "off",
      "@typescript-eslint/no-unsafe-call": "off",
      "@typescript-eslint/no-unsafe-argument": "off",
      "@typescript-eslint/no-unsafe-return": "off",
      "@typescript-eslint/no-confusing-void-expression": "off",
      "@typescript-eslint/no-floating-promises": "error",
    },
  },
  { files: ["**/*.js", "**/*.mjs", "**/*.cjs"], extends: [tseslint.configs.disableTypeChecked] },
  // Bench helpers in plain JS share functions between a bench and its worker, as the .ts ones do.
  { files: ["**/bench/**/*.mjs"], rules: { "@typescript-eslint/explicit-module-boundary-types": "off" } },
);
