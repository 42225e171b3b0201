// The library API: what scripts call, and what the CLI itself is built on.
// Importing it does nothing; work (and the bash grammar's loading) starts
// with the first fix.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { directoryBuildContext } from '../runner/directory-context.js';
import { DockoptError, throwIfAborted, type Diagnostic } from '../engine/errors.js';
import { configForFile, createConfigCache, type ConfigCache } from '../runner/config.js';
import { effectiveSettings, FILES_OPTIONS, prepareRun, validateOptions, WRITE_OPTION, type DockoptConfig, type DockoptOptions } from '../runner/options.js';
import { unifiedDiff } from '../report/report.js';
import type { FileResult, TextResult } from '../engine/results.js';
import { decodeDockerfile, discoverFiles, processAndWrite, processFiles, processText, unreadable, writeAtomically } from '../runner/runner.js';
import { selectContextTransforms } from '../engine/selection.js';
import type { ContextTransform, Transform, TransformMeta } from '../engine/transform.js';
import { CONTEXT_TRANSFORMS, TRANSFORMS } from '../../transforms/index.js';

export interface FixFileOptions extends DockoptOptions {
  /** Replace each changed file on disk, atomically (the CLI's --write). Default false: nothing is written. */
  readonly write?: boolean;
  /**
   * Config files: true reads the nearest .dockopt.json, .dockoptrc or package.json "dockopt"
   * above each Dockerfile (as the CLI does), a path uses that file for every Dockerfile, false
   * (the default for the API) reads none. A config file's settings sit between the `config`
   * option (below) and the other options (above).
   */
  readonly configFile?: boolean | string;
}

export interface FixFilesOptions extends FixFileOptions {
  /** Called once, before the first result, with the number of results that will follow (the CLI's progress bar uses it). */
  readonly onDiscovered?: (total: number) => void;
  /** Most threads to use for a large batch (default: one per core); 1 runs everything on the calling thread (the CLI's --jobs). */
  readonly jobs?: number;
}

/**
 * Fixes a Dockerfile's text. Never throws for the text itself: a Dockerfile
 * that does not parse comes back unchanged with a PARSE_ERROR in `errors`.
 * Throws DockoptError for invalid options, unknown or invalid transforms,
 * and an aborted signal.
 */
export async function fixText(text: string, options: DockoptOptions = {}): Promise<TextResult> {
  if (typeof text !== 'string') throw new DockoptError('INVALID_OPTIONS', 'fixText takes the Dockerfile as a string');
  const run = await prepareRun(validateOptions(options));
  throwIfAborted(run.signal);
  return processText(text, run.engine);
}

/** Fixes one file (and with `write`, replaces it). Problems with the file are in the result's `errors`. */
export async function fixFile(file: string, options: FixFileOptions = {}): Promise<FileResult> {
  if (typeof file !== 'string' || file === '') throw new DockoptError('INVALID_OPTIONS', 'fixFile takes a file path');
  const { configFile, ...checked } = validateOptions<FixFileOptions>(options, WRITE_OPTION);
  const { config } = await lookupConfig(file, configFile, createConfigCache());
  const run = await prepareRun(withConfigFile(checked, config));
  throwIfAborted(run.signal);
  return processAndWrite(file, run.engine, checked.write ?? false);
}

function lookupConfig(file: string, configFile: boolean | string | undefined, cache: ConfigCache): Promise<{ config: DockoptConfig; sources: readonly string[] }> {
  if (configFile === undefined || configFile === false) return Promise.resolve({ config: {}, sources: [] });
  return configForFile(file, { explicitConfigPath: typeof configFile === 'string' ? configFile : undefined, cache });
}

function withConfigFile<T extends DockoptOptions>(options: T, fileConfig: DockoptConfig): T {
  return Object.keys(fileConfig).length === 0 ? options : { ...options, config: { ...options.config, ...fileConfig } };
}

/**
 * Fixes every Dockerfile the paths lead to: files as given, directories
 * searched (Dockerfile naming styles, .gitignore honoured, node_modules and
 * .git skipped), globs such as `services/*\/Dockerfile.prod` expanded.
 * Large batches run on worker threads exactly as on the CLI. Results arrive
 * as files finish; `index` is each file's place in discovery order. A path
 * that matches nothing yields a READ_ERROR result first. Option errors reject
 * the first iteration; an abort rejects with ABORTED once the files already
 * started have finished (their results are yielded first).
 */
