// `dockopt migrate`: fixes the Dockerfiles of many git repositories, each on a
// new branch with one commit and a markdown report for the pull request.
// Like the CLI, this is an orchestration layer: it runs git (never pushes)
// and writes the report files; the Dockerfiles themselves are read, fixed and
// written by the runner, exactly as `dockopt fix --write` does.
import { spawn } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { dockoptVersion } from '../runner/version.js';
import { DockoptError, throwIfAborted, type AbortSignalLike } from '../engine/errors.js';
import { prepareRun, validateOptions, type DockoptOptions } from '../runner/options.js';
import { markdownReport } from '../report/markdown.js';
import type { FileResult } from '../engine/results.js';
import { isDockerfileName, processFiles } from '../runner/runner.js';
import type { TransformMeta } from '../engine/transform.js';

export const DEFAULT_BRANCH = 'dockopt/optimize-dockerfiles';
/** The report's name inside the repository's git directory, when no report directory is given. */
export const REPORT_FILE_NAME = 'dockopt-report.md';

/** One shard of the repository list: `index` counts from 1 (`--shard 1/4` … `--shard 4/4`). */
export interface Shard {
  readonly index: number;
  readonly count: number;
}

/** What the commit message is made from. */
export interface CommitSummary {
  /** The Dockerfiles committed, with paths relative to the repository root (`/`-separated). */
  readonly files: readonly FileResult[];
  /** Fixes applied per transform id, in pipeline order. */
  readonly fixesByTransform: ReadonlyMap<string, number>;
  /** Metadata of the transforms that ran (titles for the message). */
  readonly transforms: readonly TransformMeta[];
  /** dockopt's version, for the Generated-by trailer. */
  readonly version: string;
}

export interface MigrateOptions extends DockoptOptions {
  /** The branch to create from the current HEAD (default `dockopt/optimize-dockerfiles`); an existing branch is never reused. */
  readonly branch?: string;
  /**
   * Migrate a repository with uncommitted changes or untracked files too.
   * Dockerfiles that are themselves modified, staged or untracked are left
   * alone (listed in `leftAlone`), and only the fixed files go into the commit:
   * other staged changes stay staged, other edits stay in the work tree.
   */
  readonly force?: boolean;
  /** Migrate only this shard of the (deduplicated) list: every `count`-th repository starting with the `index`-th. */
  readonly shard?: Shard;
  /**
   * Where the markdown reports go: `<dir>/<repository directory name>.md`.
   * Default: `dockopt-report.md` in each repository's git directory
   * (`.git/dockopt-report.md`), so it is never committed and never shows as untracked.
   */
  readonly reportDir?: string;
  /**
   * Author of the commits, "Name <email>". The committer is the repository's
   * configured identity, or this one when none is configured. Without it, a
   * repository with no configured identity (user.name and user.email, or the
   * GIT_AUTHOR_ and GIT_COMMITTER_ variables) fails: no identity is guessed.
   */
  readonly author?: string;
  /** Makes the commit message (default: defaultCommitMessage). */
  readonly commitMessage?: (summary: CommitSummary) => string;
}

export type RepoStatus = 'migrated' | 'unchanged' | 'skipped-dirty' | 'not-a-repo' | 'error';

export interface RepoOutcome {
  /** The path as given. */
  readonly repo: string;
  readonly status: RepoStatus;
  /** The work tree's top directory (absent for 'not-a-repo'). */
  readonly root?: string;
  /** The branch created ('migrated' only): the repository is left checked out on it. */
  readonly branch?: string;
  /** The new commit's id ('migrated' only). */
  readonly commit?: string;
  /** The Dockerfiles committed, relative to the root. */
  readonly changedFiles: readonly string[];
  /** Dockerfiles with uncommitted changes that --force left untouched, relative to the root. */
  readonly leftAlone: readonly string[];
  /**
   * Every Dockerfile processed, with paths relative to the root; a file that
   * could not be parsed is here with its error, and the others are still
   * committed. Empty unless the repository got as far as fixing.
   */
  readonly files: readonly FileResult[];
  /** The markdown report's path ('migrated' only). */
  readonly report?: string;
  /** Why the repository was skipped or failed. */
  readonly error?: string;
}

