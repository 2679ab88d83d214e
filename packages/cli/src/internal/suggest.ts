// "Did you mean ...?" for mistyped commands and options: the candidates closest to what was
// typed by edit distance (optimal string alignment: insertions, deletions, substitutions and
// swaps of two neighbours each cost 1, so "inpsect" is one step from "inspect").

/** Edit distance between `a` and `b` (optimal string alignment), case-insensitive. */
export function editDistance(a: string, b: string): number {
  const s = a.toLowerCase();
  const t = b.toLowerCase();
  // Three rows of the dynamic-programming table: two back is what a swap looks at.
  let prev2: number[] = [];
  let prev: number[] = Array.from({ length: t.length + 1 }, (_, j) => j);
  for (let i = 1; i <= s.length; i++) {
    const row: number[] = [i];
    for (let j = 1; j <= t.length; j++) {
      const cost = s[i - 1] === t[j - 1] ? 0 : 1;
      let d = Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost);
      if (i > 1 && j > 1 && s[i - 1] === t[j - 2] && s[i - 2] === t[j - 1]) d = Math.min(d, (prev2[j - 2] ?? 0) + 1);
      row.push(d);
    }
    prev2 = prev;
    prev = row;
  }
  return prev[t.length] ?? 0;
}

/**
 * The candidates `typed` most likely meant, best first (at most `max`): those within an edit
 * distance that grows with the word (1 up to 4 letters, 2 up to 8, then 3), and those that
 * `typed` (3 letters or more) is a prefix of. Ties keep the candidates' order.
 */
export function suggest(typed: string, candidates: readonly string[], max = 3): string[] {
  if (typed === "") return [];
  const limit = typed.length <= 4 ? 1 : typed.length <= 8 ? 2 : 3;
  const scored: { name: string; score: number; order: number }[] = [];
  candidates.forEach((name, order) => {
    if (name === typed) return;
    const d = editDistance(typed, name);
    const prefix = typed.length >= 3 && name.toLowerCase().startsWith(typed.toLowerCase());
    if (d <= limit || prefix) scored.push({ name, score: prefix ? Math.min(d, 1) : d, order });
  });
  scored.sort((x, y) => x.score - y.score || x.order - y.order);
  const best = scored[0]?.score;
  // Only the closest: "inspct" -> inspect, not inspect or rsc c.
  return [...new Set(scored.filter((c) => c.score === best).map((c) => c.name))].slice(0, max);
}

/** " Did you mean `a` or `b`?" (empty when there is nothing to suggest). */
export function didYouMean(suggestions: readonly string[]): string {
  if (suggestions.length === 0) return "";
  const quoted = suggestions.map((s) => `\`${s}\``);
  const list =
    quoted.length === 1 ? quoted[0] : `${quoted.slice(0, -1).join(", ")} or ${quoted[quoted.length - 1] ?? ""}`;
  return ` Did you mean ${list}?`;
}
