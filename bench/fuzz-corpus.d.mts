// Types of bench/fuzz-corpus.mjs, for the tests that import it.
export function random(seed: number): () => number;
export function fuzzDockerfile(rand: () => number): string;
export function fuzzCorpus(seed: number, count: number): Generator<{ index: number; text: string }>;