const MIGRATE_CHECKS = {
  branch: (value: unknown) => (typeof value === 'string' && value.trim() !== '' ? undefined : 'must be a non-empty branch name'),
  force: (value: unknown) => (typeof value === 'boolean' ? undefined : 'must be true or false'),
  shard: (value: unknown) => {
    const shard = value as Shard;
    return typeof value === 'object' && value !== null && Number.isInteger(shard.count) && Number.isInteger(shard.index) && shard.count >= 1 && shard.index >= 1 && shard.index <= shard.count
      ? undefined
      : 'must be { index, count } with 1 <= index <= count';
  },
  reportDir: (value: unknown) => (typeof value === 'string' && value !== '' ? undefined : 'must be a directory path'),
  author: (value: unknown) => (typeof value === 'string' && parseIdentity(value) ? undefined : 'must be "Name <email>"'),
  commitMessage: (value: unknown) => (typeof value === 'function' ? undefined : 'must be a function (summary) => string'),
};

/**
 * Migrates each repository in turn and yields its outcome. A repository that
 * fails is left as it was (files restored, no branch); the run goes on with
 * the next. Throws DockoptError for invalid options and when the signal fires
 * (after restoring the repository in progress).
 */
export async function* migrate(repos: readonly string[], options: MigrateOptions = {}): AsyncGenerator<RepoOutcome, void, undefined> {
  if (!Array.isArray(repos) || !repos.every((repo) => typeof repo === 'string' && repo !== '')) {
    throw new DockoptError('INVALID_OPTIONS', 'migrate takes a list of repository paths');
  }
  const checked = validateOptions<MigrateOptions>(options, MIGRATE_CHECKS);
  const { branch = DEFAULT_BRANCH, force = false, shard, reportDir, author, commitMessage = defaultCommitMessage, ...fixOptions } = checked;
  const env = { ...(checked.env ?? process.env) };
  await checkBranchName(branch, env);
  const run = await prepareRun(fixOptions);
  const transforms = run.engine.transforms.map((transform) => transform.meta);
  const context: RepoContext = {
    branch,
    force,
    reportDir: reportDir === undefined ? undefined : path.resolve(reportDir),
    reportNames: new Set(),
    authorEnv: author === undefined ? undefined : identityEnv('AUTHOR', parseIdentity(author)!),
    commitMessage,
    env,
    transforms,
    fix: (files) => processFiles(files, run.engine, { write: true, maxFileBytes: run.maxFileBytes, workerPlan: run.workerPlan(true), signal: run.signal }),
    signal: run.signal,
  };
  for (const repo of selectShard(uniqueRepos(repos), shard)) {
    throwIfAborted(run.signal);
    yield await migrateRepo(repo, context);
  }
}

/**
 * The repositories of a shard. Round robin over the list in its given order
 * (the k-th repository, counting from 0, is in shard k mod count + 1): shards
 * differ in size by at most one, and a repository keeps its shard when the
 * list grows at the end.
 */
export function selectShard<T>(items: readonly T[], shard: Shard | undefined): T[] {
  if (shard === undefined) return [...items];
  return items.filter((_item, position) => position % shard.count === shard.index - 1);
}

/** Parses `--shard i/n` (i from 1 to n). */
export function parseShard(text: string): Shard {
  const match = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  const shard = match ? { index: Number(match[1]), count: Number(match[2]) } : undefined;
  if (!shard || shard.count < 1 || shard.index < 1 || shard.index > shard.count) {
    throw new DockoptError('INVALID_OPTIONS', `--shard takes i/n with 1 <= i <= n (e.g. 2/4), got "${text}"`);
  }
  return shard;
}

/**
 * A repository list: one path per line; blank lines and lines starting with
 * `#` are skipped, surrounding spaces trimmed. Relative paths are taken
 * relative to `baseDir` (the list file's directory), so the list works from
 * any working directory.
 */
export function parseRepoList(text: string, baseDir: string): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => (path.isAbsolute(line) ? line : path.join(baseDir, line)));
}

/** The first mention of each repository (by resolved path) in list order. */
function uniqueRepos(repos: readonly string[]): string[] {
  const seen = new Set<string>();
  return repos.filter((repo) => {
    const resolved = path.resolve(repo);
    if (seen.has(resolved)) return false;
    seen.add(resolved);
    return true;
  });
}

/**
 * The default commit message: a subject, the fixes per transform, the files
 * and a Generated-by trailer.
 */
export function defaultCommitMessage(summary: CommitSummary): string {
  const count = summary.files.length;
  const titles = new Map(summary.transforms.map((meta) => [meta.id, meta.title]));
  const fixes = [...summary.fixesByTransform].map(([id, fixCount]) => `- ${id}: ${plural(fixCount, 'fix', 'fixes')}${titles.has(id) ? ` (${titles.get(id)})` : ''}`);
  const files = summary.files.map((file) => `- ${file.path}: ${[...new Set(file.changes.map((change) => change.transform))].join(', ')}`);
  return [
    `dockopt: optimize ${plural(count, 'Dockerfile', 'Dockerfiles')}`,
    '',
    'Fixes applied:',
    ...fixes,
    '',
    'Files:',
    ...files,
    '',
    `Generated-by: dockopt ${summary.version}`,
    '',
  ].join('\n');
}

