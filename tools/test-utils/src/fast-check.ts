/**
 * fast-check run parameters from the environment, so CI and a developer chasing a failure can
 * change them without editing tests: AMP_FC_RUNS (default per test), AMP_FC_SEED (replay).
 */
export function fcParams(defaultRuns = 200): { numRuns: number; seed?: number } {
  const runs = Number(process.env["AMP_FC_RUNS"] ?? defaultRuns);
  const seed = process.env["AMP_FC_SEED"];
  return seed === undefined ? { numRuns: runs } : { numRuns: runs, seed: Number(seed) };
}
