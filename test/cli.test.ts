// The CLI through the real bin/dockopt (compiled by `npm test`'s build step).
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync, lstatSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin', 'dockopt');

const MERGEABLE = 'FROM debian:bookworm-slim\nRUN echo one\nRUN echo two\n';
const CLEAN = 'FROM debian:bookworm-slim\nRUN echo one\n';
const BROKEN = 'FROM debian:bookworm-slim\nRUN echo one\nFROOM nothing\n';

function dockopt(args: string[], options: { cwd?: string; input?: string | Buffer; env?: Record<string, string> } = {}) {
  const result = spawnSync(process.execPath, [bin, ...args], {
    cwd: options.cwd ?? root,
    input: options.input,
    env: { ...process.env, NO_COLOR: '', FORCE_COLOR: '', ...options.env },
    encoding: 'utf8',
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function tree(files: Record<string, string | Buffer>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'dockopt-cli-'));
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), content);
  }
  return dir;
}

describe('dockopt fix (dry run)', () => {
  test('prints a unified diff with a/ b/ headers and a summary, and leaves the file alone', () => {
    const dir = tree({ Dockerfile: MERGEABLE });
    const result = dockopt(['fix', 'Dockerfile'], { cwd: dir });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^--- a\/Dockerfile\n\+\+\+ b\/Dockerfile\n@@ /);
    expect(result.stdout).toContain('-RUN echo two');
    expect(result.stdout).not.toMatch(/\u001b\[/);
    expect(result.stderr).toContain('Dockerfile:2: merge-runs:');
    expect(result.stderr.trim().split('\n').at(-1)).toBe('1 file scanned, 1 would change, 1 fix, 0 errors');
    expect(readFileSync(path.join(dir, 'Dockerfile'), 'utf8')).toBe(MERGEABLE);
  });

  test('no paths means the current directory', () => {
    const dir = tree({ Dockerfile: MERGEABLE, 'sub/Containerfile': CLEAN });
    const result = dockopt(['fix'], { cwd: dir });
    expect(result.stderr).toContain('2 files scanned, 1 would change, 1 fix, 0 errors');
  });

  test('--quiet prints no summary', () => {
    const dir = tree({ Dockerfile: MERGEABLE });
    const result = dockopt(['fix', '--quiet', dir]);
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain('+++ b/');
  });
});

