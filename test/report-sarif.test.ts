// SARIF output: valid against the official SARIF 2.1.0 schema, and shaped the
// way GitHub code scanning reads it, for results of real fixFile runs.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fixFile, listTransforms, type FileResult } from '../src/index.js';
import { sarifReport, SARIF_SCHEMA_URI, type SarifLog } from '../src/report/sarif.js';

const require = createRequire(import.meta.url);
// The schema as Microsoft's SARIF SDK ships it (draft-04, hence ajv-draft-04); formats checked too (URIs).
const Ajv = require('ajv-draft-04') as typeof import('ajv-draft-04').default;
const addFormats = require('ajv-formats') as typeof import('ajv-formats').default;
const sarifSchema = JSON.parse(readFileSync(require.resolve('@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json'), 'utf8'));

function schemaErrors(log: unknown): string[] {
  // The schema's `language` pattern has a stray `]` that only a non-unicode RegExp accepts.
  const ajv = new Ajv({ allErrors: true, strict: false, unicodeRegExp: false });
  addFormats(ajv);
  const validate = ajv.compile(sarifSchema);
  return validate(log) ? [] : (validate.errors ?? []).map((error) => `${error.instancePath} ${error.message}`);
}

/** The two transforms these cases exercise; the others are skipped so new transforms do not change the expectations. */
const KEPT = ['merge-runs', 'pkg-cleanup'];
const skip = listTransforms()
  .map((meta) => meta.id)
  .filter((id) => !KEPT.includes(id));

const FILES: Record<string, string> = {
  // A fix (merge-runs) and an unsafe fix left as a note (pkg-cleanup).
  'services/api/Dockerfile': 'FROM debian:bookworm\nRUN apt-get update && apt-get install -y curl && rm -rf /var/lib/apt/lists/*\nRUN echo one\nRUN echo two\n',
  // Does not parse: line 3.
  'broken/Dockerfile': 'FROM debian:bookworm-slim\nRUN echo one\nFROOM nothing\n',
  // Nothing to do.
  'clean/Dockerfile': 'FROM debian:bookworm-slim\nRUN echo one\n',
  // A space in the path must be percent-encoded in the URI.
  'web app/Dockerfile.prod': 'FROM debian:bookworm-slim\r\nRUN echo a\r\nRUN echo b\r\n',
};

let baseDir: string;
let results: FileResult[];

beforeAll(async () => {
  baseDir = mkdtempSync(path.join(tmpdir(), 'dockopt-sarif-'));
  for (const [name, content] of Object.entries(FILES)) {
    mkdirSync(path.dirname(path.join(baseDir, name)), { recursive: true });
    writeFileSync(path.join(baseDir, name), content);
  }
  results = await Promise.all(Object.keys(FILES).map((name) => fixFile(path.join(baseDir, name), { skip })));
});

const runOf = (log: SarifLog) => log.runs[0];

