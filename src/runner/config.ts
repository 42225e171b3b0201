// Config files: found upward from each Dockerfile (or named with --config),
// checked with errors that point at the file and line, and resolved, with
// their per-path overrides, into one flat DockoptConfig per Dockerfile.
//
// Where the search stops: the first directory that has a config file wins
// (nearest wins, no cascading: one file states everything for its tree).
// The search stops after the repository root (the nearest directory holding a
// .git that you or root own, as git's safe.directory asks), or, outside a
// repository, after the directory the run started from (the path named on the
// command line); never above the home directory, nor above `stopAt`. A config
// file in the last directory searched still counts.
//
// Trust: a config found by the search belongs to the scanned repository, which
// may be anyone's. It is data: it says what to fix and how, never what code to
// run (`transforms`) nor what the network does (registry settings, or naming a
// transform that asks a registry). A config the user names (--config) or vouches
// for (--trust-config) may hold everything; even then, a found config's
// transforms must lie inside its repository.
// Synchronous reads on purpose: a migration looks up thousands of directories, almost all
// without a config file, and a failed existsSync/readFileSync costs microseconds where a
// thread-pool round trip costs a hundred.
import { lstatSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DockoptError } from '../engine/errors.js';
import { didYouMean } from '../engine/suggest.js';
import { isWithin, MAX_SIDE_FILE_BYTES, ReadProblem, readRegularFile, realPathOf } from './read.js';
import { CONFIG_KEYS, configValueProblem, type DockoptConfig } from './options.js';
import { globToRegExp } from './runner.js';
import { CONTEXT_TRANSFORMS, TRANSFORMS } from '../../transforms/index.js';

/** The names looked for in each directory, in this order; the first that holds a config wins. */
export const CONFIG_FILE_NAMES = ['.dockopt.json', '.dockoptrc', 'package.json'] as const;

/** Where an editor finds the schema (schema/dockopt.schema.json in the package); dockopt itself checks the file by hand, with lines. */
const SCHEMA_KEY = '$schema';

/** The keys that name transforms: each id is checked against the known ones. */
const SELECTION_KEYS: readonly (keyof DockoptConfig)[] = ['select', 'extendSelect', 'ignore', 'skip', 'only'];

/** The key of package.json that holds dockopt's config; a package.json without it is passed over. */
const PACKAGE_JSON_KEY = 'dockopt';

export interface ConfigLookupOptions {
  /** Use this config file only (the CLI's --config), relative to the current directory; no search. */
  readonly explicitConfigPath?: string;
  /** Search no higher than this directory (it is still searched itself). */
  readonly stopAt?: string;
  /**
   * Where the run started: the directory named on the command line (for a
   * file, its directory). Outside a repository the search stops here.
   * Default: the Dockerfile's own directory.
   */
  readonly startDirectory?: string;
  /** --trust-config: a config found by the search may also hold transforms and registry settings. */
  readonly trust?: boolean;
  /** The search never goes above this directory (default: the user's home directory). */
  readonly homeDirectory?: string;
  /** Parsed files and directory lookups to reuse; default: one cache for the process (see clearConfigCache). */
  readonly cache?: ConfigCache;
}

export interface ResolvedConfig {
  /** The settings for this Dockerfile, overrides applied; {} when there is no config file. Frozen: shared between files. */
  readonly config: DockoptConfig;
  /** The config file (its `exclude` patterns are relative to its directory); absent when there is none. */
  readonly file?: string;
  /**
   * Where the settings came from: the config file, then each override that
   * applied, as JSON pointers (`/repo/.dockopt.json#/overrides/1`;
   * `/repo/package.json#/dockopt`). Two files with equal sources have the
   * same config object, so the list is a key to group files by.
   */
  readonly sources: readonly string[];
}

/**
 * The config for one Dockerfile. Throws DockoptError 'INVALID_CONFIG' (with
 * `file` and `line`) when the config file that applies cannot be read, is not
 * JSON, or breaks the schema.
 */
export async function configForFile(dockerfilePath: string, options: ConfigLookupOptions = {}): Promise<ResolvedConfig> {
  const cache = options.cache ?? defaultCache;
  const config =
    options.explicitConfigPath !== undefined
      ? await explicitConfig(cache, options.explicitConfigPath)
      : await nearestConfig(cache, path.dirname(path.resolve(dockerfilePath)), searchBoundary(cache, path.dirname(path.resolve(dockerfilePath)), options), options.trust ?? false);
  if (config === undefined) return NO_CONFIG;
  return config.resolve(path.resolve(dockerfilePath));
}