function plural(count: number, one: string, many: string): string {
  return `${count} ${count === 1 ? one : many}`;
}

interface RepoContext {
  readonly branch: string;
  readonly force: boolean;
  readonly reportDir?: string;
  /** Report file names taken in this run (two repositories may share a directory name). */
  readonly reportNames: Set<string>;
  readonly authorEnv?: Readonly<Record<string, string>>;
  readonly commitMessage: (summary: CommitSummary) => string;
  readonly env: NodeJS.ProcessEnv;
  readonly transforms: readonly TransformMeta[];
  readonly fix: (files: readonly string[]) => AsyncGenerator<FileResult>;
  readonly signal?: AbortSignalLike;
}

/** A repository's outcome: git failures become 'error'; only an abort escapes. */
async function migrateRepo(repo: string, context: RepoContext): Promise<RepoOutcome> {
  const outcome = (status: RepoStatus, details: Partial<RepoOutcome> = {}): RepoOutcome => ({ repo, status, changedFiles: [], leftAlone: [], files: [], ...details });
  let stats;
  try {
    stats = await fs.stat(repo);
  } catch {
    return outcome('not-a-repo', { error: 'no such directory' });
  }
  if (!stats.isDirectory()) return outcome('not-a-repo', { error: 'not a directory' });
  const git = gitIn(path.resolve(repo), context.env);
  const topLevel = await git.run(['rev-parse', '--show-toplevel']);
  if (topLevel.code !== 0) return outcome('not-a-repo', { error: lastLine(topLevel.stderr) || 'not a git work tree' });
  const root = topLevel.stdout.trim();
  try {
    return await migrateWorkTree(repo, root, context, outcome);
  } catch (error) {
    if (error instanceof GitError) return outcome('error', { root, error: error.message });
    throw error;
  }
}

async function migrateWorkTree(
  repo: string,
  root: string,
  context: RepoContext,
  outcome: (status: RepoStatus, details?: Partial<RepoOutcome>) => RepoOutcome,
): Promise<RepoOutcome> {
  const git = gitIn(root, context.env);
  if ((await git.run(['rev-parse', '--verify', '--quiet', 'HEAD'])).code !== 0) return outcome('error', { root, error: 'the repository has no commits yet' });
  const operation = await operationInProgress(git);
  if (operation) return outcome('error', { root, error: `${operation} is in progress` });
  const dirty = dirtyPaths(await git.output(['status', '--porcelain=v1', '-z', '--untracked-files=all']));
  if (dirty.length > 0 && !context.force) {
    const shown = dirty.slice(0, 3).join(', ') + (dirty.length > 3 ? `, … (${dirty.length} paths)` : '');
    return outcome('skipped-dirty', { root, error: `uncommitted changes or untracked files: ${shown}; commit or stash them, or use --force` });
  }
  if ((await git.run(['rev-parse', '--verify', '--quiet', `refs/heads/${context.branch}`])).code === 0) {
    return outcome('error', { root, error: `branch ${context.branch} already exists; delete it or choose another --branch` });
  }
  const commitEnv = await commitIdentity(git, context.authorEnv);
  if (commitEnv === undefined) {
    return outcome('error', { root, error: 'no git identity configured (user.name and user.email); configure one or pass --author "Name <email>"' });
  }

  const scope = path.relative(await fs.realpath(root), await fs.realpath(repo)) || '.';
  const dirtySet = new Set(dirty);
  const tracked = await trackedDockerfiles(git, scope);
  const leftAlone = tracked.filter((file) => dirtySet.has(file));
  const candidates = tracked.filter((file) => !dirtySet.has(file));
  const results: FileResult[] = [];
  const written: string[] = [];
  try {
    for await (const result of context.fix(candidates.map((file) => path.join(root, file)))) {
      const relative = toPosix(path.relative(root, result.path));
      results.push({ ...result, path: relative });
      if (result.written) written.push(relative);
    }
  } catch (error) {
    // Aborted: the files written so far go back to their committed state.
    if (written.length > 0) await git.output(['--literal-pathspecs', 'checkout', '--quiet', 'HEAD', '--', ...written]);
    throw error;
  }
  const files = results.sort((a, b) => a.index - b.index).map((result, index) => ({ ...result, index }));
  const base = { root, leftAlone, files };
  if (written.length === 0) return outcome('unchanged', base);

  const committed = files.filter((file) => file.written);
  const changedFiles = committed.map((file) => file.path);
  const message = context.commitMessage({ files: committed, fixesByTransform: fixCounts(committed, context.transforms), transforms: context.transforms, version: dockoptVersion() });
  const commit = await commitOnNewBranch(git, context.branch, changedFiles, message, commitEnv);
  if ('error' in commit) return outcome('error', { ...base, error: commit.error });
  const migrated = { ...base, branch: context.branch, commit: commit.id, changedFiles };
  try {
    const report = await writeReport(git, root, context, files, message.split('\n')[0]);
    return outcome('migrated', { ...migrated, report });
  } catch (error) {
    return outcome('error', { ...migrated, error: `committed ${commit.id.slice(0, 12)} on ${context.branch}, but cannot write the report: ${(error as Error).message}` });
  }
}

