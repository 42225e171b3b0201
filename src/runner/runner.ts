// The only module that touches the filesystem: finds Dockerfiles, reads them
// safely, runs the engine and writes results back atomically.
import { randomBytes } from 'node:crypto';
import { promises as fs, type Stats } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import ignore, { type Ignore } from 'ignore';
import { directoryBuildContext } from './directory-context.js';
import { DockerfileError, DockerfileTimeout, fixDockerfile, type EngineOptions } from '../engine/fixpoint.js';
import { DEFAULT_MAX_FILE_BYTES, isWithin, MAX_SIDE_FILE_BYTES, readRegularFile, readRegularFileIfPresent, realPathOf } from './read.js';
import { abortError, DockoptError, type AbortSignalLike, type Diagnostic, type DockoptErrorCode } from '../engine/errors.js';
import type { WorkerPlan } from './options.js';
import { failedText, resultOfFix, type FileResult, type TextResult } from '../engine/results.js';

const SKIPPED_DIRECTORIES = new Set(['node_modules', '.git']);

/** Dockerfile, Dockerfile.*, *.Dockerfile, *.dockerfile, Containerfile, Containerfile.* */
export function isDockerfileName(name: string): boolean {
  // Dockerfile.dockerignore is BuildKit's per-Dockerfile ignore file, not a Dockerfile.
  if (/\.dockerignore$/i.test(name)) return false;
  return /^(Dockerfile|Containerfile)(\..+)?$/.test(name) || /\.[Dd]ockerfile$/.test(name);
}

interface IgnoreLayer {
  readonly base: string;
  readonly matcher: Ignore;
}

/** What discovery found: the files in a stable order, the paths that matched nothing, and where each file's search started. */
export interface Discovery {
  readonly files: string[];
  readonly missing: string[];
  /**
   * For each file, the directory its path was named by: the directory given,
   * the glob's base, or (for a file named itself) its own directory. Outside a
   * repository, the config search stops there.
   */
  readonly startDirectories: ReadonlyMap<string, string>;
  /** Real paths of the directories given (and of the directories of files given): what a search may lead into. */
  readonly roots: readonly string[];
  /** The files named on the command line themselves: processed whatever the exclude patterns say. */
  readonly explicit: ReadonlySet<string>;
}

/**
 * Files to process, in a stable order. Explicit files are taken as given
 * (a symlink named by the user is followed); directories are searched for
 * Dockerfiles, honouring .gitignore files (of the enclosing repository too)
 * and skipping node_modules and .git. A path that does not exist but has glob
 * characters (`*`, `?`, `[…]`, `{a,b}`) is a glob: the files it matches are
 * searched the same way, whatever their name. A path that matches nothing is
 * missing. Symlinks met while searching are taken only when their real path
 * lies inside one of the directories given, so a repository cannot lead a
 * run (and its --write) to files elsewhere.
 */
