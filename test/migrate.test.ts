// `dockopt migrate` on real temporary git repositories: branches, commits,
// dirty trees, identities, rollback, shards, repository lists and reports.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultCommitMessage, migrate, parseRepoList, parseShard, selectShard, type MigrateOptions, type RepoOutcome } from '../src/migrate/migrate.js';
import { markdownReport } from '../src/report/markdown.js';
import { selectTransforms } from '../src/engine/selection.js';
import { CONTEXT_TRANSFORMS, TRANSFORMS } from '../transforms/index.js';
import { rejection } from './helpers/errors.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const version = (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }).version;

const MERGEABLE = 'FROM debian:bookworm-slim\nRUN echo one\nRUN echo two\n';
const MERGED = 'FROM debian:bookworm-slim\nRUN echo one \\\n    && echo two\n';
const CLEAN = 'FROM debian:bookworm-slim\nRUN echo one\n';
const BROKEN = 'FROM debian:bookworm-slim\nRUN echo one\nFROOM nothing\n';
const BRANCH = 'dockopt/optimize-dockerfiles';
/** What runs without options: the safe transforms that need no network. */
const DEFAULT_TRANSFORMS = selectTransforms(TRANSFORMS, {}, CONTEXT_TRANSFORMS).transforms.map((transform) => transform.meta);

/** Git sees no global or system config: every identity comes from the test. */
const home = mkdtempSync(path.join(tmpdir(), 'dockopt-migrate-home-'));
const env: NodeJS.ProcessEnv = Object.fromEntries(
  Object.entries({ ...process.env, HOME: home, XDG_CONFIG_HOME: home, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: path.join(home, 'gitconfig') }).filter(
    ([key]) => !/^GIT_(AUTHOR|COMMITTER)_/.test(key) && key !== 'EMAIL',
  ),
);
writeFileSync(path.join(home, 'gitconfig'), '');

function git(dir: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd: dir, env, encoding: 'utf8' }).trimEnd();
}

function write(dir: string, files: Record<string, string>): void {
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), content);
  }
}

/** A repository on branch main with one commit holding `files`. */
function repo(files: Record<string, string>, options: { identity?: boolean; parent?: string; name?: string } = {}): string {
  const parent = options.parent ?? mkdtempSync(path.join(tmpdir(), 'dockopt-migrate-'));
  const dir = path.join(parent, options.name ?? 'repo');
  mkdirSync(dir, { recursive: true });
  git(dir, 'init', '--quiet', '--initial-branch=main');
  write(dir, files);
  git(dir, 'add', '--all');
  git(dir, '-c', 'user.name=Setup', '-c', 'user.email=setup@example.com', 'commit', '--quiet', '-m', 'initial');
  if (options.identity ?? true) {
    git(dir, 'config', 'user.name', 'Repo Owner');
    git(dir, 'config', 'user.email', 'owner@example.com');
  }
  return dir;
}

async function run(repos: readonly string[], options: MigrateOptions = {}): Promise<RepoOutcome[]> {
  const outcomes: RepoOutcome[] = [];
  for await (const outcome of migrate(repos, { env, ...options })) outcomes.push(outcome);
  return outcomes;
}


const branches = (dir: string) => git(dir, 'branch', '--format=%(refname:short)').split('\n');
const headBranch = (dir: string) => git(dir, 'rev-parse', '--abbrev-ref', 'HEAD');
const filesOf = (dir: string, commit: string) => git(dir, 'diff-tree', '--no-commit-id', '--name-only', '-r', commit).split('\n');
const read = (dir: string, file: string) => readFileSync(path.join(dir, file), 'utf8');

