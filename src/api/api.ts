// The library API: what scripts call, and what the CLI itself is built on.
// Importing it does nothing; work (and the bash grammar's loading) starts
// with the first fix.
import path from 'node:path';
import { directoryBuildContext } from '../runner/directory-context.js';
import { DockoptError, throwIfAborted, type Diagnostic } from '../engine/errors.js';
import { configForFile, createConfigCache, type ConfigCache } from '../runner/config.js';
import { FILES_OPTIONS, selectionRequest, prepareRun, validateOptions, WRITE_OPTION, type DockoptConfig, type DockoptOptions, type UntrustedConfig } from '../runner/options.js';
import { isWithin, MAX_SIDE_FILE_BYTES, readRegularFileIfPresent, realPathOf } from '../runner/read.js';
import { unifiedDiff } from '../report/report.js';
import type { FileResult, TextResult } from '../engine/results.js';
import { decodeDockerfile, discoverFiles, isExcluded, processAndWrite, processFiles, processText, unreadable, writeAtomically } from '../runner/runner.js';
import { contextFixesAllowed, safetyLabel, selectContextTransforms, selectedByDefault, type SafetyLabel } from '../engine/selection.js';
import type { ContextTransform, Transform, TransformMeta } from '../engine/transform.js';
import { CONTEXT_TRANSFORMS, TRANSFORMS } from '../../transforms/index.js';

export interface FixFileOptions extends DockoptOptions {
  /** Replace each changed file on disk, atomically (the CLI's --write). Default false: nothing is written. */
  readonly write?: boolean;
  /**
   * Config files: true (the default, as on the command line) reads the nearest .dockopt.json,
   * .dockoptrc or package.json "dockopt" above each Dockerfile, a path uses that file for every
   * Dockerfile, false reads none (the CLI's --no-config-lookup). A config file's settings sit between the `config`
   * option (below) and the other options (above).
   */
  readonly configFile?: boolean | string;
  /**
   * A config file found by the search (configFile: true) belongs to the
   * scanned repository and is data only: it may not load transforms, choose
   * registry settings or turn on a transform that asks a registry. true (the
   * CLI's --trust-config) lifts that, for trees you control. A config named
   * with a path is always trusted.
   */
  readonly trustConfig?: boolean;
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
  const { configFile = true, trustConfig, ...checked } = validateOptions<FixFileOptions>(options, WRITE_OPTION);
  const found = await lookupConfig(file, { configFile, trustConfig, startDirectory: path.dirname(path.resolve(file)) }, createConfigCache());
  const run = await prepareWithConfig(checked, found);
  throwIfAborted(run.signal);
  return processAndWrite(file, run.engine, { write: checked.write ?? false, maxFileBytes: run.maxFileBytes });
}

interface ConfigChoice {
  readonly configFile: boolean | string | undefined;
  readonly trustConfig: boolean | undefined;
  /** Where the search for this file started (see ConfigLookupOptions.startDirectory). */
  readonly startDirectory?: string;
}

interface FoundConfig {
  readonly config: DockoptConfig;
  readonly sources: readonly string[];
  readonly configFile?: string;
  /** False for a config found by the search without trustConfig: data only. */
  readonly trusted: boolean;
}

async function lookupConfig(file: string, choice: ConfigChoice, cache: ConfigCache): Promise<FoundConfig> {
  const { configFile, trustConfig } = choice;
  if (configFile === false) return { config: {}, sources: [], trusted: true };
  const explicit = typeof configFile === 'string';
  const resolved = await configForFile(file, { explicitConfigPath: explicit ? configFile : undefined, cache, trust: trustConfig ?? false, startDirectory: choice.startDirectory });
  return { config: resolved.config, sources: resolved.sources, configFile: resolved.file, trusted: explicit || (trustConfig ?? false) };
}

/** A trusted config joins `options.config`; an untrusted one is handed to prepareRun on its own, which keeps it from turning on the network. */
function prepareWithConfig<T extends DockoptOptions>(options: T, found: FoundConfig) {
  if (Object.keys(found.config).length === 0) return prepareRun(options);
  if (found.trusted) return prepareRun(withConfigFile(options, found.config));
  const untrusted: UntrustedConfig = { config: found.config, source: found.configFile ?? found.sources[0] ?? 'config file' };
  return prepareRun(options, untrusted);
}