export async function discoverFiles(paths: readonly string[], exclude: readonly string[] = []): Promise<Discovery> {
  const files: string[] = [];
  const missing: string[] = [];
  const explicit = new Set<string>();
  const startDirectories = new Map<string, string>();
  const found = (file: string, start: string) => {
    files.push(file);
    if (!startDirectories.has(file)) startDirectories.set(file, start);
  };
  // --exclude patterns are .gitignore patterns relative to each directory searched.
  const excludedUnder = (base: string): IgnoreLayer[] => (exclude.length > 0 ? [{ base, matcher: ignore().add([...exclude]) }] : []);
  const searched: { given: string; base?: string; glob?: string }[] = [];
  for (const given of paths) {
    let stats: Stats;
    try {
      stats = await fs.stat(given);
    } catch {
      const base = isGlob(given) ? await globBase(given) : undefined;
      if (base !== undefined) searched.push({ given, base, glob: given });
      else missing.push(given);
      continue;
    }
    searched.push(stats.isDirectory() ? { given, base: given } : { given });
  }
  const roots = searched.flatMap((entry) => (entry.base === undefined ? [] : [realPathOf(entry.base) ?? path.resolve(entry.base)]));
  const insideRoots = (full: string) => {
    const real = realPathOf(full);
    return real !== undefined && roots.some((root) => isWithin(real, root));
  };
  for (const entry of searched) {
    if (entry.base === undefined) {
      // A file named on the command line is processed, whatever the patterns say (as in Ruff and Prettier).
      found(entry.given, path.dirname(path.resolve(entry.given)));
      explicit.add(entry.given);
    } else if (entry.glob === undefined) {
      const walked = await walk(entry.base, [...excludedUnder(entry.base), ...(await enclosingIgnores(entry.base))], isDockerfileName, insideRoots);
      for (const file of walked) found(file, path.resolve(entry.base));
    } else {
      const matched = await expandGlob(entry.glob, entry.base, excludedUnder, insideRoots);
      if (matched.length === 0) missing.push(entry.given);
      for (const file of matched) found(file, path.resolve(entry.base));
    }
  }
  const namedFileDirectories = searched.flatMap((entry) => (entry.base === undefined ? [realPathOf(path.dirname(path.resolve(entry.given))) ?? path.dirname(path.resolve(entry.given))] : []));
  return { files: [...new Set(files)], missing, explicit, startDirectories, roots: [...new Set([...roots, ...namedFileDirectories])] };
}

/** True when a path matches .gitignore-style patterns relative to `base` (a config file's `exclude`). */
export function isExcluded(file: string, base: string, patterns: readonly string[]): boolean {
  return isIgnored([{ base, matcher: ignore().add([...patterns]) }], path.resolve(file), false);
}