describe('a repository with something to fix', () => {
  test('gets a branch from HEAD with one commit touching only the fixed Dockerfile, and a report outside the tree', async () => {
    const dir = repo({ Dockerfile: MERGEABLE, 'README.md': '# app\n' });
    const initial = git(dir, 'rev-parse', 'HEAD');
    const [outcome] = await run([dir]);
    expect(outcome).toMatchObject({ repo: dir, status: 'migrated', branch: BRANCH, changedFiles: ['Dockerfile'], leftAlone: [] });
    expect(outcome.error).toBeUndefined();
    expect(outcome.commit).toBe(git(dir, 'rev-parse', BRANCH));
    expect(headBranch(dir)).toBe(BRANCH);
    expect(git(dir, 'rev-parse', `${BRANCH}^`)).toBe(initial);
    expect(git(dir, 'rev-parse', 'main')).toBe(initial);
    expect(filesOf(dir, outcome.commit!)).toEqual(['Dockerfile']);
    expect(read(dir, 'Dockerfile')).toBe(MERGED);
    expect(git(dir, 'show', `${BRANCH}:Dockerfile`) + '\n').toBe(MERGED);
    expect(git(dir, 'status', '--porcelain', '--untracked-files=all')).toBe('');
    expect(git(dir, 'log', '-1', '--format=%an <%ae>|%cn <%ce>')).toBe('Repo Owner <owner@example.com>|Repo Owner <owner@example.com>');

    const message = git(dir, 'log', '-1', '--format=%B');
    const title = TRANSFORMS.find((transform) => transform.meta.id === 'merge-runs')!.meta.title;
    expect(message).toBe(
      ['dockopt: optimize 1 Dockerfile', '', 'Fixes applied:', `- merge-runs: 1 fix (${title})`, '', 'Files:', '- Dockerfile: merge-runs', '', `Generated-by: dockopt ${version}`].join('\n'),
    );
    expect(git(dir, 'log', '-1', '--format=%(trailers:key=Generated-by,valueonly)')).toBe(`dockopt ${version}`);

    expect(outcome.report).toBe(path.join(dir, '.git', 'dockopt-report.md'));
    const report = readFileSync(outcome.report!, 'utf8');
    expect(report).toBe(markdownReport(outcome.files, { title: 'dockopt: optimize 1 Dockerfile', transforms: DEFAULT_TRANSFORMS }));
    expect(report).toContain('Dockerfile');
  });

  test('several Dockerfiles: counts per transform and every file in the message, paths relative to the root', async () => {
    const dir = repo({ Dockerfile: MERGEABLE, 'services/api/Dockerfile': `${MERGEABLE}RUN echo three\n`, 'services/web/Dockerfile': CLEAN });
    const [outcome] = await run([dir]);
    expect(outcome.status).toBe('migrated');
    expect(outcome.changedFiles).toEqual(['Dockerfile', 'services/api/Dockerfile']);
    expect(outcome.files.map((file) => [file.path, file.status])).toEqual([
      ['Dockerfile', 'changed'],
      ['services/api/Dockerfile', 'changed'],
      ['services/web/Dockerfile', 'unchanged'],
    ]);
    expect(filesOf(dir, 'HEAD')).toEqual(['Dockerfile', 'services/api/Dockerfile']);
    const fixes = outcome.files.flatMap((file) => file.changes).filter((change) => change.transform === 'merge-runs').length;
    const message = git(dir, 'log', '-1', '--format=%B');
    expect(message.split('\n')[0]).toBe('dockopt: optimize 2 Dockerfiles');
    expect(message).toContain(`- merge-runs: ${fixes} fixes (`);
    expect(message).toContain('- services/api/Dockerfile: merge-runs\n');
    expect(message).not.toContain('services/web');
  });

  test('a Dockerfile that does not parse is reported and left alone; the others are still committed', async () => {
    const dir = repo({ Dockerfile: MERGEABLE, 'broken/Dockerfile': BROKEN });
    const [outcome] = await run([dir]);
    expect(outcome.status).toBe('migrated');
    expect(outcome.changedFiles).toEqual(['Dockerfile']);
    const broken = outcome.files.find((file) => file.path === 'broken/Dockerfile')!;
    expect(broken.status).toBe('error');
    expect(broken.errors.map((error) => error.code)).toEqual(['PARSE_ERROR']);
    expect(read(dir, 'broken/Dockerfile')).toBe(BROKEN);
    expect(filesOf(dir, 'HEAD')).toEqual(['Dockerfile']);
  });

  test('a directory inside a repository: only the Dockerfiles under it', async () => {
    const dir = repo({ Dockerfile: MERGEABLE, 'services/api/Dockerfile': MERGEABLE });
    const [outcome] = await run([path.join(dir, 'services')]);
    expect(outcome).toMatchObject({ status: 'migrated', root: dir, changedFiles: ['services/api/Dockerfile'] });
    expect(read(dir, 'Dockerfile')).toBe(MERGEABLE);
  });

  test('untracked and ignored Dockerfiles and symlinks are not touched', async () => {
    const dir = repo({ '.gitignore': 'build/\n', 'app/Dockerfile': MERGEABLE });
    execFileSync('ln', ['-s', 'app/Dockerfile', 'Dockerfile'], { cwd: dir });
    git(dir, 'add', 'Dockerfile');
    git(dir, 'commit', '--quiet', '-m', 'link');
    write(dir, { 'build/Dockerfile': MERGEABLE });
    const [outcome] = await run([dir]);
    expect(outcome.changedFiles).toEqual(['app/Dockerfile']);
    expect(outcome.files.map((file) => file.path)).toEqual(['app/Dockerfile']);
    expect(read(dir, 'build/Dockerfile')).toBe(MERGEABLE);
  });

  test('the options reach the fix (here --only selects a transform with nothing to do)', async () => {
    const dir = repo({ Dockerfile: MERGEABLE });
    const [outcome] = await run([dir], { only: ['pkg-cleanup'] });
    expect(outcome.status).toBe('unchanged');
  });

  test('a custom branch name and commit message', async () => {
    const dir = repo({ Dockerfile: MERGEABLE });
    const [outcome] = await run([dir], {
      branch: 'chore/dockerfiles',
      commitMessage: (summary) => `chore: ${summary.files.map((file) => file.path).join(', ')} (${[...summary.fixesByTransform.keys()].join(', ')}, ${summary.version})\n`,
    });
    expect(outcome).toMatchObject({ status: 'migrated', branch: 'chore/dockerfiles' });
    expect(git(dir, 'log', '-1', '--format=%B')).toBe(`chore: Dockerfile (merge-runs, ${version})`);
    const report = readFileSync(outcome.report!, 'utf8');
    expect(report).toBe(markdownReport(outcome.files, { title: `chore: Dockerfile (merge-runs, ${version})`, transforms: DEFAULT_TRANSFORMS }));
  });

  test('--report-dir: one report per repository, named after its directory, never clobbering one another', async () => {
    const one = repo({ Dockerfile: MERGEABLE }, { name: 'api' });
    const two = repo({ Dockerfile: MERGEABLE }, { name: 'api' });
    const reports = path.join(mkdtempSync(path.join(tmpdir(), 'dockopt-reports-')), 'nested');
    const outcomes = await run([one, two], { reportDir: reports });
    expect(outcomes.map((outcome) => outcome.report)).toEqual([path.join(reports, 'api.md'), path.join(reports, 'api-2.md')]);
    for (const outcome of outcomes) expect(existsSync(outcome.report!)).toBe(true);
    expect(existsSync(path.join(one, '.git', 'dockopt-report.md'))).toBe(false);
  });
});

