import { colorizeDiff, jsonReport, summarize, summaryLine, unifiedDiff, unsafeHintLine, useColor, type FileReport } from '../src/report/report.js';

describe('colour', () => {
  test('only on a TTY, and never when NO_COLOR is set', () => {
    expect(useColor({ isTTY: true }, {})).toBe(true);
    expect(useColor({ isTTY: false }, {})).toBe(false);
    expect(useColor({}, {})).toBe(false);
    expect(useColor({ isTTY: true }, { NO_COLOR: '1' })).toBe(false);
    // no-color.org: an empty NO_COLOR does not count.
    expect(useColor({ isTTY: true }, { NO_COLOR: '' })).toBe(true);
  });

  test('FORCE_COLOR colours a pipe (unless NO_COLOR), and --color always/never beat both', () => {
    expect(useColor({ isTTY: false }, { FORCE_COLOR: '1' })).toBe(true);
    expect(useColor({ isTTY: true }, { FORCE_COLOR: '0' })).toBe(false);
    expect(useColor({ isTTY: false }, { FORCE_COLOR: '1', NO_COLOR: '1' })).toBe(false);
    expect(useColor({ isTTY: false }, { NO_COLOR: '1' }, 'always')).toBe(true);
    expect(useColor({ isTTY: true }, { FORCE_COLOR: '1' }, 'never')).toBe(false);
  });

  test('colours added and removed lines and hunk headers', () => {
    const coloured = colorizeDiff(unifiedDiff('Dockerfile', 'FROM a\nRUN x\n', 'FROM a\nRUN y\n'));
    expect(coloured).toContain('\u001b[31m-RUN x\u001b[0m');
    expect(coloured).toContain('\u001b[32m+RUN y\u001b[0m');
    expect(coloured).toMatch(/\u001b\[36m@@ /);
  });
});

describe('unified diff', () => {
  test('uses a/ and b/ headers with relative, slash-separated paths', () => {
    expect(unifiedDiff('./svc/Dockerfile', 'a\n', 'b\n').split('\n').slice(0, 2)).toEqual(['--- a/svc/Dockerfile', '+++ b/svc/Dockerfile']);
    expect(unifiedDiff('/abs/Dockerfile', 'a\n', 'b\n').split('\n')[0]).toBe('--- a/abs/Dockerfile');
  });

  test('marks a missing final newline', () => {
    expect(unifiedDiff('Dockerfile', 'FROM a\nRUN x', 'FROM a\nRUN y')).toContain('\\ No newline at end of file');
  });
});

describe('summary and json', () => {
  const changed: FileReport = {
    path: 'Dockerfile',
    status: 'changed',
    input: 'FROM a\nRUN x\nRUN y\n',
    output: 'FROM a\nRUN x && y\n',
    changes: [{ transform: 'merge-runs', line: 2, message: 'merged', safety: 'safe' }],
    notes: [{ transform: 'merge-runs', line: 3, message: 'a note', severity: 'note' }],
    errors: [],
    written: false,
  };
  const broken: FileReport = { path: 'bad/Dockerfile', status: 'error', input: 'FROM a\nRUN x\nFROOM b\n', changes: [], notes: [], errors: [{ line: 3, message: 'cannot parse' }], written: false };
  const missing: FileReport = { path: 'gone/Dockerfile', status: 'error', changes: [], notes: [], errors: [{ line: 1, message: 'no such file or directory' }], written: false };
  const dockerignore: FileReport = { path: '.dockerignore', kind: 'dockerignore', status: 'changed', input: '', output: '.git\n', changes: [{ transform: 'dockerignore', line: 1, message: 'ignore .git', safety: 'unsafe' }], notes: [], errors: [], written: false };
  const heldBack: FileReport = {
    ...changed,
    notes: [
      { transform: 'non-root', line: 1, message: 'run as app (unsafe fix not applied)', severity: 'note', unsafeFixSkipped: true },
      { transform: 'pkg-cleanup', line: 2, message: 'no recommends (unsafe fix not applied)', severity: 'note', unsafeFixSkipped: true },
      { transform: 'non-root', line: 4, message: 'and another', severity: 'note', unsafeFixSkipped: true },
    ],
  };

  test('one summary line, singular and plural: Dockerfiles scanned (a .dockerignore or a missing file is none), fixes, unsafe ones held back, files with errors', () => {
    expect(summaryLine(summarize([changed, broken], false))).toBe('2 files scanned, 1 would change, 1 fix, 1 error');
    expect(summaryLine(summarize([changed, changed, missing, dockerignore], true))).toBe('2 files scanned, 2 changed, 1 .dockerignore changed, 3 fixes, 1 error');
    expect(summaryLine(summarize([heldBack], false))).toBe('1 file scanned, 1 would change, 1 fix (3 unsafe not applied), 0 errors');
  });

  test('the unsafe fixes held back, per transform, most first', () => {
    expect(unsafeHintLine([heldBack])).toBe('3 more fixes available with --unsafe-fixes (non-root 2, pkg-cleanup 1)');
    expect(unsafeHintLine([changed])).toBeUndefined();
  });

  test('json groups changes and notes per transform, with errors and the diff', () => {
    const report = jsonReport([changed, broken], false);
    expect(report.summary).toEqual({ scanned: 2, changed: 1, dockerignoreChanged: 0, fixes: 1, unsafeNotApplied: 0, errors: 1, written: false });
    expect(report.files[0].transforms['merge-runs']).toEqual({
      changes: [{ line: 2, message: 'merged', safety: 'safe' }],
      notes: [{ line: 3, message: 'a note', severity: 'note' }],
    });
    expect(report.files[0].diff).toContain('+RUN x && y');
    expect(report.files[1]).toEqual({ path: 'bad/Dockerfile', kind: 'dockerfile', status: 'error', written: false, transforms: {}, errors: [{ line: 3, message: 'cannot parse' }] });
  });
});
