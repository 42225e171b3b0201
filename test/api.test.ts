// The library API in-process: results, option checking, custom transforms,
// globs, abort and an injected resolver.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fixFile, fixFiles, fixText, formatDiff, listTransforms, loadTransform, validateConfig, type FileResult, type Transform } from '../src/index.js';
import { recordedServices } from './helpers/services.js';
import { rejection } from './helpers/errors.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const customDir = path.join(root, 'test', 'data', 'custom-transforms');
const keywordCasePath = path.join(customDir, 'keyword-case.cjs');

const MERGEABLE = 'FROM debian:bookworm-slim\nRUN echo one\nRUN echo two\n';
const MERGED = 'FROM debian:bookworm-slim\nRUN echo one \\\n    && echo two\n';
const CLEAN = 'FROM debian:bookworm-slim\nRUN echo one\n';
const BROKEN = 'FROM debian:bookworm-slim\nRUN echo one\nFROOM nothing\n';

function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'dockopt-api-'));
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), content);
  }
  return dir;
}

async function collect(results: AsyncIterable<FileResult>): Promise<FileResult[]> {
  const all: FileResult[] = [];
  for await (const result of results) all.push(result);
  return all.sort((a, b) => a.index - b.index);
}


describe('fixText', () => {
  test('returns the fixed text with its changes', async () => {
    const result = await fixText(MERGEABLE);
    expect(result).toMatchObject({ status: 'changed', input: MERGEABLE, output: MERGED, changed: true, errors: [] });
    expect(result.changes).toEqual([{ transform: 'merge-runs', line: 2, message: expect.any(String), safety: 'safe' }]);
  });

  test('a Dockerfile that does not parse is a PARSE_ERROR in the result, not a throw, and stays as it was', async () => {
    const result = await fixText(BROKEN);
    expect(result).toMatchObject({ status: 'error', output: BROKEN, changed: false });
    expect(result.errors).toEqual([{ line: 3, message: 'cannot parse: Unknown instruction: FROOM', severity: 'error', code: 'PARSE_ERROR' }]);
  });

  test('unsafe fixes not applied are notes', async () => {
    const result = await fixText('FROM debian:bookworm\nRUN apt-get update && apt-get install -y curl && rm -rf /var/lib/apt/lists/*\n');
    expect(result.notes.some((note) => note.severity === 'note' && note.transform === 'pkg-cleanup' && /unsafe fix not applied/.test(note.message))).toBe(true);
    const withConsent = await fixText('FROM debian:bookworm\nRUN apt-get update && apt-get install -y curl && rm -rf /var/lib/apt/lists/*\n', { only: ['pkg-cleanup'] });
    expect(withConsent.output).toContain('--no-install-recommends');
  });
});