describe('a repository with nothing to fix', () => {
  test('is unchanged: no branch, no commit, no report', async () => {
    const dir = repo({ Dockerfile: CLEAN });
    const head = git(dir, 'rev-parse', 'HEAD');
    const [outcome] = await run([dir]);
    expect(outcome).toMatchObject({ status: 'unchanged', changedFiles: [], root: dir });
    expect(outcome.branch).toBeUndefined();
    expect(outcome.report).toBeUndefined();
    expect(branches(dir)).toEqual(['main']);
    expect(git(dir, 'rev-parse', 'HEAD')).toBe(head);
    expect(existsSync(path.join(dir, '.git', 'dockopt-report.md'))).toBe(false);
  });

  test('no Dockerfile at all is unchanged too', async () => {
    const dir = repo({ 'README.md': 'hi\n' });
    const [outcome] = await run([dir]);
    expect(outcome).toMatchObject({ status: 'unchanged', files: [] });
  });
});

describe('a dirty work tree', () => {
  test('is refused: modified and untracked files both count, nothing is touched', async () => {
    const modified = repo({ Dockerfile: MERGEABLE, 'README.md': 'a\n' });
    write(modified, { 'README.md': 'b\n' });
    const untracked = repo({ Dockerfile: MERGEABLE });
    write(untracked, { 'notes.txt': 'x\n' });
    const outcomes = await run([modified, untracked]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['skipped-dirty', 'skipped-dirty']);
    expect(outcomes[0].error).toBe('uncommitted changes or untracked files: README.md; commit or stash them, or use --force');
    expect(outcomes[1].error).toContain('notes.txt');
    for (const dir of [modified, untracked]) {
      expect(read(dir, 'Dockerfile')).toBe(MERGEABLE);
      expect(branches(dir)).toEqual(['main']);
    }
  });

  test('an ignored file does not make it dirty', async () => {
    const dir = repo({ '.gitignore': '*.log\n', Dockerfile: MERGEABLE });
    write(dir, { 'debug.log': 'x\n' });
    const [outcome] = await run([dir]);
    expect(outcome.status).toBe('migrated');
  });

  test('--force: commits only the fixed files; dirty Dockerfiles, staged and untracked files stay as they were', async () => {
    const dir = repo({ 'README.md': 'a\n', 'app/Dockerfile': MERGEABLE, 'wip/Dockerfile': MERGEABLE });
    write(dir, { 'README.md': 'staged\n', 'wip/Dockerfile': `${MERGEABLE}# editing\n`, 'scratch.txt': 'x\n' });
    git(dir, 'add', 'README.md');
    const [outcome] = await run([dir], { force: true });
    expect(outcome).toMatchObject({ status: 'migrated', changedFiles: ['app/Dockerfile'], leftAlone: ['wip/Dockerfile'] });
    expect(filesOf(dir, 'HEAD')).toEqual(['app/Dockerfile']);
    expect(read(dir, 'wip/Dockerfile')).toBe(`${MERGEABLE}# editing\n`);
    expect(git(dir, 'diff', '--cached', '--name-only')).toBe('README.md');
    expect(git(dir, 'status', '--porcelain', '--untracked-files=all').split('\n').sort()).toEqual([' M wip/Dockerfile', '?? scratch.txt', 'M  README.md']);
  });
});

