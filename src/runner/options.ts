// The options of every API call and of the CLI: one schema, checked with
// clear errors, then turned into what the engine runs (transforms selected,
// custom ones loaded, a registry resolver when a network transform runs).
import { moduleUrlOf, loadTransform, validateTransform, withCustomTransforms } from './custom-transforms.js';
import type { EngineOptions } from '../engine/fixpoint.js';
import { DockoptError, throwIfAborted, type AbortSignalLike, type EnvironmentVariables, type UrlLike } from '../engine/errors.js';
import type { ImageResolverOptions } from '../registry/index.js';
import type { ImageResolver } from '../image/resolver.js';
import { selectTransforms, type SelectionLayer, type SelectionRequest } from '../engine/selection.js';
import { DEFAULT_MAX_FILE_BYTES } from './read.js';
import type { Transform, TransformOptions } from '../engine/transform.js';
import { CONTEXT_TRANSFORMS, TRANSFORMS } from '../../transforms/index.js';

export type PinMode = 'version' | 'digest' | 'both';

/**
 * Settings that can live in a config file: plain JSON data. The option of
 * the same name on the command line is given in brackets.
 */
export interface DockoptConfig {
  /** Run exactly these transforms instead of the default set (--select). */
  readonly select?: readonly string[];
  /** Run these too (--extend-select): an unsafe or network transform is turned on this way. */
  readonly extendSelect?: readonly string[];
  /** Do not run these transforms (--ignore). */
  readonly ignore?: readonly string[];
  /** The older name of ignore (--skip); both may be given. */
  readonly skip?: readonly string[];
  /** Run exactly these and apply their unsafe fixes (--only): select plus unsafeFixes for just them. */
  readonly only?: readonly string[];
  /** Apply the unsafe fixes of the selected transforms (--unsafe-fixes); false applies none, even with only. */
  readonly unsafeFixes?: boolean;
  /** Shorthand (--unsafe): the unsafe transforms join the default set, and unsafe fixes apply. */
  readonly unsafe?: boolean;
  /** Paths to leave out when directories are searched, as .gitignore patterns (--exclude): in a config file relative to its directory, as an option relative to each directory searched. */
  readonly exclude?: readonly string[];
  /** pin-base: pin the exact version tag, the digest, or both (--pin; default 'both'). */
  readonly pin?: PinMode;
  /** pin-base: move exact tags to the newest patch of their line (--update; unsafe fixes). */
  readonly update?: boolean;
  /** pkg-cleanup: BuildKit cache mounts instead of deleting caches (--cache-mounts). */
  readonly cacheMounts?: boolean;
  /** multi-stage: base image of the runtime stage (--runtime-base). */
  readonly runtimeBase?: string;
  /** Registry lookups answer from the disk cache only (--offline). */
  readonly offline?: boolean;
  /** The only registries that may be contacted (--registry-allow). */
  readonly registryAllow?: readonly string[];
  /** Ask URL instead of REGISTRY: `{ "docker.io": "https://mirror.example" }` (--registry-mirror). */
  readonly registryMirrors?: Readonly<Record<string, string>>;
  /** Registries reached over plain http (--insecure-registry). */
  readonly insecureRegistries?: readonly string[];
  /** Where registry answers are cached (--cache-dir). */
  readonly cacheDir?: string;
  /** Custom transform modules: file paths (relative to the current directory) or file: URLs (--transform). */
  readonly transforms?: readonly string[];
}

