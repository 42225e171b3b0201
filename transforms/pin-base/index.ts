// pin-base: FROM python:3.9-slim → FROM python:3.9.18-slim@sha256:…, the most
// specific tag that names the same image today plus its digest, from the
// registry (through ctx.resolver). The build result does not change: the digest
// is the one the floating tag points at now. --update moves an exact tag to the
// newest patch of its line, which does change the image, so that fix is unsafe.
import type { Arg, From, Property } from 'dockerfile-ast';
import type { DockerfileDocument, InstructionInfo, Span } from '../../src/dockerfile/document.js';
import { DEFAULT_TAG, formatImageReference, ImageReferenceError, parseImageReference, type ImageReference } from '../../src/image/reference.js';
import { isExactTag, newerInLine, refiningCandidates } from './choose-tag.js';
import { isIndexMediaType, ResolveError, type ImageResolver, type ManifestSummary, type Platform } from '../../src/image/resolver.js';
import { defineTransform, Edit, type Finding, type Safety, type TransformContext } from '../../src/engine/transform.js';
import { readmeDocs } from '../../src/engine/docs.js';

const ID = 'pin-base';
/** Floating tags point at the newest release, so the match is among the first few; this bounds the lookups when none is. */
const MAX_CANDIDATES = 25;
/** Candidate lookups in flight at once for one FROM. */
const CANDIDATE_BATCH = 4;
const MAX_UPDATE_CANDIDATES = 5;
const SAFE_ARG_VALUE = /^[A-Za-z0-9_.:@/+-]+$/;

type PinMode = 'version' | 'digest' | 'both';

interface Settings {
  readonly mode: PinMode;
  readonly update: boolean;
  /** The literal --platform of the FROM, if any. */
  readonly platform?: string;
}

type Plan =
  | { readonly kind: 'keep' }
  | { readonly kind: 'note' | 'error'; readonly message: string }
  | {
      readonly kind: 'pin';
      readonly tag?: string;
      readonly digest?: string;
      /** What is wrong with the reference now: `is a floating tag`. */
      readonly problem: string;
      readonly verb: 'pin' | 'update';
      readonly safety: Safety;
    };

/** Where a FROM's image comes from, and how to write a new reference back. */
interface ImageSource {
  /** The reference after ARG substitution. */
  readonly reference: string;
  /** As the FROM line spells it, for messages. */
  readonly written: string;
  /** The ARG the reference (or its tag) comes from, if any. */
  readonly argName?: string;
  /** Edits that make the FROM use `next` (same name as `current`), or undefined when the file cannot express it. */
  rewrite(next: string, current: ImageReference): readonly Edit[] | undefined;
}

export default defineTransform({
  meta: {
    id: ID,
    title: 'Pin base images to an exact version and digest',
    description:
      'Rewrites a FROM with a floating tag to the most specific tag that points at the same image today, plus its digest, as the registry reports them.',
    safety: 'safe',
    hasUnsafeFixes: true,
    network: true,
    docs: readmeDocs(import.meta.url),
  },

  async run(ctx) {
    const resolver = ctx.resolver;
    const froms = ctx.doc.stages.map((stage) => stage.from).filter((from) => !ctx.isIgnored(from.start));
    if (froms.length === 0) return [];
    if (!resolver) return [{ offset: froms[0].start, message: 'no registry resolver was given to this run; base images were not pinned' }];
    const globals = globalArgs(ctx.doc);
    const results = await Promise.all(froms.map((from) => pinFrom(ctx, resolver, from, globals)));
    return results.flat();
  },
});