export async function* fixFiles(globOrPaths: string | readonly string[], options: FixFilesOptions = {}): AsyncGenerator<FileResult, void, undefined> {
  const paths = typeof globOrPaths === 'string' ? [globOrPaths] : globOrPaths;
  if (!Array.isArray(paths) || !paths.every((item) => typeof item === 'string' && item !== '')) {
    throw new DockoptError('INVALID_OPTIONS', 'fixFiles takes a path or glob, or a list of them');
  }
  const { onDiscovered, jobs, configFile, ...checked } = validateOptions<FixFilesOptions>(options, FILES_OPTIONS);
  const { files, missing } = await discoverFiles(paths);
  // Files that share a config file (and override set) share one run, so a migration over a
  // few repositories prepares a few runs, each spread over the worker threads.
  const cache = createConfigCache();
  const groups = new Map<string, { config: DockoptConfig; files: string[]; indexes: number[] }>();
  // Looked up all at once: the cache shares each directory's answer, and the reads overlap.
  const lookups = await Promise.all(files.map((file) => lookupConfig(file, configFile, cache)));
  for (const [index, file] of files.entries()) {
    const { config, sources } = lookups[index];
    const key = sources.join('\n');
    let group = groups.get(key);
    if (!group) groups.set(key, (group = { config, files: [], indexes: [] }));
    group.files.push(file);
    group.indexes.push(missing.length + index);
  }
  if (groups.size === 0) groups.set('', { config: {}, files: [], indexes: [] });
  // Every run is prepared before the first result, so option and config errors reject the first iteration.
  const runs = await Promise.all([...groups.values()].map(async (group) => ({ group, run: await prepareRun(withConfigFile(checked, group.config)) })));
  throwIfAborted(checked.signal);
  const contexts = contextRuns(groups.values(), checked);
  onDiscovered?.(missing.length + files.length + contexts.length);
  const write = checked.write ?? false;
  for (const [index, file] of missing.entries()) yield unreadable(file, index, 'no such file or directory');
  // The context transforms read the Dockerfiles as fixed, so they wait for them.
  const fixedTexts = new Map<string, string | undefined>();
  for (const { group, run } of runs) {
    for await (const result of processFiles(group.files, run.engine, { write, workerPlan: run.workerPlan(write), signal: run.signal, jobs })) {
      if (contexts.length > 0) fixedTexts.set(group.files[result.index], result.output);
      yield { ...result, index: group.indexes[result.index] };
    }
  }
  for (const [offset, context] of contexts.entries()) {
    throwIfAborted(checked.signal);
    yield { ...(await runContextTransforms(context, fixedTexts, write)), index: missing.length + files.length + offset };
  }
}

/** A build context (a directory holding Dockerfiles), with the context transforms selected for it. */
interface ContextRun {
  readonly directory: string;
  readonly dockerfiles: readonly string[];
  readonly transforms: readonly ContextTransform[];
}

/**
 * The directories whose context transforms run, in discovery order: the build
 * context is taken to be the Dockerfile's directory, as for cache-deps. The
 * selection uses the same settings as prepareRun (effectiveSettings).
 */
function contextRuns(groups: Iterable<{ config: DockoptConfig; files: readonly string[] }>, options: DockoptOptions): ContextRun[] {
  const byDirectory = new Map<string, { dockerfiles: string[]; transforms: Set<ContextTransform> }>();
  for (const group of groups) {
    const settings = effectiveSettings(withConfigFile(options, group.config));
    const selected = selectContextTransforms(CONTEXT_TRANSFORMS, { only: settings.only, skip: settings.skip, unsafe: settings.unsafe });
    for (const file of group.files) {
      const directory = path.dirname(file);
      let entry = byDirectory.get(directory);
      if (!entry) byDirectory.set(directory, (entry = { dockerfiles: [], transforms: new Set() }));
      entry.dockerfiles.push(file);
      for (const transform of selected) entry.transforms.add(transform);
    }
  }
  return [...byDirectory.entries()]
    .filter(([, entry]) => entry.transforms.size > 0)
    .map(([directory, entry]) => ({ directory, dockerfiles: entry.dockerfiles, transforms: CONTEXT_TRANSFORMS.filter((transform) => entry.transforms.has(transform)) }));
}

