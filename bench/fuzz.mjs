#!/usr/bin/env node
// npm run fuzz: the release fuzz run. Thousands of seeded Dockerfiles (bench/
// fuzz-corpus.mjs), each run under one of several option sets and checked for
// the invariants in bench/fuzz-check.mjs: no crash, no broken output or RUN,
// idempotent, untouched when it cannot be processed. Prints the counts and
// every failing case with its seed and index; exits 1 when any invariant broke.
// FUZZ_CASES=n (default 6000), FUZZ_SEED=s (default: a new one each run,
// printed, so a failure is reproduced with FUZZ_SEED=s).
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { fuzzCorpus } from './fuzz-corpus.mjs';
import { checkCase, FUZZ_OPTION_SETS } from './fuzz-check.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const load = (relative) => import(pathToFileURL(path.join(root, 'dist', relative)).href);
const [api, document, shell] = await Promise.all([load('src/index.js'), load('src/dockerfile/document.js'), load('src/shell/script.js')]);
const dockopt = { fixText: api.fixText, DockerfileDocument: document.DockerfileDocument, findParseProblems: document.findParseProblems, shellScript: shell.shellScript, parseShell: shell.parseShell, initShell: shell.initShell };

const count = Number(process.env.FUZZ_CASES ?? 6000);
const seed = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
console.log(`fuzz: ${count} cases, seed ${seed} (FUZZ_SEED=${seed} repeats this run)`);
const started = Date.now();
const byKind = new Map();
let rejected = 0;
let failed = 0;
for (const { index, text } of fuzzCorpus(seed, count)) {
  const options = FUZZ_OPTION_SETS[index % FUZZ_OPTION_SETS.length];
  const result = await checkCase(dockopt, text, options);
  rejected += result.rejected;
  if (result.problems.length > 0) {
    failed++;
    for (const problem of result.problems) byKind.set(problem.kind, (byKind.get(problem.kind) ?? 0) + 1);
    if (failed <= 20) console.log(`case ${index} (seed ${seed}, options ${JSON.stringify(options)}): ${result.problems.map((problem) => `${problem.kind}: ${problem.detail}`).join('\n  ')}\n  input: ${JSON.stringify(text)}`);
  }
  if ((index + 1) % 1000 === 0) console.log(`  ${index + 1} cases, ${failed} failing, ${((Date.now() - started) / 1000).toFixed(0)} s`);
}
const kinds = [...byKind].map(([kind, n]) => `${n} ${kind}`).join(', ') || 'none';
console.log(`fuzz: ${count} cases in ${((Date.now() - started) / 1000).toFixed(1)} s: ${failed} failing (${kinds}); ${rejected} fixes rejected by the engine's parse check`);
process.exitCode = failed === 0 ? 0 : 1;
