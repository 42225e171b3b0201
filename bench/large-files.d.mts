// Types of bench/large-files.mjs, for the tests that import it.
export function longChain(count: number): string;
export function manyRuns(count: number): string;