/**
 * The .dockerignore of one directory as the context transforms leave it. A
 * Dockerfile with its own `<name>.dockerignore` is built with that file, so
 * it neither shapes nor is served by the shared one.
 */
async function runContextTransforms(run: ContextRun, fixedTexts: ReadonlyMap<string, string | undefined>, write: boolean): Promise<Omit<FileResult, 'index'>> {
  const file = path.join(run.directory, '.dockerignore');
  const context = directoryBuildContext(run.directory);
  const notes: Diagnostic[] = [];
  const note = (transform: string, message: string) => notes.push({ line: 1, message, severity: 'note', transform });
  let existing: string | undefined;
  try {
    const decoded = decodeDockerfile(readFileSync(file));
    if ('error' in decoded) return { path: file, status: 'error', changed: false, changes: [], notes: [], errors: [{ line: 1, message: decoded.error, severity: 'error', code: 'READ_ERROR' }], written: false };
    existing = decoded.text;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') return { path: file, status: 'error', changed: false, changes: [], notes: [], errors: [{ line: 1, message: `cannot read: ${code ?? (error as Error).message}`, severity: 'error', code: 'READ_ERROR' }], written: false };
  }
  const input = existing ?? '';
  let output = input;
  const changes: FileResult['changes'][number][] = [];
  const dockerfiles: string[] = [];
  for (const dockerfile of run.dockerfiles) {
    const own = `${path.basename(dockerfile)}.dockerignore`;
    if (context.exists(own)) {
      for (const transform of run.transforms) note(transform.meta.id, `${path.basename(dockerfile)} is built with its own ${own}, which is left alone`);
      continue;
    }
    const text = fixedTexts.get(dockerfile);
    if (text === undefined) {
      for (const transform of run.transforms) note(transform.meta.id, `left alone: ${path.basename(dockerfile)} could not be read, so what it copies is unknown`);
      return { path: file, status: 'unchanged', input, output: input, changed: false, changes: [], notes, errors: [], written: false };
    }
    dockerfiles.push(text);
  }
  if (dockerfiles.length > 0) {
    for (const transform of run.transforms) {
      const proposal = transform.propose({ context, dockerfiles, existing: output === '' && existing === undefined ? undefined : output });
      const lines = proposal.output.split(/\r?\n/);
      for (const entry of proposal.added) {
        changes.push({ transform: transform.meta.id, line: lines.lastIndexOf(entry) + 1, message: `ignore ${entry}`, safety: transform.meta.safety });
      }
      for (const message of proposal.notes) note(transform.meta.id, message);
      output = proposal.output;
    }
  }
  const changed = output !== input;
  const result: Omit<FileResult, 'index'> = { path: file, status: changed ? 'changed' : 'unchanged', input, output, changed, changes, notes, errors: [], written: false };
  if (!write || !changed) return result;
  try {
    await writeAtomically(file, output, { createMode: 0o644 });
    return { ...result, written: true };
  } catch (error) {
    const problem: Diagnostic = { line: 1, message: `cannot write: ${(error as Error).message}`, severity: 'error', code: 'WRITE_ERROR' };
    return { ...result, status: 'error', errors: [problem] };
  }
}

export interface TransformInfo extends TransformMeta {
  /** False for custom transforms. */
  readonly builtin: boolean;
}

/** The transforms in pipeline order with their metadata and docs: the built-ins, then the custom ones given. */
export function listTransforms(options: { readonly transforms?: readonly Transform[] } = {}): TransformInfo[] {
  return [
    ...TRANSFORMS.map((transform) => ({ ...transform.meta, builtin: true })),
    ...CONTEXT_TRANSFORMS.map((transform) => ({ ...transform.meta, builtin: true })),
    ...(options.transforms ?? []).map((transform) => ({ ...transform.meta, builtin: false })),
  ];
}

/** A unified diff with `a/` and `b/` headers, as `dockopt fix` prints it; '' when the texts are equal. */
export function formatDiff(path: string, before: string, after: string): string {
  return before === after ? '' : unifiedDiff(path, before, after);
}
