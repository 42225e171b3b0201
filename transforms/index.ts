// The pipeline, in the order transforms run within each pass. Order matters
// only for collisions: an earlier transform's edit wins and the later one retries.
import type { ContextTransform, Transform } from '../src/engine/transform.js';
import cacheDeps from './cache-deps/index.js';
import dockerignore from './dockerignore/index.js';
import execForm from './exec-form/index.js';
import mergeRuns from './merge-runs/index.js';
import multiStage from './multi-stage/index.js';
import nonRoot from './non-root/index.js';
import pinBase from './pin-base/index.js';
import pkgCleanup from './pkg-cleanup/index.js';

export const TRANSFORMS: readonly Transform[] = [pinBase, mergeRuns, pkgCleanup, cacheDeps, execForm, multiStage, nonRoot];

/**
 * Transforms over a build context (a directory) rather than one Dockerfile's
 * text: the API runs them once per directory, after the Dockerfiles there are
 * fixed. Selected like the others (--only, --skip, --unsafe).
 */
export const CONTEXT_TRANSFORMS: readonly ContextTransform[] = [dockerignore];

export function findTransform(id: string): Transform | undefined {
  return TRANSFORMS.find((transform) => transform.meta.id === id);
}
