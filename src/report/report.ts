// Reporting reads results, never files: unified diffs, JSON, summaries.
import { createTwoFilesPatch, FILE_HEADERS_ONLY } from 'diff';
import type { Change, Note } from '../engine/fixpoint.js';

export type FileStatus = 'unchanged' | 'changed' | 'error';

export interface FileError {
  /** 1-based line the problem is on (1 when it concerns the whole file). */
  readonly line: number;
  readonly message: string;
}

/** What happened to one file; produced by the runner, read by reporters. */
export interface FileReport {
  readonly path: string;
  /** Set for a build context's .dockerignore (a context transform's file), which is no Dockerfile. */
  readonly kind?: 'dockerignore';
  readonly status: FileStatus;
  readonly input?: string;
  readonly output?: string;
  readonly changes: readonly Change[];
  readonly notes: readonly Note[];
  readonly errors: readonly FileError[];
  /** True once --write has replaced the file on disk. */
  readonly written: boolean;
}

export function unifiedDiff(path: string, before: string, after: string): string {
  const display = path.replace(/\\/g, '/').replace(/^\.\//, '').replace(/^\/+/, '');
  return createTwoFilesPatch(`a/${display}`, `b/${display}`, before, after, undefined, undefined, {
    context: 3,
    headerOptions: FILE_HEADERS_ONLY,
  });
}

const ANSI = { red: '\u001b[31m', green: '\u001b[32m', cyan: '\u001b[36m', bold: '\u001b[1m', reset: '\u001b[0m' };

export function colorizeDiff(diff: string): string {
  return diff
    .split('\n')
    .map((line) => {
      if (line.startsWith('+++') || line.startsWith('---')) return `${ANSI.bold}${line}${ANSI.reset}`;
      if (line.startsWith('@@')) return `${ANSI.cyan}${line}${ANSI.reset}`;
      if (line.startsWith('+')) return `${ANSI.green}${line}${ANSI.reset}`;
      if (line.startsWith('-')) return `${ANSI.red}${line}${ANSI.reset}`;
      return line;
    })
    .join('\n');
}

export type ColorChoice = 'auto' | 'always' | 'never';

/**
 * Colour: --color always/never decide; auto (the default) follows NO_COLOR
 * (https://no-color.org: set and not empty means none), then FORCE_COLOR (set
 * and not "0" or "false" means colour, as in Node.js and chalk), then whether
 * the stream is a terminal.
 */
export function useColor(stream: { isTTY?: boolean }, env: Readonly<Record<string, string | undefined>> = {}, choice: ColorChoice = 'auto'): boolean {
  if (choice !== 'auto') return choice === 'always';
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '') return env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== 'false';
  return stream.isTTY === true;
}

export interface Summary {
  /** Dockerfiles looked at (a .dockerignore is not one). */
  readonly scanned: number;
  /** Dockerfiles changed (or that would be). */
  readonly changed: number;
  /** .dockerignore files created or extended (or that would be). */
  readonly dockerignoreChanged: number;
  /** Fixes applied (or that would be). */
  readonly fixes: number;
  /** Fixes found but not applied because they are unsafe. */
  readonly unsafeNotApplied: number;
  /** Files with at least one error, each counted once. */
  readonly errors: number;
  readonly written: boolean;
}

/** What summarize reads: a FileReport, or a FileResult of the API. */
export interface Summarizable {
  readonly status: FileStatus;
  /** Absent when the file could not be read (it is missing, binary, not UTF-8): not scanned, but an error. */
  readonly input?: string;
  readonly kind?: 'dockerignore';
  readonly changes: readonly unknown[];
  readonly notes: readonly { readonly unsafeFixSkipped?: boolean }[];
  readonly errors: readonly unknown[];
}

export function summarize(reports: readonly Summarizable[], written: boolean): Summary {
  const dockerfiles = reports.filter((report) => report.kind !== 'dockerignore');
  return {
    scanned: dockerfiles.filter((report) => report.input !== undefined).length,
    changed: dockerfiles.filter((report) => report.status === 'changed').length,
    dockerignoreChanged: reports.filter((report) => report.kind === 'dockerignore' && report.status === 'changed').length,
    fixes: reports.reduce((sum, report) => sum + report.changes.length, 0),
    unsafeNotApplied: reports.reduce((sum, report) => sum + report.notes.filter((note) => note.unsafeFixSkipped).length, 0),
    errors: reports.filter((report) => report.status === 'error' || report.errors.length > 0).length,
    written,
  };
}

