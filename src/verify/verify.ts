// `dockopt verify`: builds a Dockerfile as it is and as dockopt would fix it,
// with whichever image builder the machine has (docker buildx, podman or
// buildah), and measures both images: size, layers, final user, build time.
// This module runs the builders and reads their answers; verify-table.ts
// renders the report.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { From } from 'dockerfile-ast';
import { fixFile, type FixFileOptions } from '../api/api.js';
import { DockerfileDocument } from '../dockerfile/document.js';
import type { Diagnostic } from '../engine/errors.js';
import type { Change } from '../engine/results.js';

export const BUILDER_NAMES = ['docker', 'podman', 'buildah'] as const;
export type BuilderName = (typeof BUILDER_NAMES)[number];

/** Where podman and buildah keep images; docker's daemon has its own and takes neither. */
export interface StorageOptions {
  /** A private containers-storage: images go to DIR/root, run state to DIR/runroot. */
  readonly root?: string;
  /** containers-storage driver, e.g. overlay or vfs (default: the builder's own choice). */
  readonly driver?: string;
}

export interface BuilderSettings {
  /** Environment of every builder process; its PATH decides which builders exist. Default process.env. */
  readonly env?: NodeJS.ProcessEnv;
  readonly storage?: StorageOptions;
}

export interface BuildRequest {
  readonly dockerfile: string;
  readonly context: string;
  readonly tag: string;
  readonly buildArgs?: Readonly<Record<string, string>>;
  readonly target?: string;
}

export interface BuildOutcome {
  readonly ok: boolean;
  readonly exitCode: number | null;
  readonly seconds: number;
  /** stdout and stderr interleaved, cut from the front beyond MAX_LOG_CHARS. */
  readonly log: string;
  /** Images the build committed before it failed (podman and buildah keep one per step with --layers). */
  readonly intermediateImages: readonly string[];
}

export interface ImageMeasurement {
  /** Sum of the uncompressed layer sizes, base layers included (about what `docker images` shows); null when the builder does not say. */
  readonly sizeBytes: number | null;
  readonly layers: number;
  /** The config's User; '' means root. */
  readonly user: string;
}

export interface Builder {
  readonly name: BuilderName;
  /** e.g. "buildah 1.28.2" */
  readonly version: string;
  /** Fetches an image into the builder's store; false when it could not. */
  pull(image: string): Promise<boolean>;
  build(request: BuildRequest): Promise<BuildOutcome>;
  measure(tag: string): Promise<ImageMeasurement>;
  /** Removes images by tag or id; images already gone are not an error. */
  remove(images: readonly string[]): Promise<void>;
}

/** A builder was asked for (or looked for) and cannot be used; the message says why. */
export class BuilderUnavailableError extends Error {
  override readonly name = 'BuilderUnavailableError';
}

const MAX_LOG_CHARS = 1024 * 1024;
const PROBE_TIMEOUT_SECONDS = 20;

// ---- processes ---------------------------------------------------------------

interface ProcessResult {
  /** null when the command does not exist (or was killed by a signal). */
  readonly exitCode: number | null;
  readonly missing: boolean;
  readonly stdout: string;
  readonly output: string;
  readonly seconds: number;
}

function execute(command: string, args: readonly string[], env: NodeJS.ProcessEnv, timeoutSeconds?: number): Promise<ProcessResult> {
  return new Promise((resolve) => {
    const started = performance.now();
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let output = '';
    const keepTail = (text: string) => (text.length > MAX_LOG_CHARS ? text.slice(-MAX_LOG_CHARS) : text);
    child.stdout.on('data', (chunk: Buffer) => {
      stdout = keepTail(stdout + chunk.toString('utf8'));
      output = keepTail(output + chunk.toString('utf8'));
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output = keepTail(output + chunk.toString('utf8'));
    });
    // A probe such as `docker info` can hang on an unreachable daemon; builds run as long as they need.
    const timer = timeoutSeconds === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), timeoutSeconds * 1000);
    const seconds = () => Math.round(performance.now() - started) / 1000;
    child.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve({ exitCode: null, missing: error.code === 'ENOENT', stdout, output: `${output}${error.message}\n`, seconds: seconds() });
    });
    child.on('close', (exitCode) => {
      clearTimeout(timer);
      resolve({ exitCode, missing: false, stdout, output, seconds: seconds() });
    });
  });
}

const probe = (command: string, args: readonly string[], env: NodeJS.ProcessEnv) => execute(command, args, env, PROBE_TIMEOUT_SECONDS);

function firstLine(text: string): string {
  return text.trim().split('\n')[0]?.trim() ?? '';
}