/** Options of fixText, fixFile and fixFiles: the config settings plus what only code can pass. */
export interface DockoptOptions extends Omit<DockoptConfig, 'transforms'> {
  /** Settings as read from a config file; the options above override it key by key. */
  readonly config?: DockoptConfig;
  /** Custom transforms: transform objects, or module paths / file: URLs whose default export is one. */
  readonly transforms?: readonly (string | UrlLike | Transform)[];
  /**
   * Answers registry questions instead of the built-in registry client (for
   * tests, or one resolver shared by many calls). Handed to every transform
   * that reads one; without it, a registry client is created for the call
   * when a network transform runs.
   */
  readonly resolver?: ImageResolver;
  /** Stops the work: no new file is started, and the call rejects with a DockoptError of code 'ABORTED'. */
  readonly signal?: AbortSignalLike;
  /** Environment for the registry client's docker config and default cache dir (default process.env). */
  readonly env?: EnvironmentVariables;
  /** Receives a line per registry request (the CLI's --verbose). */
  readonly registryLog?: (line: string) => void;
  /** Seconds one Dockerfile may take (--timeout; default 10): a file over it is left untouched with a TIMEOUT error. */
  readonly timeout?: number;
  /** Largest Dockerfile read, in bytes (--max-file-size; default 4 MiB): a larger file is a READ_ERROR. */
  readonly maxFileSize?: number;
}

/** The per-file time budget when none is given (--timeout). */
export const DEFAULT_TIMEOUT_SECONDS = 10;

type Check = (value: unknown) => string | undefined;

const isStringList: Check = (value) =>
  Array.isArray(value) && value.every((item) => typeof item === 'string' && item.trim() !== '') ? undefined : 'must be a list of non-empty strings';
/** select and only replace the set: an empty list would run nothing at all, which is what exclude says plainly. */
const isSelectList: Check = (value) =>
  Array.isArray(value) && value.length === 0 ? 'names no transform: list the ones to run (to leave files alone, use "exclude"; to turn transforms off, "ignore")' : isStringList(value);
const isBoolean: Check = (value) => (typeof value === 'boolean' ? undefined : 'must be true or false');
const isText: Check = (value) => (typeof value === 'string' && value.trim() !== '' ? undefined : 'must be a non-empty string');
const isPinMode: Check = (value) => (value === 'version' || value === 'digest' || value === 'both' ? undefined : 'must be "version", "digest" or "both"');
const isMirrorMap: Check = (value) => {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'must be an object mapping a registry to a URL';
  for (const [registry, url] of Object.entries(value)) {
    if (typeof url !== 'string' || !/^https?:\/\/[^/\s]+/.test(url)) return `must map each registry to an http(s) URL; "${registry}" maps to ${JSON.stringify(url)}`;
  }
  return undefined;
};

const CONFIG_CHECKS: Readonly<Record<keyof DockoptConfig, Check>> = {
  select: isSelectList,
  extendSelect: isStringList,
  ignore: isStringList,
  skip: isStringList,
  only: isSelectList,
  unsafeFixes: isBoolean,
  unsafe: isBoolean,
  exclude: isStringList,
  pin: isPinMode,
  update: isBoolean,
  cacheMounts: isBoolean,
  runtimeBase: isText,
  offline: isBoolean,
  registryAllow: isStringList,
  registryMirrors: isMirrorMap,
  insecureRegistries: isStringList,
  cacheDir: isText,
  transforms: isStringList,
};

const OPTION_CHECKS: Readonly<Record<Exclude<keyof DockoptOptions, keyof DockoptConfig>, Check>> = {
  config: () => undefined, // checked on its own, as a config
  resolver: (value) =>
    typeof value === 'object' && value !== null && typeof (value as ImageResolver).lookup === 'function' ? undefined : 'must be an ImageResolver (an object with lookup, listTags…)',
  signal: (value) => (value instanceof AbortSignal ? undefined : 'must be an AbortSignal'),
  env: (value) => (typeof value === 'object' && value !== null ? undefined : 'must be an object of environment variables'),
  registryLog: (value) => (typeof value === 'function' ? undefined : 'must be a function (line) => void'),
  // Not config-file keys: a scanned repository must not lift the limits that protect the run from it.
  timeout: (value) => (typeof value === 'number' && value > 0 ? undefined : 'must be a number of seconds above 0 (Infinity for no limit)'),
  maxFileSize: (value) => (Number.isInteger(value) && (value as number) > 0 ? undefined : 'must be a whole number of bytes above 0'),
};