describe('options', () => {
  test('an unknown option names itself and the known ones', async () => {
    const error = await rejection(fixText(MERGEABLE, { onyl: ['merge-runs'] } as never));
    expect(error.code).toBe('INVALID_OPTIONS');
    expect(error.message).toMatch(/unknown option "onyl"; known: select, extendSelect, ignore, skip, only,/);
  });

  test('a value of the wrong type is INVALID_OPTIONS', async () => {
    expect((await rejection(fixText(MERGEABLE, { pin: 'latest' } as never))).message).toBe('options.pin must be "version", "digest" or "both"');
    expect((await rejection(fixText(MERGEABLE, { only: 'merge-runs' } as never))).code).toBe('INVALID_OPTIONS');
    expect((await rejection(fixText(MERGEABLE, { registryMirrors: { 'docker.io': 'mirror' } }))).message).toMatch(/registryMirrors must map each registry to an http\(s\) URL/);
    expect((await rejection(fixText(MERGEABLE, { config: { resolver: {} } } as never))).message).toMatch(/^options\.config: unknown option "resolver"/);
  });

  test('an unknown transform id is UNKNOWN_TRANSFORM', async () => {
    const error = await rejection(fixText(MERGEABLE, { skip: ['no-such-thing'] }));
    expect(error.code).toBe('UNKNOWN_TRANSFORM');
    expect(error.message).toMatch(/^ignore: unknown transform "no-such-thing"; known: pin-base, merge-runs/);
  });

  test('config holds the plain settings; the options adjust its selection and override the rest key by key', async () => {
    expect((await fixText(MERGEABLE, { config: { skip: ['merge-runs'] } })).changed).toBe(false);
    // An empty ignore adds nothing to ignore; the transform comes back with extend-select (or select).
    expect((await fixText(MERGEABLE, { config: { skip: ['merge-runs'] }, ignore: [] })).changed).toBe(false);
    expect((await fixText(MERGEABLE, { config: { skip: ['merge-runs'] }, extendSelect: ['merge-runs'] })).changed).toBe(true);
    expect((await fixText(MERGEABLE, { config: { ignore: ['merge-runs'] }, select: ['merge-runs'] })).changed).toBe(true);
  });

  test('validateConfig accepts a config-file object and rejects code-only options', () => {
    const config = { only: ['pin-base'], pin: 'digest', offline: true, registryMirrors: { 'docker.io': 'https://mirror.example' }, transforms: ['./t.mjs'] };
    expect(validateConfig(config)).toBe(config);
    expect(() => validateConfig({ signal: 1 })).toThrow(/config: unknown option "signal"/);
  });
});

describe('custom transforms', () => {
  const broken: Transform = {
    meta: { ...listTransforms()[1], id: 'keyword-case-copy' },
    run: () => [],
  };

  test('a transform object is appended to the pipeline and, being safe, selected by default', async () => {
    const keywordCase = await loadTransform(keywordCasePath);
    const result = await fixText('from alpine:3.20\nrun echo one\nrun echo two\n', { transforms: [keywordCase] });
    expect(result.output).toBe('FROM alpine:3.20\nRUN echo one \\\n    && echo two\n');
    expect(new Set(result.changes.map((change) => change.transform))).toEqual(new Set(['merge-runs', 'keyword-case']));
    expect(listTransforms({ transforms: [keywordCase] }).map((info) => [info.id, info.builtin]).slice(-2)).toEqual([
      ['dockerignore', true],
      ['keyword-case', false],
    ]);
  });

  test('a module path loads the transform from the file (CommonJS here)', async () => {
    const result = await fixText('from alpine:3.20\n', { transforms: [path.relative(process.cwd(), keywordCasePath)] });
    expect(result.output).toBe('FROM alpine:3.20\n');
  });

  test('--skip and --only know custom ids', async () => {
    expect((await fixText('from alpine:3.20\n', { transforms: [keywordCasePath], skip: ['keyword-case'] })).changed).toBe(false);
    expect((await fixText('from alpine:3.20\nRUN a\nRUN b\n', { transforms: [keywordCasePath], only: ['keyword-case'] })).output).toBe('FROM alpine:3.20\nRUN a\nRUN b\n');
  });

  test('modules that are not transforms are INVALID_TRANSFORM errors naming the file and the problem', async () => {
    const notKebab = await rejection(fixText(CLEAN, { transforms: [path.join(customDir, 'not-kebab-case.mjs')] }));
    expect(notKebab).toMatchObject({ code: 'INVALID_TRANSFORM', file: expect.stringContaining('not-kebab-case.mjs') });
    expect(notKebab.message).toMatch(/meta\.id must be a kebab-case string such as "no-latest-tag", got "Bad_Name"$/);
    expect((await rejection(fixText(CLEAN, { transforms: [path.join(customDir, 'same-id-as-builtin.mjs')] }))).message).toMatch(/"merge-runs" is the id of a built-in transform/);
    expect((await rejection(fixText(CLEAN, { transforms: [path.join(customDir, 'no-default-export.mjs')] }))).message).toMatch(/must export the transform as its default export$/);
    const missing = await rejection(fixText(CLEAN, { transforms: [path.join(customDir, 'nowhere.mjs')] }));
    expect(missing.message).toMatch(/^cannot load transform .*nowhere\.mjs: /);
  });

  test('transform objects are checked too, and two transforms cannot share an id', async () => {
    const noRun = { meta: broken.meta } as unknown as Transform;
    expect((await rejection(fixText(CLEAN, { transforms: [noRun] }))).message).toBe('options.transforms[0]: keyword-case-copy: run must be a function (ctx) => findings');
    const keywordCase = await loadTransform(keywordCasePath);
    const twin = { ...keywordCase };
    expect((await rejection(fixText(CLEAN, { transforms: [keywordCase, twin] }))).message).toMatch(/transform id "keyword-case" is also the id of/);
    expect((await fixText('from a\n', { transforms: [keywordCase, keywordCasePath] })).output).toBe('FROM a\n');
  });
});