const plural = (count: number, word: string) => `${count} ${word}${count === 1 ? '' : word.endsWith('x') ? 'es' : 's'}`;

/** `3 files scanned, 2 would change, 5 fixes (1 unsafe not applied), 0 errors` (and a .dockerignore when one changes). */
export function summaryLine(summary: Summary): string {
  const verb = summary.written ? 'changed' : 'would change';
  const dockerignores = summary.dockerignoreChanged > 0 ? `, ${summary.dockerignoreChanged} .dockerignore ${verb}` : '';
  const unsafe = summary.unsafeNotApplied > 0 ? ` (${summary.unsafeNotApplied} unsafe not applied)` : '';
  return `${plural(summary.scanned, 'file')} scanned, ${summary.changed} ${verb}${dockerignores}, ${plural(summary.fixes, 'fix')}${unsafe}, ${plural(summary.errors, 'error')}`;
}

/** `3 more fixes available with --unsafe-fixes (non-root 2, multi-stage 1)`, or undefined when no unsafe fix was held back. */
export function unsafeHintLine(reports: readonly FileReport[]): string | undefined {
  const counts = new Map<string, number>();
  for (const report of reports) for (const note of report.notes) if (note.unsafeFixSkipped) counts.set(note.transform, (counts.get(note.transform) ?? 0) + 1);
  if (counts.size === 0) return undefined;
  const total = [...counts.values()].reduce((sum, count) => sum + count, 0);
  const byTransform = [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([id, count]) => `${id} ${count}`);
  return `${total} more ${total === 1 ? 'fix' : 'fixes'} available with --unsafe-fixes (${byTransform.join(', ')})`;
}

/** Errors that concern the whole file (it is missing, unreadable, or not written) name the path alone, not a line. */
export interface LocatedError extends FileError {
  readonly wholeFile?: boolean;
}

/**
 * `path:line: id: message` lines for the terminal (stderr), in line order:
 * the file's errors, its changes, and the transforms' errors. Notes are
 * listed apart (noteLines), after every file.
 */
export function messageLines(report: FileReport): string[] {
  const entries: { line: number; text: string }[] = [];
  // A transform's error is both a note (with its transform) and an error of the file: print it once, as the note.
  const saidByNote = new Set(report.notes.filter((note) => note.severity === 'error').map((note) => `${note.line}\0${note.transform}: ${note.message}`));
  for (const error of report.errors as readonly LocatedError[]) {
    if (!error.wholeFile && saidByNote.has(`${error.line}\0${error.message}`)) continue;
    entries.push({ line: error.wholeFile ? 0 : error.line, text: error.wholeFile ? `${report.path}: error: ${error.message}` : `${report.path}:${error.line}: error: ${error.message}` });
  }
  for (const change of report.changes) entries.push({ line: change.line, text: `${report.path}:${change.line}: ${change.transform}: ${change.message}` });
  for (const note of report.notes) {
    if (note.severity === 'error') entries.push({ line: note.line, text: `${report.path}:${note.line}: ${note.transform}: error: ${note.message}` });
  }
  return byLine(entries);
}

/** One line per note (a fix declined or held back, and why), in line order: `path:line: id: note: message`. */
export function noteLines(report: FileReport): string[] {
  return byLine(
    report.notes
      .filter((note) => note.severity !== 'error')
      .map((note) => ({ line: note.line, text: `${report.path}:${note.line}: ${note.transform === '' ? 'dockopt' : note.transform}: note: ${note.message}` })),
  );
}

function byLine(entries: readonly { line: number; text: string }[]): string[] {
  // A stable sort: at one line, errors come before changes, in the order they were made.
  return [...entries].sort((a, b) => a.line - b.line).map((entry) => entry.text);
}