describe('repositories that cannot be migrated', () => {
  test('not a repository, or not there', async () => {
    const plain = mkdtempSync(path.join(tmpdir(), 'dockopt-plain-'));
    write(plain, { Dockerfile: MERGEABLE });
    const missing = path.join(plain, 'missing');
    const outcomes = await run([plain, missing, path.join(plain, 'Dockerfile')]);
    expect(outcomes.map((outcome) => [outcome.status, outcome.error])).toEqual([
      ['not-a-repo', expect.stringContaining('not a git repository')],
      ['not-a-repo', 'no such directory'],
      ['not-a-repo', 'not a directory'],
    ]);
    expect(read(plain, 'Dockerfile')).toBe(MERGEABLE);
  });

  test('an existing branch is never reused, even with --force', async () => {
    const dir = repo({ Dockerfile: MERGEABLE });
    git(dir, 'branch', BRANCH);
    const [outcome] = await run([dir], { force: true });
    expect(outcome).toMatchObject({ status: 'error', error: `branch ${BRANCH} already exists; delete it or choose another --branch` });
    expect(read(dir, 'Dockerfile')).toBe(MERGEABLE);
    expect(headBranch(dir)).toBe('main');
  });

  test('no identity configured: fails without guessing one; --author supplies author and committer', async () => {
    const dir = repo({ Dockerfile: MERGEABLE }, { identity: false });
    const [refused] = await run([dir]);
    expect(refused).toMatchObject({ status: 'error', error: 'no git identity configured (user.name and user.email); configure one or pass --author "Name <email>"' });
    expect(read(dir, 'Dockerfile')).toBe(MERGEABLE);
    expect(branches(dir)).toEqual(['main']);

    const [migrated] = await run([dir], { author: 'Platform Bot <platform@example.com>' });
    expect(migrated.status).toBe('migrated');
    expect(git(dir, 'log', '-1', '--format=%an <%ae>|%cn <%ce>')).toBe('Platform Bot <platform@example.com>|Platform Bot <platform@example.com>');
  });

  test('--author with a configured identity: the author is given, the committer is the configured one', async () => {
    const dir = repo({ Dockerfile: MERGEABLE });
    await run([dir], { author: 'Platform Bot <platform@example.com>' });
    expect(git(dir, 'log', '-1', '--format=%an <%ae>|%cn <%ce>')).toBe('Platform Bot <platform@example.com>|Repo Owner <owner@example.com>');
  });

  test('a commit refused by a hook leaves the repository as it was', async () => {
    const dir = repo({ Dockerfile: MERGEABLE });
    const hook = path.join(dir, '.git', 'hooks', 'pre-commit');
    writeFileSync(hook, '#!/bin/sh\necho "policy: no Dockerfile changes on Fridays" >&2\nexit 1\n');
    chmodSync(hook, 0o755);
    const [outcome] = await run([dir]);
    expect(outcome).toMatchObject({ status: 'error', error: 'git commit failed: policy: no Dockerfile changes on Fridays' });
    expect(outcome.commit).toBeUndefined();
    expect(read(dir, 'Dockerfile')).toBe(MERGEABLE);
    expect(headBranch(dir)).toBe('main');
    expect(branches(dir)).toEqual(['main']);
    expect(git(dir, 'status', '--porcelain', '--untracked-files=all')).toBe('');
  });

  test('a detached HEAD goes back to the same commit after a refused commit', async () => {
    const dir = repo({ Dockerfile: MERGEABLE });
    git(dir, 'switch', '--quiet', '--detach', 'HEAD');
    writeFileSync(path.join(dir, '.git', 'hooks', 'commit-msg'), '#!/bin/sh\nexit 1\n');
    chmodSync(path.join(dir, '.git', 'hooks', 'commit-msg'), 0o755);
    const [outcome] = await run([dir]);
    expect(outcome.status).toBe('error');
    expect(headBranch(dir)).toBe('HEAD');
    expect(branches(dir).filter((name) => !name.startsWith('('))).toEqual(['main']);
  });

  test('a merge in progress and a repository without commits', async () => {
    const merging = repo({ Dockerfile: MERGEABLE });
    writeFileSync(path.join(merging, '.git', 'MERGE_HEAD'), `${git(merging, 'rev-parse', 'HEAD')}\n`);
    const empty = mkdtempSync(path.join(tmpdir(), 'dockopt-empty-'));
    git(empty, 'init', '--quiet');
    const outcomes = await run([merging, empty]);
    expect(outcomes.map((outcome) => [outcome.status, outcome.error])).toEqual([
      ['error', 'a merge is in progress'],
      ['error', 'the repository has no commits yet'],
    ]);
  });
});

