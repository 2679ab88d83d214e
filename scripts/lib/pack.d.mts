// Types of pack.mjs, for the TypeScript tests that import it.
export declare const root: string;
export declare const tscPath: string;
export interface PublicPackage {
  readonly name: string;
  readonly version: string;
  readonly dir: string;
  readonly short: string;
}
export interface RunResult {
  readonly code: number | null;
  readonly timedOut: boolean;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}
export declare function publicPackages(): PublicPackage[];
export declare function run(
  cmd: string,
  args: readonly string[],
  options?: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; input?: string },
): Promise<RunResult>;
export declare function pnpmCommand(): string[];
export declare function packAll(dest: string, options?: { timeoutMs?: number }): Promise<Map<string, string>>;
export declare function packOne(dir: string, dest: string, options?: { timeoutMs?: number }): Promise<string>;
export declare function tarballName(name: string, version: string): string;
export declare function repack(
  tarball: string,
  dest: string,
  edit: (pkg: { name: string; version: string; dependencies?: Record<string, string> }) => void,
): Promise<string>;
export declare function unpackInto(tarball: string, into: string): Promise<void>;
export declare function freshProject(prefix?: string, pkg?: Record<string, unknown>): string;
export declare function npmInstall(
  project: string,
  tarballs: readonly string[],
  options?: { timeoutMs?: number },
): Promise<RunResult>;
export declare function installedAmpCopies(project: string): { path: string; version: string; resolved: string }[];
