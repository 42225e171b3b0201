// The errors the public API throws, and the per-file problems it reports.
// Whole-call problems (bad options, a transform that cannot be loaded, an
// abort) are thrown as DockoptError; a file that cannot be read, parsed or
// written is a Diagnostic in that file's result, so a batch never stops on it.

export type DockoptErrorCode =
  /** An option has the wrong type or value, or is not an option at all. */
  | 'INVALID_OPTIONS'
  /** A config file (.dockopt.json, .dockoptrc, package.json "dockopt") cannot be read, is not JSON, or breaks the schema; `file` and `line` point at it. */
  | 'INVALID_CONFIG'
  /** --only/--skip (only, skip) names a transform that does not exist. */
  | 'UNKNOWN_TRANSFORM'
  /** A custom transform cannot be loaded or does not have the transform shape. */
  | 'INVALID_TRANSFORM'
  /** The AbortSignal fired. */
  | 'ABORTED'
  /** The file cannot be read, is not a regular file, is over the size limit, or is binary or not UTF-8. */
  | 'READ_ERROR'
  /** The Dockerfile does not parse; it is left untouched. */
  | 'PARSE_ERROR'
  /** Transforms kept rewriting each other's result; the file is left untouched. */
  | 'CYCLE'
  /** The file took longer than its time budget (--timeout); it is left untouched. */
  | 'TIMEOUT'
  /** The fixed file could not be written back. */
  | 'WRITE_ERROR'
  /** A transform reported an error (a failed registry lookup, a fix rejected because it would not parse, a crash). */
  | 'TRANSFORM_ERROR'
  /** A bug in dockopt itself. */
  | 'INTERNAL_ERROR';

export class DockoptError extends Error {
  override readonly name = 'DockoptError';
  readonly code: DockoptErrorCode;
  /** The file the problem is in (a Dockerfile, or a custom transform's module). */
  readonly file?: string;
  /** 1-based line in that file. */
  readonly line?: number;

  constructor(code: DockoptErrorCode, message: string, details: { file?: string; line?: number; cause?: unknown } = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    if (details.file !== undefined) this.file = details.file;
    if (details.line !== undefined) this.line = details.line;
  }
}

/** Something said about one place in one Dockerfile: an error, or a note (what was left alone and why). */
export interface Diagnostic {
  /** 1-based line in the original file (1 when it concerns the whole file). */
  readonly line: number;
  readonly message: string;
  readonly severity: 'error' | 'note';
  /** The transform that said it; absent for problems with the file itself. */
  readonly transform?: string;
  /** Set on errors: what kind of problem it is. */
  readonly code?: DockoptErrorCode;
  /** True on the note of a fix that was found but not applied because it is unsafe (--unsafe-fixes applies it). */
  readonly unsafeFixSkipped?: boolean;
}

/**
 * An AbortSignal, as far as dockopt uses one. Written out here so that the
 * published type declarations need neither the DOM library nor @types/node;
 * the AbortSignal of either is one.
 */
export interface AbortSignalLike {
  readonly aborted: boolean;
  readonly reason?: unknown;
  addEventListener(type: 'abort', listener: () => void): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/** A URL (the WHATWG URL of Node.js or the DOM), as far as the public types need one: see AbortSignalLike. */
export interface UrlLike {
  readonly href: string;
  readonly protocol: string;
}

/** Environment variables (process.env, or a copy), without naming the NodeJS namespace of @types/node. */
export type EnvironmentVariables = Readonly<Record<string, string | undefined>>;

export function abortError(signal: AbortSignalLike): DockoptError {
  return new DockoptError('ABORTED', 'the operation was aborted', { cause: signal.reason });
}

export function throwIfAborted(signal: AbortSignalLike | undefined): void {
  if (signal?.aborted) throw abortError(signal);
}