describe('fixFile and fixFiles', () => {
  test('read config files as the CLI does, unless told not to; their exclude and the exclude option leave searched files out', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'dockopt-api-config-'));
    mkdirSync(path.join(dir, '.git'));
    mkdirSync(path.join(dir, 'vendor'));
    mkdirSync(path.join(dir, 'old'));
    writeFileSync(path.join(dir, '.dockopt.json'), JSON.stringify({ ignore: ['merge-runs'], exclude: ['vendor/'] }));
    for (const name of ['Dockerfile', 'vendor/Dockerfile', 'old/Dockerfile']) writeFileSync(path.join(dir, name), MERGEABLE);
    expect((await fixFile(path.join(dir, 'Dockerfile'))).changed).toBe(false);
    expect((await fixFile(path.join(dir, 'Dockerfile'), { configFile: false })).changed).toBe(true);
    const found = async (options: Parameters<typeof fixFiles>[1]) => {
      const results: FileResult[] = [];
      for await (const result of fixFiles(dir, options)) results.push(result);
      return results.map((result) => [path.relative(dir, result.path), result.changed]).sort();
    };
    expect(await found({})).toEqual([['Dockerfile', false], ['old/Dockerfile', false]]);
    expect(await found({ exclude: ['old/'], extendSelect: ['merge-runs'] })).toEqual([['Dockerfile', true]]);
    expect(await found({ configFile: false })).toEqual([['Dockerfile', true], ['old/Dockerfile', true], ['vendor/Dockerfile', true]]);
  });

  test('fixFile reports and, with write, replaces the file', async () => {
    const dir = tree({ Dockerfile: MERGEABLE });
    const file = path.join(dir, 'Dockerfile');
    expect(await fixFile(file)).toMatchObject({ path: file, status: 'changed', written: false, output: MERGED });
    expect(readFileSync(file, 'utf8')).toBe(MERGEABLE);
    expect(await fixFile(file, { write: true })).toMatchObject({ written: true });
    expect(readFileSync(file, 'utf8')).toBe(MERGED);
    expect((await fixFile(path.join(dir, 'nope'))).errors).toEqual([{ line: 1, message: 'cannot read: ENOENT', severity: 'error', code: 'READ_ERROR' }]);
  });

  test('fixFiles: directories, files and missing paths, one result each, every problem in its result', async () => {
    const dir = tree({ 'a/Dockerfile': MERGEABLE, 'b/Dockerfile': BROKEN, 'c/Containerfile': CLEAN });
    const results = await collect(fixFiles([path.join(dir, 'missing'), dir]));
    expect(results.map((result) => [path.relative(dir, result.path), result.status, result.index])).toEqual([
      ['missing', 'error', 0],
      ['a/Dockerfile', 'changed', 1],
      ['b/Dockerfile', 'error', 2],
      ['c/Containerfile', 'unchanged', 3],
    ]);
    expect(results[0].errors[0]).toMatchObject({ code: 'READ_ERROR', message: 'no such file or directory' });
    expect(results[2].errors[0]).toMatchObject({ code: 'PARSE_ERROR', line: 3 });
  });

  test('globs select files by pattern, whatever their name, honouring .gitignore', async () => {
    const dir = tree({ '.gitignore': 'old/\n', 'svc/a/Dockerfile.prod': MERGEABLE, 'svc/b/Dockerfile.prod': CLEAN, 'svc/b/Dockerfile': MERGEABLE, 'old/c/Dockerfile.prod': MERGEABLE, 'build.docker': MERGEABLE });
    const paths = async (glob: string) => (await collect(fixFiles(path.join(dir, glob)))).map((result) => path.relative(dir, result.path));
    expect(await paths('svc/*/Dockerfile.prod')).toEqual(['svc/a/Dockerfile.prod', 'svc/b/Dockerfile.prod']);
    expect(await paths('**/Dockerfile.{prod,dev}')).toEqual(['svc/a/Dockerfile.prod', 'svc/b/Dockerfile.prod']);
    expect(await paths('*.docker')).toEqual(['build.docker']);
    expect(await paths('svc/[!a]/Dockerfile*')).toEqual(['svc/b/Dockerfile', 'svc/b/Dockerfile.prod']);
    expect((await collect(fixFiles(path.join(dir, 'nothing/*'))))[0].errors[0].code).toBe('READ_ERROR');
  });

  test('option errors reject the first iteration', async () => {
    await expect(fixFiles('.', { only: ['nope'] }).next()).rejects.toMatchObject({ code: 'UNKNOWN_TRANSFORM' });
    await expect(fixFiles('.', { write: 'yes' } as never).next()).rejects.toMatchObject({ code: 'INVALID_OPTIONS', message: 'options.write must be true or false' });
  });
});