const TRANSFORM_ENTRY: Check = (value) =>
  Array.isArray(value) && value.every((item) => (typeof item === 'string' && item !== '') || item instanceof URL || (typeof item === 'object' && item !== null))
    ? undefined
    : 'must be a list of transform objects, module paths or file: URLs';

function checkKeys(value: unknown, where: string, checks: Readonly<Record<string, Check>>): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new DockoptError('INVALID_OPTIONS', `${where} must be an object`);
  const record = value as Record<string, unknown>;
  for (const [key, item] of Object.entries(record)) {
    const check = Object.hasOwn(checks, key) ? checks[key] : undefined;
    if (!check) throw new DockoptError('INVALID_OPTIONS', `${where}: unknown option "${key}"; known: ${Object.keys(checks).join(', ')}`);
    if (item === undefined) continue;
    const problem = check(item);
    if (problem) throw new DockoptError('INVALID_OPTIONS', `${where}.${key} ${problem}`);
  }
  if (record.only !== undefined && record.select !== undefined) {
    throw new DockoptError('INVALID_OPTIONS', `${where}: "only" and "select" cannot be combined (only is select plus consent to the unsafe fixes of the transforms it names)`);
  }
  return record;
}

/** The keys a config holds, in schema order (for src/runner/config.ts, which checks config files itself to report lines). */
export const CONFIG_KEYS = Object.keys(CONFIG_CHECKS) as readonly (keyof DockoptConfig)[];

/** What is wrong with one config value (e.g. 'must be true or false'), or undefined when it is fine. */
export function configValueProblem(key: keyof DockoptConfig, value: unknown): string | undefined {
  return CONFIG_CHECKS[key](value);
}

/** Checks a config (e.g. a parsed config file); `where` names it in errors. */
export function validateConfig(value: unknown, where = 'config'): DockoptConfig {
  return checkKeys(value, where, CONFIG_CHECKS) as DockoptConfig;
}

/** Checks the options of an API call; `extra` adds the call's own options (such as fixFiles' write). */
export function validateOptions<T extends DockoptOptions>(value: unknown, extra: Readonly<Record<string, Check>> = {}): T {
  const options = checkKeys(value ?? {}, 'options', { ...CONFIG_CHECKS, ...OPTION_CHECKS, transforms: TRANSFORM_ENTRY, ...extra }) as T;
  if (options.config !== undefined) validateConfig(options.config, 'options.config');
  return options;
}

const isConfigFileChoice: Check = (value) =>
  typeof value === 'boolean' || (typeof value === 'string' && value.trim() !== '') ? undefined : 'must be true, false or a config file path';

/** fixFile's own options: write, which config file applies (the CLI's --config, or the nearest one), and whether a found one is trusted. */
export const WRITE_OPTION: Readonly<Record<string, Check>> = { write: isBoolean, configFile: isConfigFileChoice, trustConfig: isBoolean };

/** fixFiles' own options: write, and a callback told how many results to expect (for progress bars). */
export const FILES_OPTIONS: Readonly<Record<string, Check>> = {
  ...WRITE_OPTION,
  jobs: (value) => (Number.isInteger(value) && (value as number) >= 1 ? undefined : 'must be a whole number of threads, 1 or more'),
  onDiscovered: (value) => (typeof value === 'function' ? undefined : 'must be a function (total) => void'),
};

/**
 * What a worker thread needs to rebuild the engine options on its side: only
 * plain data crosses threads, so built-in transforms travel by id and custom
 * ones by module URL. There is no plan when a resolver is in use (its
 * dedupe and cache live in this thread) or when a custom transform was
 * passed as an object, which cannot be sent to another thread.
 */
export interface WorkerPlan {
  readonly transformIds: readonly string[];
  readonly transformModules: readonly string[];
  readonly unsafeAllowed: readonly string[] | 'all';
  readonly knownIds: readonly string[];
  readonly options: TransformOptions;
  readonly timeoutMs: number;
  readonly write: boolean;
  readonly maxFileBytes: number;
}

