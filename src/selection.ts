// Which transforms run, and which may apply unsafe fixes (Ruff-style applicability).
import { DockoptError } from './errors.js';
import type { Transform } from './transform.js';

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
export function selectTransforms(all: readonly Transform[], request: SelectionRequest): Selection {
  const known = new Set(all.map((transform) => transform.meta.id));
  for (const id of [...(request.only ?? []), ...(request.skip ?? [])]) {
    if (!known.has(id)) throw new DockoptError('UNKNOWN_TRANSFORM', `unknown transform "${id}"; known: ${[...known].join(', ')}`);
  }
  const skipped = new Set(request.skip ?? []);
  const only = request.only && request.only.length > 0 ? new Set(request.only) : undefined;
  const transforms = all.filter((transform) => {
    if (skipped.has(transform.meta.id)) return false;
    if (only) return only.has(transform.meta.id);
    if (transform.meta.network) return false;
    return transform.meta.safety === 'safe' || request.unsafe === true;
  });
  return { transforms, unsafeAllowed: request.unsafe ? 'all' : new Set(only ?? []) };
}
