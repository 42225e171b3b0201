// Types of bench/fuzz-check.mjs, for the tests that import it.
export interface FuzzProblem {
  readonly kind: string;
  readonly detail: string;
}
export const FUZZ_OPTION_SETS: readonly Record<string, unknown>[];
export function checkCase(dockopt: unknown, text: string, options: Record<string, unknown>): Promise<{ problems: FuzzProblem[]; rejected: number; status: string }>;