export interface PreparedRun {
  readonly engine: EngineOptions;
  readonly signal?: AbortSignalLike;
  /** Largest Dockerfile read, in bytes. */
  readonly maxFileBytes: number;
  workerPlan(write: boolean): WorkerPlan | undefined;
}

/** The settings in force: the config's, overridden key by key by the options given (selection keys: see selectionRequest). */
export function effectiveSettings(options: DockoptOptions): DockoptOptions {
  return { ...options.config, ...definedOnly(options) };
}

/**
 * Which transforms run: the config's selection keys, then the options' on the
 * set it leaves (Ruff's order: a --select replaces what the config chose, an
 * --extend-select or --ignore adjusts it). unsafe and unsafeFixes are single
 * switches: an option given beats the config's.
 */
export function selectionRequest(options: DockoptOptions): SelectionRequest {
  const config = options.config ?? {};
  return { layers: [selectionLayer(config), selectionLayer(options)], unsafe: options.unsafe ?? config.unsafe, unsafeFixes: options.unsafeFixes ?? config.unsafeFixes };
}

function selectionLayer(settings: Pick<DockoptConfig, 'select' | 'extendSelect' | 'ignore' | 'skip' | 'only'>): SelectionLayer {
  const ignore = settings.ignore === undefined && settings.skip === undefined ? undefined : [...(settings.ignore ?? []), ...(settings.skip ?? [])];
  return definedOnly({ select: settings.select, extendSelect: settings.extendSelect, ignore, only: settings.only });
}

/** A config file found in the scanned tree and not trusted: data only (see src/runner/config.ts). */
export interface UntrustedConfig {
  readonly config: DockoptConfig;
  /** The file, for errors. */
  readonly source: string;
}

/**
 * Options → the engine's options: merged with the config, custom transforms
 * loaded, transforms selected, resolver made. An untrusted config's settings
 * sit between `options.config` and the other options, and may not turn on a
 * transform that asks a registry (config.ts refuses that with its line; this
 * holds whatever key did it).
 */
export async function prepareRun(options: DockoptOptions, untrusted?: UntrustedConfig): Promise<PreparedRun> {
  const given = options;
  if (untrusted !== undefined) options = { ...options, config: { ...options.config, ...untrusted.config } };
  const settings = effectiveSettings(options);
  throwIfAborted(settings.signal);
  const entries = settings.transforms ?? [];
  const custom = await Promise.all(
    entries.map((entry, index) => (typeof entry === 'string' || entry instanceof URL ? loadTransform(entry) : validateTransform(entry, `options.transforms[${index}]`))),
  );
  const sources = entries.map((entry, index) => (typeof entry === 'string' ? entry : entry instanceof URL ? entry.href : `options.transforms[${index}] (${custom[index].meta.id})`));
  const all = withCustomTransforms(TRANSFORMS, custom, sources);
  const selection = selectTransforms(all, selectionRequest(options), CONTEXT_TRANSFORMS);
  if (untrusted !== undefined) refuseNetworkFrom(untrusted, selection.transforms, selectTransforms(all, selectionRequest(given), CONTEXT_TRANSFORMS).transforms);
  const transformOptions: TransformOptions = definedOnly({ cacheMounts: settings.cacheMounts, pin: settings.pin, update: settings.update, runtimeBase: settings.runtimeBase });
  const needsRegistry = selection.transforms.some((transform) => transform.meta.network);
  // The registry client is loaded only when a transform asks a registry: most runs never need it.
  const resolver = settings.resolver ?? (needsRegistry ? await createRegistryResolver(settings) : undefined);
  const knownIds = [...all, ...CONTEXT_TRANSFORMS].map((transform) => transform.meta.id);
  const timeoutMs = (settings.timeout ?? DEFAULT_TIMEOUT_SECONDS) * 1000;
  const maxFileBytes = settings.maxFileSize ?? DEFAULT_MAX_FILE_BYTES;
  const engine: EngineOptions = { transforms: selection.transforms, unsafeAllowed: selection.unsafeAllowed, knownIds, options: transformOptions, services: resolver ? { resolver } : undefined, timeoutMs };
  const builtInIds = new Set(TRANSFORMS.map((transform) => transform.meta.id));
  const customSelected = selection.transforms.filter((transform) => !builtInIds.has(transform.meta.id));
  const transformModules = customSelected.map(moduleUrlOf);
  const threadable = resolver === undefined && transformModules.every((url) => url !== undefined);
  return {
    engine,
    signal: settings.signal,
    maxFileBytes,
    workerPlan: (write) =>
      threadable
        ? {
            transformIds: selection.transforms.map((transform) => transform.meta.id),
            transformModules: transformModules as string[],
            unsafeAllowed: selection.unsafeAllowed === 'all' ? 'all' : [...selection.unsafeAllowed],
            knownIds,
            options: transformOptions,
            timeoutMs,
            write,
            maxFileBytes,
          }
        : undefined,
  };
}

