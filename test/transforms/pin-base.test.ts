import { rmSync } from 'node:fs';
import path from 'node:path';
import transform from '../../transforms/pin-base/index.js';
import { parseImageReference } from '../../src/image/reference.js';
import { createImageResolver } from '../../src/registry/index.js';
import { MEDIA_TYPES, ResolveError, type ImageResolver } from '../../src/image/resolver.js';
import { defineFixtureTests, FIXTURES_DIR, runTransform } from '../helpers/fixtures.js';
import { loadRecordedRegistry, recordedResolver } from '../helpers/recorded-resolver.js';
import { imageIndex, makeTempDir, pushImage, startRegistry, type RegistryHandle } from '../helpers/registry-server.js';

const recorded = loadRecordedRegistry(path.join(FIXTURES_DIR, 'pin-base', 'registry.json'));

defineFixtureTests(transform, () => ({ resolver: recordedResolver(recorded) }));

describe('pin-base', () => {
  test('the docs example is what the transform produces', async () => {
    const result = await runTransform(transform, transform.meta.docs.example.before, {}, { resolver: recordedResolver(recorded) });
    expect(result.output).toBe(transform.meta.docs.example.after);
  });

  test('without a resolver nothing is pinned and a note says why', async () => {
    const result = await runTransform(transform, 'FROM python:3.9-slim\n');
    expect(result.output).toBe('FROM python:3.9-slim\n');
    expect(result.notes).toEqual([expect.objectContaining({ line: 1, severity: 'note', message: 'no registry resolver was given to this run; base images were not pinned' })]);
  });

  test('candidates are asked newest first and the search stops at the first match', async () => {
    const tags: Record<string, string> = { '3-slim': 'sha256:' + 'a'.repeat(64), '3.12.1-slim': 'sha256:' + 'a'.repeat(64) };
    for (let minor = 0; minor < 12; minor++) for (let patch = 0; patch < 20; patch++) tags[`3.${minor}.${patch}-slim`] = `sha256:${String(minor * 100 + patch).padStart(64, '0')}`;
    const resolver = recordedResolver({ 'docker.io/library/python': { tags } });
    const result = await runTransform(transform, 'FROM python:3-slim\n', {}, { resolver });
    expect(result.output).toBe(`FROM python:3.12.1-slim@sha256:${'a'.repeat(64)}\n`);
    // The engine's second pass verifies the result (by digest, then by tag); count the distinct candidate tags asked.
    const candidateLookups = [...new Set(resolver.calls.filter((call) => call.startsWith('lookup') && !call.includes('@') && !call.endsWith(':3-slim')))];
    expect(candidateLookups[0]).toBe('lookup docker.io/library/python:3.12.1-slim');
    expect(candidateLookups.length).toBeLessThanOrEqual(4);
  });

  test('a resolver failure that is not a ResolveError is an internal error, not a silent skip', async () => {
    const broken: ImageResolver = {
      lookup: async () => {
        throw new TypeError('resolver bug');
      },
      listTags: async () => [],
      platforms: async () => undefined,
      imageConfig: async () => {
        throw new TypeError('not used by pin-base');
      },
    };
    const result = await runTransform(transform, 'FROM python:3.9-slim\n', {}, { resolver: broken });
    expect(result.notes).toEqual([expect.objectContaining({ severity: 'error', message: expect.stringContaining('resolver bug') })]);
  });

  test('allowlist refusals are notes, lookup failures are errors', async () => {
    const refusing = (kind: 'not-allowed' | 'timeout'): ImageResolver => ({
      lookup: async () => {
        throw new ResolveError(kind, kind === 'timeout' ? 'registry-1.docker.io did not answer within 15000 ms' : 'docker.io is not an allowed registry (--registry-allow ghcr.io)');
      },
      listTags: async () => [],
      platforms: async () => undefined,
      imageConfig: async () => {
        throw new TypeError('not used by pin-base');
      },
    });
    const refused = await runTransform(transform, 'FROM python:3.9-slim\n', {}, { resolver: refusing('not-allowed') });
    expect(refused.notes).toEqual([expect.objectContaining({ severity: 'note', message: 'cannot resolve python:3.9-slim: docker.io is not an allowed registry (--registry-allow ghcr.io)' })]);
    const timedOut = await runTransform(transform, 'FROM python:3.9-slim\n', {}, { resolver: refusing('timeout') });
    expect(timedOut.notes).toEqual([expect.objectContaining({ severity: 'error', line: 1, message: 'cannot resolve python:3.9-slim: registry-1.docker.io did not answer within 15000 ms' })]);
  });

  test('a single-platform manifest is pinned whatever --platform says (there is no index to check)', async () => {
    const resolver = recordedResolver(recorded);
    const result = await runTransform(transform, 'FROM --platform=linux/arm64 localhost:5000/team/app:1.2\n', {}, { resolver });
    expect(result.output).toMatch(/^FROM --platform=linux\/arm64 localhost:5000\/team\/app:1\.2\.3@sha256:[0-9a-f]{64}\n$/);
    expect(resolver.calls.some((call) => call.startsWith('platforms'))).toBe(false);
    expect(MEDIA_TYPES.ociManifest).toBe((await resolver.lookup(parseImageReference('localhost:5000/team/app:1.2'))).mediaType);
  });
});