/**
 * Creates the branch at HEAD, switches to it and commits exactly `files`
 * (their work-tree content; anything else staged stays staged). If the
 * commit fails (a hook refused it, say), the repository goes back to how it
 * was: original branch, files restored, new branch deleted.
 */
async function commitOnNewBranch(git: Git, branch: string, files: readonly string[], message: string, env: Readonly<Record<string, string>>): Promise<{ id: string } | { error: string }> {
  const symbolic = await git.run(['symbolic-ref', '--quiet', '--short', 'HEAD']);
  const original = symbolic.code === 0 ? ['switch', '--quiet', symbolic.stdout.trim()] : ['switch', '--quiet', '--detach', (await git.output(['rev-parse', 'HEAD'])).trim()];
  await git.output(['switch', '--quiet', '--create', branch]);
  const commit = await git.run(['--literal-pathspecs', 'commit', '--quiet', '--no-edit', '--cleanup=verbatim', '--file=-', '--only', '--', ...files], { input: message, env });
  if (commit.code === 0) return { id: (await git.output(['rev-parse', 'HEAD'])).trim() };
  await git.output(['--literal-pathspecs', 'checkout', '--quiet', 'HEAD', '--', ...files]);
  await git.output(original);
  await git.output(['branch', '--quiet', '--delete', '--force', branch]);
  return { error: `git commit failed: ${lastLine(commit.stderr) || `exit code ${commit.code}`}` };
}

async function writeReport(git: Git, root: string, context: RepoContext, files: readonly FileResult[], title: string): Promise<string> {
  let file: string;
  if (context.reportDir === undefined) {
    file = path.resolve(root, (await git.output(['rev-parse', '--git-path', REPORT_FILE_NAME])).trim());
  } else {
    const name = path.basename(root);
    let unique = name;
    for (let suffix = 2; context.reportNames.has(unique); suffix++) unique = `${name}-${suffix}`;
    context.reportNames.add(unique);
    await fs.mkdir(context.reportDir, { recursive: true });
    file = path.join(context.reportDir, `${unique}.md`);
  }
  await fs.writeFile(file, markdownReport(files, { title, transforms: context.transforms }));
  return file;
}

function fixCounts(files: readonly FileResult[], transforms: readonly TransformMeta[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const file of files) for (const change of file.changes) counts.set(change.transform, (counts.get(change.transform) ?? 0) + 1);
  const order = new Map(transforms.map((meta, position) => [meta.id, position]));
  return new Map([...counts].sort(([a], [b]) => (order.get(a) ?? Infinity) - (order.get(b) ?? Infinity)));
}

/** Tracked regular files under `scope` with a Dockerfile name (symlinks and submodules are not followed). */
async function trackedDockerfiles(git: Git, scope: string): Promise<string[]> {
  const entries = (await git.output(['--literal-pathspecs', 'ls-files', '--stage', '-z', '--', scope])).split('\0').filter(Boolean);
  const files = new Set<string>();
  for (const entry of entries) {
    const tab = entry.indexOf('\t');
    const mode = entry.slice(0, entry.indexOf(' '));
    const file = entry.slice(tab + 1);
    if ((mode === '100644' || mode === '100755') && isDockerfileName(path.posix.basename(file))) files.add(file);
  }
  return [...files];
}

/** Paths from `git status --porcelain=v1 -z`; a rename lists both its new and its old path. */
function dirtyPaths(status: string): string[] {
  const tokens = status.split('\0').filter(Boolean);
  const paths: string[] = [];
  for (let position = 0; position < tokens.length; position++) {
    const token = tokens[position];
    paths.push(token.slice(3));
    if (token[0] === 'R' || token[0] === 'C') paths.push(tokens[++position]);
  }
  return paths;
}