export function lastLines(text: string, count: number): string {
  return text.replace(/\s+$/, '').split('\n').slice(-count).join('\n');
}

// ---- detection -----------------------------------------------------------------

/**
 * The builder to use: the forced one, else the first that works of docker
 * buildx with a reachable daemon, podman, buildah. Throws
 * BuilderUnavailableError naming what is missing.
 */
export async function detectBuilder(forced: BuilderName | undefined, settings: BuilderSettings = {}): Promise<Builder> {
  const env = settings.env ?? process.env;
  if (forced !== undefined) return BUILDERS[forced](env, settings.storage);
  const reasons: string[] = [];
  for (const name of BUILDER_NAMES) {
    try {
      return await BUILDERS[name](env, settings.storage);
    } catch (error) {
      if (!(error instanceof BuilderUnavailableError)) throw error;
      reasons.push(error.message);
    }
  }
  throw new BuilderUnavailableError(`no image builder found: install docker with buildx (and start its daemon), podman, or buildah (${reasons.join('; ')})`);
}

async function dockerBuilder(env: NodeJS.ProcessEnv, storage: StorageOptions | undefined): Promise<Builder> {
  if (storage?.root !== undefined || storage?.driver !== undefined) {
    throw new BuilderUnavailableError('docker keeps images in its daemon: --storage-root and --storage-driver are for podman and buildah');
  }
  const buildx = await probe('docker', ['buildx', 'version'], env);
  if (buildx.missing) throw new BuilderUnavailableError('docker is not installed');
  if (buildx.exitCode !== 0) throw new BuilderUnavailableError(`docker has no buildx plugin (docker buildx version: ${firstLine(buildx.output) || `exit ${buildx.exitCode}`})`);
  const info = await probe('docker', ['info', '--format', '{{.ServerVersion}}'], env);
  if (info.exitCode !== 0) throw new BuilderUnavailableError(`the docker daemon is not reachable (docker info: ${firstLine(info.output) || `exit ${info.exitCode}`})`);
  // "github.com/docker/buildx v0.12.1 9a4a94d" → "docker buildx v0.12.1"
  const version = /\s(v?\d+\.\d+[^\s]*)/.exec(buildx.stdout)?.[1];
  return {
    name: 'docker',
    version: version ? `docker buildx ${version}` : 'docker buildx',
    pull: async (image) => (await execute('docker', ['pull', '--quiet', image], env)).exitCode === 0,
    build: (request) =>
      runBuild('docker', ['buildx', 'build', '--load', '--progress', 'plain', '--no-cache', ...buildFlags(request)], env),
    measure: async (tag) => measureInspected(tag, await inspectJson('docker', ['image', 'inspect', tag], env)),
    remove: async (images) => {
      if (images.length > 0) await execute('docker', ['image', 'rm', '--force', ...images], env);
    },
  };
}

/** --root/--runroot/--storage-driver, global options of both podman and buildah. */
function storageFlags(storage: StorageOptions | undefined): string[] {
  return [
    ...(storage?.root !== undefined ? ['--root', path.join(path.resolve(storage.root), 'root'), '--runroot', path.join(path.resolve(storage.root), 'runroot')] : []),
    ...(storage?.driver !== undefined ? ['--storage-driver', storage.driver] : []),
  ];
}

/**
 * Flags podman and buildah share: one layer per RUN/COPY/ADD as docker makes
 * them (buildah squashes the new instructions into one layer otherwise), no
 * working container left behind by a failed step, docker format so that
 * HEALTHCHECK and SHELL survive, and no cache so build times compare.
 */
const CONTAINERS_BUILD_FLAGS = ['--layers', '--force-rm', '--format', 'docker', '--no-cache'];

async function podmanBuilder(env: NodeJS.ProcessEnv, storage: StorageOptions | undefined): Promise<Builder> {
  const global = storageFlags(storage);
  const versionProbe = await probe('podman', ['--version'], env);
  if (versionProbe.missing) throw new BuilderUnavailableError('podman is not installed');
  if (versionProbe.exitCode !== 0) throw new BuilderUnavailableError(`podman does not run (podman --version: ${firstLine(versionProbe.output) || `exit ${versionProbe.exitCode}`})`);
  return {
    name: 'podman',
    version: firstLine(versionProbe.stdout).replace(/^podman version /, 'podman '),
    pull: async (image) => (await execute('podman', [...global, 'pull', '--quiet', image], env)).exitCode === 0,
    build: (request) => runBuild('podman', [...global, 'build', ...CONTAINERS_BUILD_FLAGS, ...buildFlags(request)], env),
    measure: async (tag) => measureInspected(tag, await inspectJson('podman', [...global, 'image', 'inspect', tag], env)),
    remove: async (images) => {
      if (images.length > 0) await execute('podman', [...global, 'rmi', '--force', ...images], env);
    },
  };
}

