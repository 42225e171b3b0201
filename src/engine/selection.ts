// Which transforms run, and which may apply unsafe fixes: Ruff's model.
// Selecting a rule and consenting to its unsafe fixes are separate decisions.
import { DockoptError } from './errors.js';
import { didYouMean } from './suggest.js';
import type { Transform, TransformMeta } from './transform.js';

/** One source of selection settings: a config file, or the options of a call (the command line). */
export interface SelectionLayer {
  /** Exactly these transforms, instead of the set so far (--select). */
  readonly select?: readonly string[];
  /** These too (--extend-select). */
  readonly extendSelect?: readonly string[];
  /** Not these (--ignore, and its alias --skip). */
  readonly ignore?: readonly string[];
  /** Exactly these, and consent to their unsafe fixes (--only: the older spelling of --select with --unsafe-fixes for just them). */
  readonly only?: readonly string[];
}

export interface SelectionRequest {
  /** Applied in order, each on the set the previous ones left: the config's first, then the call's. */
  readonly layers?: readonly SelectionLayer[];
  /** Shorthand: the unsafe transforms join the default set, and unsafe fixes apply unless unsafeFixes says otherwise (--unsafe). */
  readonly unsafe?: boolean;
  /** Apply the unsafe fixes of every selected transform (true), of none (false), or of those named with `only` (unset). */
  readonly unsafeFixes?: boolean;
}

export interface Selection {
  readonly transforms: readonly Transform[];
  readonly unsafeAllowed: ReadonlySet<string> | 'all';
}

/** What `dockopt list` shows for a transform: 'mixed' when a safe transform has some unsafe fixes. */
export type SafetyLabel = 'safe' | 'unsafe' | 'mixed';

export function safetyLabel(meta: TransformMeta): SafetyLabel {
  if (meta.safety === 'unsafe') return 'unsafe';
  return meta.hasUnsafeFixes ? 'mixed' : 'safe';
}

/** The default set: safe transforms (mixed ones too: only their safe fixes apply by default) that need no network. */
export function selectedByDefault(meta: TransformMeta): boolean {
  return meta.safety === 'safe' && !meta.network;
}

/**
 * The transforms of `all` that run, in pipeline order, and whose unsafe fixes
 * apply. Context transforms (dockerignore) are named with the same ids; they
 * run outside the engine (see selectContextTransforms). An unknown id throws
 * UNKNOWN_TRANSFORM with a did-you-mean.
 */
export function selectTransforms(all: readonly Transform[], request: SelectionRequest, contextTransforms: readonly { readonly meta: TransformMeta }[]): Selection {
  checkIds(request, [...all, ...contextTransforms].map((transform) => transform.meta.id));
  const { selected, consented } = resolve(all.map((transform) => transform.meta), request);
  const unsafeAllowed = unsafeFixesWanted(request) === true ? 'all' : new Set(unsafeFixesWanted(request) === false ? [] : consented);
  return { transforms: all.filter((transform) => selected.has(transform.meta.id)), unsafeAllowed };
}

/** The context transforms (of `all`) that run, by the same rules as selectTransforms. */
export function selectContextTransforms<T extends { readonly meta: TransformMeta }>(all: readonly T[], request: SelectionRequest): T[] {
  const { selected } = resolve(all.map((transform) => transform.meta), request);
  return all.filter((transform) => selected.has(transform.meta.id));
}

/** Whether a context transform (all of whose fixes have its own safety) may apply its fixes under this request. */
export function contextFixesAllowed(meta: TransformMeta, request: SelectionRequest): boolean {
  if (meta.safety === 'safe') return true;
  const wanted = unsafeFixesWanted(request);
  if (wanted !== undefined) return wanted;
  return resolve([meta], request).consented.has(meta.id);
}

function unsafeFixesWanted(request: SelectionRequest): boolean | undefined {
  return request.unsafeFixes ?? (request.unsafe === true ? true : undefined);
}

function resolve(metas: readonly TransformMeta[], request: SelectionRequest): { selected: Set<string>; consented: Set<string> } {
  const ids = metas.map((meta) => meta.id);
  const selected = new Set(metas.filter((meta) => selectedByDefault(meta) || (request.unsafe === true && meta.safety === 'unsafe' && !meta.network)).map((meta) => meta.id));
  const consented = new Set<string>();
  const known = (list: readonly string[] | undefined) => (list ?? []).filter((id) => ids.includes(id));
  for (const layer of request.layers ?? []) {
    if (layer.only !== undefined) {
      replace(selected, known(layer.only));
      for (const id of known(layer.only)) consented.add(id);
    } else if (layer.select !== undefined) {
      replace(selected, known(layer.select));
    }
    for (const id of known(layer.extendSelect)) selected.add(id);
    for (const id of known(layer.ignore)) {
      selected.delete(id);
      consented.delete(id);
    }
  }
  return { selected, consented };
}

function replace(set: Set<string>, values: readonly string[]): void {
  set.clear();
  for (const value of values) set.add(value);
}

function checkIds(request: SelectionRequest, known: readonly string[]): void {
  for (const layer of request.layers ?? []) {
    for (const [key, list] of Object.entries(layer) as [keyof SelectionLayer, readonly string[] | undefined][]) {
      for (const id of list ?? []) {
        if (!known.includes(id)) throw new DockoptError('UNKNOWN_TRANSFORM', `${FLAG_NAMES[key]}: unknown transform "${id}"${didYouMean(id, known)}; known: ${known.join(', ')}`);
      }
    }
  }
}

const FLAG_NAMES: Readonly<Record<keyof SelectionLayer, string>> = { select: 'select', extendSelect: 'extend-select', ignore: 'ignore', only: 'only' };