describe('sarifReport on real results', () => {
  test('is valid SARIF 2.1.0 by the official schema', () => {
    const log = sarifReport(results, listTransforms(), { baseDir, toolVersion: '1.2.3' });
    expect(schemaErrors(log)).toEqual([]);
    // And survives the trip through JSON unchanged (no undefined, no functions).
    expect(schemaErrors(JSON.parse(JSON.stringify(log)))).toEqual([]);
  });

  test('the schema check can fail: a result without a message is rejected', () => {
    const log = sarifReport(results, listTransforms(), { baseDir });
    const broken = JSON.parse(JSON.stringify(log));
    delete broken.runs[0].results[0].message;
    broken.runs[0].results[1].level = 'fatal';
    expect(schemaErrors(broken).length).toBeGreaterThanOrEqual(2);
  });

  test('has what GitHub code scanning requires', () => {
    const log = sarifReport(results, listTransforms(), { baseDir, toolVersion: '1.2.3', informationUri: 'file:///opt/dockopt/README.md' });
    expect(log.$schema).toBe(SARIF_SCHEMA_URI);
    expect(log.version).toBe('2.1.0');
    expect(log.runs).toHaveLength(1);
    const { driver } = runOf(log).tool;
    expect(driver).toMatchObject({ name: 'dockopt', version: '1.2.3', informationUri: 'file:///opt/dockopt/README.md' });
    // Without one, there is none: the schema allows that, and a made-up web page would not resolve.
    expect(runOf(sarifReport(results, listTransforms(), { baseDir })).tool.driver.informationUri).toBeUndefined();
    const ruleIds = driver.rules.map((rule) => rule.id);
    expect(new Set(ruleIds).size).toBe(ruleIds.length);
    expect(runOf(log).results.length).toBeGreaterThan(0);
    for (const result of runOf(log).results) {
      expect(driver.rules[result.ruleIndex].id).toBe(result.ruleId);
      expect(result.message.text).not.toBe('');
      expect(result.locations).toHaveLength(1);
      const { artifactLocation, region } = result.locations[0].physicalLocation;
      expect(artifactLocation.uriBaseId).toBe('%SRCROOT%');
      expect(artifactLocation.uri).not.toMatch(/^\/|\\|^\.\.?\//);
      expect(Number.isInteger(region.startLine) && region.startLine >= 1).toBe(true);
    }
    expect(runOf(log).originalUriBaseIds).toEqual({ '%SRCROOT%': { uri: `file://${baseDir}/` } });
  });

  test('one rule per transform, from its metadata and docs', () => {
    const transforms = listTransforms();
    const { rules } = runOf(sarifReport(results, transforms, { baseDir })).tool.driver;
    const mergeRuns = transforms.find((meta) => meta.id === 'merge-runs')!;
    expect(rules.slice(0, transforms.length).map((rule) => rule.id)).toEqual(transforms.map((meta) => meta.id));
    expect(rules.find((rule) => rule.id === 'merge-runs')).toEqual({
      id: 'merge-runs',
      name: 'MergeRuns',
      shortDescription: { text: mergeRuns.title },
      fullDescription: { text: mergeRuns.docs.summary },
      helpUri: mergeRuns.docs.url,
      help: { text: expect.stringContaining(mergeRuns.docs.fixSafety), markdown: readFileSync(new URL(mergeRuns.docs.url!), 'utf8') },
      defaultConfiguration: { level: 'warning' },
      properties: { tags: ['dockerfile', mergeRuns.safety], safety: mergeRuns.safety, network: mergeRuns.network },
    });
    expect(rules.find((rule) => rule.id === 'merge-runs')!.help.text).toContain(mergeRuns.docs.why);
    // helpUri is the docs page dockopt ships (transforms/<id>/README.md), which exists: never a web address that may 404.
    for (const rule of rules.slice(0, transforms.length)) expect(existsSync(new URL(rule.helpUri!))).toBe(true);
    expect(mergeRuns.docs.url).toMatch(/^file:\/\/.*\/transforms\/merge-runs\/README\.md$/);
    // The parse error adds its own rule after the transforms'.
    expect(rules.slice(transforms.length).map((rule) => rule.id)).toEqual(['parse-error']);
    expect(rules.find((rule) => rule.id === 'parse-error')!.defaultConfiguration.level).toBe('error');
  });

  test('fixes are warnings, notes notes, a parse error an error; files in path order, lines in order', () => {
    const log = sarifReport([...results].reverse(), listTransforms(), { baseDir });
    const summary = runOf(log).results.map((result) => ({
      uri: result.locations[0].physicalLocation.artifactLocation.uri,
      line: result.locations[0].physicalLocation.region.startLine,
      ruleId: result.ruleId,
      level: result.level,
      message: result.message.text,
      ...(result.properties && { properties: result.properties }),
    }));
    expect(summary).toMatchSnapshot();
    expect(summary.find((result) => result.ruleId === 'parse-error')).toEqual({
      uri: 'broken/Dockerfile',
      line: 3,
      ruleId: 'parse-error',
      level: 'error',
      message: 'cannot parse: Unknown instruction: FROOM',
      properties: { code: 'PARSE_ERROR' },
    });
    expect(summary.filter((result) => result.ruleId === 'merge-runs' && result.level === 'warning').map((result) => result.uri)).toEqual(['services/api/Dockerfile', 'web%20app/Dockerfile.prod']);
    expect(summary.find((result) => result.ruleId === 'pkg-cleanup')).toMatchObject({ level: 'note', message: expect.stringMatching(/unsafe fix not applied/) });
    expect(summary.some((result) => result.uri.startsWith('clean/'))).toBe(false);
  });

  test('a fix already written says fixed, not fixable', () => {
    const written = results.map((result) => ({ ...result, written: result.changed }));
    const messages = runOf(sarifReport(written, listTransforms(), { baseDir })).results.filter((result) => result.level === 'warning').map((result) => result.message.text);
    expect(messages.length).toBeGreaterThan(0);
    for (const message of messages) expect(message).toMatch(/ \(fixed\)$/);
  });
});

describe('sarifReport edge cases', () => {
  const base: FileResult = { path: 'Dockerfile', index: 0, status: 'unchanged', changed: false, changes: [], notes: [], errors: [], written: false };

  test('a file outside baseDir gets an absolute file: URI, relative paths are taken from baseDir', () => {
    const log = sarifReport([{ ...base, path: '/elsewhere/Dockerfile', errors: [{ line: 1, message: 'no such file or directory', severity: 'error', code: 'READ_ERROR' }] }, { ...base, path: 'a\\b\\Dockerfile', notes: [{ line: 2, message: 'left alone', severity: 'note', transform: 'merge-runs' }] }], listTransforms(), { baseDir: '/repo' });
    expect(schemaErrors(log)).toEqual([]);
    expect(runOf(log).results.map((result) => result.locations[0].physicalLocation.artifactLocation)).toEqual([
      { uri: 'file:///elsewhere/Dockerfile' },
      { uri: 'a/b/Dockerfile', uriBaseId: '%SRCROOT%' },
    ]);
    expect(runOf(log).results[0]).toMatchObject({ ruleId: 'read-error', level: 'error' });
  });

  test('a transform error is an error under that transform, once, though errors repeats it; a custom transform gets a rule', () => {
    const lookupFailed = { line: 1, message: 'resolver timed out', severity: 'error' as const, transform: 'my-custom', code: 'TRANSFORM_ERROR' as const };
    const log = sarifReport([{ ...base, notes: [lookupFailed], errors: [lookupFailed], changes: [{ transform: 'my-custom', line: 4, message: 'rewrote it', safety: 'unsafe' }], status: 'changed', changed: true }], [], { baseDir: '/repo' });
    expect(schemaErrors(log)).toEqual([]);
    expect(runOf(log).tool.driver.rules.map((rule) => rule.id)).toEqual(['my-custom']);
    expect(runOf(log).results.map((result) => [result.ruleId, result.level, result.message.text])).toEqual([
      ['my-custom', 'error', 'resolver timed out'],
      ['my-custom', 'warning', 'rewrote it (fixable, unsafe fix)'],
    ]);
  });

  test('a fix rejected for several transforms is filed under the first and names them all', () => {
    const rejected = { line: 2, message: 'fix rejected, it would make the Dockerfile invalid (x): y', severity: 'error' as const, transform: 'merge-runs,pkg-cleanup', code: 'TRANSFORM_ERROR' as const };
    const log = sarifReport([{ ...base, notes: [rejected], errors: [rejected] }], listTransforms(), { baseDir: '/repo' });
    expect(schemaErrors(log)).toEqual([]);
    expect(runOf(log).results).toEqual([
      expect.objectContaining({ ruleId: 'merge-runs', level: 'error', message: { text: `merge-runs, pkg-cleanup: ${rejected.message}` }, properties: { code: 'TRANSFORM_ERROR', transforms: ['merge-runs', 'pkg-cleanup'] } }),
    ]);
  });

  test('no results is still a valid log with every transform as a rule', () => {
    const log = sarifReport([], listTransforms());
    expect(schemaErrors(log)).toEqual([]);
    expect(runOf(log).results).toEqual([]);
    expect(runOf(log).tool.driver.rules).toHaveLength(listTransforms().length);
    expect(runOf(log).tool.driver).not.toHaveProperty('version');
  });
});
