// Issue 16 on the command line: what a hostile repository can no longer do to
// `dockopt fix`, and what must keep holding (kill -9 during --write, migrate
// and the shell, the same output at any --jobs), through the real bin.
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fuzzCorpus } from '../bench/fuzz-corpus.mjs';
import { manyRuns } from '../bench/large-files.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin', 'dockopt');

const MERGEABLE = 'FROM debian:bookworm-slim\nRUN echo one\nRUN echo two\n';
const MERGED = 'FROM debian:bookworm-slim\nRUN echo one \\\n    && echo two\n';

function dockopt(args: string[], options: { cwd?: string; env?: Record<string, string>; timeout?: number } = {}) {
  const result = spawnSync(process.execPath, [bin, ...args], {
    cwd: options.cwd ?? root,
    env: { ...process.env, NO_COLOR: '1', ...options.env },
    encoding: 'utf8',
    timeout: options.timeout ?? 60_000,
    maxBuffer: 1 << 26,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr, signal: result.signal };
}

function tree(files: Record<string, string>, options: { git?: boolean } = {}): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'dockopt-hardening-cli-'));
  if (options.git !== false) mkdirSync(path.join(dir, '.git'));
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), content);
  }
  return dir;
}

const PWN_MODULE = `import { writeFileSync } from 'node:fs';\nwriteFileSync(new URL('./PWNED', import.meta.url), 'ran');\nexport default {};\n`;

test('1. a plain `dockopt fix .` refuses a found config that would load code, naming its line; --trust-config opts in', () => {
  const dir = tree({ '.dockopt.json': '{\n  "transforms": ["./pwn.mjs"]\n}\n', 'pwn.mjs': PWN_MODULE, Dockerfile: MERGEABLE });
  const refused = dockopt(['fix', '.'], { cwd: dir });
  expect(refused.code).toBe(2);
  expect(refused.stderr).toBe('dockopt: .dockopt.json:2:3: "transforms" loads code, which a config file found in the scanned tree may not do; name this file with --config, or pass --trust-config, to use it\n');
  expect(existsSync(path.join(dir, 'PWNED'))).toBe(false);
  const trusted = dockopt(['fix', '--trust-config', '.'], { cwd: dir });
  expect(trusted.stderr).toContain('the transform has no meta object');
  expect(existsSync(path.join(dir, 'PWNED'))).toBe(true);
});

test('2. a found config cannot turn the network on, and --no-config-lookup ignores it', () => {
  const dir = tree({ '.dockopt.json': JSON.stringify({ only: ['pin-base'], registryMirrors: { 'docker.io': 'http://attacker:5002' } }), Dockerfile: MERGEABLE });
  const refused = dockopt(['fix', '.'], { cwd: dir });
  expect(refused.code).toBe(2);
  expect(refused.stderr).toContain('"only" names pin-base, which contacts registries: a config file found in the scanned tree cannot turn on the network');
  expect(dockopt(['fix', '--no-config-lookup', '--check', '.'], { cwd: dir })).toMatchObject({ code: 1, stdout: 'Dockerfile: merge-runs:2\n' });
});

test('7. --check --offline with a cache miss exits 2 and names each reference it could not answer, once', () => {
  const cacheDir = mkdtempSync(path.join(tmpdir(), 'dockopt-offline-cache-'));
  const dir = tree({ 'a/Dockerfile': 'FROM python:3.12-slim\nRUN echo hi\n', 'b/Dockerfile': 'FROM ghcr.io/org/app:1.2\n' });
  const result = dockopt(['fix', '--check', '--offline', '--only', 'pin-base', '--cache-dir', cacheDir, '.'], { cwd: dir });
  expect(result.code).toBe(2);
  expect(result.stderr).toBe(
    'a/Dockerfile:1: pin-base: error: cannot resolve python:3.12-slim: not in the registry cache (offline)\n' +
      'b/Dockerfile:1: pin-base: error: cannot resolve ghcr.io/org/app:1.2: not in the registry cache (offline)\n' +
      '2 files scanned, 0 would change, 0 fixes, 2 errors\n',
  );
  // In text mode every error is printed once, with the summary.
  const text = dockopt(['fix', '--offline', '--only', 'pin-base', '--cache-dir', cacheDir, 'a/Dockerfile'], { cwd: dir });
  expect(text.stderr.split('\n').filter((line) => line.includes('not in the registry cache'))).toHaveLength(1);
  expect(text.stderr).toContain('1 file scanned, 0 would change, 0 fixes, 1 error');
});