describe('directory discovery', () => {
  test('finds every Dockerfile naming style, honours .gitignore, skips node_modules and .git', () => {
    const dir = tree({
      '.gitignore': 'ignored/\n*.generated.Dockerfile\n',
      Dockerfile: CLEAN,
      'Dockerfile.dev': CLEAN,
      'api/app.Dockerfile': CLEAN,
      'web/web.dockerfile': CLEAN,
      'Containerfile': CLEAN,
      'Containerfile.prod': CLEAN,
      'Dockerfile.dockerignore': 'node_modules\n',
      'ignored/Dockerfile': CLEAN,
      'x.generated.Dockerfile': CLEAN,
      'node_modules/pkg/Dockerfile': CLEAN,
      '.git/Dockerfile': CLEAN,
      'README.md': '# not a Dockerfile\n',
    });
    const result = dockopt(['fix', '--format', 'json', '.'], { cwd: dir });
    const report = JSON.parse(result.stdout);
    expect(report.files.map((file: { path: string }) => file.path).sort()).toEqual(
      ['Containerfile', 'Containerfile.prod', 'Dockerfile', 'Dockerfile.dev', 'api/app.Dockerfile', 'web/web.dockerfile'].sort(),
    );
  });

  test('a parse error in one file: named with its line, left untouched, the others still written, exit 2', () => {
    const dir = tree({ 'a/Dockerfile': MERGEABLE, 'b/Dockerfile': BROKEN, 'c/Dockerfile': MERGEABLE, 'd/Dockerfile': Buffer.from([0x46, 0x00, 0x01]) });
    const result = dockopt(['fix', '--write', '.'], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('b/Dockerfile:3: error: cannot parse: Unknown instruction: FROOM');
    // A problem with the file as a whole names the path, not a line; an unreadable file was not scanned.
    expect(result.stderr).toContain('d/Dockerfile: error: binary file');
    expect(result.stderr).toContain('3 files scanned, 2 changed, 2 fixes, 2 errors');
    expect(readFileSync(path.join(dir, 'b/Dockerfile'), 'utf8')).toBe(BROKEN);
    expect(readFileSync(path.join(dir, 'a/Dockerfile'), 'utf8')).not.toBe(MERGEABLE);
    expect(readFileSync(path.join(dir, 'c/Dockerfile'), 'utf8')).not.toBe(MERGEABLE);
  });

  test('a large tree goes through worker threads with the same results', () => {
    const files: Record<string, string> = {};
    for (let index = 0; index < 450; index++) files[`svc-${String(index).padStart(3, '0')}/Dockerfile`] = index % 3 === 0 ? CLEAN : MERGEABLE;
    files['svc-007/Dockerfile'] = BROKEN;
    const dir = tree(files);
    const check = dockopt(['fix', '--check', '.'], { cwd: dir });
    expect(check.code).toBe(2);
    const listed = check.stdout.trim().split('\n').map((line) => line.replace(/: merge-runs:2$/, ''));
    expect(listed).toHaveLength(299);
    expect(listed).toEqual([...listed].sort());
    expect(check.stderr).toContain('svc-007/Dockerfile:3: error: cannot parse');
    const write = dockopt(['fix', '--write', '.'], { cwd: dir });
    expect(write.stderr).toContain('450 files scanned, 299 changed, 299 fixes, 1 error');
    expect(readFileSync(path.join(dir, 'svc-001/Dockerfile'), 'utf8')).toContain('&& echo two');
    expect(readFileSync(path.join(dir, 'svc-007/Dockerfile'), 'utf8')).toBe(BROKEN);
  });

  test('a missing path is an error, the rest still runs', () => {
    const dir = tree({ Dockerfile: CLEAN });
    const result = dockopt(['fix', 'Dockerfile', 'nope/Dockerfile'], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('nope/Dockerfile: error: no such file or directory\n');
    expect(result.stderr).toContain('1 file scanned, 0 would change, 0 fixes, 1 error');
  });
});

describe('--check', () => {
  test('lists each file that would change with the transforms and lines, then the summary, and exits 1', () => {
    const dir = tree({ 'a/Dockerfile': 'FROM debian:12\nRUN apt-get update\nRUN apt-get install -y curl\n', 'b/Dockerfile': CLEAN, 'c/Dockerfile': MERGEABLE });
    const result = dockopt(['fix', '--check', '.'], { cwd: dir });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('a/Dockerfile: merge-runs:2, pkg-cleanup:2\nc/Dockerfile: merge-runs:2\n');
    expect(result.stderr).toBe('3 files scanned, 2 would change, 3 fixes (1 unsafe not applied), 0 errors\n1 more fix available with --unsafe-fixes (pkg-cleanup 1)\n');
  });

  test('exits 0 when nothing would change; --quiet keeps stderr empty', () => {
    const dir = tree({ Dockerfile: CLEAN });
    expect(dockopt(['fix', '--check', '.'], { cwd: dir })).toEqual({ code: 0, stdout: '', stderr: '1 file scanned, 0 would change, 0 fixes, 0 errors\n' });
    expect(dockopt(['fix', '--check', '-q', '.'], { cwd: dir })).toEqual({ code: 0, stdout: '', stderr: '' });
  });

  test('cannot be combined with --write', () => {
    expect(dockopt(['fix', '--check', '--write', '.']).code).toBe(2);
  });
});

describe('--write', () => {
  test('writes in place, keeps the mode, leaves no temporary file, follows symlinks', () => {
    const dir = tree({ 'real/Dockerfile': MERGEABLE });
    chmodSync(path.join(dir, 'real/Dockerfile'), 0o640);
    symlinkSync(path.join(dir, 'real/Dockerfile'), path.join(dir, 'Dockerfile'));
    const result = dockopt(['fix', '--write', 'Dockerfile'], { cwd: dir });
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('');
    expect(lstatSync(path.join(dir, 'Dockerfile')).isSymbolicLink()).toBe(true);
    const written = readFileSync(path.join(dir, 'real/Dockerfile'), 'utf8');
    expect(written).toContain('RUN echo one');
    expect(written).not.toContain('RUN echo two');
    expect(statSync(path.join(dir, 'real/Dockerfile')).mode & 0o777).toBe(0o640);
    expect(readdirSync(path.join(dir, 'real'))).toEqual(['Dockerfile']);
    expect(dockopt(['fix', '--check', 'Dockerfile'], { cwd: dir }).code).toBe(0);
  });

  test('CRLF and BOM survive a write', () => {
    const input = '\uFEFFFROM a\r\nRUN echo one\r\nRUN echo two\r\n';
    const dir = tree({ Dockerfile: input });
    dockopt(['fix', '--write', 'Dockerfile'], { cwd: dir });
    const written = readFileSync(path.join(dir, 'Dockerfile'), 'utf8');
    expect(written.startsWith('\uFEFFFROM a\r\n')).toBe(true);
    expect(written.replace(/\r\n/g, '')).not.toContain('\n');
  });
});

describe('stdin', () => {
  test('`fix -` writes the fixed Dockerfile to stdout', () => {
    const result = dockopt(['fix', '-'], { input: MERGEABLE });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('RUN echo one');
    expect(result.stdout).not.toContain('RUN echo two');
  });

  test('`fix - --diff` prints a diff', () => {
    const result = dockopt(['fix', '-', '--diff', '--stdin-filename', 'svc/Dockerfile'], { input: MERGEABLE });
    expect(result.stdout).toMatch(/^--- a\/svc\/Dockerfile\n\+\+\+ b\/svc\/Dockerfile\n/);
  });

  test('a parse error passes the input through unchanged and exits 2', () => {
    const result = dockopt(['fix', '-'], { input: BROKEN });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe(BROKEN);
    expect(result.stderr).toContain('Dockerfile:3: error: cannot parse');
  });
});

describe('--format json', () => {
  test('reports per file and per transform, with lines and messages', () => {
    const dir = tree({ Dockerfile: MERGEABLE, 'bad/Dockerfile': BROKEN });
    const result = dockopt(['fix', '--format', 'json', '.'], { cwd: dir });
    expect(result.code).toBe(2);
    const report = JSON.parse(result.stdout);
    expect(report.summary).toEqual({ scanned: 2, changed: 1, dockerignoreChanged: 0, fixes: 1, unsafeNotApplied: 0, errors: 1, written: false });
    const good = report.files.find((file: { path: string }) => file.path === 'Dockerfile');
    expect(good.status).toBe('changed');
    expect(good.transforms['merge-runs'].changes[0]).toEqual({ line: 2, message: expect.any(String), safety: 'safe' });
    expect(good.diff).toContain('+++ b/Dockerfile');
    const bad = report.files.find((file: { path: string }) => file.path === 'bad/Dockerfile');
    expect(bad.errors).toEqual([{ line: 3, message: 'cannot parse: Unknown instruction: FROOM' }]);
  });
});

describe('transform selection', () => {
  test('--skip and --only change what runs; unknown ids are usage errors', () => {
    const dir = tree({ Dockerfile: MERGEABLE });
    expect(dockopt(['fix', '--check', '--skip', 'merge-runs', '.'], { cwd: dir }).code).toBe(0);
    expect(dockopt(['fix', '--check', '--only', 'merge-runs', '.'], { cwd: dir }).code).toBe(1);
    const unknown = dockopt(['fix', '--only', 'no-such-thing', '.'], { cwd: dir });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown transform "no-such-thing"');
  });

  test('# dockopt-ignore-file disables a file', () => {
    const dir = tree({ Dockerfile: `# dockopt-ignore-file\n${MERGEABLE}` });
    expect(dockopt(['fix', '--check', '.'], { cwd: dir }).code).toBe(0);
  });
});

describe('list and explain', () => {
  test('list shows every transform: the safety of its fixes (safe, unsafe, mixed), network, on by default or not', () => {
    const result = dockopt(['list']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^id\s+fixes\s+network\s+default\s+title$/m);
    expect(result.stdout).toMatch(/^merge-runs\s+safe\s+no\s+on\s+Merge adjacent RUN instructions$/m);
    // A transform with some unsafe fixes is not "safe".
    expect(result.stdout).toMatch(/^pkg-cleanup\s+mixed\s+no\s+on\s+/m);
    expect(result.stdout).toMatch(/^pin-base\s+mixed\s+yes\s+off\s+/m);
    expect(result.stdout).toMatch(/^non-root\s+unsafe\s+no\s+off\s+/m);
  });

  test('list --format json: one object per transform', () => {
    const result = dockopt(['list', '--format', 'json']);
    expect(result.code).toBe(0);
    const rows = JSON.parse(result.stdout);
    expect(rows.map((row: { id: string }) => row.id)).toEqual(['pin-base', 'merge-runs', 'pkg-cleanup', 'cache-deps', 'exec-form', 'multi-stage', 'non-root', 'dockerignore']);
    expect(rows.find((row: { id: string }) => row.id === 'exec-form')).toMatchObject({ fixes: 'mixed', network: false, default: true, builtin: true, title: expect.any(String) });
    expect(rows.find((row: { id: string }) => row.id === 'multi-stage')).toMatchObject({ fixes: 'unsafe', network: false, default: false });
  });

  test('explain prints the docs page (transforms/<id>/README.md) and the safety', () => {
    const result = dockopt(['explain', 'merge-runs']);
    expect(result.code).toBe(0);
    const page = readFileSync(path.join(root, 'transforms', 'merge-runs', 'README.md'), 'utf8');
    expect(result.stdout).toBe(`${page}\n---\nsafety: safe\n`);
  });

  test('explain of an unknown id fails with the list of known ids', () => {
    const result = dockopt(['explain', 'nope']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/known: .*merge-runs/);
  });
});

describe('config files', () => {
  test('the nearest .dockopt.json applies, with per-path overrides; typed flags win', () => {
    const dir = tree({
      '.git/HEAD': 'ref: refs/heads/main\n',
      '.dockopt.json': JSON.stringify({ skip: ['merge-runs'], overrides: [{ files: ['legacy/**'], skip: [] }] }),
      'app/Dockerfile': MERGEABLE,
      'legacy/Dockerfile': MERGEABLE,
    });
    expect(dockopt(['fix', '--check', '.'], { cwd: dir }).stdout).toBe('legacy/Dockerfile: merge-runs:2\n');
    // --only and --select on the command line replace the config's selection; --extend-select adds to it.
    const both = 'app/Dockerfile: merge-runs:2\nlegacy/Dockerfile: merge-runs:2\n';
    expect(dockopt(['fix', '--check', '--only', 'merge-runs', '.'], { cwd: dir }).stdout).toBe(both);
    expect(dockopt(['fix', '--check', '--select', 'merge-runs', '.'], { cwd: dir }).stdout).toBe(both);
    expect(dockopt(['fix', '--check', '--extend-select', 'merge-runs', '.'], { cwd: dir }).stdout).toBe(both);
    expect(dockopt(['fix', '--check', '--no-config-lookup', '.'], { cwd: dir }).stdout).toBe(both);
  });

  test('--config uses one file for everything; stdin gets the config of --stdin-filename', () => {
    const dir = tree({ 'strict.json': JSON.stringify({ skip: ['merge-runs'] }), Dockerfile: MERGEABLE, 'svc/.dockoptrc': JSON.stringify({ skip: ['merge-runs'] }) });
    expect(dockopt(['fix', '--check', '--config', 'strict.json', 'Dockerfile'], { cwd: dir }).code).toBe(0);
    expect(dockopt(['fix', '-', '--stdin-filename', 'svc/Dockerfile'], { cwd: dir, input: MERGEABLE }).stdout).toBe(MERGEABLE);
    expect(dockopt(['fix', '-'], { cwd: dir, input: MERGEABLE }).stdout).not.toBe(MERGEABLE);
  });

  test('an invalid config file is an error naming the file and line', () => {
    const dir = tree({ '.dockopt.json': '{\n  "skip": ["merge-runs"],\n  "unsafe": "yes"\n}\n', Dockerfile: MERGEABLE });
    const result = dockopt(['fix', '.'], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/\.dockopt\.json:3:\d+: .*"unsafe" must be true or false/);
  });
});

describe('--format sarif and markdown', () => {
  test('sarif: a SARIF 2.1.0 log with a result per fix at its line', () => {
    const dir = tree({ Dockerfile: MERGEABLE, 'bad/Dockerfile': BROKEN });
    const result = dockopt(['fix', '--format', 'sarif', '.'], { cwd: dir });
    expect(result.code).toBe(2);
    const log = JSON.parse(result.stdout);
    expect(log.version).toBe('2.1.0');
    const results = log.runs[0].results;
    expect(results).toContainEqual(expect.objectContaining({ ruleId: 'merge-runs', level: 'warning', locations: [expect.objectContaining({ physicalLocation: expect.objectContaining({ artifactLocation: expect.objectContaining({ uri: 'Dockerfile' }), region: { startLine: 2 } }) })] }));
    expect(results).toContainEqual(expect.objectContaining({ ruleId: 'parse-error', level: 'error' }));
  });

  test('markdown: a pull-request description with the diff', () => {
    const dir = tree({ Dockerfile: MERGEABLE });
    const result = dockopt(['fix', '--format', 'markdown', '.'], { cwd: dir });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^## /);
    expect(result.stdout).toContain('merge-runs');
    expect(result.stdout).toContain('```diff');
  });
});
