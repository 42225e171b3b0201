// Which transforms run, and which may apply unsafe fixes (Ruff-style applicability).
import { DockoptError } from './errors.js';
import type { Transform, TransformMeta } from './transform.js';

export interface SelectionRequest {
  readonly only?: readonly string[];
  readonly skip?: readonly string[];
  readonly unsafe?: boolean;
}

export interface Selection {
  readonly transforms: readonly Transform[];
  readonly unsafeAllowed: ReadonlySet<string> | 'all';
}

/**
 * Default: the safe transforms that need no network. --unsafe adds the unsafe
 * ones and lets every selected transform apply unsafe fixes. --only names
 * exactly what runs (network and unsafe transforms included), and naming a
 * transform is consent to its unsafe fixes. --skip removes from either set.
 */
export function selectTransforms(all: readonly Transform[], request: SelectionRequest, contextTransforms: readonly { readonly meta: TransformMeta }[]): Selection {
  // Context transforms (dockerignore) are named with the same --only/--skip; they run outside the engine.
  const known = new Set([...all, ...contextTransforms].map((transform) => transform.meta.id));
  for (const id of [...(request.only ?? []), ...(request.skip ?? [])]) {
    if (!known.has(id)) throw new DockoptError('UNKNOWN_TRANSFORM', `unknown transform "${id}"; known: ${[...known].join(', ')}`);
  }
  const only = request.only && request.only.length > 0 ? new Set(request.only) : undefined;
  return { transforms: all.filter((transform) => isSelected(transform.meta, request)), unsafeAllowed: request.unsafe ? 'all' : new Set(only ?? []) };
}

/** The context transforms (of `all`) that run, by the same rules as selectTransforms. */
export function selectContextTransforms<T extends { readonly meta: TransformMeta }>(all: readonly T[], request: SelectionRequest): T[] {
  return all.filter((transform) => isSelected(transform.meta, request));
}

function isSelected(meta: TransformMeta, request: SelectionRequest): boolean {
  if (request.skip?.includes(meta.id)) return false;
  if (request.only && request.only.length > 0) return request.only.includes(meta.id);
  if (meta.network) return false;
  return meta.safety === 'safe' || request.unsafe === true;
}
