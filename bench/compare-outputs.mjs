#!/usr/bin/env node
// Compares what two builds of dockopt make of the same Dockerfiles: output
// text, changes, notes and errors, under several option sets. For speed work,
// whose output must stay byte-identical: build the old commit somewhere
// (git archive OLD | tar -x -C /tmp/old && ln -s "$PWD/node_modules" /tmp/old/node_modules
// && cd /tmp/old && npx tsc -p tsconfig.json && node scripts/copy-assets.mjs), then
//   node bench/compare-outputs.mjs /tmp/old/dist [dist]
// The corpus: every fixture input in test/fixtures, the seeded fuzz corpus
// (COMPARE_FUZZ=n files, default 1500) and the large generated files at sizes
// the old build can still finish (COMPARE_LARGE=1 adds the full sizes).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { fuzzCorpus } from './fuzz-corpus.mjs';
import { longChain, manyRuns } from './large-files.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const [baselineDist, candidateDist = path.join(root, 'dist')] = process.argv.slice(2);
if (!baselineDist) {
  console.error('usage: node bench/compare-outputs.mjs BASELINE_DIST [CANDIDATE_DIST]');
  process.exit(2);
}
const load = (dist) => import(pathToFileURL(path.join(path.resolve(dist), 'src', 'index.js')).href);
const [baseline, candidate] = await Promise.all([load(baselineDist), load(candidateDist)]);

function fixtureInputs(directory) {
  const found = [];
  for (const name of readdirSync(directory)) {
    const full = path.join(directory, name);
    if (statSync(full).isDirectory()) found.push(...fixtureInputs(full));
    else if (name.endsWith('.input.Dockerfile')) found.push({ name: path.relative(root, full), text: readFileSync(full, 'utf8') });
  }
  return found;
}

const corpus = [
  ...fixtureInputs(path.join(root, 'test', 'fixtures')),
  ...[...fuzzCorpus(16, Number(process.env.COMPARE_FUZZ ?? 1500))].map(({ index, text }) => ({ name: `fuzz #${index}`, text })),
  ...[50, 200, 400].map((count) => ({ name: `longChain(${count})`, text: longChain(count) })),
  ...[40, 100, 200].map((count) => ({ name: `manyRuns(${count})`, text: manyRuns(count) })),
  ...(process.env.COMPARE_LARGE ? [{ name: 'longChain(2000)', text: longChain(2000) }, { name: 'manyRuns(400)', text: manyRuns(400) }] : []),
];
const offline = candidate.listTransforms().filter((transform) => !transform.network && transform.id !== 'dockerignore');
const optionSets = [{}, { unsafe: true }, { unsafe: true, cacheMounts: true }, ...offline.map((transform) => ({ only: [transform.id] }))];

const comparable = (result) => JSON.stringify({ status: result.status, output: result.output, changes: result.changes, notes: result.notes, errors: result.errors });
// No time budget: the old build may be slow, and slowness is not a difference (builds before --timeout have none).
const unlimited = await baseline.fixText('FROM a\n', { timeout: Infinity }).then(
  () => ({ timeout: Infinity }),
  () => ({}),
);
let compared = 0;
let differences = 0;
const started = Date.now();
for (const options of optionSets) {
  for (const { name, text } of corpus) {
    const before = await baseline.fixText(text, { ...options, ...unlimited });
    const after = await candidate.fixText(text, { ...options, timeout: Infinity });
    compared++;
    if (comparable(before) !== comparable(after)) {
      differences++;
      if (differences <= 10) console.log(`DIFFERENT: ${name} with ${JSON.stringify(options)}\n  before: ${comparable(before).slice(0, 400)}\n  after:  ${comparable(after).slice(0, 400)}`);
    }
  }
}
console.log(`${compared} results compared (${corpus.length} files x ${optionSets.length} option sets) in ${((Date.now() - started) / 1000).toFixed(1)} s: ${differences} different`);
process.exitCode = differences === 0 ? 0 : 1;
