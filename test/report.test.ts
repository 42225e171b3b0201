import { colorizeDiff, jsonReport, summaryLine, unifiedDiff, useColor, type FileReport } from '../src/report/report.js';

describe('colour', () => {
  test('only on a TTY, and never when NO_COLOR is set', () => {
    expect(useColor({ isTTY: true }, {})).toBe(true);
    expect(useColor({ isTTY: false }, {})).toBe(false);
    expect(useColor({}, {})).toBe(false);
    expect(useColor({ isTTY: true }, { NO_COLOR: '1' })).toBe(false);
    // no-color.org: an empty NO_COLOR does not count.
    expect(useColor({ isTTY: true }, { NO_COLOR: '' })).toBe(true);
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
  const broken: FileReport = { path: 'bad/Dockerfile', status: 'error', changes: [], notes: [], errors: [{ line: 3, message: 'cannot parse' }], written: false };

  test('one summary line, singular and plural', () => {
    expect(summaryLine({ scanned: 1, changed: 1, errors: 1, written: false })).toBe('1 file scanned, 1 would change, 1 error');
    expect(summaryLine({ scanned: 3, changed: 2, errors: 0, written: true })).toBe('3 files scanned, 2 changed, 0 errors');
  });

  test('json groups changes and notes per transform, with errors and the diff', () => {
    const report = jsonReport([changed, broken], false);
    expect(report.summary).toEqual({ scanned: 2, changed: 1, errors: 1, written: false });
    expect(report.files[0].transforms['merge-runs']).toEqual({
      changes: [{ line: 2, message: 'merged', safety: 'safe' }],
      notes: [{ line: 3, message: 'a note', severity: 'note' }],
    });
    expect(report.files[0].diff).toContain('+RUN x && y');
    expect(report.files[1]).toEqual({ path: 'bad/Dockerfile', status: 'error', written: false, transforms: {}, errors: [{ line: 3, message: 'cannot parse' }] });
  });
});