async function buildahBuilder(env: NodeJS.ProcessEnv, storage: StorageOptions | undefined): Promise<Builder> {
  const global = storageFlags(storage);
  const versionProbe = await probe('buildah', ['--version'], env);
  if (versionProbe.missing) throw new BuilderUnavailableError('buildah is not installed');
  if (versionProbe.exitCode !== 0) throw new BuilderUnavailableError(`buildah does not run (buildah --version: ${firstLine(versionProbe.output) || `exit ${versionProbe.exitCode}`})`);
  // chroot isolation runs RUN steps without an OCI runtime; crun, buildah's
  // default runtime, fails on hosts with hybrid cgroups. A BUILDAH_ISOLATION
  // the user set wins.
  const isolation = env.BUILDAH_ISOLATION ? [] : ['--isolation', 'chroot'];
  const versionNumber = /^buildah version (\S+)/.exec(firstLine(versionProbe.stdout))?.[1];
  return {
    name: 'buildah',
    version: versionNumber ? `buildah ${versionNumber}` : 'buildah',
    pull: async (image) => (await execute('buildah', [...global, 'pull', '--quiet', image], env)).exitCode === 0,
    build: (request) => runBuild('buildah', [...global, 'build', ...CONTAINERS_BUILD_FLAGS, ...isolation, ...buildFlags(request)], env),
    measure: async (tag) => measureBuildahImage(tag, await inspectJson('buildah', [...global, 'inspect', '--type', 'image', tag], env)),
    remove: async (images) => {
      // rmi of the tag also removes the untagged per-step images under it.
      if (images.length > 0) await execute('buildah', [...global, 'rmi', '--force', ...images], env);
    },
  };
}

/** Each builder, checked to work: throws BuilderUnavailableError saying why not. */
const BUILDERS: Readonly<Record<BuilderName, (env: NodeJS.ProcessEnv, storage: StorageOptions | undefined) => Promise<Builder>>> = {
  docker: dockerBuilder,
  podman: podmanBuilder,
  buildah: buildahBuilder,
};

// ---- building and measuring ------------------------------------------------------

function buildFlags(request: BuildRequest): string[] {
  return [
    '--file', request.dockerfile,
    '--tag', request.tag,
    ...Object.entries(request.buildArgs ?? {}).flatMap(([name, value]) => ['--build-arg', `${name}=${value}`]),
    ...(request.target !== undefined ? ['--target', request.target] : []),
    request.context,
  ];
}

/** podman and buildah print `--> 7a14222b260` (an image id, shortened) after committing each step. */
const COMMITTED_STEP = /^--> ([0-9a-f]{11,64})\s*$/gm;

