// The CI fuzz run: a few hundred seeded Dockerfiles from bench/fuzz-corpus.mjs,
// each checked for the invariants of bench/fuzz-check.mjs (no crash, no broken
// output or RUN, idempotent, untouched when it cannot be processed). The same
// seed gives the same files on every run; `npm run fuzz` runs thousands with a
// new seed before a release.
import { fuzzCorpus, fuzzDockerfile, random } from '../bench/fuzz-corpus.mjs';
import { checkCase, FUZZ_OPTION_SETS } from '../bench/fuzz-check.mjs';
import { DockerfileDocument, findParseProblems } from '../src/dockerfile/document.js';
import { defineTransform, Edit, fixText } from '../src/index.js';
import { initShell, parseShell, shellScript } from '../src/shell/script.js';

const dockopt = { fixText, DockerfileDocument, findParseProblems, shellScript, parseShell, initShell };
const SEED = 20161;
const CASES = 300;

test(`${CASES} seeded fuzz cases keep every invariant`, async () => {
  const failures: string[] = [];
  const statuses = new Map<string, number>();
  for (const { index, text } of fuzzCorpus(SEED, CASES)) {
    const options = FUZZ_OPTION_SETS[index % FUZZ_OPTION_SETS.length];
    const { problems, status } = await checkCase(dockopt, text, options);
    for (const problem of problems) failures.push(`case ${index} (seed ${SEED}) ${JSON.stringify(options)}: ${problem.kind}: ${problem.detail}\n  input: ${JSON.stringify(text)}`);
    statuses.set(status, (statuses.get(status) ?? 0) + 1);
  }
  expect(failures).toEqual([]);
  // The corpus exercises the transforms, not only the parser's error path.
  expect(statuses.get('changed') ?? 0).toBeGreaterThan(CASES / 2);
  expect(statuses.get('error') ?? 0).toBeGreaterThan(0);
}, 120_000);

test('the generator is deterministic: a seed and an index name one file', () => {
  const again = [...fuzzCorpus(SEED, 20)].map((entry) => entry.text);
  expect([...fuzzCorpus(SEED, 20)].map((entry) => entry.text)).toEqual(again);
  expect(fuzzDockerfile(random(1))).toBe(fuzzDockerfile(random(1)));
});

test('the checker catches a transform that breaks an invariant', async () => {
  const docs = { summary: 's', why: 'w', fixSafety: 'f', example: { before: '', after: '' } };
  // Appends a comment every time: never reaches a fixpoint, so a second run changes the file again.
  const restless = defineTransform({
    meta: { id: 'restless', title: 'restless', description: 'd', safety: 'safe', network: false, docs },
    run: (ctx) => [{ offset: 0, message: 'again', edits: [Edit.insert(ctx.doc.text.length, '# again\n')] }],
  });
  // Breaks the shell of every RUN it sees.
  const breaker = defineTransform({
    meta: { id: 'breaker', title: 'breaker', description: 'd', safety: 'safe', network: false, docs },
    run: (ctx) => ctx.doc.instructions.filter((instruction) => instruction.keyword === 'RUN' && !ctx.doc.text.slice(instruction.start, instruction.end).includes('((')).map((instruction) => ({ offset: instruction.start, message: 'break', edits: [Edit.insert(instruction.end, ' ((')] })),
  });
  const text = 'FROM debian:bookworm\nRUN echo one\n';
  const restlessRun = await checkCase(dockopt, text, { only: ['restless'], transforms: [restless] });
  expect(restlessRun.problems.map((problem) => problem.kind)).toEqual(['cycle']);
  const brokenRun = await checkCase(dockopt, text, { only: ['breaker'], transforms: [breaker] });
  expect(brokenRun.rejected).toBe(1);
});
