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

/** Colour only for a terminal, and never when NO_COLOR is set (https://no-color.org). */
export function useColor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  return stream.isTTY === true;
}

export interface Summary {
  readonly scanned: number;
  readonly changed: number;
  readonly errors: number;
  readonly written: boolean;
}

export function summarize(reports: readonly FileReport[], written: boolean): Summary {
  return {
    scanned: reports.length,
    changed: reports.filter((report) => report.status === 'changed').length,
    errors: reports.filter((report) => report.status === 'error' || report.errors.length > 0).length,
    written,
  };
}

export function summaryLine(summary: Summary): string {
  const plural = (count: number, word: string) => `${count} ${word}${count === 1 ? '' : 's'}`;
  const verb = summary.written ? 'changed' : 'would change';
  return `${plural(summary.scanned, 'file')} scanned, ${summary.changed} ${verb}, ${plural(summary.errors, 'error')}`;
}

/** `path:line: id: message` lines for the terminal (stderr). */
export function messageLines(report: FileReport, verbose: boolean): string[] {
  const lines: string[] = [];
  for (const error of report.errors) lines.push(`${report.path}:${error.line}: error: ${error.message}`);
  for (const change of report.changes) lines.push(`${report.path}:${change.line}: ${change.transform}: ${change.message}`);
  for (const note of report.notes) {
    if (note.severity === 'error') lines.push(`${report.path}:${note.line}: ${note.transform}: error: ${note.message}`);
    else if (verbose) lines.push(`${report.path}:${note.line}: ${note.transform}: note: ${note.message}`);
  }
  return lines;
}

export interface JsonReport {
  readonly version: 1;
  readonly summary: Summary;
  readonly files: readonly {
    readonly path: string;
    readonly status: FileStatus;
    readonly written: boolean;
    readonly transforms: Readonly<Record<string, { changes: { line: number; message: string; safety: string }[]; notes: { line: number; message: string; severity: string }[] }>>;
    readonly errors: readonly FileError[];
    readonly diff?: string;
  }[];
}

export function jsonReport(reports: readonly FileReport[], written: boolean): JsonReport {
  return {
    version: 1,
    summary: summarize(reports, written),
    files: reports.map((report) => {
      const transforms: Record<string, { changes: { line: number; message: string; safety: string }[]; notes: { line: number; message: string; severity: string }[] }> = {};
      const entry = (id: string) => (transforms[id] ??= { changes: [], notes: [] });
      for (const change of report.changes) entry(change.transform).changes.push({ line: change.line, message: change.message, safety: change.safety });
      for (const note of report.notes) entry(note.transform).notes.push({ line: note.line, message: note.message, severity: note.severity });
      const diff = report.status === 'changed' && report.input !== undefined && report.output !== undefined ? unifiedDiff(report.path, report.input, report.output) : undefined;
      return { path: report.path, status: report.status, written: report.written, transforms, errors: report.errors, ...(diff ? { diff } : {}) };
    }),
  };
}