function refuseNetworkFrom(untrusted: UntrustedConfig, selected: readonly Transform[], selectedWithout: readonly Transform[]): void {
  const added = selected.filter((transform) => transform.meta.network && !selectedWithout.includes(transform)).map((transform) => transform.meta.id);
  if (added.length === 0) return;
  throw new DockoptError(
    'INVALID_CONFIG',
    `${untrusted.source}: turns on ${added.join(', ')}, which contacts registries: a config file found in the scanned tree cannot turn on the network; name it on the command line (--extend-select ${added.join(',')}), name this file with --config, or pass --trust-config`,
    { file: untrusted.source },
  );
}

/** The registry client behind pin-base (and non-root's image lookups), configured like the CLI's. */
export async function createRegistryResolver(
  settings: Pick<DockoptOptions, 'offline' | 'registryAllow' | 'registryMirrors' | 'insecureRegistries' | 'cacheDir' | 'env' | 'registryLog'> = {},
): Promise<ImageResolver> {
  const { createImageResolver, UnsafeCacheDirectoryError } = await import('../registry/index.js');
  const { isLoopbackRegistry, normalizeRegistry, DOCKER_HUB } = await import('../image/reference.js');
  // Never downgrade a public registry to plain http behind the user's back: Docker Hub never,
  // another registry or a mirror only when named with --insecure-registry (loopback excepted).
  const insecure = (settings.insecureRegistries ?? []).map(normalizeRegistry);
  if (insecure.includes(DOCKER_HUB)) throw new DockoptError('INVALID_OPTIONS', '--insecure-registry cannot name Docker Hub: it is only reached over https');
  for (const [registry, url] of Object.entries(settings.registryMirrors ?? {})) {
    const mirror = new URL(url);
    if (mirror.protocol === 'http:' && !isLoopbackRegistry(mirror.host) && !insecure.includes(normalizeRegistry(mirror.host))) {
      throw new DockoptError('INVALID_OPTIONS', `--registry-mirror ${registry}=${url} is plain http: list ${mirror.host} with --insecure-registry to allow that`);
    }
  }
  const resolverOptions: ImageResolverOptions = {
    offline: settings.offline ?? false,
    allowRegistries: settings.registryAllow,
    plainHttpRegistries: settings.insecureRegistries,
    endpoints: { ...settings.registryMirrors },
    cacheDir: settings.cacheDir,
    env: settings.env ?? process.env,
    log: settings.registryLog,
  };
  try {
    return createImageResolver(resolverOptions);
  } catch (error) {
    if (error instanceof UnsafeCacheDirectoryError) throw new DockoptError('INVALID_OPTIONS', error.message, { cause: error });
    throw error;
  }
}

function definedOnly<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, item]) => item !== undefined)) as T;
}