async function pinFrom(ctx: TransformContext, resolver: ImageResolver, from: InstructionInfo, globals: GlobalArgs): Promise<Finding[]> {
  const doc = ctx.doc;
  const node = from.node as From;
  const range = node.getImageRange();
  if (!range) return [];
  const span = doc.span(range);
  const offset = span.start;
  const source = imageSource(doc, from, span, globals);
  if (typeof source === 'string') return [{ offset, message: source }];
  const earlierStages = new Set(doc.stages.filter((stage) => stage.from.start < from.start).map((stage) => stage.name));
  if (source.reference.toLowerCase() === 'scratch' || earlierStages.has(source.reference.toLowerCase())) return [];
  let reference: ImageReference;
  try {
    reference = parseImageReference(source.reference);
  } catch (error) {
    if (error instanceof ImageReferenceError) return [{ offset, message: `${source.written} is not pinned: it is not a valid image reference (${error.reason})` }];
    throw error;
  }
  const platformValue = node.getPlatformFlag()?.getValue() ?? undefined;
  const settings: Settings = {
    mode: ctx.options.pin ?? 'both',
    update: ctx.options.update ?? false,
    platform: platformValue && !platformValue.includes('$') ? platformValue : undefined,
  };
  const plan = await planPin(resolver, reference, source.written, settings);
  switch (plan.kind) {
    case 'keep':
      return [];
    case 'note':
      return [{ offset, message: plan.message }];
    case 'error':
      return [{ offset, message: plan.message, severity: 'error' }];
  }
  const next = formatImageReference({ name: reference.name, tag: plan.tag, digest: plan.digest });
  const changed = describeTarget(plan.tag !== reference.tag ? plan.tag : undefined, plan.digest !== reference.digest ? plan.digest : undefined);
  const through = source.argName === undefined ? '' : ` through ARG ${source.argName}`;
  const edits = source.rewrite(next, reference);
  if (edits) return [{ offset, message: `${source.written} ${plan.problem}: ${plan.verb} to ${changed}${through}`, edits, safety: plan.safety }];
  // A digest cannot go into an ARG that holds only part of the tag; the exact tag still can.
  const versionOnly = formatImageReference({ name: reference.name, tag: plan.tag });
  const why = `${source.written}: the digest is not pinned because the tag comes from ARG ${source.argName}; put the whole image reference in one ARG to pin it`;
  if (plan.digest !== undefined && versionOnly !== source.reference) {
    const versionEdits = source.rewrite(versionOnly, reference);
    if (versionEdits) {
      return [
        { offset, message: `${source.written} ${plan.problem}: ${plan.verb} to ${plan.tag}${through}`, edits: versionEdits, safety: plan.safety },
        { offset, message: why },
      ];
    }
  }
  if (plan.digest !== undefined && versionOnly === source.reference) return [{ offset, message: why }];
  return [{ offset, message: `${source.written} is not pinned: ARG ${source.argName} cannot hold ${next}` }];
}

// ---- deciding what to pin ---------------------------------------------------------

async function planPin(resolver: ImageResolver, reference: ImageReference, written: string, settings: Settings): Promise<Plan> {
  try {
    return reference.digest === undefined ? await planTagged(resolver, reference, written, settings) : await planDigested(resolver, reference, written, settings);
  } catch (error) {
    if (!(error instanceof ResolveError)) throw error;
    const message = `cannot resolve ${written}: ${error.message}`;
    // The allowlist is a choice the user made, not a failure. Offline is one too, but a cache
    // miss means the answer is unknown: `--check --offline` must not pass for want of looking.
    return error.kind === 'not-allowed' ? { kind: 'note', message } : { kind: 'error', message };
  }
}

interface Target {
  readonly tag: string;
  readonly summary: ManifestSummary;
}

async function planTagged(resolver: ImageResolver, reference: ImageReference, written: string, settings: Settings): Promise<Plan> {
  const tag = reference.tag ?? DEFAULT_TAG;
  const current = await resolver.lookup(reference);
  const pinVersion = settings.mode !== 'digest';
  const pinDigest = settings.mode !== 'version';
  let target: Target = { tag, summary: current };
  let reason: 'floating' | 'no-digest' | 'no-exact-match' | 'newer-patch' = 'no-digest';
  if (pinVersion) {
    const tags = await resolver.listTags(reference);
    const newer = settings.update && isExactTag(tag, tags) ? await firstExisting(resolver, reference, newerInLine(tag, tags).slice(0, MAX_UPDATE_CANDIDATES)) : undefined;
    if (newer) {
      target = newer;
      reason = 'newer-patch';
    } else {
      const candidates = refiningCandidates(tag, tags);
      if (candidates.length > 0) {
        const exact = await sameImageTag(resolver, reference, candidates.slice(0, MAX_CANDIDATES), current.digest);
        if (exact) {
          target = { tag: exact, summary: current };
          reason = 'floating';
        } else {
          reason = 'no-exact-match';
        }
      }
    }
  }
  const missing = await missingPlatform(resolver, reference, target.summary, settings.platform);
  if (missing) return { kind: 'note', message: `${written} is not pinned: ${missing}` };
  const nextTag = pinVersion ? (target.tag === tag ? reference.tag : target.tag) : reference.tag;
  const nextDigest = pinDigest ? target.summary.digest : undefined;
  if (nextTag === reference.tag && nextDigest === undefined) {
    return reason === 'no-exact-match' ? { kind: 'note', message: `${written} is a floating tag, but no more specific tag points at the same image; left as is` } : { kind: 'keep' };
  }
  const pin = { kind: 'pin', tag: nextTag, digest: nextDigest } as const;
  switch (reason) {
    case 'newer-patch':
      return { ...pin, safety: 'unsafe', verb: 'update', problem: 'has a newer patch release' };
    case 'floating':
      return { ...pin, safety: 'safe', verb: 'pin', problem: 'is a floating tag' };
    case 'no-exact-match':
      return { ...pin, safety: 'safe', verb: 'pin', problem: 'is a floating tag, and no more specific tag points at the same image' };
    case 'no-digest':
      return { ...pin, safety: 'safe', verb: 'pin', problem: 'has no digest' };
  }
}

