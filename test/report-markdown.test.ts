// The Markdown report (a pull-request description) for results of a real
// fixFiles run over a small tree: the snapshot is what a reviewer reads.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fixFiles, listTransforms, type FileResult } from '../src/index.js';
import { fenced } from '../src/engine/docs.js';
import { codeSpan, escapeMarkdown, markdownReport } from '../src/report/markdown.js';

/** The transforms these cases exercise; the others are skipped so new transforms do not change the snapshot. */
const KEPT = ['merge-runs', 'pkg-cleanup'];
const skip = listTransforms()
  .map((meta) => meta.id)
  .filter((id) => !KEPT.includes(id));
const transforms = listTransforms().filter((meta) => KEPT.includes(meta.id));

const FILES: Record<string, string> = {
  // Two merges and an unsafe fix held back as a note.
  'services/api/Dockerfile': [
    'FROM debian:bookworm',
    'RUN apt-get update && apt-get install -y curl && rm -rf /var/lib/apt/lists/*',
    'RUN echo one',
    'RUN echo two',
    'WORKDIR /app',
    'RUN echo three',
    'RUN echo four',
    '',
  ].join('\n'),
  // A CRLF file whose RUN holds markdown-looking text.
  'services/web/Dockerfile': 'FROM node:22-slim\r\nRUN echo "*not bold* <b>|pipe|</b> `tick`"\r\nRUN npm ci\r\n',
  // Does not parse: line 3.
  'broken/Dockerfile': 'FROM debian:bookworm-slim\nRUN echo one\nFROOM nothing\n',
  // Unchanged, but with a note: the unsafe apt fix is not applied.
  'tools/Dockerfile': 'FROM debian:bookworm\nRUN apt-get update && apt-get install -y git && rm -rf /var/lib/apt/lists/*\n',
  // Nothing to say at all: it appears only in the counts.
  'clean/Dockerfile': 'FROM debian:bookworm-slim\nRUN echo one\n',
};

let results: FileResult[];

beforeAll(async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'dockopt-markdown-'));
  for (const [name, content] of Object.entries(FILES)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), content);
  }
  results = [];
  // Paths relative to the tree, as a CLI run from its root would show them.
  for await (const result of fixFiles(dir, { skip })) results.push({ ...result, path: path.relative(dir, result.path) });
});

describe('markdownReport on real results', () => {
  test('the pull-request description', () => {
    expect(markdownReport(results, { transforms })).toMatchSnapshot();
  });

  test('does not depend on the order results arrive in', () => {
    const report = markdownReport(results, { transforms });
    expect(markdownReport([...results].reverse(), { transforms })).toBe(report);
    const sections = [...report.matchAll(/^### (.*)$/gm)].map((match) => match[1]);
    expect(sections).toEqual(['`services/api/Dockerfile`', '`services/web/Dockerfile`', 'Errors']);
  });

  test('counts files and changes per transform', () => {
    const report = markdownReport(results, { transforms, title: 'Slimmer images' });
    expect(report.startsWith('## Slimmer images\n\n5 files scanned, 2 would change, 4 fixes (2 unsafe not applied), 1 error.\n')).toBe(true);
    expect(report).toContain('| `merge-runs` Merge adjacent RUN instructions | 3 | 2 |');
    // Written files are counted as changed.
    expect(markdownReport(results.map((result) => ({ ...result, written: result.changed })))).toContain('5 files scanned, 2 changed, 4 fixes (2 unsafe not applied), 1 error.');
  });

  test('without transform metadata the table shows ids only', () => {
    expect(markdownReport(results)).toContain('| `merge-runs` | 3 | 2 |');
  });

  test('the diffs are the fixes', () => {
    const report = markdownReport(results, { transforms });
    expect(report).toContain('```diff\n--- a/services/api/Dockerfile\n+++ b/services/api/Dockerfile\n');
    expect(report).not.toContain('\r');
  });
});

describe('markdownReport without changes', () => {
  test('a clean run is one summary line', () => {
    const clean: FileResult = { path: 'Dockerfile', index: 0, status: 'unchanged', changed: false, changes: [], notes: [], errors: [], written: false, input: 'FROM a\n', output: 'FROM a\n' };
    expect(markdownReport([clean])).toBe('## Dockerfile fixes by dockopt\n\n1 file scanned, 0 would change, 0 fixes, 0 errors.\n');
  });

  test('an unreadable file is listed with its error code', () => {
    const missing: FileResult = { path: './gone/Dockerfile', index: 0, status: 'error', changed: false, changes: [], notes: [], errors: [{ line: 1, message: 'no such file or directory', severity: 'error', code: 'READ_ERROR' }], written: false };
    expect(markdownReport([missing])).toBe('## Dockerfile fixes by dockopt\n\n0 files scanned, 0 would change, 0 fixes, 1 error.\n\n### Errors\n\n- `gone/Dockerfile`\n  - Line 1: no such file or directory (`READ_ERROR`)\n');
  });
});

describe('markdown escaping', () => {
  test('messages render as the text they are', () => {
    expect(escapeMarkdown('rm -rf /var/lib/apt/lists/* and <b> | [x](y) a_b &amp; ~~d~~ \\')).toBe('rm -rf /var/lib/apt/lists/\\* and \\<b\\> \\| \\[x\\](y) a\\_b \\&amp; \\~\\~d\\~\\~ \\\\');
    expect(escapeMarkdown('two\r\nlines\nhere')).toBe('two lines here');
  });

  test('code spans in a message stay code spans; a lone backtick is escaped', () => {
    expect(escapeMarkdown('`rm -rf /var/lib/apt/lists/*` added to *the* RUN')).toBe('`rm -rf /var/lib/apt/lists/*` added to \\*the\\* RUN');
    expect(escapeMarkdown('a `b` c ` d')).toBe('a `b` c \\` d');
    expect(escapeMarkdown('`a\nb`')).toBe('`a b`');
  });

  test('a code span holding backticks uses a longer run', () => {
    expect(codeSpan('Dockerfile')).toBe('`Dockerfile`');
    expect(codeSpan('a`b')).toBe('``a`b``');
    expect(codeSpan('`x')).toBe('`` `x ``');
  });

  test('a fence that the code cannot close', () => {
    expect(fenced('RUN x\n', 'diff')).toBe('```diff\nRUN x\n```');
    expect(fenced('+```\n ````\n', 'diff')).toBe('`````diff\n+```\n ````\n`````');
    expect(fenced('no newline', 'diff')).toBe('```diff\nno newline\n```');
  });
});