/**
 * Remembers parsed config files and which config each directory leads to,
 * so a run over thousands of Dockerfiles reads each config file once. A file
 * edited while the cache lives is not read again: one run sees one config.
 */
export interface ConfigCache {
  readonly files: Map<string, Promise<ConfigFile | undefined>>;
  readonly directories: Map<string, Promise<ConfigFile | undefined>>;
  /** Directory → the repository root above it (undefined: none). */
  readonly repositories: Map<string, string | undefined>;
}

export function createConfigCache(): ConfigCache {
  return { files: new Map(), directories: new Map(), repositories: new Map() };
}

let defaultCache = createConfigCache();

/** Forgets every config file read with the default cache, so later calls see edits (for long-lived processes). */
export function clearConfigCache(): void {
  defaultCache = createConfigCache();
}

const NO_CONFIG: ResolvedConfig = Object.freeze({ config: Object.freeze({}), sources: Object.freeze([]) });

function explicitConfig(cache: ConfigCache, given: string): Promise<ConfigFile | undefined> {
  const file = path.resolve(given);
  return remember(cache.files, `explicit\0${file}`, async () => {
    const text = readConfigText(file, true);
    return parseConfigFile(file, text!, true);
  });
}

/**
 * The last directory the search for a Dockerfile's config may look in: the
 * repository root, else the starting directory (when the Dockerfile lies
 * below it, else its own directory); never above the home directory or stopAt.
 */
function searchBoundary(cache: ConfigCache, directory: string, options: ConfigLookupOptions): string {
  const home = path.resolve(options.homeDirectory ?? os.homedir());
  const start = options.startDirectory === undefined ? directory : path.resolve(options.startDirectory);
  let boundary = repositoryRoot(cache, directory, home) ?? (isWithin(directory, start) ? start : directory);
  if (isWithin(directory, home) && !isWithin(boundary, home)) boundary = home;
  const stopAt = options.stopAt === undefined ? undefined : path.resolve(options.stopAt);
  if (stopAt !== undefined && isWithin(directory, stopAt) && !isWithin(boundary, stopAt)) boundary = stopAt;
  return boundary;
}

/** The nearest directory at or above `directory` holding a .git owned by you or root; the climb ends at home and at the filesystem root. */
function repositoryRoot(cache: ConfigCache, directory: string, home: string): string | undefined {
  if (cache.repositories.has(directory)) return cache.repositories.get(directory);
  const parent = path.dirname(directory);
  const root = ownGitDirectory(path.join(directory, '.git')) ? directory : parent === directory || directory === home ? undefined : repositoryRoot(cache, parent, home);
  cache.repositories.set(directory, root);
  return root;
}

/** A .git planted by another user (in /tmp, say) makes no repository: git itself refuses such a one (safe.directory). */
function ownGitDirectory(gitPath: string): boolean {
  let uid: number;
  try {
    uid = lstatSync(gitPath).uid;
  } catch {
    return false;
  }
  const self = process.getuid?.();
  return self === undefined || uid === self || uid === 0;
}

function nearestConfig(cache: ConfigCache, directory: string, boundary: string, trust: boolean): Promise<ConfigFile | undefined> {
  return remember(cache.directories, `${directory}\0${boundary}\0${trust}`, async () => {
    const own = await configIn(cache, directory, boundary, trust);
    if (own !== undefined) return own;
    const parent = path.dirname(directory);
    if (parent === directory || directory === boundary) return undefined;
    return nearestConfig(cache, parent, boundary, trust);
  });
}

async function configIn(cache: ConfigCache, directory: string, boundary: string, trust: boolean): Promise<ConfigFile | undefined> {
  for (const name of CONFIG_FILE_NAMES) {
    const file = path.join(directory, name);
    const config = await remember(cache.files, `found\0${trust}\0${boundary}\0${file}`, async () => {
      const text = readConfigText(file, false, boundary);
      return text === undefined ? undefined : parseConfigFile(file, text, false, { trusted: trust, root: boundary });
    });
    if (config !== undefined) return config;
  }
  return undefined;
}

/** Concurrent lookups of one key share one promise, so a file is read once however many Dockerfiles ask at the same time. */
function remember<T>(map: Map<string, Promise<T>>, key: string, compute: () => Promise<T>): Promise<T> {
  let promise = map.get(key);
  if (promise === undefined) {
    promise = compute();
    map.set(key, promise);
  }
  return promise;
}

