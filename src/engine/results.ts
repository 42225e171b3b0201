// What the public API hands back for a text and for a file. The runner and the
// worker threads produce these; the CLI renders them (through src/report/).
import type { Change, FixResult } from './fixpoint.js';
import type { Diagnostic } from './errors.js';

export type { Change } from './fixpoint.js';

export type FileStatus = 'unchanged' | 'changed' | 'error';

export interface TextResult {
  /** 'error' when the text could not be processed at all (then output === input). */
  readonly status: FileStatus;
  readonly input: string;
  /** The fixed text; the input itself when nothing changed or it could not be processed. */
  readonly output: string;
  readonly changed: boolean;
  /** The fixes applied, in the order they were applied. */
  readonly changes: readonly Change[];
  /**
   * Everything the transforms said, in pipeline order, as in the CLI's JSON
   * report: notes (what was left alone and why, unsafe fixes not applied) and
   * the transforms' errors, which `errors` lists too.
   */
  readonly notes: readonly Diagnostic[];
  /** Every problem, each with a code: the file's own (unreadable, unparsable, not written) and the transforms'. */
  readonly errors: readonly Diagnostic[];
}

export interface FileResult extends Omit<TextResult, 'input' | 'output'> {
  /** The path as found (relative paths stay relative). */
  readonly path: string;
  /** Set on the result for a build context's .dockerignore, which the context transforms write: it is not a Dockerfile. */
  readonly kind?: 'dockerignore';
  /** Position in discovery order: results arrive as files finish, sort by this for a stable order. */
  readonly index: number;
  /** Absent when the file could not be read or decoded. */
  readonly input?: string;
  readonly output?: string;
  /** True once the fixed text has replaced the file on disk (the write option). */
  readonly written: boolean;
}

/** The engine's answer as a result: its notes become diagnostics, failed lookups and rejected fixes errors. */
export function resultOfFix(fix: FixResult): TextResult {
  const notes: Diagnostic[] = fix.notes.map((note) => ({
    line: note.line,
    message: note.message,
    severity: note.severity,
    ...(note.transform !== '' && { transform: note.transform }),
    ...(note.severity === 'error' && { code: 'TRANSFORM_ERROR' as const }),
    ...(note.unsafeFixSkipped && { unsafeFixSkipped: true }),
  }));
  return {
    status: fix.changed ? 'changed' : 'unchanged',
    input: fix.input,
    output: fix.output,
    changed: fix.changed,
    changes: fix.changes,
    notes,
    errors: notes.filter((note) => note.severity === 'error'),
  };
}

/** A text that could not be processed: it stays exactly as it was. */
export function failedText(input: string, error: Diagnostic): TextResult {
  return { status: 'error', input, output: input, changed: false, changes: [], notes: [], errors: [error] };
}