test('9. fix --write over a tree never follows a symlink out of it', () => {
  const outside = tree({ 'victim.conf': MERGEABLE }, { git: false });
  const dir = tree({ 'svc/Dockerfile': MERGEABLE });
  symlinkSync(path.join(outside, 'victim.conf'), path.join(dir, 'Dockerfile'));
  const result = dockopt(['fix', '--write', '.'], { cwd: dir });
  expect(result.stderr).toContain('1 file scanned, 1 changed, 1 fix, 0 errors');
  expect(readFileSync(path.join(outside, 'victim.conf'), 'utf8')).toBe(MERGEABLE);
  expect(readFileSync(path.join(dir, 'svc', 'Dockerfile'), 'utf8')).toBe(MERGED);
});

test('10. a FIFO named on the command line is an error at once, and --max-file-size is checked and applied', () => {
  const dir = tree({ Dockerfile: MERGEABLE });
  execFileSync('mkfifo', [path.join(dir, 'pipe.Dockerfile')]);
  const result = dockopt(['fix', '--check', 'pipe.Dockerfile', 'Dockerfile'], { cwd: dir, timeout: 20_000 });
  expect(result.signal).toBeNull();
  expect(result.code).toBe(2);
  expect(result.stdout).toBe('Dockerfile: merge-runs:2\n');
  expect(result.stderr.split('\n')[0]).toBe('pipe.Dockerfile: error: cannot read: not a regular file (a FIFO)');
  expect(dockopt(['fix', '--check', '--max-file-size', '32', 'Dockerfile'], { cwd: dir }).stderr).toContain('Dockerfile: error: cannot read: 52 bytes, larger than the 32 bytes a file may have here (--max-file-size)');
  expect(dockopt(['fix', '--check', '--max-file-size', '1K', 'Dockerfile'], { cwd: dir }).code).toBe(1);
  expect(dockopt(['fix', '--max-file-size', 'lots', 'Dockerfile'], { cwd: dir }).stderr).toContain('--max-file-size takes a size in bytes such as 4194304, 512K or 8M, got "lots"');
  // stdin is capped too, and passed through whole.
  const piped = spawnSync(process.execPath, [bin, 'fix', '--max-file-size', '64', '-'], { input: MERGEABLE + '# padding\n'.repeat(20), encoding: 'utf8' });
  expect(piped.status).toBe(2);
  expect(piped.stdout).toBe(MERGEABLE + '# padding\n'.repeat(20));
  expect(piped.stderr).toContain('Dockerfile: error: cannot read: more than 64 bytes on standard input');
});

test('12. --timeout: a file over its budget is named and left untouched; the others are written', () => {
  // 2,000 RUN lines take a few seconds; a three-line file a few milliseconds.
  const dir = tree({ 'big/Dockerfile': manyRuns(2000), 'small/Dockerfile': MERGEABLE });
  const result = dockopt(['fix', '--write', '--timeout', '0.25', '.'], { cwd: dir });
  expect(result.code).toBe(2);
  expect(result.stderr).toContain('big/Dockerfile: error: gave up after 0.25 s: the file took longer than its time budget (--timeout); it is left untouched');
  expect(result.stderr).toContain('2 files scanned, 1 changed, 1 fix, 1 error');
  expect(readFileSync(path.join(dir, 'big', 'Dockerfile'), 'utf8')).toBe(manyRuns(2000));
  expect(readFileSync(path.join(dir, 'small', 'Dockerfile'), 'utf8')).toBe(MERGED);
  expect(dockopt(['fix', '--timeout', '0', '.'], { cwd: dir }).stderr).toContain('--timeout takes a number of seconds above 0');
});