/**
 * The file's text; undefined when a searched-for file is absent (a named one
 * must exist). Only regular files of a sane size are read: a FIFO or
 * /dev/zero in a scanned tree must not hang the run. A found file may be a
 * symlink only to somewhere inside `boundary`.
 */
function readConfigText(file: string, required: boolean, boundary?: string): string | undefined {
  try {
    if (boundary !== undefined) {
      const real = realPathOf(file);
      const realBoundary = realPathOf(boundary) ?? boundary;
      if (real !== undefined && !isWithin(real, realBoundary)) {
        // A package.json is a config only when it has the "dockopt" key, which cannot be known without
        // reading the file it leads to: one that leads out of the tree is passed over.
        if (path.basename(file) === 'package.json') return undefined;
        throw new DockoptError('INVALID_CONFIG', `${displayPath(file)}: the config file is a symlink to ${real}, outside ${displayPath(boundary)}: not read`, { file });
      }
    }
    return readRegularFile(file, MAX_SIDE_FILE_BYTES).toString('utf8');
  } catch (error) {
    if (error instanceof DockoptError) throw error;
    const code = error instanceof ReadProblem ? error.code : (error as NodeJS.ErrnoException).code;
    if (!required && (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR')) return undefined;
    throw new DockoptError('INVALID_CONFIG', `${displayPath(file)}: cannot read config file: ${(error as Error).message}`, { file, cause: error });
  }
}

interface Override {
  readonly patterns: readonly RegExp[];
  readonly settings: DockoptConfig;
  readonly source: string;
}

/** A parsed, checked config file; resolve() gives a Dockerfile its settings. */
export interface ConfigFile {
  readonly file: string;
  resolve(dockerfile: string): ResolvedConfig;
}

/** Keys that load code or steer the network: a found config holds them only when trusted. */
const TRUSTED_ONLY_KEYS: Readonly<Partial<Record<keyof DockoptConfig, string>>> = {
  transforms: 'loads code',
  offline: 'is a registry setting (--offline)',
  registryAllow: 'is a registry setting (--registry-allow)',
  registryMirrors: 'is a registry setting (--registry-mirror)',
  insecureRegistries: 'is a registry setting (--insecure-registry)',
  cacheDir: 'is a registry setting (--cache-dir)',
};

/** Keys whose ids turn transforms on: in a found config they may not turn on one that asks a registry. */
const TURNING_ON_KEYS: readonly (keyof DockoptConfig)[] = ['select', 'extendSelect', 'only'];

export interface ConfigTrust {
  /** The file may hold transforms and registry settings (named with --config, or --trust-config). */
  readonly trusted: boolean;
  /** For a found file: its repository (or starting directory); trusted transforms must lie inside it. */
  readonly root?: string;
}

/**
 * Parses and checks a config file's text. A package.json without a "dockopt"
 * key is no config (undefined) unless it was named explicitly. A file that
 * was not named (`explicit` false) is untrusted unless `trust` says otherwise.
 */
export function parseConfigFile(file: string, text: string, explicit: boolean, trust: ConfigTrust = { trusted: explicit }): ConfigFile | undefined {
  const directory = path.dirname(file);
  const isPackageJson = path.basename(file) === 'package.json';
  // An unrelated, broken package.json must not stop a run; one that may hold dockopt's settings must.
  if (isPackageJson && !explicit && !text.includes(`"${PACKAGE_JSON_KEY}"`)) return undefined;
  const json = parseJsonLocated(file, text);
  const problem = (pointer: string, message: string): never => {
    const { line, column } = json.positionOf(pointer);
    throw new DockoptError('INVALID_CONFIG', `${displayPath(file)}:${line}:${column}: ${message}`, { file, line });
  };
  let root = '';
  if (isPackageJson) {
    if (!isRecord(json.value)) return problem('', 'package.json must hold a JSON object');
    if (!Object.hasOwn(json.value, PACKAGE_JSON_KEY)) return explicit ? problem('', `package.json has no "${PACKAGE_JSON_KEY}" key to read the config from`) : undefined;
    root = `/${PACKAGE_JSON_KEY}`;
  }
  const raw = json.at(root);
  const hasCustomTransforms = isRecord(raw) && (Object.hasOwn(raw, 'transforms') || (Array.isArray(raw.overrides) && raw.overrides.some((entry) => isRecord(entry) && Object.hasOwn(entry, 'transforms'))));
  const settingsAt = (pointer: string, value: unknown, allowed: readonly string[]): DockoptConfig => {
    if (!isRecord(value)) return problem(pointer, `${describe(pointer)} must be an object`);
    const settings: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      const keyPointer = `${pointer}/${escapePointer(key)}`;
      if (!allowed.includes(key)) return problem(keyPointer, `unknown key "${key}"${didYouMean(key, allowed)}; known keys: ${allowed.join(', ')}`);
      if (key === 'overrides' || key === 'files') continue;
      if (key === SCHEMA_KEY) {
        if (typeof item !== 'string') problem(keyPointer, `"${SCHEMA_KEY}" must be a string: the path or URL of dockopt's JSON Schema, for editors`);
        continue;
      }
      const configKey = key as keyof DockoptConfig;
      const wrong = configValueProblem(configKey, item);
      if (wrong) return problem(keyPointer, `"${key}" ${wrong}`);
      const untrustedUse = TRUSTED_ONLY_KEYS[configKey];
      if (untrustedUse !== undefined && !trust.trusted) {
        return problem(keyPointer, `"${key}" ${untrustedUse}, which a config file found in the scanned tree may not do; name this file with --config, or pass --trust-config, to use it`);
      }
      if (SELECTION_KEYS.includes(configKey)) checkTransformIds(item as string[], keyPointer, key);
      if (TURNING_ON_KEYS.includes(configKey) && !trust.trusted) refuseNetworkTransforms(item as string[], keyPointer, key);
      if (configKey === 'transforms' && trust.root !== undefined) checkInsideRoot(item as string[], keyPointer, trust.root);
      settings[key] = Object.freeze(relativeToConfig(configKey, item, directory));
    }
    if (Object.hasOwn(settings, 'only') && Object.hasOwn(settings, 'select')) {
      problem(`${pointer}/only`, '"only" and "select" cannot be combined (only is select plus consent to the unsafe fixes of the transforms it names)');
    }
    return settings as DockoptConfig;
  };
  const checkTransformIds = (ids: readonly string[], pointer: string, key: string): void => {
    // Custom transforms' ids are known only once their modules load; the run checks those (UNKNOWN_TRANSFORM).
    if (hasCustomTransforms) return;
    const known = [...TRANSFORMS, ...CONTEXT_TRANSFORMS].map((transform) => transform.meta.id);
    for (const [index, id] of ids.entries()) {
      if (!known.includes(id)) problem(`${pointer}/${index}`, `"${key}" names unknown transform "${id}"${didYouMean(id, known)}; known: ${known.join(', ')}`);
    }
  };

  const refuseNetworkTransforms = (ids: readonly string[], pointer: string, key: string): void => {
    const network = new Set(TRANSFORMS.filter((transform) => transform.meta.network).map((transform) => transform.meta.id));
    for (const [index, id] of ids.entries()) {
      if (network.has(id)) {
        problem(
          `${pointer}/${index}`,
          `"${key}" names ${id}, which contacts registries: a config file found in the scanned tree cannot turn on the network; name it on the command line (--extend-select ${id}), name this file with --config, or pass --trust-config`,
        );
      }
    }
  };
  const checkInsideRoot = (entries: readonly string[], pointer: string, root: string): void => {
    const realRoot = realPathOf(root) ?? root;
    for (const [index, entry] of entries.entries()) {
      let target: string;
      try {
        target = /^file:/i.test(entry) ? fileURLToPath(entry) : path.resolve(directory, entry);
      } catch {
        problem(`${pointer}/${index}`, `"transforms" entry ${JSON.stringify(entry)} is not a file path or file: URL`);
        continue;
      }
      const real = realPathOf(target) ?? target;
      if (!isWithin(real, realRoot)) problem(`${pointer}/${index}`, `"transforms" entry ${JSON.stringify(entry)} leads outside ${displayPath(root)}; a config file found in the scanned tree may load transforms only from its own repository`);
    }
  };

  const topKeys = [SCHEMA_KEY, ...CONFIG_KEYS, 'overrides'];
  // Which files are searched is decided once per tree, not per file.
  const overrideKeys = ['files', ...CONFIG_KEYS.filter((key) => key !== 'exclude')];
  const base = settingsAt(root, raw, topKeys);
  const overrides: Override[] = [];
  const rawOverrides = (raw as Record<string, unknown>).overrides;
  if (rawOverrides !== undefined) {
    const listPointer = `${root}/overrides`;
    if (!Array.isArray(rawOverrides)) problem(listPointer, '"overrides" must be a list of objects such as { "files": ["legacy/**"], "skip": ["merge-runs"] }');
    for (const [index, entry] of (rawOverrides as unknown[]).entries()) {
      const pointer = `${listPointer}/${index}`;
      const settings = settingsAt(pointer, entry, overrideKeys);
      const files = (entry as Record<string, unknown>).files;
      if (files === undefined) problem(pointer, `${describe(pointer)} needs "files": globs relative to the config file's directory, such as ["legacy/**"]`);
      if (!Array.isArray(files) || files.length === 0 || !files.every((glob) => typeof glob === 'string' && glob.trim() !== '')) {
        problem(`${pointer}/files`, '"files" must be a non-empty list of globs (such as "legacy/**" or "**/Dockerfile.windows")');
      }
      overrides.push({ patterns: (files as string[]).map(globPattern), settings, source: `${file}#${pointer}` });
    }
  }
  return configFile(file, Object.freeze(base), `${file}#${root}`.replace(/#$/, ''), overrides);
}

function configFile(file: string, base: DockoptConfig, source: string, overrides: readonly Override[]): ConfigFile {
  const directory = path.dirname(file);
  // One result per set of applied overrides: files sharing settings share the object.
  const resolved = new Map<string, ResolvedConfig>();
  return {
    file,
    resolve(dockerfile) {
      const relative = path.relative(directory, dockerfile).split(path.sep).join('/');
      // Globs are relative to the config's directory: a Dockerfile outside it (a --config elsewhere) matches none.
      const inside = !relative.startsWith('../') && !path.isAbsolute(relative);
      const applied = inside ? overrides.filter((override) => override.patterns.some((pattern) => pattern.test(relative))) : [];
      const key = applied.map((override) => override.source).join('\n');
      let result = resolved.get(key);
      if (result === undefined) {
        // Later overrides win, key by key; a key's value is replaced, never merged.
        const config = Object.freeze(applied.reduce<DockoptConfig>((settings, override) => ({ ...withoutReplacedSelection(settings, override.settings), ...override.settings }), base));
        result = Object.freeze({ config, file, sources: Object.freeze([source, ...applied.map((override) => override.source)]) });
        resolved.set(key, result);
      }
      return result;
    },
  };
}

/** An override's select replaces the set, and so does only: whichever it sets, the other one of the file's goes. */
function withoutReplacedSelection(settings: DockoptConfig, override: DockoptConfig): DockoptConfig {
  if (override.only === undefined && override.select === undefined) return settings;
  const { only: _only, select: _select, ...rest } = settings;
  return rest;
}

/** Overrides' globs use the CLI's glob syntax; `./` is dropped, and `dir/` means everything under dir. */
function globPattern(glob: string): RegExp {
  const trimmed = glob.trim().replace(/^(\.\/)+/, '');
  return globToRegExp(trimmed.endsWith('/') ? `${trimmed}**` : trimmed);
}

/** Paths in a config file are relative to its directory, not to wherever dockopt runs. */
function relativeToConfig(key: keyof DockoptConfig, value: unknown, directory: string): unknown {
  if (key === 'cacheDir') return path.resolve(directory, value as string);
  if (key === 'transforms') return (value as string[]).map((entry) => (/^file:/i.test(entry) ? entry : path.resolve(directory, entry)));
  return value;
}

function describe(pointer: string): string {
  const match = /\/overrides\/(\d+)$/.exec(pointer);
  if (match) return `overrides[${match[1]}]`;
  return pointer === '' ? 'the config' : `"${pointer.slice(pointer.lastIndexOf('/') + 1)}"`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function escapePointer(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

function displayPath(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative === '' || relative.startsWith('..') || path.isAbsolute(relative) ? file : relative;
}

// JSON with positions: JSON.parse says neither where a key is nor (portably)
// where a syntax error is, and both are what a user needs to fix the file.

interface LocatedJson {
  readonly value: unknown;
  /** The value at a JSON pointer ('' is the whole document). */
  at(pointer: string): unknown;
  /** 1-based line and column of the key (or array element) a pointer names. */
  positionOf(pointer: string): { line: number; column: number };
}

const MAX_JSON_DEPTH = 64;

/** Strict JSON (a leading BOM allowed); a syntax error or duplicate key throws INVALID_CONFIG at its line. */
function parseJsonLocated(file: string, text: string): LocatedJson {
  const offsets = new Map<string, number>();
  let index = 0;
  const fail = (message: string, at = index): never => {
    const { line, column } = lineAndColumn(text, at);
    throw new DockoptError('INVALID_CONFIG', `${displayPath(file)}:${line}:${column}: invalid JSON: ${message}`, { file, line });
  };
  const found = (): string => (index >= text.length ? 'the end of the file' : JSON.stringify(text[index]));
  const skipWhitespace = () => {
    while (index < text.length && (text[index] === ' ' || text[index] === '\t' || text[index] === '\n' || text[index] === '\r')) index++;
  };
  const parseString = (): string => {
    const start = index;
    index++;
    while (index < text.length && text[index] !== '"') {
      if (text.charCodeAt(index) < 0x20) fail('a string cannot span lines or hold control characters');
      index += text[index] === '\\' ? 2 : 1;
    }
    if (index >= text.length) fail('unterminated string', start);
    index++;
    try {
      return JSON.parse(text.slice(start, index)) as string;
    } catch {
      return fail('invalid escape in string', start);
    }
  };
  const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
  const parseValue = (pointer: string, depth = 0): unknown => {
    skipWhitespace();
    const char = text[index];
    // A config is a few levels deep; thousands of brackets are an attack on the stack.
    if ((char === '{' || char === '[') && depth >= MAX_JSON_DEPTH) fail(`nested more than ${MAX_JSON_DEPTH} levels deep`);
    if (char === '{') {
      index++;
      const object: Record<string, unknown> = {};
      skipWhitespace();
      if (text[index] === '}') {
        index++;
        return object;
      }
      for (;;) {
        skipWhitespace();
        if (text[index] !== '"') fail(`expected a key in double quotes, found ${found()}`);
        const keyStart = index;
        const key = parseString();
        if (Object.hasOwn(object, key)) fail(`duplicate key "${key}"`, keyStart);
        const childPointer = `${pointer}/${escapePointer(key)}`;
        offsets.set(childPointer, keyStart);
        skipWhitespace();
        if (text[index] !== ':') fail(`expected ":" after key "${key}", found ${found()}`);
        index++;
        // defineProperty, not assignment: a "__proto__" key stays a plain key.
        Object.defineProperty(object, key, { value: parseValue(childPointer, depth + 1), enumerable: true, writable: true, configurable: true });
        skipWhitespace();
        if (text[index] === ',') {
          index++;
          continue;
        }
        if (text[index] === '}') {
          index++;
          return object;
        }
        return fail(`expected "," or "}", found ${found()}`);
      }
    }
    if (char === '[') {
      index++;
      const array: unknown[] = [];
      skipWhitespace();
      if (text[index] === ']') {
        index++;
        return array;
      }
      for (;;) {
        skipWhitespace();
        const childPointer = `${pointer}/${array.length}`;
        offsets.set(childPointer, index);
        array.push(parseValue(childPointer, depth + 1));
        skipWhitespace();
        if (text[index] === ',') {
          index++;
          continue;
        }
        if (text[index] === ']') {
          index++;
          return array;
        }
        return fail(`expected "," or "]", found ${found()}`);
      }
    }
    if (char === '"') return parseString();
    for (const [word, value] of [['true', true], ['false', false], ['null', null]] as const) {
      if (text.startsWith(word, index)) {
        index += word.length;
        return value;
      }
    }
    NUMBER.lastIndex = index;
    const number = NUMBER.exec(text);
    if (number) {
      index += number[0].length;
      return Number(number[0]);
    }
    return fail(`expected a value, found ${found()}`);
  };

  if (text.startsWith('\uFEFF')) index = 1;
  skipWhitespace();
  offsets.set('', index);
  const value = parseValue('');
  skipWhitespace();
  if (index < text.length) fail(`unexpected ${found()} after the end of the JSON value`);
  return {
    value,
    at(pointer) {
      let current: unknown = value;
      for (const part of pointer.split('/').slice(1)) current = (current as Record<string, unknown>)[part.replace(/~1/g, '/').replace(/~0/g, '~')];
      return current;
    },
    positionOf(pointer) {
      return lineAndColumn(text, offsets.get(pointer) ?? 0);
    },
  };
}

function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const lineStart = Math.max(before.lastIndexOf('\n'), before.lastIndexOf('\r')) + 1;
  return { line: before.split(/\r\n|\r|\n/).length, column: offset - lineStart + 1 };
}
