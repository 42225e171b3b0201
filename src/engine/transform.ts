// The contract between the engine and a transform module. Transforms are pure:
// they read the parsed file from the context and return findings whose edits
// point at offsets of the text they were given.
import type { BuildContext } from './build-context.js';
import type { DockerfileDocument } from '../dockerfile/document.js';
import type { ImageResolver } from '../image/resolver.js';

export type Safety = 'safe' | 'unsafe';

/** A replacement of original[start, end) by text. An insert has start === end. */
export interface Edit {
  readonly start: number;
  readonly end: number;
  readonly text: string;
}

export const Edit = {
  insert: (at: number, text: string): Edit => ({ start: at, end: at, text }),
  replace: (start: number, end: number, text: string): Edit => ({ start, end, text }),
  remove: (start: number, end: number): Edit => ({ start, end, text: '' }),
};

/**
 * Something a transform has to say about one place in the file. With edits it
 * is a fix; without, it is a note (why something was left alone, or a risk
 * the user should know about).
 */
export interface Finding {
  /** Offset in the text the transform was given; the engine turns it into a line. */
  readonly offset: number;
  /**
   * What is wrong, then (for a fix) what to do about it in the imperative,
   * so that it is true in a dry run and after --write alike: `2 adjacent
   * RUN instructions each add a layer; merge them into one`.
   */
  readonly message: string;
  readonly edits?: readonly Edit[];
  /** Defaults to the transform's own safety. */
  readonly safety?: Safety;
  /** An error is a lookup or a check that failed: it makes the run exit 2. */
  readonly severity?: 'note' | 'error';
}

export interface TransformDocs {
  readonly summary: string;
  readonly why: string;
  readonly fixSafety: string;
  readonly example: { readonly before: string; readonly after: string };
  /** Where the page lives (a built-in's README.md, as a file: URL); SARIF links to it. */
  readonly url?: string;
}

export interface TransformMeta {
  readonly id: string;
  readonly title: string;
  readonly description: string;
  /**
   * The safety of its fixes unless a finding says otherwise, and whether it
   * runs by default: a 'safe' transform does (when it needs no network), an
   * 'unsafe' one only when selected.
   */
  readonly safety: Safety;
  /** A 'safe' transform some of whose fixes are unsafe (`list` shows it as mixed): only its safe fixes apply by default. */
  readonly hasUnsafeFixes?: boolean;
  /** True when the transform asks a registry; such transforms get a resolver. */
  readonly network: boolean;
  /**
   * Transforms whose rewrite this one must see first: in a pass where any of
   * them has fixes, this transform waits for the next pass (e.g. non-root
   * after multi-stage, so the user lands in the new runtime stage).
   */
  readonly runsAfter?: readonly string[];
  readonly docs: TransformDocs;
}

/** Options shared by all transforms; each transform reads the ones it knows. */
export interface TransformOptions {
  readonly cacheMounts?: boolean;
  readonly pin?: 'version' | 'digest' | 'both';
  readonly update?: boolean;
  readonly runtimeBase?: string;
}

export interface TransformContext {
  readonly doc: DockerfileDocument;
  readonly options: TransformOptions;
  /** Registry lookups, for transforms whose meta says network (the CLI passes services: { resolver }). */
  readonly resolver?: ImageResolver;
  /** The files next to the Dockerfile (the runner passes services: { buildContext }); absent when unknown. */
  readonly buildContext?: BuildContext;
  /** True when `# dockopt-ignore` above the instruction starting at offset covers this transform. */
  isIgnored(instructionStart: number): boolean;
}

export interface Transform {
  readonly meta: TransformMeta;
  run(ctx: TransformContext): readonly Finding[] | Promise<readonly Finding[]>;
}

export interface ContextTransformInput {
  readonly context: BuildContext;
  /** Texts of the Dockerfiles built with this context (the fixed texts, when dockopt also fixes them). */
  readonly dockerfiles: readonly string[];
  /** The current text of the file the transform owns (.dockerignore); undefined when there is none. */
  readonly existing?: string;
}

export interface ContextProposal {
  /** The text to write; the existing text (or '') when nothing is added. */
  readonly output: string;
  /** The entries appended, in order. */
  readonly added: readonly string[];
  /** What was left out and why. */
  readonly notes: readonly string[];
}

/**
 * A transform over a build context (a directory) rather than over one
 * Dockerfile's text, such as dockerignore: the runner hands it the context and
 * the texts of the Dockerfiles built there, and writes the file it proposes.
 */
export interface ContextTransform {
  readonly meta: TransformMeta;
  /** The files of the context the docs example assumes (its Dockerfile included), path → content. */
  readonly exampleContext: Readonly<Record<string, string>>;
  propose(input: ContextTransformInput): ContextProposal;
}

export function defineTransform(transform: Transform): Transform {
  if (!/^[a-z][a-z0-9-]*$/.test(transform.meta.id)) {
    throw new Error(`transform id must be kebab-case: ${transform.meta.id}`);
  }
  return transform;
}