function isExcludedByConfig(file: string, config: DockoptConfig, configFile: string | undefined): boolean {
  return configFile !== undefined && config.exclude !== undefined && isExcluded(file, path.dirname(configFile), config.exclude);
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
  const { onDiscovered, jobs, configFile = true, trustConfig, ...checked } = validateOptions<FixFilesOptions>(options, FILES_OPTIONS);
  const discovered = await discoverFiles(paths, [...(checked.exclude ?? []), ...(checked.config?.exclude ?? [])]);
  const { missing } = discovered;
  // Files that share a config file (and override set) share one run, so a migration over a
  // few repositories prepares a few runs, each spread over the worker threads.
  const cache = createConfigCache();
  const groups = new Map<string, { found: FoundConfig; config: DockoptConfig; files: string[]; indexes: number[] }>();
  // Looked up all at once: the cache shares each directory's answer, and the reads overlap.
  const found = await Promise.all(
    discovered.files.map(async (file) => ({ file, ...(await lookupConfig(file, { configFile, trustConfig, startDirectory: discovered.startDirectories.get(file) }, cache)) })),
  );
  // A config file's exclude leaves out what a directory search found under it; a file named explicitly stays.
  const kept = found.filter((entry) => discovered.explicit.has(entry.file) || !isExcludedByConfig(entry.file, entry.config, entry.configFile));
  const files = kept.map((entry) => entry.file);
  for (const [index, entry] of kept.entries()) {
    const { file, config, sources } = entry;
    const key = sources.join('\n');
    let group = groups.get(key);
    if (!group) groups.set(key, (group = { found: entry, config, files: [], indexes: [] }));
    group.files.push(file);
    group.indexes.push(missing.length + index);
  }
  if (groups.size === 0) groups.set('', { found: { config: {}, sources: [], trusted: true }, config: {}, files: [], indexes: [] });
  // Every run is prepared before the first result, so option and config errors reject the first iteration.
  const runs = await Promise.all([...groups.values()].map(async (group) => ({ group, run: await prepareWithConfig(checked, group.found) })));
  throwIfAborted(checked.signal);
  const contexts = contextRuns(groups.values(), checked);
  onDiscovered?.(missing.length + files.length + contexts.length);
  const write = checked.write ?? false;
  for (const [index, file] of missing.entries()) yield unreadable(file, index, 'no such file or directory');
  // The context transforms read the Dockerfiles as fixed, so they wait for them.
  const fixedTexts = new Map<string, string | undefined>();
  for (const { group, run } of runs) {
    for await (const result of processFiles(group.files, run.engine, { write, maxFileBytes: run.maxFileBytes, workerPlan: run.workerPlan(write), signal: run.signal, jobs })) {
      if (contexts.length > 0) fixedTexts.set(group.files[result.index], result.output);
      yield { ...result, index: group.indexes[result.index] };
    }
  }
  for (const [offset, context] of contexts.entries()) {
    throwIfAborted(checked.signal);
    yield { ...(await runContextTransforms(context, fixedTexts, write, discovered.roots)), index: missing.length + files.length + offset };
  }
}

/** A build context (a directory holding Dockerfiles), with the context transforms selected for it. */
interface ContextRun {
  readonly directory: string;
  readonly dockerfiles: readonly string[];
  readonly transforms: readonly ContextTransform[];
  /** The transforms whose (unsafe) fixes may apply here; the others only say what they would do. */
  readonly allowed: ReadonlySet<ContextTransform>;
}

/**
 * The directories whose context transforms run, in discovery order: the build
 * context is taken to be the Dockerfile's directory, as for cache-deps. The
 * selection uses the same settings as prepareRun (selectionRequest).
 */
function contextRuns(groups: Iterable<{ config: DockoptConfig; files: readonly string[] }>, options: DockoptOptions): ContextRun[] {
  const byDirectory = new Map<string, { dockerfiles: string[]; transforms: Set<ContextTransform>; allowed: Set<ContextTransform> }>();
  for (const group of groups) {
    const request = selectionRequest(withConfigFile(options, group.config));
    const selected = selectContextTransforms(CONTEXT_TRANSFORMS, request);
    for (const file of group.files) {
      const directory = path.dirname(file);
      let entry = byDirectory.get(directory);
      if (!entry) byDirectory.set(directory, (entry = { dockerfiles: [], transforms: new Set(), allowed: new Set() }));
      entry.dockerfiles.push(file);
      for (const transform of selected) {
        entry.transforms.add(transform);
        if (contextFixesAllowed(transform.meta, request)) entry.allowed.add(transform);
      }
    }
  }
  return [...byDirectory.entries()]
    .filter(([, entry]) => entry.transforms.size > 0)
    .map(([directory, entry]) => ({ directory, dockerfiles: entry.dockerfiles, transforms: CONTEXT_TRANSFORMS.filter((transform) => entry.transforms.has(transform)), allowed: entry.allowed }));
}

