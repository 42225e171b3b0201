// A pull-request description: what changed in each Dockerfile and why, for a
// reviewer. Like every reporter it reads results, never files.
import { fenced } from '../engine/docs.js';
import type { Diagnostic } from '../engine/errors.js';
import { summarize, summaryLine, unifiedDiff } from './report.js';
import type { FileResult } from '../engine/results.js';
import type { TransformMeta } from '../engine/transform.js';

export const DEFAULT_MARKDOWN_TITLE = 'Dockerfile fixes by dockopt';

/**
 * The results as Markdown (GitHub-flavoured): a title, the summary, a table
 * of changes per transform, then one section per changed file with a bullet
 * per change, its notes folded in a <details>, and its diff. Files with
 * errors are listed with their errors; notes on unchanged files are folded
 * at the end. Files are in path order, changes and notes in line order, so
 * the same results always give the same text.
 */
export function markdownReport(results: readonly FileResult[], options: { title?: string; transforms?: readonly TransformMeta[] } = {}): string {
  const sorted = [...results].sort((a, b) => comparePaths(a.path, b.path));
  const changedFiles = sorted.filter((result) => result.status === 'changed');
  const titles = new Map((options.transforms ?? []).map((meta) => [meta.id, meta.title]));
  const blocks: string[] = [`## ${escapeMarkdown(options.title ?? DEFAULT_MARKDOWN_TITLE)}`];

  const summary = summaryLine(summarize(sorted, sorted.some((result) => result.written)));
  blocks.push(`${summary}.`);
  if (changedFiles.length > 0) blocks.push(transformTable(changedFiles, options.transforms ?? [], titles));

  for (const result of changedFiles) blocks.push(fileSection(result));

  const failedUnchanged = sorted.filter((result) => result.status !== 'changed' && result.errors.length > 0);
  if (failedUnchanged.length > 0) {
    blocks.push('### Errors', failedUnchanged.map((result) => `- ${codeSpan(displayPath(result.path))}\n${indentList(result.errors.map(diagnosticBullet))}`).join('\n'));
  }

  const notedUnchanged = sorted.filter((result) => result.status !== 'changed' && notesOf(result).length > 0);
  if (notedUnchanged.length > 0) {
    const list = notedUnchanged.map((result) => `- ${codeSpan(displayPath(result.path))}\n${indentList(notesOf(result).map(diagnosticBullet))}`).join('\n');
    blocks.push(details(`Notes on ${plural(notedUnchanged.length, 'unchanged file')}`, list));
  }
  return `${blocks.join('\n\n')}\n`;
}

/** Changes and changed files per transform, in pipeline order when the transforms are known. */
function transformTable(changedFiles: readonly FileResult[], transforms: readonly TransformMeta[], titles: ReadonlyMap<string, string>): string {
  const counts = new Map<string, { changes: number; files: number }>();
  for (const result of changedFiles) {
    for (const id of new Set(result.changes.map((change) => change.transform))) {
      const changes = result.changes.filter((change) => change.transform === id).length;
      const count = counts.get(id) ?? { changes: 0, files: 0 };
      counts.set(id, { changes: count.changes + changes, files: count.files + 1 });
    }
  }
  const pipelineOrder = transforms.map((meta) => meta.id);
  const rank = (id: string) => (pipelineOrder.includes(id) ? pipelineOrder.indexOf(id) : pipelineOrder.length);
  const ids = [...counts.keys()].sort((a, b) => rank(a) - rank(b) || comparePaths(a, b));
  const rows = ids.map((id) => {
    const title = titles.get(id);
    const name = title === undefined ? codeSpan(id) : `${codeSpan(id)} ${escapeMarkdown(title)}`;
    return `| ${name} | ${counts.get(id)!.changes} | ${counts.get(id)!.files} |`;
  });
  return ['| Transform | Changes | Files |', '| --- | ---: | ---: |', ...rows].join('\n');
}

function fileSection(result: FileResult): string {
  const blocks = [`### ${codeSpan(displayPath(result.path))}`];
  const changes = [...result.changes].sort((a, b) => a.line - b.line);
  const bullets = changes.map((change) => `- Line ${change.line}, ${codeSpan(change.transform)}${change.safety === 'unsafe' ? ' (unsafe)' : ''}: ${escapeMarkdown(change.message)}`);
  bullets.push(...sortedByLine(result.errors).map((error) => `- **Error** ${diagnosticBullet(error).slice(2)}`));
  blocks.push(bullets.join('\n'));
  const notes = notesOf(result);
  if (notes.length > 0) blocks.push(details(`${plural(notes.length, 'note')}: what was left alone and why`, notes.map(diagnosticBullet).join('\n')));
  if (result.input !== undefined && result.output !== undefined) {
    // One line ending throughout the description; the fixes never change a file's line endings.
    blocks.push(fenced(unifiedDiff(result.path, result.input, result.output).replace(/\r\n/g, '\n'), 'diff'));
  }
  return blocks.join('\n\n');
}

/** What the transforms said without being errors (the errors are listed as such). */
const notesOf = (result: FileResult): Diagnostic[] => sortedByLine(result.notes.filter((note) => note.severity === 'note'));

const sortedByLine = (diagnostics: readonly Diagnostic[]): Diagnostic[] => [...diagnostics].sort((a, b) => a.line - b.line);

function diagnosticBullet(diagnostic: Diagnostic): string {
  const source = diagnostic.transform ? `, ${codeSpan(diagnostic.transform)}` : '';
  const code = diagnostic.code !== undefined && diagnostic.transform === undefined ? ` (${codeSpan(diagnostic.code)})` : '';
  return `- Line ${diagnostic.line}${source}: ${escapeMarkdown(diagnostic.message)}${code}`;
}

const indentList = (bullets: readonly string[]): string => bullets.map((bullet) => `  ${bullet}`).join('\n');

const details = (summary: string, body: string): string => `<details>\n<summary>${escapeHtml(summary)}</summary>\n\n${body}\n\n</details>`;

const plural = (count: number, word: string): string => `${count} ${word}${count === 1 ? '' : 's'}`;

/** As `unifiedDiff` shows it: slashes, no leading `./`. */
const displayPath = (filePath: string): string => filePath.replace(/\\/g, '/').replace(/^\.\//, '');

/**
 * Plain text that renders as itself inline (no emphasis, links, HTML or table
 * cells), on one line. A `code span` the text already has stays one: messages
 * quote commands that way.
 */
export function escapeMarkdown(text: string): string {
  const escape = (plain: string) => plain.replace(/[\\`*_[\]<>|&~]/g, '\\$&');
  const oneLine = text.replace(/\r?\n/g, ' ');
  let escaped = '';
  let last = 0;
  for (const span of oneLine.matchAll(/`[^`]+`/g)) {
    escaped += escape(oneLine.slice(last, span.index)) + span[0];
    last = span.index + span[0].length;
  }
  return escaped + escape(oneLine.slice(last));
}

const escapeHtml = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** An inline code span that the text's own backticks cannot close (CommonMark: a longer run, padded when needed). */
export function codeSpan(text: string): string {
  const oneLine = text.replace(/\r?\n/g, ' ');
  const longestRun = Math.max(0, ...[...oneLine.matchAll(/`+/g)].map((match) => match[0].length));
  const ticks = '`'.repeat(longestRun + 1);
  const pad = oneLine.startsWith('`') || oneLine.endsWith('`') ? ' ' : '';
  return `${ticks}${pad}${oneLine}${pad}${ticks}`;
}

/** Code-point order, so the output does not depend on the machine's locale. */
export function comparePaths(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