describe('what must keep holding', () => {
  test('kill -9 during --write over hundreds of files never leaves a truncated file', async () => {
    const files: Record<string, string> = {};
    const fixed = new Map<string, string>();
    for (let index = 0; index < 600; index++) {
      const input = `FROM debian:bookworm-slim\n${Array.from({ length: 40 }, (_, step) => `RUN echo ${index} ${step}`).join('\n')}\n`;
      files[`svc-${String(index).padStart(3, '0')}/Dockerfile`] = input;
    }
    const dir = tree(files);
    // What each file becomes when written whole.
    const reference = tree(files);
    expect(dockopt(['fix', '--write', '.'], { cwd: reference }).code).toBe(0);
    for (const name of Object.keys(files)) fixed.set(name, readFileSync(path.join(reference, name), 'utf8'));

    const child = spawn(process.execPath, [bin, 'fix', '--write', '.'], { cwd: dir, stdio: 'ignore' });
    // Kill as soon as the writes have begun (each worker starts at the front of its share), or once it is done.
    const watched = Object.keys(files).filter((_, index) => index % 50 === 0);
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        if (child.exitCode !== null || watched.some((name) => readFileSync(path.join(dir, name), 'utf8') !== files[name])) {
          clearInterval(poll);
          resolve();
        }
      }, 2);
    });
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    let written = 0;
    for (const name of Object.keys(files)) {
      const text = readFileSync(path.join(dir, name), 'utf8');
      if (text === fixed.get(name)) written++;
      else expect(text).toBe(files[name]);
    }
    expect(written).toBeGreaterThan(0);
  }, 120_000);

  test('the same output at --jobs 1 and with worker threads, over hundreds of varied files', () => {
    const files: Record<string, string> = {};
    for (const { index, text } of fuzzCorpus(2016, 450)) files[`case-${String(index).padStart(3, '0')}/Dockerfile`] = text;
    const dir = tree(files);
    const single = dockopt(['fix', '--unsafe', '--jobs', '1', '--format', 'json', '.'], { cwd: dir });
    const threaded = dockopt(['fix', '--unsafe', '--jobs', '2', '--format', 'json', '.'], { cwd: dir });
    expect(single.code).toBe(threaded.code);
    expect(threaded.stdout).toBe(single.stdout);
    expect(JSON.parse(single.stdout).summary.scanned).toBe(450);
  }, 120_000);

  test('migrate never runs git through a shell: metacharacters in paths and branch names stay characters', async () => {
    const parent = mkdtempSync(path.join(tmpdir(), 'dockopt-migrate-shell-'));
    const repo = path.join(parent, 'repo $(touch pwned-path) `touch pwned-tick`; touch pwned-semi');
    mkdirSync(repo);
    writeFileSync(path.join(repo, 'Dockerfile'), MERGEABLE);
    const git = (...args: string[]) => execFileSync('git', args, { cwd: repo, encoding: 'utf8', env: { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null' } });
    git('init', '--quiet', '--initial-branch=main');
    git('add', '--all');
    git('-c', 'user.name=T', '-c', 'user.email=t@example.com', 'commit', '--quiet', '-m', 'initial');
    const branch = 'dockopt/$(touch${IFS}pwned-branch)';
    const result = dockopt(['migrate', '--author', 'T <t@example.com>', '--branch', branch, repo], { cwd: parent, env: { GIT_CONFIG_GLOBAL: '/dev/null' } });
    expect(result.stderr).toContain('migrated: 1 Dockerfile committed on');
    expect(git('branch', '--format=%(refname:short)').split('\n')).toContain(branch);
    expect(readdirSync(parent).filter((name) => name.startsWith('pwned'))).toEqual([]);
    expect(readdirSync(repo).filter((name) => name.startsWith('pwned'))).toEqual([]);
  }, 60_000);
});