describe('the repository list', () => {
  test('each repository once, in the order given', async () => {
    const one = repo({ Dockerfile: CLEAN });
    const two = repo({ Dockerfile: CLEAN });
    const outcomes = await run([two, one, `${two}/`, path.relative(process.cwd(), two)]);
    expect(outcomes.map((outcome) => outcome.repo)).toEqual([two, one]);
  });

  test('--shard i/n takes every n-th repository starting with the i-th', async () => {
    const dirs = [repo({ Dockerfile: CLEAN }), repo({ Dockerfile: MERGEABLE }), repo({ Dockerfile: CLEAN }), repo({ Dockerfile: MERGEABLE })];
    const outcomes = await run(dirs, { shard: { index: 2, count: 2 } });
    expect(outcomes.map((outcome) => [outcome.repo, outcome.status])).toEqual([
      [dirs[1], 'migrated'],
      [dirs[3], 'migrated'],
    ]);
    expect(read(dirs[0], 'Dockerfile')).toBe(CLEAN);
  });

  test('shards cover the list once, differ in size by at most one, and keep their repositories when the list grows at the end', () => {
    const list = Array.from({ length: 11 }, (_, position) => `repo-${position}`);
    const shards = [1, 2, 3].map((index) => selectShard(list, { index, count: 3 }));
    expect(shards.flat().sort()).toEqual([...list].sort());
    expect(shards.map((shard) => shard.length)).toEqual([4, 4, 3]);
    expect(shards[0]).toEqual(['repo-0', 'repo-3', 'repo-6', 'repo-9']);
    const grown = selectShard([...list, 'repo-11', 'repo-12'], { index: 1, count: 3 });
    expect(grown.slice(0, shards[0].length)).toEqual(shards[0]);
    expect(selectShard(list, undefined)).toEqual(list);
  });

  test('parseShard', () => {
    expect(parseShard('1/4')).toEqual({ index: 1, count: 4 });
    expect(parseShard(' 4 / 4 ')).toEqual({ index: 4, count: 4 });
    for (const bad of ['0/4', '5/4', '1/0', '1', '1/2/3', 'a/b', '-1/2', '1.5/2']) {
      expect(() => parseShard(bad)).toThrow(`--shard takes i/n with 1 <= i <= n (e.g. 2/4), got "${bad}"`);
    }
  });

  test('a list file: one path a line, # comments and blank lines skipped, relative paths from the file', () => {
    const text = '# services\n  api  \n\r\n../shared/web\r\n/abs/repo\n   # indented comment\n\n';
    expect(parseRepoList(text, '/lists')).toEqual(['/lists/api', '/shared/web', '/abs/repo']);
    expect(parseRepoList('', '/lists')).toEqual([]);
  });
});