async function runBuild(command: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<BuildOutcome> {
  const result = await execute(command, args, env);
  return {
    ok: result.exitCode === 0,
    exitCode: result.exitCode,
    seconds: result.seconds,
    log: result.output,
    intermediateImages: [...result.output.matchAll(COMMITTED_STEP)].map((match) => match[1]!),
  };
}

async function inspectJson(command: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<unknown> {
  const result = await execute(command, args, env, 120);
  if (result.exitCode !== 0) throw new Error(`${command} ${args.filter((arg) => !arg.startsWith('-')).join(' ')} failed: ${lastLines(result.output, 5)}`);
  try {
    return JSON.parse(result.stdout);
  } catch {
    throw new Error(`${command} printed no JSON for ${args.at(-1)}: ${result.stdout.slice(0, 200)}`);
  }
}

type Json = Record<string, unknown>;
const record = (value: unknown): Json => (typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : {});

/** `docker image inspect` and `podman image inspect`: an array of one image with Size, RootFS.Layers and Config.User. */
function measureInspected(tag: string, inspected: unknown): ImageMeasurement {
  const image = record(Array.isArray(inspected) ? inspected[0] : inspected);
  const layers = record(image.RootFS).Layers;
  if (!Array.isArray(layers)) throw new Error(`cannot read the layers of ${tag} from the builder's inspect output`);
  return {
    sizeBytes: typeof image.Size === 'number' ? image.Size : null,
    layers: layers.length,
    user: String(record(image.Config).User ?? ''),
  };
}

const UNCOMPRESSED_LAYER = /\.tar$/;

/**
 * `buildah inspect --type image`: the manifest buildah stored for an image it
 * committed lists every layer, base layers included, as an uncompressed tar
 * with its size.
 */
function measureBuildahImage(tag: string, inspected: unknown): ImageMeasurement {
  const image = record(inspected);
  const ociImage = record(image.OCIv1);
  const diffIds = record(ociImage.rootfs).diff_ids;
  if (!Array.isArray(diffIds)) throw new Error(`cannot read the layers of ${tag} from buildah inspect`);
  let manifestLayers: unknown[] = [];
  try {
    const layers = record(JSON.parse(String(image.Manifest ?? '{}'))).layers;
    if (Array.isArray(layers)) manifestLayers = layers;
  } catch {
    // no manifest: the size stays unknown
  }
  const sizes = manifestLayers.map((layer) => record(layer));
  const measurable = sizes.length === diffIds.length && sizes.every((layer) => UNCOMPRESSED_LAYER.test(String(layer.mediaType)) && typeof layer.size === 'number');
  return {
    sizeBytes: measurable ? sizes.reduce((sum, layer) => sum + (layer.size as number), 0) : null,
    layers: diffIds.length,
    user: String(record(ociImage.config).User ?? ''),
  };
}

/**
 * The images the stages start from, as written: not scratch, not an earlier
 * stage, and not built from ARG values (those are known only to the build).
 */
export function baseImages(text: string): string[] {
  const stageNames = new Set<string>();
  const images = new Set<string>();
  for (const stage of new DockerfileDocument(text).stages) {
    const image = (stage.from.node as From).getImage();
    if (image && !image.includes('$') && image.toLowerCase() !== 'scratch' && !stageNames.has(image.toLowerCase())) images.add(image);
    if (stage.name !== undefined) stageNames.add(stage.name);
  }
  return [...images];
}

// ---- verify ------------------------------------------------------------------------

export interface VerifyOptions {
  readonly dockerfile: string;
  /** The build context (default: the Dockerfile's directory). */
  readonly context?: string;
  /** How to fix: exactly the options of `dockopt fix` (write is ignored). */
  readonly fix?: FixFileOptions;
  /** Use this builder instead of detecting one. */
  readonly builder?: BuilderName;
  readonly builderSettings?: BuilderSettings;
  readonly buildArgs?: Readonly<Record<string, string>>;
  readonly target?: string;
  /** Keep both images (and the fixed Dockerfile) instead of removing them. */
  readonly keep?: boolean;
  /** Receives a line when a build starts. */
  readonly progress?: (line: string) => void;
}

export interface BuildReport extends Partial<ImageMeasurement> {
  readonly ok: boolean;
  readonly tag: string;
  readonly buildSeconds: number;
  readonly exitCode: number | null;
  /** The end of the build log when the build failed. */
  readonly logTail?: string;
}

export type VerifyStatus =
  /** Both images built. */
  | 'verified'
  /** dockopt changes nothing, so nothing was built. */
  | 'unchanged'
  /** The original built and the fixed Dockerfile did not. */
  | 'fixed-failed'
  /** The original does not build, so nothing can be compared. */
  | 'original-failed'
  | 'no-builder'
  /** dockopt itself could not fix the file (unreadable, unparsable, a transform error). */
  | 'fix-error';

export interface VerifyReport {
  readonly status: VerifyStatus;
  readonly dockerfile: string;
  readonly context: string;
  readonly builder: { readonly name: BuilderName; readonly version: string } | null;
  /** The fixes `dockopt fix` would apply. */
  readonly changes: readonly Change[];
  readonly errors: readonly Diagnostic[];
  readonly original: BuildReport | null;
  readonly fixed: BuildReport | null;
  /** The fixed Dockerfile, kept with --keep. */
  readonly fixedDockerfile: string | null;
  /** Why there is nothing to compare (no builder, fix errors). */
  readonly message?: string;
}

export const LOG_TAIL_LINES = 25;

/** 0 when both images build (or nothing changes), 1 when only the fixed one fails, 2 when nothing could be compared. */
export function verifyExitCode(report: VerifyReport): number {
  if (report.status === 'verified' || report.status === 'unchanged') return 0;
  if (report.status === 'fixed-failed') return 1;
  return 2;
}

/** Image names that say which Dockerfile they came from: dockopt-verify/<hash>:original and :fixed. */
export function verifyTags(dockerfile: string, text: string): { original: string; fixed: string } {
  const hash = createHash('sha256').update(path.resolve(dockerfile)).update('\0').update(text).digest('hex').slice(0, 12);
  return { original: `dockopt-verify/${hash}:original`, fixed: `dockopt-verify/${hash}:fixed` };
}

/**
 * Fixes the Dockerfile as `dockopt fix` would, builds the original and the
 * fixed text with the same context, and measures both. Build failures are
 * results; throws DockoptError only for invalid fix options or transforms.
 */
export async function verifyDockerfile(options: VerifyOptions): Promise<VerifyReport> {
  const dockerfile = options.dockerfile;
  const context = path.resolve(options.context ?? path.dirname(dockerfile));
  const { write: _neverWritten, ...fixOptions } = options.fix ?? {};
  const fixed = await fixFile(dockerfile, fixOptions);
  const base = { dockerfile, context, builder: null, changes: fixed.changes, errors: fixed.errors, original: null, fixed: null, fixedDockerfile: null };
  if (fixed.errors.length > 0 || fixed.input === undefined || fixed.output === undefined) {
    return { ...base, status: 'fix-error', message: 'nothing was built, because the Dockerfile cannot be fixed' };
  }
  if (!fixed.changed) return { ...base, status: 'unchanged' };
  let builder: Builder;
  try {
    builder = await detectBuilder(options.builder, options.builderSettings);
  } catch (error) {
    if (!(error instanceof BuilderUnavailableError)) throw error;
    return { ...base, status: 'no-builder', message: error.message };
  }
  const withBuilder = { ...base, builder: { name: builder.name, version: builder.version } };
  const tags = verifyTags(dockerfile, fixed.input);
  const fixedDockerfile = writeFixedDockerfile(dockerfile, fixed.output);
  const built: string[] = [];
  try {
    // A base image only one build has to download would count against that
    // build's time: fetch them all first, untimed. A failed pull is left for
    // the build to report.
    const images = [...new Set([...baseImages(fixed.input), ...baseImages(fixed.output)])];
    if (images.length > 0) options.progress?.(`pulling ${images.join(', ')}`);
    for (const image of images) await builder.pull(image);
    const request = { context, buildArgs: options.buildArgs, target: options.target };
    options.progress?.(`building the original ${dockerfile} with ${builder.version}`);
    const original = await buildAndMeasure(builder, { ...request, dockerfile: path.resolve(dockerfile), tag: tags.original }, built, options.keep);
    if (!original.ok) return { ...withBuilder, status: 'original-failed', original, fixedDockerfile: keptFile(fixedDockerfile, options.keep) };
    options.progress?.(`building the fixed ${dockerfile} with ${builder.version}`);
    const fixedBuild = await buildAndMeasure(builder, { ...request, dockerfile: fixedDockerfile, tag: tags.fixed }, built, options.keep);
    return { ...withBuilder, status: fixedBuild.ok ? 'verified' : 'fixed-failed', original, fixed: fixedBuild, fixedDockerfile: keptFile(fixedDockerfile, options.keep) };
  } finally {
    if (!options.keep) {
      await builder.remove(built);
      rmSync(path.dirname(fixedDockerfile), { recursive: true, force: true });
    }
  }
}

async function buildAndMeasure(builder: Builder, request: BuildRequest, built: string[], keep: boolean | undefined): Promise<BuildReport> {
  const outcome = await builder.build(request);
  if (!outcome.ok) {
    // The steps that did build are untagged images nobody will use (--no-cache
    // never reuses them); the last one first, as each is the parent of the next.
    if (!keep) await builder.remove([...outcome.intermediateImages].reverse());
    return { ok: false, tag: request.tag, buildSeconds: outcome.seconds, exitCode: outcome.exitCode, logTail: lastLines(outcome.log, LOG_TAIL_LINES) };
  }
  built.push(request.tag);
  return { ok: true, tag: request.tag, buildSeconds: outcome.seconds, exitCode: 0, ...(await builder.measure(request.tag)) };
}

/**
 * The fixed text goes to a new temp directory, outside the context (it must
 * not become part of what COPY . sees), under the original's name, with the
 * original's Dockerfile-specific ignore file (`<name>.dockerignore`) beside
 * it, since builders look for that next to the Dockerfile.
 */
function writeFixedDockerfile(dockerfile: string, text: string): string {
  const directory = mkdtempSync(path.join(os.tmpdir(), 'dockopt-verify-'));
  const name = path.basename(dockerfile);
  const fixedPath = path.join(directory, name);
  writeFileSync(fixedPath, text);
  const ignoreFile = `${path.resolve(dockerfile)}.dockerignore`;
  if (existsSync(ignoreFile)) copyFileSync(ignoreFile, path.join(directory, `${name}.dockerignore`));
  return fixedPath;
}

function keptFile(fixedDockerfile: string, keep: boolean | undefined): string | null {
  return keep ? fixedDockerfile : null;
}