describe('pin-base against a real registry', () => {
  const slim = imageIndex('pin-base python 3.9.18-slim', [
    { os: 'linux', architecture: 'amd64' },
    { os: 'linux', architecture: 'arm64', variant: 'v8' },
  ]);
  const older = imageIndex('pin-base python 3.9.17-slim', [{ os: 'linux', architecture: 'amd64' }]);
  let registry: RegistryHandle;
  let configDir: string;

  beforeAll(async () => {
    registry = await startRegistry();
    configDir = makeTempDir('pin-base-e2e');
    await pushImage(registry.url, 'library/python', slim, ['3.9-slim', '3.9.18-slim', '3.9.18-slim-bookworm']);
    await pushImage(registry.url, 'library/python', older, ['3.9.17-slim']);
  });

  afterAll(async () => {
    await registry?.stop();
    if (configDir) rmSync(configDir, { recursive: true, force: true });
  });

  const resolver = () =>
    createImageResolver({ diskCache: false, dockerConfig: path.join(configDir, 'absent.json'), endpoints: { 'docker.io': registry.url }, retries: 0, timeoutMs: 5000 });

  test('Docker Hub short names, a registry with a port, --platform and a missing tag in one file', async () => {
    const input = [
      'FROM python:3.9-slim AS base',
      `FROM --platform=linux/arm64 ${registry.host}/library/python:3.9-slim AS arm`,
      'FROM python:3.8-slim AS missing',
      'FROM python:3.9.17-slim',
      '',
    ].join('\n');
    const result = await runTransform(transform, input, {}, { resolver: resolver() });
    expect(result.output).toBe(
      [
        `FROM python:3.9.18-slim@${slim.digest} AS base`,
        `FROM --platform=linux/arm64 ${registry.host}/library/python:3.9.18-slim@${slim.digest} AS arm`,
        'FROM python:3.8-slim AS missing',
        `FROM python:3.9.17-slim@${older.digest}`,
        '',
      ].join('\n'),
    );
    expect(result.notes).toEqual([expect.objectContaining({ line: 3, severity: 'error', message: 'cannot resolve python:3.8-slim: 404 tag not found' })]);
  });

  test('--update moves an exact tag to the newest patch, as an unsafe fix', async () => {
    const result = await runTransform(transform, 'FROM python:3.9.17-slim\n', { update: true }, { resolver: resolver() });
    expect(result.output).toBe(`FROM python:3.9.18-slim@${slim.digest}\n`);
    expect(result.changes).toEqual([expect.objectContaining({ safety: 'unsafe' })]);
  });
});