describe('options', () => {
  test('are checked before any repository is touched', async () => {
    const dir = repo({ Dockerfile: MERGEABLE });
    expect((await rejection(run([dir], { branch: 'bad..name' }))).message).toBe('"bad..name" is not a valid branch name');
    expect((await rejection(run([dir], { shard: { index: 3, count: 2 } }))).message).toBe('options.shard must be { index, count } with 1 <= index <= count');
    expect((await rejection(run([dir], { author: 'bot' }))).message).toBe('options.author must be "Name <email>"');
    expect((await rejection(run([dir], { only: ['no-such-transform'] }))).code).toBe('UNKNOWN_TRANSFORM');
    expect((await rejection(run([dir], { write: true } as MigrateOptions))).code).toBe('INVALID_OPTIONS');
    expect((await rejection(run([''])))).toMatchObject({ code: 'INVALID_OPTIONS', message: 'migrate takes a list of repository paths' });
    expect(read(dir, 'Dockerfile')).toBe(MERGEABLE);
    expect(branches(dir)).toEqual(['main']);
  });

  test('an abort stops before the next repository', async () => {
    const one = repo({ Dockerfile: MERGEABLE });
    const two = repo({ Dockerfile: MERGEABLE });
    const controller = new AbortController();
    const seen: string[] = [];
    const error = await rejection(
      (async () => {
        for await (const outcome of migrate([one, two], { env, signal: controller.signal })) {
          seen.push(outcome.status);
          controller.abort();
        }
      })(),
    );
    expect(error.code).toBe('ABORTED');
    expect(seen).toEqual(['migrated']);
    expect(read(two, 'Dockerfile')).toBe(MERGEABLE);
  });
});

test('defaultCommitMessage', () => {
  const change = (transform: string) => ({ transform, line: 2, message: 'm', safety: 'safe' as const });
  const file = (filePath: string, transforms: string[]) => ({ path: filePath, index: 0, status: 'changed' as const, changed: true, changes: transforms.map(change), notes: [], errors: [], written: true });
  const message = defaultCommitMessage({
    files: [file('a/Dockerfile', ['merge-runs', 'merge-runs', 'pkg-cleanup']), file('Containerfile', ['pkg-cleanup'])],
    fixesByTransform: new Map([
      ['merge-runs', 2],
      ['pkg-cleanup', 2],
      ['custom-thing', 1],
    ]),
    transforms: [{ id: 'merge-runs', title: 'Merge RUNs' } as never, { id: 'pkg-cleanup', title: 'Clean package caches' } as never],
    version: '9.9.9',
  });
  expect(message).toBe(
    [
      'dockopt: optimize 2 Dockerfiles',
      '',
      'Fixes applied:',
      '- merge-runs: 2 fixes (Merge RUNs)',
      '- pkg-cleanup: 2 fixes (Clean package caches)',
      '- custom-thing: 1 fix',
      '',
      'Files:',
      '- a/Dockerfile: merge-runs, pkg-cleanup',
      '- Containerfile: pkg-cleanup',
      '',
      'Generated-by: dockopt 9.9.9',
      '',
    ].join('\n'),
  );
});

