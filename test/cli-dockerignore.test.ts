// The dockerignore context transform through the real bin/dockopt (compiled by `npm test`'s build step).
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin', 'dockopt');

const NODE_APP = 'FROM node:22-slim\nWORKDIR /app\nCOPY . .\nCMD ["node", "server.js"]\n';

function dockopt(args: string[], cwd: string) {
  const result = spawnSync(process.execPath, [bin, ...args], { cwd, env: { ...process.env, NO_COLOR: '', FORCE_COLOR: '' }, encoding: 'utf8' });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'dockopt-dockerignore-'));
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), content);
  }
  return dir;
}

const CONTEXT = { Dockerfile: NODE_APP, 'server.js': '', '.git/HEAD': 'ref: refs/heads/main\n', 'node_modules/a/index.js': '', 'npm-debug.log': '' };

test('a dry run shows the new .dockerignore as a diff from empty and writes nothing', () => {
  const dir = tree(CONTEXT);
  const result = dockopt(['fix', '--only', 'dockerignore', '.'], dir);
  expect(result.code).toBe(0);
  expect(result.stdout).toBe('--- a/.dockerignore\n+++ b/.dockerignore\n@@ -0,0 +1,4 @@\n+# added by dockopt\n+.git\n+node_modules\n+*.log\n');
  expect(result.stderr).toBe('.dockerignore:2: dockerignore: ignore .git\n.dockerignore:3: dockerignore: ignore node_modules\n.dockerignore:4: dockerignore: ignore *.log\n1 file scanned, 0 would change, 1 .dockerignore would change, 3 fixes, 0 errors\n');
  expect(existsSync(path.join(dir, '.dockerignore'))).toBe(false);
});

test('--write creates it with mode 0644; a second run changes nothing', () => {
  const dir = tree(CONTEXT);
  expect(dockopt(['fix', '--only', 'dockerignore', '--write', dir], root).code).toBe(0);
  const file = path.join(dir, '.dockerignore');
  expect(readFileSync(file, 'utf8')).toBe('# added by dockopt\n.git\nnode_modules\n*.log\n');
  expect(statSync(file).mode & 0o777).toBe(0o644);
  const again = dockopt(['fix', '--only', 'dockerignore', '--check', dir], root);
  expect(again).toEqual({ code: 0, stdout: '', stderr: '1 file scanned, 0 would change, 0 fixes, 0 errors\n' });
});

test('an existing file keeps its lines, mode and line endings, and gets a block appended', () => {
  const dir = tree({ ...CONTEXT, '.dockerignore': '# mine\r\n.git\r\n' });
  const file = path.join(dir, '.dockerignore');
  chmodSync(file, 0o600);
  const result = dockopt(['fix', '--only', 'dockerignore', '--write', '--format', 'json', '.'], dir);
  expect(result.code).toBe(0);
  expect(readFileSync(file, 'utf8')).toBe('# mine\r\n.git\r\n\r\n# added by dockopt\r\nnode_modules\r\n*.log\r\n');
  expect(statSync(file).mode & 0o777).toBe(0o600);
  const report = JSON.parse(result.stdout);
  expect(report.files.map((entry: { path: string; status: string; written: boolean }) => [entry.path, entry.status, entry.written])).toEqual([
    ['Dockerfile', 'unchanged', false],
    ['.dockerignore', 'changed', true],
  ]);
  expect(report.files[1].transforms.dockerignore.changes).toEqual([
    { line: 5, message: 'ignore node_modules', safety: 'unsafe' },
    { line: 6, message: 'ignore *.log', safety: 'unsafe' },
  ]);
});

test('a COPY that names a log keeps it; a Dockerfile with its own ignore file is left alone', () => {
  const dir = tree({ ...CONTEXT, Dockerfile: 'FROM alpine\nCOPY npm-debug.log /logs/\n', 'Dockerfile.prod': NODE_APP, 'Dockerfile.prod.dockerignore': '.git\n' });
  const result = dockopt(['fix', '--only', 'dockerignore', '--verbose', '.'], dir);
  expect(result.stdout).toBe('--- a/.dockerignore\n+++ b/.dockerignore\n@@ -0,0 +1,3 @@\n+# added by dockopt\n+.git\n+node_modules\n');
  expect(result.stderr).toContain('.dockerignore:1: dockerignore: note: *.log not added: `COPY npm-debug.log /logs/` copies npm-debug.log\n');
  expect(result.stderr).toContain('.dockerignore:1: dockerignore: note: Dockerfile.prod is built with its own Dockerfile.prod.dockerignore, which is left alone\n');
});

test('runs without it are unchanged: the default set does not include it', () => {
  const dir = tree(CONTEXT);
  const result = dockopt(['fix', '.'], dir);
  expect(result.stdout).toBe('');
  expect(result.stderr).toBe('1 file scanned, 0 would change, 0 fixes, 0 errors\n');
});

test('selected without --unsafe-fixes it only says what it would ignore, and the hint counts it', () => {
  const dir = tree(CONTEXT);
  const result = dockopt(['fix', '--extend-select', 'dockerignore', '.'], dir);
  expect(result.code).toBe(0);
  expect(result.stdout).toBe('');
  expect(existsSync(path.join(dir, '.dockerignore'))).toBe(false);
  expect(result.stderr).toBe(
    '.dockerignore:1: dockerignore: note: would ignore .git, node_modules, *.log (unsafe fix not applied: --unsafe-fixes applies it)\n' +
      '1 file scanned, 0 would change, 0 fixes (1 unsafe not applied), 0 errors\n' +
      '1 more fix available with --unsafe-fixes (dockerignore 1)\n',
  );
  expect(dockopt(['fix', '--extend-select', 'dockerignore', '--unsafe-fixes', '.'], dir).stdout).toContain('+++ b/.dockerignore');
});

