import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { DockerfileDocument } from '../../src/dockerfile/document.js';
import { initShell, shellScript } from '../../src/shell/script.js';
import transform from '../../transforms/merge-runs/index.js';
import { defineFixtureTests, runTransform } from '../helpers/fixtures.js';

defineFixtureTests(transform);

test('the docs example is exactly what the transform produces', async () => {
  const result = await runTransform(transform, transform.meta.docs.example.before);
  expect(result.output).toBe(transform.meta.docs.example.after);
});

// ---- the merged RUN must do what the separate RUNs did ---------------------------------------
//
// A build runs each RUN with a fresh shell in the same working directory and
// stops at the first one that fails; files persist from one RUN to the next.
// These tests run the RUN scripts of a Dockerfile that way, before and after
// the transform, in a scratch directory, and compare what can be observed:
// whether the build succeeds, what the RUNs print, and the files they leave
// (with their permission bits, which a leaked umask would change).

interface Outcome {
  readonly succeeded: boolean;
  readonly stdout: string;
  readonly files: readonly string[];
}

function shellArgv(doc: DockerfileDocument): string[] {
  const shell = doc.instructions.find((instruction) => instruction.keyword === 'SHELL');
  if (!shell) return ['/bin/sh', '-c'];
  return JSON.parse(shell.node.getArgumentsContent() ?? '') as string[];
}

function build(dockerfile: string): Outcome {
  const doc = new DockerfileDocument(dockerfile);
  const argv = shellArgv(doc);
  const workdir = mkdtempSync(path.join(tmpdir(), 'merge-runs-'));
  try {
    let stdout = '';
    let succeeded = true;
    for (const instruction of doc.instructions) {
      if (instruction.keyword !== 'RUN') continue;
      const script = shellScript(doc, instruction);
      if (!script) throw new Error(`not a shell-form RUN: ${doc.text.slice(instruction.start, instruction.end)}`);
      const run = spawnSync(argv[0], [...argv.slice(1), script.script], {
        cwd: workdir,
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: workdir, LC_ALL: 'C' },
        encoding: 'utf8',
        timeout: 10_000,
      });
      stdout += run.stdout;
      if (run.status !== 0) {
        succeeded = false;
        break;
      }
    }
    return { succeeded, stdout, files: listFiles(workdir) };
  } finally {
    rmSync(workdir, { recursive: true, force: true });
  }
}

function listFiles(root: string, prefix = ''): string[] {
  return readdirSync(path.join(root, prefix))
    .sort()
    .flatMap((name) => {
      const relative = path.join(prefix, name);
      const stats = statSync(path.join(root, relative));
      const mode = (stats.mode & 0o777).toString(8);
      if (stats.isDirectory()) return [`${relative}/ ${mode}`, ...listFiles(root, relative)];
      return [`${relative} ${mode} ${JSON.stringify(readFileSync(path.join(root, relative), 'utf8'))}`];
    });
}

async function expectSameBehaviour(dockerfile: string): Promise<string> {
  const merged = (await runTransform(transform, dockerfile)).output;
  expect(build(merged)).toEqual(build(dockerfile));
  return merged;
}

const runs = (...scripts: string[]) => ['FROM alpine:3.20', ...scripts.map((script) => `RUN ${script}`), ''].join('\n');