describe('dockopt migrate (the CLI)', () => {
  async function cli(args: string[], stdin = ''): Promise<{ code: number; stdout: string; stderr: string }> {
    const { main } = await import('../src/cli/cli.js');
    const { PassThrough, Readable } = await import('node:stream');
    const collect = () => {
      const stream = new PassThrough();
      const chunks: string[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk.toString('utf8')));
      return { stream, text: () => chunks.join('') };
    };
    const stdout = collect();
    const stderr = collect();
    const code = await main(args, { stdout: stdout.stream, stderr: stderr.stream, stdin: Readable.from([stdin]), env });
    return { code, stdout: stdout.text(), stderr: stderr.text() };
  }

  test('a line per repository and a summary; exit 2 when one is skipped', async () => {
    const migrated = repo({ Dockerfile: MERGEABLE });
    const unchanged = repo({ Dockerfile: CLEAN });
    const dirty = repo({ Dockerfile: MERGEABLE });
    write(dirty, { 'notes.txt': 'x\n' });
    const result = await cli(['migrate', migrated, unchanged, dirty]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    const commit = git(migrated, 'rev-parse', 'HEAD').slice(0, 12);
    expect(result.stderr).toBe(
      [
        `${migrated}: migrated: 1 Dockerfile committed on ${BRANCH} (${commit}); report: ${path.join(migrated, '.git', 'dockopt-report.md')}`,
        `${unchanged}: unchanged`,
        `${dirty}: skipped: uncommitted changes or untracked files: notes.txt; commit or stash them, or use --force`,
        '3 repositories: 1 migrated, 1 unchanged, 1 skipped (dirty), 0 not a repository, 0 failed; 0 Dockerfiles with errors',
        '',
      ].join('\n'),
    );
    expect((await cli(['migrate', '--force', '--branch', 'dockopt/again', dirty])).code).toBe(0);
    expect(headBranch(dirty)).toBe('dockopt/again');
  });

  test('a Dockerfile with an error is printed with its repository path and makes the exit code 2', async () => {
    const dir = repo({ Dockerfile: MERGEABLE, 'broken/Dockerfile': BROKEN });
    const result = await cli(['migrate', '--quiet', dir]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(new RegExp(`^${path.join(dir, 'broken', 'Dockerfile').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:3: error: cannot parse: .+\\n$`));
    expect(headBranch(dir)).toBe(BRANCH);
  });

  test('--repos-file (relative to the file) with --shard, and --format json', async () => {
    const parent = mkdtempSync(path.join(tmpdir(), 'dockopt-list-'));
    const dirs = ['a', 'b', 'c'].map((name) => repo({ Dockerfile: MERGEABLE }, { parent, name }));
    writeFileSync(path.join(parent, 'repos.txt'), '# the fleet\na\n\nb\nc\n');
    const result = await cli(['migrate', '--repos-file', path.join(parent, 'repos.txt'), '--shard', '2/2', '--format', 'json']);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    const json = JSON.parse(result.stdout) as { version: number; repositories: RepoOutcome[] };
    expect(json.version).toBe(1);
    expect(json.repositories).toEqual([
      {
        repo: dirs[1],
        root: dirs[1],
        status: 'migrated',
        branch: BRANCH,
        commit: git(dirs[1], 'rev-parse', 'HEAD'),
        changedFiles: ['Dockerfile'],
        leftAlone: [],
        report: path.join(dirs[1], '.git', 'dockopt-report.md'),
        errors: [],
      },
    ]);
    expect(headBranch(dirs[0])).toBe('main');
  });

  test('--repos-file - reads the list from stdin, relative to the working directory', async () => {
    const dir = repo({ Dockerfile: CLEAN });
    const relative = path.relative(process.cwd(), dir);
    const result = await cli(['migrate', '--repos-file', '-'], `# list\n${relative}\n`);
    expect(result.stderr).toBe(`${relative}: unchanged\n1 repository: 0 migrated, 1 unchanged, 0 skipped (dirty), 0 not a repository, 0 failed; 0 Dockerfiles with errors\n`);
    expect(result.code).toBe(0);
  });

  test('usage errors', async () => {
    expect(await cli(['migrate'])).toMatchObject({ code: 2, stderr: expect.stringContaining('Give repositories, or --repos-file') });
    expect(await cli(['migrate', '--shard', '3/2', '.'])).toMatchObject({ code: 2, stderr: 'dockopt: --shard takes i/n with 1 <= i <= n (e.g. 2/4), got "3/2"\nRun "dockopt --help" for usage.\n' });
    expect(await cli(['migrate', '--repos-file', '/nonexistent/list'])).toMatchObject({ code: 2, stderr: expect.stringContaining('cannot read --repos-file /nonexistent/list: ENOENT') });
  });
});
