import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import transform from '../../transforms/pkg-cleanup/index.js';
import { DockerfileDocument } from '../../src/dockerfile/document.js';
import { fixDockerfile } from '../../src/engine/fixpoint.js';
import { initShell, shellScript } from '../../src/shell/script.js';
import { defineFixtureTests, runTransform } from '../helpers/fixtures.js';

defineFixtureTests(transform);

describe('pkg-cleanup docs', () => {
  test('the example is exactly what the transform produces', async () => {
    const { before, after } = transform.meta.docs.example;
    expect((await runTransform(transform, before)).output).toBe(after);
    expect((await fixDockerfile(before, { transforms: [transform] })).output).toBe(after);
  });
});

describe('pkg-cleanup safety', () => {
  const input = 'FROM debian:bookworm-slim\nRUN apt-get update && apt-get install curl\n';

  test('without --unsafe the package set stays the same and the skipped fix is reported', async () => {
    const result = await fixDockerfile(input, { transforms: [transform] });
    expect(result.output).toBe('FROM debian:bookworm-slim\nRUN apt-get update && apt-get install -y curl && \\\n    rm -rf /var/lib/apt/lists/*\n');
    expect(result.notes.map((note) => note.message)).toEqual([
      'apt-get install gets --no-install-recommends (recommended packages are no longer installed: check that the image still works) (unsafe fix not applied: --unsafe-fixes applies it)',
    ]);
  });

  test('with --unsafe it also drops recommended packages', async () => {
    const result = await fixDockerfile(input, { transforms: [transform], unsafeAllowed: 'all' });
    expect(result.output).toContain('apt-get install -y --no-install-recommends curl && \\\n');
  });
});

// The cleanup is joined to the RUN so that the shell's exit status never changes and the
// cleanup is the last thing that runs. This runs random RUN scripts before and after the
// transform in /bin/sh, with stub commands that log their calls instead of doing anything.
describe('pkg-cleanup shell semantics', () => {
  let stubs: string;
  let log: string;

  beforeAll(async () => {
    await initShell();
    stubs = mkdtempSync(path.join(tmpdir(), 'pkg-cleanup-'));
    log = path.join(stubs, 'calls.log');
    const stub = (name: string, status: string) => {
      const file = path.join(stubs, name);
      writeFileSync(file, `#!/bin/sh\necho "${name} $*" >> "$CALL_LOG"\nexit ${status}\n`);
      chmodSync(file, 0o755);
    };
    stub('apt-get', '"${APT_STATUS:-0}"');
    stub('rm', '0');
    stub('good', '0');
    stub('bad', '3');
  });

  afterAll(() => rmSync(stubs, { recursive: true, force: true }));

  function run(script: string, aptStatus: number): { status: number; calls: string[] } {
    writeFileSync(log, '');
    let status = 0;
    try {
      // -f: no globbing, so the cleanup's glob is logged as written and never matches host files.
      execFileSync('/bin/sh', ['-f', '-c', script], { env: { PATH: `${stubs}:/usr/bin:/bin`, CALL_LOG: log, APT_STATUS: String(aptStatus) }, stdio: 'ignore' });
    } catch (error) {
      status = (error as { status: number }).status;
    }
    return { status, calls: readFileSync(log, 'utf8').split('\n').filter(Boolean) };
  }

  const command = fc.constantFrom('good', 'bad', 'apt-get update', 'apt-get install -y curl', 'apt-get install -y --no-install-recommends jq');
  const operator = fc.constantFrom(' && ', ' || ', '; ');
  const statement = fc.oneof(
    { weight: 4, arbitrary: command },
    { weight: 1, arbitrary: command.map((inner) => `if good; then ${inner}; fi`) },
    { weight: 1, arbitrary: fc.tuple(command, command).map(([a, b]) => `(${a} && ${b})`) },
    { weight: 1, arbitrary: command.map((inner) => `${inner} > /dev/null`) },
  );
  const script = fc
    .tuple(statement, fc.array(fc.tuple(operator, statement), { maxLength: 4 }))
    .map(([first, rest]) => first + rest.map(([op, next]) => op + next).join(''))
    .filter((text) => text.includes('apt-get'));

  test('exit status is unchanged and the list cleanup runs last', async () => {
    await fc.assert(
      fc.asyncProperty(script, fc.constantFrom(0, 100), async (original, aptStatus) => {
        const result = await runTransform(transform, `FROM debian:bookworm-slim\nRUN ${original}\n`);
        const doc = new DockerfileDocument(result.output);
        const fixed = shellScript(doc, doc.instructions[1])!.script;
        const before = run(original, aptStatus);
        const after = run(fixed, aptStatus);
        expect(after.status).toBe(before.status);
        if (fixed.includes('rm -rf /var/lib/apt/lists/*') && after.status === 0) {
          expect(after.calls[after.calls.length - 1]).toBe('rm -rf /var/lib/apt/lists/*');
        }
        // Without a failing apt-get the fixed RUN calls what the original called, plus update and cleanup.
        if (aptStatus === 0) {
          const extra = new Set(['apt-get update', 'rm -rf /var/lib/apt/lists/*']);
          expect(after.calls.filter((call) => !extra.has(call)).map((call) => call.replace(' --no-install-recommends', ''))).toEqual(
            before.calls.filter((call) => !extra.has(call)).map((call) => call.replace(' --no-install-recommends', '')),
          );
        }
      }),
      { numRuns: 60 },
    );
  });
});