/** --check: the file, then each transform that would change it with its lines: `Dockerfile: merge-runs:2, pkg-cleanup:2,3`. */
export function checkLine(report: FileReport): string {
  const lines = new Map<string, Set<number>>();
  for (const change of [...report.changes].sort((a, b) => a.line - b.line)) {
    let set = lines.get(change.transform);
    if (!set) lines.set(change.transform, (set = new Set()));
    set.add(change.line);
  }
  return `${report.path}: ${[...lines.entries()].map(([id, set]) => `${id}:${[...set].join(',')}`).join(', ')}`;
}

/** --statistics: per transform, the fixes made (or that would be), the unsafe ones held back, and the notes; most fixes first. */
export function statisticsLines(reports: readonly FileReport[], written: boolean): string[] {
  const rows = new Map<string, { fixes: number; unsafe: number; notes: number; files: Set<string> }>();
  const row = (id: string) => {
    let entry = rows.get(id);
    if (!entry) rows.set(id, (entry = { fixes: 0, unsafe: 0, notes: 0, files: new Set() }));
    return entry;
  };
  for (const report of reports) {
    for (const change of report.changes) {
      row(change.transform).fixes++;
      row(change.transform).files.add(report.path);
    }
    for (const note of report.notes) {
      if (note.severity === 'error' || note.transform === '') continue;
      if (note.unsafeFixSkipped) row(note.transform).unsafe++;
      else row(note.transform).notes++;
    }
  }
  if (rows.size === 0) return [];
  const sorted = [...rows.entries()].sort((a, b) => b[1].fixes - a[1].fixes || b[1].unsafe - a[1].unsafe || a[0].localeCompare(b[0]));
  const width = Math.max(...sorted.map(([id]) => id.length));
  const header = `${'transform'.padEnd(width)}  ${(written ? 'fixed' : 'fixes').padStart(5)}  files  unsafe not applied  notes`;
  return [
    header,
    ...sorted.map(([id, entry]) => `${id.padEnd(width)}  ${String(entry.fixes).padStart(5)}  ${String(entry.files.size).padStart(5)}  ${String(entry.unsafe).padStart(18)}  ${String(entry.notes).padStart(5)}`),
  ];
}

export interface JsonReport {
  readonly version: 1;
  readonly summary: Summary;
  readonly files: readonly {
    readonly path: string;
    readonly kind: 'dockerfile' | 'dockerignore';
    readonly status: FileStatus;
    readonly written: boolean;
    readonly transforms: Readonly<Record<string, { changes: { line: number; message: string; safety: string }[]; notes: { line: number; message: string; severity: string; unsafeFixSkipped?: boolean }[] }>>;
    /** What dockopt itself says about the file (a `# dockopt-ignore` naming no transform). */
    readonly notes?: readonly { line: number; message: string }[];
    readonly errors: readonly FileError[];
    readonly diff?: string;
  }[];
}

export function jsonReport(reports: readonly FileReport[], written: boolean): JsonReport {
  return {
    version: 1,
    summary: summarize(reports, written),
    files: reports.map((report) => {
      const transforms: Record<string, { changes: { line: number; message: string; safety: string }[]; notes: { line: number; message: string; severity: string; unsafeFixSkipped?: boolean }[] }> = {};
      const entry = (id: string) => (transforms[id] ??= { changes: [], notes: [] });
      for (const change of report.changes) entry(change.transform).changes.push({ line: change.line, message: change.message, safety: change.safety });
      const fileNotes: { line: number; message: string }[] = [];
      for (const note of report.notes) {
        if (note.transform === '') fileNotes.push({ line: note.line, message: note.message });
        else entry(note.transform).notes.push({ line: note.line, message: note.message, severity: note.severity, ...(note.unsafeFixSkipped && { unsafeFixSkipped: true }) });
      }
      const diff = report.status === 'changed' && report.input !== undefined && report.output !== undefined ? unifiedDiff(report.path, report.input, report.output) : undefined;
      const kind = report.kind ?? 'dockerfile';
      return { path: report.path, kind, status: report.status, written: report.written, transforms, ...(fileNotes.length > 0 && { notes: fileNotes }), errors: report.errors.map(({ line, message }) => ({ line, message })), ...(diff ? { diff } : {}) };
    }),
  };
}
