// A transform's documentation as one markdown page: the README.md beside each
// built-in transform (transforms/<id>/README.md) is the single source, parsed
// into TransformDocs on first use, and rendered back to the same markdown by
// `dockopt explain`. The only file this module reads is dockopt's own README
// shipped next to a transform module, never anything from a scanned tree.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { UrlLike } from './errors.js';
import type { TransformDocs, TransformMeta } from './transform.js';

/** Section headings, in the order a page has them. */
const WHY = '## Why';
const FIX_SAFETY = '## When the fix is unsafe';
const EXAMPLE = '## Example';

export interface ParsedDocs extends TransformDocs {
  /** The `# id: title` heading's parts. */
  readonly id: string;
  readonly title: string;
}

/**
 * The docs of the transform whose module is at moduleUrl, read from the
 * README.md next to it when first asked for (so that a run that never shows
 * docs never reads them). A page that does not have the expected shape is a
 * programming error: it throws with the file and line.
 */
export function readmeDocs(moduleUrl: string | UrlLike): TransformDocs {
  const url = new URL('./README.md', typeof moduleUrl === 'string' ? moduleUrl : moduleUrl.href);
  let parsed: ParsedDocs | undefined;
  const load = (): ParsedDocs => (parsed ??= parseDocsMarkdown(readFileSync(url, 'utf8'), fileURLToPath(url)));
  return {
    get summary() {
      return load().summary;
    },
    get why() {
      return load().why;
    },
    get fixSafety() {
      return load().fixSafety;
    },
    get example() {
      return load().example;
    },
    url: url.href,
  };
}

/**
 * Reads a docs page: `# id: title`, the summary paragraphs, then the sections
 * Why, When the fix is unsafe, and Example (a `Before:` and an `After:` fenced
 * block). Section texts are kept as written (soft line breaks included);
 * fenced blocks give the Dockerfile texts exactly.
 */
export function parseDocsMarkdown(markdown: string, where = 'README.md'): ParsedDocs {
  const lines = markdown.split('\n');
  const fail = (line: number, message: string): never => {
    throw new Error(`${where}:${line + 1}: ${message}`);
  };
  const heading = /^# ([a-z][a-z0-9-]*): (.+)$/.exec(lines[0] ?? '');
  if (!heading) return fail(0, 'the page must start with "# <id>: <title>"');
  const sectionAt = (title: string, from: number): number => {
    const index = lines.indexOf(title, from);
    return index < 0 ? fail(from, `missing the section "${title}" (sections: Why, When the fix is unsafe, Example, in that order)`) : index;
  };
  const why = sectionAt(WHY, 1);
  const fixSafety = sectionAt(FIX_SAFETY, why + 1);
  const example = sectionAt(EXAMPLE, fixSafety + 1);
  const prose = (start: number, end: number) => lines.slice(start, end).join('\n').trim();
  const blocks = fencedBlocks(lines, example + 1, fail);
  const before = blocks.find((block) => block.label === 'Before:');
  const after = blocks.find((block) => block.label === 'After:');
  if (!before || !after) return fail(example, 'the example needs a "Before:" and an "After:" fenced block');
  return {
    id: heading[1],
    title: heading[2],
    summary: prose(1, why),
    why: prose(why + 1, fixSafety),
    fixSafety: prose(fixSafety + 1, example),
    example: { before: before.text, after: after.text },
  };
}

function fencedBlocks(lines: readonly string[], from: number, fail: (line: number, message: string) => never): { label: string; text: string }[] {
  const blocks: { label: string; text: string }[] = [];
  let label = '';
  for (let index = from; index < lines.length; index++) {
    const open = /^(`{3,})\w*$/.exec(lines[index]);
    if (!open) {
      if (lines[index].trim() !== '') label = lines[index].trim();
      continue;
    }
    const close = lines.indexOf(open[1], index + 1);
    if (close < 0) fail(index, 'unterminated fenced block');
    blocks.push({ label, text: lines.slice(index + 1, close).map((line) => `${line}\n`).join('') });
    index = close;
  }
  return blocks;
}

/**
 * The docs page of a transform, in the shape parseDocsMarkdown reads: for a
 * built-in this is exactly its README.md; for a custom transform it renders
 * the docs its meta carries.
 */
export function docsMarkdown(meta: Pick<TransformMeta, 'id' | 'title' | 'docs'>): string {
  const { docs } = meta;
  return [
    `# ${meta.id}: ${meta.title}`,
    '',
    docs.summary.trim(),
    '',
    WHY,
    '',
    docs.why.trim(),
    '',
    FIX_SAFETY,
    '',
    docs.fixSafety.trim(),
    '',
    EXAMPLE,
    '',
    'Before:',
    '',
    fenced(docs.example.before, 'dockerfile'),
    '',
    'After:',
    '',
    fenced(docs.example.after, 'dockerfile'),
    '',
  ].join('\n');
}

/** A fenced code block that no line of the code can close (a Dockerfile heredoc may hold ``` lines). */
export function fenced(code: string, language: string): string {
  const longestRun = Math.max(2, ...[...code.matchAll(/^ {0,3}(`{3,})/gm)].map((match) => match[1].length));
  const fence = '`'.repeat(longestRun + 1);
  const body = code.replace(/\r\n/g, '\n');
  return `${fence}${language}\n${body}${body.endsWith('\n') ? '' : '\n'}${fence}`;
}