/**
 * The .dockerignore of one directory as the context transforms leave it. A
 * Dockerfile with its own `<name>.dockerignore` is built with that file, so
 * it neither shapes nor is served by the shared one.
 */
async function runContextTransforms(run: ContextRun, fixedTexts: ReadonlyMap<string, string | undefined>, write: boolean, roots: readonly string[]): Promise<Omit<FileResult, 'index'>> {
  const file = path.join(run.directory, '.dockerignore');
  const context = directoryBuildContext(run.directory);
  const notes: Diagnostic[] = [];
  const note = (transform: string, message: string, unsafeFixSkipped = false) => notes.push({ line: 1, message, severity: 'note', transform, ...(unsafeFixSkipped && { unsafeFixSkipped }) });
  const kind = 'dockerignore' as const;
  const readError = (message: string): Omit<FileResult, 'index'> => ({ path: file, kind, status: 'error', changed: false, changes: [], notes: [], errors: [{ line: 1, message, severity: 'error', code: 'READ_ERROR' }], written: false });
  // Nobody named the .dockerignore: a symlink that leads out of the tree searched is not followed (nor written through).
  const real = realPathOf(file);
  if (real !== undefined && !roots.some((root) => isWithin(real, root))) return readError(`left alone: a symlink to ${real}, outside the directories searched`);
  let existing: string | undefined;
  try {
    const bytes = readRegularFileIfPresent(file, MAX_SIDE_FILE_BYTES);
    if (bytes !== undefined) {
      const decoded = decodeDockerfile(bytes);
      if ('error' in decoded) return readError(decoded.error);
      existing = decoded.text;
    }
  } catch (error) {
    return readError(`cannot read: ${(error as Error).message}`);
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
      return { path: file, kind, status: 'unchanged', input, output: input, changed: false, changes: [], notes, errors: [], written: false };
    }
    dockerfiles.push(text);
  }
  if (dockerfiles.length > 0) {
    for (const transform of run.transforms) {
      const proposal = transform.propose({ context, dockerfiles, existing: output === '' && existing === undefined ? undefined : output });
      for (const message of proposal.notes) note(transform.meta.id, message);
      if (!run.allowed.has(transform)) {
        if (proposal.added.length > 0) note(transform.meta.id, `would ignore ${proposal.added.join(', ')} (unsafe fix not applied: --unsafe-fixes applies it)`, true);
        continue;
      }
      const lines = proposal.output.split(/\r?\n/);
      for (const entry of proposal.added) {
        changes.push({ transform: transform.meta.id, line: lines.lastIndexOf(entry) + 1, message: `ignore ${entry}`, safety: transform.meta.safety });
      }
      output = proposal.output;
    }
  }
  const changed = output !== input;
  const result: Omit<FileResult, 'index'> = { path: file, kind, status: changed ? 'changed' : 'unchanged', input, output, changed, changes, notes, errors: [], written: false };
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
  /** Whether its fixes are safe, unsafe, or mixed (a safe transform with some unsafe fixes). */
  readonly fixes: SafetyLabel;
  /** Whether it runs without being selected: safe or mixed, and needs no network. */
  readonly selectedByDefault: boolean;
}

/** The transforms in pipeline order with their metadata and docs: the built-ins, then the custom ones given. */
export function listTransforms(options: { readonly transforms?: readonly Transform[] } = {}): TransformInfo[] {
  const info = (meta: TransformMeta, builtin: boolean): TransformInfo => ({ ...meta, builtin, fixes: safetyLabel(meta), selectedByDefault: selectedByDefault(meta) });
  return [
    ...TRANSFORMS.map((transform) => info(transform.meta, true)),
    ...CONTEXT_TRANSFORMS.map((transform) => info(transform.meta, true)),
    ...(options.transforms ?? []).map((transform) => info(transform.meta, false)),
  ];
}

/** A unified diff with `a/` and `b/` headers, as `dockopt fix` prints it; '' when the texts are equal. */
export function formatDiff(path: string, before: string, after: string): string {
  return before === after ? '' : unifiedDiff(path, before, after);
}