describe('merged RUNs behave like the separate RUNs', () => {
  beforeAll(() => initShell());

  test.each([
    ['cd does not carry over', runs('mkdir sub && cd sub', 'touch here', 'ls')],
    ['export does not carry over', runs('export GREETING=hi', 'echo "[${GREETING-}]"')],
    ['a bare assignment does not carry over', runs('NAME=x', 'echo "[${NAME-unset}]"')],
    ['set -e does not carry over', runs('set -e', 'false; echo survived', 'echo third')],
    ['umask does not carry over', runs('umask 077', 'touch f', 'mkdir d')],
    ['exit ends only its own RUN', runs('exit 0', 'echo reached')],
    ['a function is not defined in the next RUN', runs('greet() { echo hi; }; greet', 'greet || echo no-function')],
    ['an EXIT trap fires at the end of its RUN', runs("trap 'echo bye' EXIT; echo body", 'echo next')],
    ['exec replaces only its own RUN', runs('exec echo replaced', 'echo next')],
    ['|| keeps its meaning after a join', runs('true', 'false || echo fallback', 'echo third')],
    ['; keeps its meaning after a join', runs('true', 'false; echo semicolon', 'echo after')],
    ['a failing RUN stops the build', runs('echo a', 'false', 'echo never')],
    ['a failing first statement before ; does not stop its RUN', runs('false; echo still', 'echo next')],
    ['a trailing shell comment does not swallow the next RUN', runs('echo one # note', 'echo two')],
    ['a loop variable read later does not carry over', runs('for i in 1 2; do echo $i; done', 'echo "[${i-}]"')],
    ['set -e inside a RUN still stops that RUN', runs('set -e; false; echo not-reached', 'echo next')],
  ])('%s', async (_name, dockerfile) => {
    const merged = await expectSameBehaviour(dockerfile);
    // Every case here except the refused set -e one is something the transform does merge.
    if (!dockerfile.includes('set -e; false')) expect(merged.match(/^RUN /gm)).toHaveLength(1);
  });

  test('errexit from SHELL keeps stopping each RUN at its first failure', async () => {
    const dockerfile = [
      'FROM debian:bookworm-slim',
      'SHELL ["/bin/sh", "-e", "-c"]',
      'RUN echo start',
      'RUN mkdir a; false; echo not-reached',
      'RUN echo never',
      '',
    ].join('\n');
    await expectSameBehaviour(dockerfile);
  });

  test('pipefail from SHELL still applies to every merged RUN', async () => {
    const dockerfile = ['FROM debian:bookworm-slim', 'SHELL ["/bin/bash", "-o", "pipefail", "-c"]', 'RUN echo start', 'RUN false | cat', 'RUN echo never', ''].join('\n');
    const merged = await expectSameBehaviour(dockerfile);
    expect(merged.match(/^RUN /gm)).toHaveLength(1);
  });

  // Random RUN sequences built from commands that change shell state, fail,
  // or use operators whose meaning could change once joined.
  const SNIPPETS = [
    'mkdir -p d && cd d',
    'cd d 2>/dev/null || true',
    'if true; then cd d 2>/dev/null; fi',
    '( cd d 2>/dev/null )',
    'export V=1',
    'V=2',
    'echo "[${V-}]"',
    'set -e',
    'set -u',
    'echo "[${W-}]"',
    'true',
    'false',
    'false || echo rescued',
    'echo a; false',
    'false; echo b',
    'touch f1',
    'umask 077',
    'touch f2; mkdir -p g',
    'pwd | wc -c',
    'for i in 1 2; do echo "$i"; done',
    'echo "[${i-}]"',
    'f() { echo fn; }',
    'f 2>/dev/null || echo no-fn',
    'exit 0',
    'exit 3',
    "trap 'echo trapped' EXIT",
    'echo x # a comment',
    '{ echo g; false; }',
    'set -e; false; echo after-e',
    'set -eu && echo strict',
    'test -d d || mkdir d',
    'ls | sort',
    'alias e=echo',
    'e hi 2>/dev/null || echo no-alias',
  ];
  const SHELLS = [undefined, '["/bin/bash", "-c"]', '["/bin/sh", "-e", "-c"]', '["/bin/bash", "-euo", "pipefail", "-c"]'];
  const script = fc.oneof(
    fc.constantFrom(...SNIPPETS),
    fc.tuple(fc.constantFrom(...SNIPPETS), fc.constantFrom('; ', ' && ', ' || '), fc.constantFrom(...SNIPPETS)).map(([a, op, b]) => `${a}${op}${b}`),
  );

  test('random RUN sequences', async () => {
    await fc.assert(
      fc.asyncProperty(fc.option(fc.constantFrom(...SHELLS.slice(1)), { nil: undefined }), fc.array(script, { minLength: 2, maxLength: 4 }), async (shell, scripts) => {
        const lines = ['FROM alpine:3.20', ...(shell ? [`SHELL ${shell}`] : []), ...scripts.map((line) => `RUN ${line}`), ''];
        const dockerfile = lines.join('\n');
        const merged = (await runTransform(transform, dockerfile)).output;
        expect({ dockerfile: merged, outcome: build(merged) }).toEqual({ dockerfile: merged, outcome: build(dockerfile) });
      }),
      { numRuns: 150 },
    );
  });
});
