// The library API: what scripts call, and what the CLI itself is built on.
// Importing it does nothing; work (and the bash grammar's loading) starts
// with the first fix.
import { DockoptError, throwIfAborted } from './errors.js';
import { configForFile, createConfigCache, type ConfigCache } from './config.js';
import { FILES_OPTIONS, prepareRun, validateOptions, WRITE_OPTION, type DockoptConfig, type DockoptOptions } from './options.js';
import { unifiedDiff } from './report.js';
import type { FileResult, TextResult } from './results.js';
import { discoverFiles, processAndWrite, processFiles, processText, unreadable } from './runner.js';
import type { Transform, TransformMeta } from './transform.js';
import { TRANSFORMS } from '../transforms/index.js';

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
  for (const [index, file] of files.entries()) {
    const { config, sources } = await lookupConfig(file, configFile, cache);
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
  onDiscovered?.(missing.length + files.length);
  const write = checked.write ?? false;
  for (const [index, file] of missing.entries()) yield unreadable(file, index, 'no such file or directory');
  for (const { group, run } of runs) {
    for await (const result of processFiles(group.files, run.engine, { write, workerPlan: run.workerPlan(write), signal: run.signal, jobs })) {
      yield { ...result, index: group.indexes[result.index] };
    }
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
    ...(options.transforms ?? []).map((transform) => ({ ...transform.meta, builtin: false })),
  ];
}

/** A unified diff with `a/` and `b/` headers, as `dockopt fix` prints it; '' when the texts are equal. */
export function formatDiff(path: string, before: string, after: string): string {
  return before === after ? '' : unifiedDiff(path, before, after);
}
