// The only module that touches the filesystem: finds Dockerfiles, reads them
// safely, runs the engine and writes results back atomically.
import { randomBytes } from 'node:crypto';
import { promises as fs, readFileSync, type Stats } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import ignore, { type Ignore } from 'ignore';
import { DockerfileError, fixDockerfile, type EngineOptions } from './engine.js';
import type { FileReport } from './report.js';
import type { TransformOptions } from './transform.js';

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

/**
 * Files to process, in a stable order. Explicit files are taken as given;
 * directories are searched, honouring .gitignore files (of the enclosing
 * repository too) and skipping node_modules and .git.
 */
export async function discoverFiles(paths: readonly string[]): Promise<{ files: string[]; missing: string[] }> {
  const files: string[] = [];
  const missing: string[] = [];
  for (const given of paths) {
    let stats: Stats;
    try {
      stats = await fs.stat(given);
    } catch {
      missing.push(given);
      continue;
    }
    if (stats.isDirectory()) files.push(...(await walk(given, await enclosingIgnores(given))));
    else files.push(given);
  }
  return { files: [...new Set(files)], missing };
}

async function walk(directory: string, layers: readonly IgnoreLayer[]): Promise<string[]> {
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
    if (isDirectory) found.push(...(await walk(full, active)));
    else if ((entry.isFile() || entry.isSymbolicLink()) && isDockerfileName(entry.name)) found.push(full);
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
    const content = await fs.readFile(path.join(directory, '.gitignore'), 'utf8');
    return { base: directory, matcher: ignore().add(content) };
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
  const sniff = bytes.subarray(0, 8192);
  if (sniff.includes(0)) return { error: 'binary file (contains NUL bytes), not a Dockerfile' };
  try {
    return { text: new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes) };
  } catch {
    return { error: 'not valid UTF-8 text' };
  }
}

/** Fixes one text; any failure becomes an error report and the text is left as it was. */
export async function processText(displayPath: string, text: string, engine: EngineOptions): Promise<FileReport> {
  try {
    const result = await fixDockerfile(text, engine);
    const lookupErrors = result.notes.filter((note) => note.severity === 'error');
    return {
      path: displayPath,
      status: result.changed ? 'changed' : 'unchanged',
      input: text,
      output: result.output,
      changes: result.changes,
      notes: result.notes,
      errors: lookupErrors.map((note) => ({ line: note.line, message: `${note.transform}: ${note.message}` })),
      written: false,
    };
  } catch (error) {
    const line = error instanceof DockerfileError ? error.line : 1;
    const message = error instanceof DockerfileError ? `cannot parse: ${error.message.replace(/^\d+:\d+: /, '')}` : `internal error: ${(error as Error).message}`;
    return { path: displayPath, status: 'error', input: text, changes: [], notes: [], errors: [{ line, message }], written: false };
  }
}

export async function processFile(file: string, engine: EngineOptions): Promise<FileReport> {
  let bytes: Uint8Array;
  try {
    // Synchronous on purpose: Dockerfiles are small and the engine is CPU-bound, so a
    // thread-pool round trip per file would leave the CPU idle between files.
    bytes = readFileSync(file);
  } catch (error) {
    return errorReport(file, `cannot read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  const decoded = decodeDockerfile(bytes);
  if ('error' in decoded) return errorReport(file, decoded.error);
  return processText(file, decoded.text, engine);
}

function errorReport(file: string, message: string): FileReport {
  return { path: file, status: 'error', changes: [], notes: [], errors: [{ line: 1, message }], written: false };
}

/**
 * Replaces a file's content atomically: a temporary file in the same
 * directory (same filesystem), same mode and owner, fsync, then rename over
 * the original. Symlinks are followed so the link itself survives.
 */
export async function writeAtomically(file: string, content: string): Promise<void> {
  const target = await fs.realpath(file);
  const stats = await fs.stat(target);
  const temporary = path.join(path.dirname(target), `.${path.basename(target)}.dockopt-${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
  const handle = await fs.open(temporary, 'wx', stats.mode & 0o7777);
  try {
    await handle.writeFile(content, 'utf8');
    await handle.chmod(stats.mode & 0o7777);
    if (process.getuid?.() === 0) await handle.chown(stats.uid, stats.gid);
    await handle.sync();
    await handle.close();
    await fs.rename(temporary, target);
  } catch (error) {
    await handle.close().catch(() => undefined);
    await fs.rm(temporary, { force: true });
    throw error;
  }
}

/** Reads, fixes and (with write) replaces one file; never throws. */
export async function processAndWrite(file: string, engine: EngineOptions, write: boolean): Promise<FileReport> {
  const report = await processFile(file, engine);
  if (!write || report.status !== 'changed' || report.output === undefined) return report;
  try {
    await writeAtomically(file, report.output);
    return { ...report, written: true };
  } catch (error) {
    return { ...report, status: 'error', errors: [...report.errors, { line: 1, message: `cannot write: ${(error as Error).message}` }] };
  }
}

/**
 * What a worker thread needs to rebuild the engine options on its side: only
 * plain data crosses threads, so transforms travel by id. Plans are only made
 * when no transform needs a service (such as the registry resolver).
 */
export interface WorkerPlan {
  readonly transformIds: readonly string[];
  readonly unsafeAllowed: readonly string[] | 'all';
  readonly options: TransformOptions;
  readonly write: boolean;
}

/** Below this many files, starting threads costs more than it saves. */
const MIN_FILES_PER_WORKER = 200;

export interface ProcessOptions {
  readonly write: boolean;
  /** When given, large batches are spread over worker threads (one per core). */
  readonly workerPlan?: WorkerPlan;
}

export async function processFiles(files: readonly string[], engine: EngineOptions, options: ProcessOptions): Promise<FileReport[]> {
  const threads = Math.min(availableParallelism(), Math.floor(files.length / MIN_FILES_PER_WORKER));
  if (options.workerPlan && threads >= 2) return processInWorkers(files, options.workerPlan, threads);
  const reports: FileReport[] = new Array(files.length);
  let nextIndex = 0;
  // A few files in flight overlap reading and writing with the (synchronous) engine work.
  const lane = async () => {
    while (nextIndex < files.length) {
      const index = nextIndex++;
      reports[index] = await processAndWrite(files[index], engine, options.write);
    }
  };
  await Promise.all(Array.from({ length: 4 }, lane));
  return reports;
}

function processInWorkers(files: readonly string[], plan: WorkerPlan, threads: number): Promise<FileReport[]> {
  const reports: FileReport[] = new Array(files.length);
  let nextIndex = 0;
  let finished = 0;
  return new Promise((resolve, reject) => {
    const url = new URL('./worker.js', import.meta.url);
    for (let thread = 0; thread < threads; thread++) {
      const worker = new Worker(url, { workerData: plan });
      // Keep two files queued per worker so it never waits on the main thread.
      const feed = () => worker.postMessage(nextIndex < files.length ? { index: nextIndex, file: files[nextIndex++] } : null);
      worker.on('message', ({ index, report }: { index: number; report: FileReport }) => {
        reports[index] = report;
        feed();
      });
      worker.on('error', reject);
      worker.on('exit', () => {
        if (++finished === threads) resolve(reports);
      });
      feed();
      feed();
    }
  });
}