/** A digest is verified and kept; --update re-resolves the tag and moves both. */
async function planDigested(resolver: ImageResolver, reference: ImageReference, written: string, settings: Settings): Promise<Plan> {
  const { digest, tag } = reference;
  await resolver.lookup({ ...reference, tag: undefined });
  if (tag === undefined) return { kind: 'keep' };
  const byTag: ImageReference = { ...reference, digest: undefined };
  if (!settings.update) {
    let now: ManifestSummary;
    try {
      now = await resolver.lookup(byTag);
    } catch (error) {
      // The build uses the digest; a tag that is gone or unreachable does not matter to it.
      if (error instanceof ResolveError) return { kind: 'keep' };
      throw error;
    }
    if (now.digest === digest) return { kind: 'keep' };
    return { kind: 'note', message: `${written}: the tag ${tag} now points at ${shortDigest(now.digest)}; the pinned digest is kept (--update moves it)` };
  }
  const fresh = await planTagged(resolver, byTag, written, { ...settings, mode: settings.mode === 'version' ? 'both' : settings.mode });
  if (fresh.kind !== 'pin') return fresh;
  if (fresh.tag === tag && fresh.digest === digest) return { kind: 'keep' };
  if (fresh.digest === digest) return { ...fresh, safety: 'safe', verb: 'pin', problem: 'has a more specific tag for the pinned image' };
  return { ...fresh, safety: 'unsafe', verb: 'update', problem: 'is out of date' };
}

/** The first candidate (in the given order) whose digest is `digest`; a few lookups at a time. */
async function sameImageTag(resolver: ImageResolver, reference: ImageReference, candidates: readonly string[], digest: string): Promise<string | undefined> {
  for (let i = 0; i < candidates.length; i += CANDIDATE_BATCH) {
    const batch = candidates.slice(i, i + CANDIDATE_BATCH);
    const summaries = await Promise.all(batch.map((tag) => lookupIfExists(resolver, { ...reference, tag })));
    const match = batch.find((_, j) => summaries[j]?.digest === digest);
    if (match) return match;
  }
  return undefined;
}

async function firstExisting(resolver: ImageResolver, reference: ImageReference, tags: readonly string[]): Promise<Target | undefined> {
  for (const tag of tags) {
    const summary = await lookupIfExists(resolver, { ...reference, tag });
    if (summary) return { tag, summary };
  }
  return undefined;
}

/** A tag in the list may be gone by the time we ask; anything else is a real failure. */
async function lookupIfExists(resolver: ImageResolver, reference: ImageReference): Promise<ManifestSummary | undefined> {
  try {
    return await resolver.lookup(reference);
  } catch (error) {
    if (error instanceof ResolveError && error.kind === 'not-found') return undefined;
    throw error;
  }
}

/** Why the image does not offer the requested --platform, or undefined when it does (or cannot be told). */
async function missingPlatform(resolver: ImageResolver, reference: ImageReference, summary: ManifestSummary, platform: string | undefined): Promise<string | undefined> {
  if (platform === undefined || !isIndexMediaType(summary.mediaType)) return undefined;
  const [os, architecture, variant] = platform.toLowerCase().split('/');
  const offered = (await resolver.platforms(reference, summary.digest)) ?? [];
  const matches = (entry: Platform) =>
    entry.os === os && entry.architecture === architecture && (variant === undefined || (entry.variant ?? defaultVariant(entry.architecture)) === variant);
  if (offered.some(matches)) return undefined;
  const list = offered.map((entry) => [entry.os, entry.architecture, entry.variant].filter(Boolean).join('/')).join(', ');
  return `its image index has no ${platform} image (it has ${list || 'none'})`;
}

function defaultVariant(architecture: string): string | undefined {
  return architecture === 'arm64' ? 'v8' : undefined;
}

function shortDigest(digest: string): string {
  const [algorithm, hex] = digest.split(':');
  return `${algorithm}:${hex.slice(0, 12)}`;
}

function describeTarget(tag: string | undefined, digest: string | undefined): string {
  if (tag !== undefined && digest !== undefined) return `${tag} (${shortDigest(digest)})`;
  return tag ?? shortDigest(digest!);
}

// ---- the image text, its ARGs, and writing it back -----------------------------------

interface GlobalArg {
  readonly name: string;
  readonly instruction: InstructionInfo;
  readonly property: Property;
  readonly value?: string;
  /** The value's span without quotes, when it is written plainly enough to edit. */
  readonly editable?: Span;
}