const GLOB_CHARACTERS = /[*?[{]/;

function isGlob(given: string): boolean {
  return GLOB_CHARACTERS.test(given);
}

/** The directory a glob is searched from (the part before its first glob segment), or undefined when it is not a directory. */
async function globBase(pattern: string): Promise<string | undefined> {
  const segments = pattern.split('/');
  const firstGlob = segments.findIndex((segment) => GLOB_CHARACTERS.test(segment));
  const base = segments.slice(0, firstGlob).join('/') || (pattern.startsWith('/') ? '/' : '.');
  try {
    return (await fs.stat(base)).isDirectory() ? base : undefined;
  } catch {
    return undefined;
  }
}

async function expandGlob(pattern: string, base: string, excludedUnder: (base: string) => IgnoreLayer[], mayFollow: (full: string) => boolean): Promise<string[]> {
  const segments = pattern.split('/');
  const firstGlob = segments.findIndex((segment) => GLOB_CHARACTERS.test(segment));
  const matcher = globToRegExp(segments.slice(firstGlob).join('/'));
  return walk(base, [...excludedUnder(base), ...(await enclosingIgnores(base))], (_name, full) => matcher.test(path.relative(base, full).split(path.sep).join('/')), mayFollow);
}

/** A glob over `/`-separated relative paths: `**` any directories, `*` and `?` within a name, `[…]` and `{a,b}`. */
export function globToRegExp(glob: string): RegExp {
  let source = '';
  for (let index = 0; index < glob.length; index++) {
    const char = glob[index];
    if (char === '*' && glob[index + 1] === '*') {
      const slash = glob[index + 2] === '/';
      source += slash ? '(?:[^/]+/)*' : '.*';
      index += slash ? 2 : 1;
    } else if (char === '*') {
      source += '[^/]*';
    } else if (char === '?') {
      source += '[^/]';
    } else if (char === '[' && glob.indexOf(']', index + 2) > index) {
      const end = glob.indexOf(']', index + 2);
      const body = glob.slice(index + 1, end);
      source += `[${body.startsWith('!') ? `^${body.slice(1)}` : body}]`;
      index = end;
    } else if (char === '{' && glob.indexOf('}', index) > index) {
      const end = glob.indexOf('}', index);
      source += `(?:${glob.slice(index + 1, end).split(',').map(escapeRegExp).join('|')})`;
      index = end;
    } else {
      source += escapeRegExp(char);
    }
  }
  return new RegExp(`^${source}$`);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

async function walk(directory: string, layers: readonly IgnoreLayer[], accept: (name: string, full: string) => boolean, mayFollow: (full: string) => boolean): Promise<string[]> {
  const own = await readIgnoreLayer(directory);
  const active = own ? [...layers, own] : layers;
  let entries;
  try {
    entries = await fs.readdir(directory, { withFileTypes: true });
  } catch {
    return [];
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const found: string[] = [];
  for (const entry of entries) {
    const full = path.join(directory, entry.name);
    const isDirectory = entry.isDirectory();
    if (isDirectory && SKIPPED_DIRECTORIES.has(entry.name)) continue;
    if (isIgnored(active, full, isDirectory)) continue;
    if (isDirectory) found.push(...(await walk(full, active, accept, mayFollow)));
    else if (entry.isFile() && accept(entry.name, full)) found.push(full);
    else if (entry.isSymbolicLink() && accept(entry.name, full) && mayFollow(full)) found.push(full);
  }
  return found;
}

function isIgnored(layers: readonly IgnoreLayer[], full: string, isDirectory: boolean): boolean {
  return layers.some((layer) => {
    const relative = path.relative(layer.base, full).split(path.sep).join('/');
    if (relative === '' || relative.startsWith('..')) return false;
    return layer.matcher.ignores(isDirectory ? `${relative}/` : relative);
  });
}

async function readIgnoreLayer(directory: string): Promise<IgnoreLayer | undefined> {
  try {
    // A .gitignore can be a FIFO or a link to /dev/zero too: read it like any file the repository controls.
    const content = readRegularFileIfPresent(path.join(directory, '.gitignore'), MAX_SIDE_FILE_BYTES);
    return content === undefined ? undefined : { base: directory, matcher: ignore().add(content.toString('utf8')) };
  } catch {
    return undefined;
  }
}

/** .gitignore files between the repository root (the nearest .git above) and directory, exclusive. */
async function enclosingIgnores(directory: string): Promise<IgnoreLayer[]> {
  const absolute = path.resolve(directory);
  const chain: string[] = [];
  let current = path.dirname(absolute);
  let previous = absolute;
  let foundRoot = false;
  while (current !== previous) {
    chain.unshift(current);
    if (await exists(path.join(current, '.git'))) {
      foundRoot = true;
      break;
    }
    previous = current;
    current = path.dirname(current);
  }
  if (!foundRoot || (await exists(path.join(absolute, '.git')))) return [];
  const layers: IgnoreLayer[] = [];
  for (const dir of chain) {
    const layer = await readIgnoreLayer(dir);
    if (layer) layers.push(layer);
  }
  return layers;
}

async function exists(file: string): Promise<boolean> {
  try {
    await fs.access(file);
    return true;
  } catch {
    return false;
  }
}

/** Decodes a file's bytes as a Dockerfile, keeping a BOM; an error message for binary or non-UTF-8 input. */
export function decodeDockerfile(bytes: Uint8Array): { text: string } | { error: string } {
  // The whole file: a NUL after the first few KiB makes it just as binary (reads are capped, so this is bounded).
  if (bytes.includes(0)) return { error: 'binary file (contains NUL bytes), not a Dockerfile' };
  try {
    return { text: new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes) };
  } catch {
    return { error: 'not valid UTF-8 text' };
  }
}

/** Fixes one text; any failure becomes an error and the text is left as it was. Never throws. */
export async function processText(text: string, engine: EngineOptions): Promise<TextResult> {
  try {
    return resultOfFix(await fixDockerfile(text, engine));
  } catch (error) {
    if (error instanceof DockerfileTimeout) return failedText(text, fileError('TIMEOUT', error.message));
    if (error instanceof DockerfileError) {
      const cycle = error.problems.length === 0;
      const message = cycle ? error.message : `cannot parse: ${error.message.replace(/^\d+:\d+: /, '')}`;
      return failedText(text, fileError(cycle ? 'CYCLE' : 'PARSE_ERROR', message, error.line));
    }
    return failedText(text, fileError('INTERNAL_ERROR', `internal error: ${(error as Error).message}`));
  }
}

function fileError(code: DockoptErrorCode, message: string, line = 1): Diagnostic {
  return { line, message, severity: 'error', code };
}

/** How the runner treats each file: whether it writes, and the largest file it reads. */
export interface FileOptions {
  readonly write: boolean;
  /** Default DEFAULT_MAX_FILE_BYTES. */
  readonly maxFileBytes?: number;
}

export async function processFile(file: string, engine: EngineOptions, index = 0, maxFileBytes = DEFAULT_MAX_FILE_BYTES): Promise<FileResult> {
  let bytes: Uint8Array;
  try {
    // Synchronous on purpose: Dockerfiles are small and the engine is CPU-bound, so a
    // thread-pool round trip per file would leave the CPU idle between files.
    bytes = readRegularFile(file, maxFileBytes);
  } catch (error) {
    return unreadable(file, index, `cannot read: ${(error as Error).message}`);
  }
  const decoded = decodeDockerfile(bytes);
  if ('error' in decoded) return unreadable(file, index, decoded.error);
  // The build context is taken to be the Dockerfile's directory (what `docker build .` next to it sends);
  // it is read lazily, only by transforms that ask (cache-deps).
  const withContext: EngineOptions = { ...engine, services: { ...engine.services, buildContext: directoryBuildContext(path.dirname(file)) } };
  return { ...(await processText(decoded.text, withContext)), path: file, index, written: false };
}

/** A result for a file that could not be read (or found): no input, no output. */
export function unreadable(file: string, index: number, message: string): FileResult {
  return { path: file, index, status: 'error', changed: false, changes: [], notes: [], errors: [fileError('READ_ERROR', message)], written: false };
}

/**
 * Replaces a file's content atomically: a temporary file in the same
 * directory (same filesystem), same mode and owner, fsync, then rename over
 * the original. Symlinks are followed so the link itself survives. With
 * `createMode`, a file that does not exist yet is created (same way) with
 * that mode; without it, a missing file is an error.
 */
export async function writeAtomically(file: string, content: string, options: { readonly createMode?: number } = {}): Promise<void> {
  const existing = await existingTarget(file, options.createMode !== undefined);
  const target = existing?.target ?? file;
  const mode = existing ? existing.stats.mode & 0o7777 : options.createMode!;
  const temporary = path.join(path.dirname(target), `.${path.basename(target)}.dockopt-${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
  const handle = await fs.open(temporary, 'wx', mode);
  try {
    await handle.writeFile(content, 'utf8');
    // chown first: it clears the setuid and setgid bits, so a chmod before it would lose them.
    if (existing && process.getuid?.() === 0) await handle.chown(existing.stats.uid, existing.stats.gid);
    // Explicitly, because the umask narrows the mode open() creates with.
    await handle.chmod(mode);
    await handle.sync();
    await handle.close();
    await fs.rename(temporary, target);
  } catch (error) {
    await handle.close().catch(() => undefined);
    await fs.rm(temporary, { force: true });
    throw error;
  }
}

/** The file's real path and stats; undefined when it does not exist and may be created. */
async function existingTarget(file: string, mayCreate: boolean): Promise<{ target: string; stats: Stats } | undefined> {
  try {
    const target = await fs.realpath(file);
    return { target, stats: await fs.stat(target) };
  } catch (error) {
    if (mayCreate && (error as NodeJS.ErrnoException).code === 'ENOENT') {
      // A dangling symlink would be replaced by a file rather than followed: refuse it.
      const link = await fs.lstat(file).catch(() => undefined);
      if (link === undefined) return undefined;
    }
    throw error;
  }
}

/** Reads, fixes and (with write) replaces one file; never throws. */
export async function processAndWrite(file: string, engine: EngineOptions, options: FileOptions, index = 0): Promise<FileResult> {
  const result = await processFile(file, engine, index, options.maxFileBytes);
  if (!options.write || result.status !== 'changed' || result.output === undefined) return result;
  try {
    await writeAtomically(file, result.output);
    return { ...result, written: true };
  } catch (error) {
    return { ...result, status: 'error', errors: [...result.errors, fileError('WRITE_ERROR', `cannot write: ${(error as Error).message}`)] };
  }
}

/** Below this many files, starting threads costs more than it saves. */
const MIN_FILES_PER_WORKER = 200;
/** Files in flight on the main thread: overlaps reading and writing with the (synchronous) engine work. */
const MAIN_THREAD_LANES = 4;

export interface ProcessOptions extends FileOptions {
  /** When given, large batches are spread over worker threads (one per core). */
  readonly workerPlan?: WorkerPlan;
  /** Most threads to use (default: one per core); 1 keeps everything on the main thread. */
  readonly jobs?: number;
  /** When it fires no new file is started; the files in flight finish (a write is never cut short), then ABORTED is thrown. */
  readonly signal?: AbortSignalLike;
}

/**
 * Fixes the files and yields one result per file as each finishes (so in
 * completion order; `index` is the file's position in `files`).
 */
export async function* processFiles(files: readonly string[], engine: EngineOptions, options: ProcessOptions): AsyncGenerator<FileResult> {
  const results = new ResultQueue<FileResult>();
  let nextIndex = 0;
  let stopped = false;
  const take = (): number | undefined => (stopped || nextIndex >= files.length ? undefined : nextIndex++);
  const stop = () => {
    stopped = true;
  };
  options.signal?.addEventListener('abort', stop);
  const finish = (error?: unknown) => results.close(error ?? (options.signal?.aborted ? abortError(options.signal) : undefined));
  if (options.signal?.aborted) stop();
  const threads = Math.min(options.jobs ?? availableParallelism(), Math.floor(files.length / MIN_FILES_PER_WORKER));
  if (options.workerPlan && threads >= 2) {
    runInWorkers(files, options.workerPlan, threads, take, results, finish);
  } else {
    const lane = async () => {
      for (let index = take(); index !== undefined; index = take()) results.push(await processAndWrite(files[index], engine, options, index));
    };
    Promise.all(Array.from({ length: MAIN_THREAD_LANES }, lane)).then(() => finish(), finish);
  }
  try {
    yield* results;
  } finally {
    // Also reached when the consumer stops iterating: start no more files.
    stop();
    options.signal?.removeEventListener('abort', stop);
  }
}

function runInWorkers(
  files: readonly string[],
  plan: WorkerPlan,
  threads: number,
  take: () => number | undefined,
  results: ResultQueue<FileResult>,
  finish: (error?: unknown) => void,
): void {
  const url = new URL('./worker.js', import.meta.url);
  const workers: Worker[] = [];
  let exited = 0;
  let failure: unknown;
  for (let thread = 0; thread < threads; thread++) {
    // --input-type (a script run with node -e) applies to the main entry only and makes a worker fail to start.
    const worker = new Worker(url, { workerData: plan, execArgv: process.execArgv.filter((arg) => !arg.startsWith('--input-type')) });
    workers.push(worker);
    // Keep two files queued per worker so it never waits on the main thread; null ends its work.
    const feed = () => {
      const index = take();
      worker.postMessage(index === undefined ? null : { index, file: files[index] });
    };
    worker.on('message', (result: FileResult) => {
      results.push(result);
      feed();
    });
    worker.on('error', (error) => {
      failure ??= new DockoptError('INTERNAL_ERROR', `worker thread failed: ${error.message}`, { cause: error });
      for (const other of workers) void other.terminate();
    });
    worker.on('exit', () => {
      if (++exited === threads) finish(failure);
    });
    feed();
    feed();
  }
}

/** Results pushed by lanes or workers, handed out to one consumer in arrival order. */
class ResultQueue<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private closed = false;
  private failure: { error: unknown } | undefined;
  private wake: (() => void) | undefined;

  push(item: T): void {
    this.items.push(item);
    this.notify();
  }

  close(error?: unknown): void {
    this.closed = true;
    if (error !== undefined) this.failure = { error };
    this.notify();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T> {
    for (;;) {
      if (this.items.length > 0) yield this.items.shift()!;
      else if (this.failure) throw this.failure.error;
      else if (this.closed) return;
      else await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}
