// Transforms that users bring (the API's transforms option, the CLI's
// --transform): loaded from a module's default export and checked for the
// shape of the built-in ones before anything runs.
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { DockoptError, type UrlLike } from '../engine/errors.js';
import type { Transform } from '../engine/transform.js';

/** Module URLs of the transforms loadTransform() made: those can be loaded again inside a worker thread. */
const moduleUrls = new WeakMap<Transform, string>();

export function moduleUrlOf(transform: Transform): string | undefined {
  return moduleUrls.get(transform);
}

/** A file path (relative to the current directory) or a file: URL → the module's URL. */
function transformModuleUrl(location: string | UrlLike): URL {
  if (location instanceof URL) return location;
  if (typeof location !== 'string') return new URL(location.href);
  if (/^file:/i.test(location)) return new URL(location);
  return pathToFileURL(path.resolve(location));
}

/**
 * Imports a transform module (ESM or CommonJS; the transform is its default
 * export, as in transforms/*.ts) and checks its shape.
 */
export async function loadTransform(location: string | UrlLike): Promise<Transform> {
  const url = transformModuleUrl(location);
  const file = url.protocol === 'file:' ? displayPath(url) : url.href;
  let module: { default?: unknown };
  try {
    module = (await import(url.href)) as { default?: unknown };
  } catch (error) {
    throw new DockoptError('INVALID_TRANSFORM', `cannot load transform ${file}: ${(error as Error).message}`, { file, cause: error });
  }
  if (module.default === undefined) throw new DockoptError('INVALID_TRANSFORM', `${file}: a transform module must export the transform as its default export`, { file });
  const transform = validateTransform(module.default, file);
  moduleUrls.set(transform, url.href);
  return transform;
}

function displayPath(url: URL): string {
  const file = decodeURIComponent(url.pathname);
  const relative = path.relative(process.cwd(), file);
  return relative.startsWith('..') || path.isAbsolute(relative) ? file : relative;
}

const KEBAB_CASE = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

/** Checks that value has the Transform shape; `source` names it in the error (a file, or `transforms[1]`). */
export function validateTransform(value: unknown, source: string): Transform {
  const fail = (problem: string): never => {
    throw new DockoptError('INVALID_TRANSFORM', `${source}: ${problem}`, { file: source });
  };
  if (!isRecord(value)) return fail('a transform must be an object with meta and run');
  const meta = value.meta;
  if (!isRecord(meta)) return fail('the transform has no meta object');
  if (typeof meta.id !== 'string' || !KEBAB_CASE.test(meta.id)) return fail(`meta.id must be a kebab-case string such as "no-latest-tag", got ${JSON.stringify(meta.id)}`);
  const id = meta.id;
  for (const key of ['title', 'description']) {
    if (!isText(meta[key])) fail(`${id}: meta.${key} must be a non-empty string`);
  }
  if (meta.safety !== 'safe' && meta.safety !== 'unsafe') fail(`${id}: meta.safety must be "safe" or "unsafe", got ${JSON.stringify(meta.safety)}`);
  if (meta.hasUnsafeFixes !== undefined && typeof meta.hasUnsafeFixes !== 'boolean') fail(`${id}: meta.hasUnsafeFixes must be true or false (does a safe transform have some unsafe fixes?)`);
  if (typeof meta.network !== 'boolean') fail(`${id}: meta.network must be true or false (does the transform ask a registry?)`);
  if (meta.runsAfter !== undefined && !(Array.isArray(meta.runsAfter) && meta.runsAfter.every((other) => typeof other === 'string'))) {
    fail(`${id}: meta.runsAfter must be a list of transform ids`);
  }
  const docs = meta.docs;
  if (!isRecord(docs)) return fail(`${id}: meta.docs (summary, why, fixSafety, example) is missing`);
  for (const key of ['summary', 'why', 'fixSafety']) {
    if (!isText(docs[key])) fail(`${id}: meta.docs.${key} must be a non-empty string`);
  }
  const example = docs.example;
  if (!isRecord(example) || typeof example.before !== 'string' || typeof example.after !== 'string') {
    fail(`${id}: meta.docs.example must have "before" and "after" Dockerfile texts`);
  }
  if (typeof value.run !== 'function') fail(`${id}: run must be a function (ctx) => findings`);
  return value as unknown as Transform;
}

/**
 * The pipeline with custom transforms: the built-ins first, then the custom
 * ones in the order given. Ids must differ; the same object given twice is
 * one transform. `sources` names each custom transform for errors.
 */
export function withCustomTransforms(builtIns: readonly Transform[], custom: readonly Transform[], sources: readonly string[]): Transform[] {
  const builtInIds = new Set(builtIns.map((transform) => transform.meta.id));
  const byId = new Map<string, { transform: Transform; source: string }>();
  custom.forEach((transform, index) => {
    const id = transform.meta.id;
    const source = sources[index];
    if (builtInIds.has(id)) throw new DockoptError('INVALID_TRANSFORM', `${source}: "${id}" is the id of a built-in transform; give the custom transform its own id`, { file: source });
    const earlier = byId.get(id);
    if (earlier && earlier.transform !== transform) throw new DockoptError('INVALID_TRANSFORM', `${source}: transform id "${id}" is also the id of ${earlier.source}`, { file: source });
    byId.set(id, { transform, source });
  });
  return [...builtIns, ...[...byId.values()].map((entry) => entry.transform)];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function isText(value: unknown): boolean {
  return typeof value === 'string' && value.trim() !== '';
}
