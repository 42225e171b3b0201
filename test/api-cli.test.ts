// Custom transforms on the command line (--transform), through the real
// bin/dockopt (compiled by `npm test`'s build step), worker threads included.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin', 'dockopt');
const maintainerToLabel = path.join(root, 'examples', 'custom-transform', 'maintainer-to-label.mjs');
const keywordCase = path.join(root, 'test', 'data', 'custom-transforms', 'keyword-case.cjs');

function dockopt(args: string[], cwd = root) {
  const result = spawnSync(process.execPath, [bin, ...args], { cwd, encoding: 'utf8', env: { ...process.env, NO_COLOR: '', NODE_OPTIONS: '' } });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'dockopt-cli-transform-'));
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), content);
  }
  return dir;
}

const WITH_MAINTAINER = 'FROM alpine:3.20\nMAINTAINER Jane Doe <jane@example.com>\nRUN echo one\nRUN echo two\n';

test('--transform runs the README example transform when named with --only, and writes its fix', () => {
  const dir = tree({ Dockerfile: WITH_MAINTAINER });
  const relative = path.relative(dir, maintainerToLabel);
  const dryRun = dockopt(['fix', '--transform', relative, '--only', 'maintainer-to-label', 'Dockerfile'], dir);
  expect(dryRun.code).toBe(0);
  expect(dryRun.stdout).toContain('+LABEL org.opencontainers.image.authors="Jane Doe <jane@example.com>"');
  expect(dryRun.stdout).toContain(' RUN echo two');
  expect(dryRun.stderr).toContain('Dockerfile:2: maintainer-to-label: MAINTAINER is deprecated');
  const write = dockopt(['fix', '-w', '-t', relative, '--only', 'merge-runs,maintainer-to-label', 'Dockerfile'], dir);
  expect(write.stderr).toContain('1 file scanned, 1 changed, 2 fixes, 0 errors');
  expect(readFileSync(path.join(dir, 'Dockerfile'), 'utf8')).toBe('FROM alpine:3.20\nLABEL org.opencontainers.image.authors="Jane Doe <jane@example.com>"\nRUN echo one \\\n    && echo two\n');
});

test('an unsafe custom transform is not in the default set: it does not run until selected', () => {
  const dir = tree({ Dockerfile: WITH_MAINTAINER });
  // exec-form, which is on, has the same (unsafe) fix for MAINTAINER: it is held back and counted.
  const result = dockopt(['fix', '--check', '--skip', 'merge-runs,exec-form', '--transform', maintainerToLabel, '.'], dir);
  expect(result).toEqual({ code: 0, stdout: '', stderr: '1 file scanned, 0 would change, 0 fixes, 0 errors\n' });
  const selected = dockopt(['fix', '--check', '--skip', 'merge-runs,exec-form', '--extend-select', 'maintainer-to-label', '--transform', maintainerToLabel, '.'], dir);
  expect(selected.stderr).toContain('1 more fix available with --unsafe-fixes (maintainer-to-label 1)');
});

test('a safe custom transform runs by default, also with stdin', () => {
  const result = spawnSync(process.execPath, [bin, 'fix', '-', '--transform', keywordCase], { input: 'from alpine:3.20\nrun echo hi\n', encoding: 'utf8' });
  expect(result.status).toBe(0);
  expect(result.stdout).toBe('FROM alpine:3.20\nRUN echo hi\n');
});

test('list and explain show custom transforms', () => {
  const list = dockopt(['list', '--transform', maintainerToLabel, '-t', keywordCase]);
  expect(list.stdout).toMatch(/^maintainer-to-label\s+unsafe\s+no\s+off\s+Replace MAINTAINER with the OCI authors label \(custom\)$/m);
  expect(list.stdout).toMatch(/^keyword-case\s+safe\s+no\s+on\s+Write instruction keywords in upper case \(custom\)$/m);
  const explain = dockopt(['explain', 'maintainer-to-label', '--transform', maintainerToLabel]);
  expect(explain.code).toBe(0);
  expect(explain.stdout).toMatch(/^# maintainer-to-label: Replace MAINTAINER with the OCI authors label\n\n/);
  expect(explain.stdout).toMatch(/\n## Example\n\nBefore:\n\n```dockerfile\n[^]*\n---\nsafety: unsafe\n$/);
});

test('a module that is not a transform is an error naming the file, exit 2, nothing processed', () => {
  const dir = tree({ Dockerfile: WITH_MAINTAINER });
  const bad = path.join(root, 'test', 'data', 'custom-transforms', 'not-kebab-case.mjs');
  const result = dockopt(['fix', '--write', '--transform', bad, '.'], dir);
  expect(result.code).toBe(2);
  expect(result.stdout).toBe('');
  expect(result.stderr).toBe(`dockopt: ${bad}: meta.id must be a kebab-case string such as "no-latest-tag", got "Bad_Name"\n`);
  expect(readFileSync(path.join(dir, 'Dockerfile'), 'utf8')).toBe(WITH_MAINTAINER);
  expect(dockopt(['fix', '--transform', path.join(dir, 'missing.mjs'), '.'], dir).stderr).toMatch(/^dockopt: cannot load transform missing\.mjs: /);
});

test('a large tree goes through worker threads, which load the custom transform from its module', () => {
  const files: Record<string, string> = {};
  for (let index = 0; index < 420; index++) files[`svc-${String(index).padStart(3, '0')}/Dockerfile`] = index % 2 === 0 ? 'from alpine:3.20\nrun echo hi\n' : 'FROM alpine:3.20\n';
  const dir = tree(files);
  const result = dockopt(['fix', '--write', '--transform', keywordCase, '.'], dir);
  expect(result.code).toBe(0);
  expect(result.stderr.trim().split('\n').at(-1)).toBe('420 files scanned, 210 changed, 420 fixes, 0 errors');
  expect(readFileSync(path.join(dir, 'svc-418/Dockerfile'), 'utf8')).toBe('FROM alpine:3.20\nRUN echo hi\n');
});
