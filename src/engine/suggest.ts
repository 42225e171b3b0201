// "Did you mean …?" for names the user typed: transform ids, config keys,
// commands. A near miss is worth a hint; anything further is not.

/** ` (did you mean "merge-runs"?)` for a near miss among `known`, or ''. */
export function didYouMean(given: string, known: readonly string[]): string {
  const best = closest(given, known);
  return best === undefined ? '' : ` (did you mean "${best}"?)`;
}

/** The known name closest to `given`, when it is close enough to be a typo (about a third of its letters). */
export function closest(given: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(given.length / 3)) + 1;
  for (const candidate of known) {
    const distance = editDistance(given.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = current;
  }
  return previous[b.length];
}