/** A half-done merge, rebase, cherry-pick, revert or bisect: no time to branch off. */
async function operationInProgress(git: Git): Promise<string | undefined> {
  const markers: readonly (readonly [string, string])[] = [
    ['rebase-merge', 'a rebase'],
    ['rebase-apply', 'a rebase or git am'],
    ['MERGE_HEAD', 'a merge'],
    ['CHERRY_PICK_HEAD', 'a cherry-pick'],
    ['REVERT_HEAD', 'a revert'],
    ['BISECT_LOG', 'a bisect'],
  ];
  const located = (await git.output(['rev-parse', ...markers.flatMap(([marker]) => ['--git-path', marker])])).trim().split('\n');
  const found = markers.find((_marker, position) => existsSync(path.resolve(git.cwd, located[position])));
  return found?.[1];
}

/**
 * The environment for `git commit`: the --author identity, and the committer
 * from the configuration, or --author's when none is configured. Undefined
 * when there is no identity at all (git's guess from the host name is not used).
 */
async function commitIdentity(git: Git, authorEnv: Readonly<Record<string, string>> | undefined): Promise<Readonly<Record<string, string>> | undefined> {
  const configured = async (who: 'AUTHOR' | 'COMMITTER') => (await git.run(['-c', 'user.useConfigOnly=true', 'var', `GIT_${who}_IDENT`])).code === 0;
  const committer = await configured('COMMITTER');
  if (authorEnv === undefined) return committer && (await configured('AUTHOR')) ? {} : undefined;
  return committer ? authorEnv : { ...authorEnv, ...identityEnv('COMMITTER', identityOf(authorEnv)) };
}

interface Identity {
  readonly name: string;
  readonly email: string;
}

function parseIdentity(text: string): Identity | undefined {
  const match = /^\s*([^<>]*[^<>\s])\s*<([^<>\s]+@[^<>\s]+)>\s*$/.exec(text);
  return match ? { name: match[1], email: match[2] } : undefined;
}

function identityEnv(who: 'AUTHOR' | 'COMMITTER', identity: Identity): Record<string, string> {
  return { [`GIT_${who}_NAME`]: identity.name, [`GIT_${who}_EMAIL`]: identity.email };
}

function identityOf(authorEnv: Readonly<Record<string, string>>): Identity {
  return { name: authorEnv.GIT_AUTHOR_NAME, email: authorEnv.GIT_AUTHOR_EMAIL };
}

async function checkBranchName(branch: string, env: NodeJS.ProcessEnv): Promise<void> {
  const check = await gitIn(process.cwd(), env).run(['check-ref-format', '--branch', branch]);
  if (check.code !== 0) throw new DockoptError('INVALID_OPTIONS', `"${branch}" is not a valid branch name`);
}


function toPosix(file: string): string {
  return file.split(path.sep).join('/');
}

function lastLine(text: string): string {
  return text.trim().split('\n').at(-1)?.replace(/^(fatal|error): /, '') ?? '';
}

class GitError extends Error {}

interface GitRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

interface Git {
  readonly cwd: string;
  /** Runs git; a non-zero exit is an answer, not an error. */
  run(args: readonly string[], extra?: { input?: string; env?: Readonly<Record<string, string>> }): Promise<GitRun>;
  /** Runs git and returns its output; a non-zero exit throws GitError with git's message. */
  output(args: readonly string[]): Promise<string>;
}

function gitIn(cwd: string, env: NodeJS.ProcessEnv): Git {
  const run: Git['run'] = (args, extra = {}) =>
    new Promise((resolve, reject) => {
      // No pager, no prompts: migrate runs unattended.
      const child = spawn('git', args, { cwd, env: { ...env, ...extra.env, GIT_TERMINAL_PROMPT: '0', GIT_PAGER: 'cat' }, stdio: ['pipe', 'pipe', 'pipe'] });
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
      child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
      child.on('error', (error) => reject(new GitError(`cannot run git: ${error.message}`)));
      child.on('close', (code) => resolve({ code: code ?? 128, stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8') }));
      // git may exit before reading its input (a hook refused the commit): its exit code tells, not the broken pipe.
      child.stdin.on('error', () => undefined);
      child.stdin.end(extra.input);
    });
  return {
    cwd,
    run,
    async output(args) {
      const result = await run(args);
      if (result.code !== 0) throw new GitError(`git ${args.filter((arg) => arg !== '--literal-pathspecs')[0]} failed: ${lastLine(result.stderr) || `exit code ${result.code}`}`);
      return result.stdout;
    },
  };
}
