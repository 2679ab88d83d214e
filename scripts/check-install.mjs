#!/usr/bin/env node
// What a user gets from the registry, tested before anything is published: packs every public
// package (`pnpm pack`, which rewrites `workspace:^` to `^x.y.z`), installs the tarballs with
// npm into a fresh project outside the workspace (@amp dependencies may come only from those
// tarballs: the scope's registry is a closed loopback port), checks that npm installed one copy
// of each, runs one smoke script per package (scripts/smoke/<package>.mjs) and `npx amp --help`
// from the installed CLI, and type-checks a TypeScript consumer (scripts/smoke/consumer.ts)
// under module nodenext and bundler resolution. Needs built dist/ folders (run after the build).
//
//   node scripts/check-install.mjs [--keep]     --keep leaves the temp project for a look
import { copyFileSync, existsSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  freshProject,
  installedAmpCopies,
  npmInstall,
  packAll,
  publicPackages,
  root,
  run,
  tscPath,
} from "./lib/pack.mjs";

const keep = process.argv.includes("--keep");
const t0 = Date.now();
const secs = (ms) => `${(ms / 1000).toFixed(1)} s`;
let failures = 0;
const ok = (msg) => console.log(`ok   ${msg}`);
const fail = (msg) => {
  failures++;
  console.log(`FAIL ${msg}`);
};

const packages = publicPackages();
for (const p of packages) {
  if (!existsSync(join(p.dir, "dist"))) {
    console.log(`FAIL ${p.name}: no dist/ (build first: corepack pnpm build)`);
    process.exit(1);
  }
}

const project = freshProject("amp-install-check-");
if (project.startsWith(root + "/")) throw new Error(`the temp project ${project} must be outside the workspace`);
const tarDir = join(project, "tarballs");
try {
  let t = Date.now();
  const tarballs = await packAll(tarDir);
  ok(`packed ${tarballs.size} packages in ${secs(Date.now() - t)}`);

  t = Date.now();
  await npmInstall(
    project,
    [...tarballs.values()].map((f) => `./tarballs/${f.split("/").pop()}`),
  );
  const copies = installedAmpCopies(project);
  const fromRegistry = copies.filter((c) => !String(c.resolved).startsWith("file:"));
  const nested = copies.filter((c) => c.path.split("node_modules/").length > 2);
  if (fromRegistry.length > 0)
    fail(`@amp packages not from the tarballs: ${fromRegistry.map((c) => `${c.path} (${c.resolved})`).join(", ")}`);
  else if (nested.length > 0)
    fail(`npm installed more than one copy: ${nested.map((c) => `${c.path}@${c.version}`).join(", ")}`);
  else
    ok(
      `npm install of the tarballs in ${secs(Date.now() - t)}: ${copies.length} @amp packages, one copy each, all from the tarballs`,
    );

  for (const p of packages) {
    const script = join(root, "scripts", "smoke", `${p.short}.mjs`);
    if (!existsSync(script)) {
      fail(`${p.name}: no smoke script scripts/smoke/${p.short}.mjs`);
      continue;
    }
    const local = join(project, `smoke-${p.short}.mjs`);
    copyFileSync(script, local);
    const r = await run(process.execPath, [local], { cwd: project, timeoutMs: 60_000 });
    if (r.code === 0) ok(`${r.stdout.trim().split("\n").pop()} (${secs(r.ms)})`);
    else fail(`${p.name} smoke (${r.timedOut ? "timed out" : `exit ${r.code}`}):\n${r.stdout}${r.stderr}`);
  }

  const help = await run("npx", ["--no-install", "amp", "--help"], { cwd: project, timeoutMs: 60_000 });
  if (help.code === 0 && /Usage: amp <command>/.test(help.stdout))
    ok(`npx amp --help: ${help.stdout.split("\n")[0]} (${secs(help.ms)})`);
  else fail(`npx amp --help (exit ${help.code}):\n${help.stdout}${help.stderr}`);

  copyFileSync(join(root, "scripts", "smoke", "consumer.ts"), join(project, "consumer.ts"));
  for (const [module, moduleResolution] of [
    ["nodenext", "nodenext"],
    ["esnext", "bundler"],
  ]) {
    const tsconfig = join(project, `tsconfig.${moduleResolution}.json`);
    writeFileSync(
      tsconfig,
      JSON.stringify(
        {
          compilerOptions: {
            strict: true,
            exactOptionalPropertyTypes: true,
            noEmit: true,
            skipLibCheck: false,
            target: "es2022",
            lib: ["es2022"],
            module,
            moduleResolution,
            types: ["node"],
            typeRoots: [join(root, "node_modules", "@types")],
          },
          files: ["consumer.ts"],
        },
        null,
        2,
      ),
    );
    const r = await run(process.execPath, [tscPath, "-p", tsconfig], { cwd: project, timeoutMs: 120_000 });
    if (r.code === 0)
      ok(
        `tsc (module ${module}, moduleResolution ${moduleResolution}, skipLibCheck false) on a consumer of every entry point (${secs(r.ms)})`,
      );
    else fail(`tsc ${moduleResolution}:\n${r.stdout}${r.stderr}`);
  }
} catch (e) {
  fail(String(e instanceof Error ? e.message : e));
} finally {
  if (keep) console.log(`kept ${project}`);
  else rmSync(project, { recursive: true, force: true });
}
console.log(
  `${failures === 0 ? "install check passed" : `install check: ${failures} failure(s)`} in ${secs(Date.now() - t0)} (temp project under ${tmpdir()})`,
);
process.exit(failures === 0 ? 0 : 1);