describe('AbortSignal', () => {
  test('an aborted signal stops a call before it starts', async () => {
    const error = await rejection(fixText(MERGEABLE, { signal: AbortSignal.abort() }));
    expect(error.code).toBe('ABORTED');
  });

  test('aborting mid-batch starts no new file: the files in flight finish, then ABORTED', async () => {
    const files: Record<string, string> = {};
    for (let index = 0; index < 40; index++) files[`s${String(index).padStart(2, '0')}/Dockerfile`] = MERGEABLE;
    const dir = tree(files);
    const controller = new AbortController();
    const seen: FileResult[] = [];
    const error = await rejection(
      (async () => {
        for await (const result of fixFiles(dir, { signal: controller.signal, write: true })) {
          seen.push(result);
          controller.abort();
        }
      })(),
    );
    expect(error.code).toBe('ABORTED');
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.length).toBeLessThan(10);
    const written = Object.keys(files).filter((name) => readFileSync(path.join(dir, name), 'utf8') === MERGED);
    expect(written.length).toBe(seen.length);
  });
});

describe('resolver', () => {
  test('an injected resolver answers pin-base instead of a registry', async () => {
    const { resolver } = recordedServices() as { resolver: NonNullable<Parameters<typeof fixText>[1]>['resolver'] };
    const result = await fixText('FROM python:3.9-slim\n', { only: ['pin-base'], resolver, offline: true });
    expect(result.errors).toEqual([]);
    expect(result.output).toMatch(/^FROM python:3\.9\.\d+-slim@sha256:[0-9a-f]{64}\n$/);
  });
});

test('formatDiff prints what dockopt fix prints', () => {
  expect(formatDiff('./svc/Dockerfile', MERGEABLE, MERGED)).toMatch(/^--- a\/svc\/Dockerfile\n\+\+\+ b\/svc\/Dockerfile\n@@ -1,3 \+1,3 @@\n/);
  expect(formatDiff('Dockerfile', CLEAN, CLEAN)).toBe('');
});
