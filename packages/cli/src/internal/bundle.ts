// Bundles a firmware entry (TypeScript or JavaScript) into one ES module with esbuild, when
// esbuild can be found: it is a build tool, not a runtime dependency of amp.
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { CliError } from "./cli-error.js";

interface EsbuildOutput {
  outputFiles?: { text: string }[];
  errors: { text: string; location?: { file: string; line: number; column: number } | null }[];
}
interface EsbuildLike {
  build(options: Record<string, unknown>): Promise<EsbuildOutput>;
}

/** Directories holding the @amp packages, so firmware anywhere can import them. */
function ampNodePaths(): string[] {
  const here = dirname(fileURLToPath(import.meta.url));
  // dist/internal -> package -> its node_modules (workspace), or the node_modules it sits in (npm).
  const candidates = [join(here, "..", "..", "node_modules"), join(here, "..", "..", "..", "..")];
  return candidates.filter((d) => existsSync(join(d, "@amp", "node")));
}

async function loadEsbuild(): Promise<EsbuildLike> {
  const specifier = "esbuild";
  try {
    return (await import(specifier)) as EsbuildLike;
  } catch {
    throw new CliError(
      "esbuild is not installed, and it is needed to bundle firmware sources",
      "Install it next to your project (`npm install --save-dev esbuild`), or pass an already bundled .js/.mjs file with --bundled.",
    );
  }
}

/** Bundles `entry` for the worker-thread CPU: one ES module, ES2020, no Node built-ins. */
export async function bundleFirmware(entry: string, options: { minify?: boolean } = {}): Promise<string> {
  const esbuild = await loadEsbuild();
  let out: EsbuildOutput;
  try {
    out = await esbuild.build({
      entryPoints: [entry],
      bundle: true,
      write: false,
      format: "esm",
      platform: "neutral",
      target: "es2020",
      mainFields: ["module", "main"],
      nodePaths: ampNodePaths(),
      minify: options.minify ?? false,
      legalComments: "none",
      logLevel: "silent",
    });
  } catch (e) {
    const errors = (e as { errors?: EsbuildOutput["errors"] }).errors;
    const first = errors?.[0];
    if (first !== undefined) {
      const at =
        first.location === null || first.location === undefined
          ? ""
          : `${first.location.file}:${first.location.line}:${first.location.column}: `;
      throw new CliError(
        `cannot bundle ${entry}: ${at}${first.text}`,
        "Fix the firmware source (firmware runs without Node built-ins: use @amp packages only).",
      );
    }
    throw new CliError(
      `cannot bundle ${entry}: ${e instanceof Error ? e.message : String(e)}`,
      "Fix the firmware source.",
    );
  }
  const text = out.outputFiles?.[0]?.text;
  if (text === undefined) throw new CliError(`esbuild produced nothing for ${entry}`, "Check the entry file.");
  return text;
}