type GlobalArgs = ReadonlyMap<string, readonly GlobalArg[]>;

/** ARGs before the first FROM: the only ones a FROM line can use. */
function globalArgs(doc: DockerfileDocument): GlobalArgs {
  const args = new Map<string, GlobalArg[]>();
  for (const instruction of doc.instructions) {
    if (instruction.stage !== -1 || instruction.keyword !== 'ARG') continue;
    for (const property of (instruction.node as Arg).getProperties()) {
      const value = property.getValue() ?? undefined;
      const valueRange = property.getValueRange();
      let editable: Span | undefined;
      if (value !== undefined && valueRange) {
        const span = doc.span(valueRange);
        const raw = doc.text.slice(span.start, span.end);
        if (raw === value) editable = span;
        else if (raw.length >= 2 && (raw[0] === '"' || raw[0] === "'") && raw.endsWith(raw[0]) && raw.slice(1, -1) === value) editable = { start: span.start + 1, end: span.end - 1 };
      }
      const declaration: GlobalArg = { name: property.getName(), instruction, property, value, editable };
      args.set(declaration.name, [...(args.get(declaration.name) ?? []), declaration]);
    }
  }
  return args;
}

const VARIABLE = /\$(?:\{([A-Za-z_][A-Za-z0-9_]*)([^}]*)\}|([A-Za-z_][A-Za-z0-9_]*))/g;

/** The FROM's image as BuildKit will read it, or a note saying why it cannot be pinned. */
function imageSource(doc: DockerfileDocument, from: InstructionInfo, span: Span, globals: GlobalArgs): ImageSource | string {
  const written = doc.text.slice(span.start, span.end);
  const uses = [...written.matchAll(VARIABLE)];
  if (uses.length === 0) {
    return {
      reference: written,
      written,
      // Only the tag and digest change; the name keeps its spelling.
      rewrite: (next, current) => [Edit.replace(span.start + current.name.length, span.end, next.slice(current.name.length))],
    };
  }
  if (uses.length > 1) return `${written} is not pinned: it is built from several ARGs`;
  const use = uses[0];
  const name = use[1] ?? use[3];
  if (use[2]) return `${written} is not pinned: \${${name}${use[2]}} is not a plain ARG reference`;
  const declarations = globals.get(name) ?? [];
  if (declarations.length === 0) return `${written} is not pinned: no ARG ${name} is declared before the first FROM`;
  if (declarations.length > 1) return `${written} is not pinned: ARG ${name} is declared more than once`;
  const arg = declarations[0];
  if (arg.value === undefined) return `${written} is not pinned: ARG ${name} has no default value`;
  if (!arg.editable) return `${written} is not pinned: the default of ARG ${name} is written with escapes or quotes pin-base does not rewrite`;
  if (isUsedElsewhere(doc, name, from, span, arg)) return `${written} is not pinned: ARG ${name} is also used elsewhere, so its default cannot change for this FROM alone`;
  const before = written.slice(0, use.index);
  const after = written.slice(use.index! + use[0].length);
  const reference = before + arg.value + after;
  return {
    reference,
    written: `${written} (${reference})`,
    argName: name,
    rewrite: (next) => {
      if (!arg.editable || !next.startsWith(before) || !next.endsWith(after) || next.length < before.length + after.length) return undefined;
      const value = next.slice(before.length, next.length - after.length);
      if (!SAFE_ARG_VALUE.test(value)) return undefined;
      return [Edit.replace(arg.editable.start, arg.editable.end, value)];
    },
  };
}

/** Another FROM, this FROM's flags, another global ARG's default, or a stage's own `ARG name` reads it too. */
function isUsedElsewhere(doc: DockerfileDocument, name: string, from: InstructionInfo, image: Span, arg: GlobalArg): boolean {
  const reference = new RegExp(`\\$(?:\\{${name}(?![A-Za-z0-9_])|${name}(?![A-Za-z0-9_]))`);
  for (const instruction of doc.instructions) {
    if (instruction === from) {
      const outsideImage = doc.text.slice(from.start, image.start) + ' ' + doc.text.slice(image.end, from.end);
      if (reference.test(outsideImage)) return true;
      continue;
    }
    if (instruction.keyword === 'FROM' && reference.test(doc.text.slice(instruction.start, instruction.end))) return true;
    if (instruction.keyword !== 'ARG') continue;
    for (const property of (instruction.node as Arg).getProperties()) {
      if (instruction.stage >= 0 && property.getName() === name) return true;
      if (property !== arg.property && reference.test(property.getValue() ?? '')) return true;
    }
  }
  return false;
}
