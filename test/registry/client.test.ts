// The registry client against a real docker-registry (distribution 2.8) on
// loopback: manifests of all four media types, tag lists, pagination, errors,
// retries, timeouts, concurrency, dedupe and the disk cache. Faults and Link
// pagination come from a proxy in front of the registry, because distribution
// never sends 429s and ignores ?n= on tags/list.
import { rmSync } from 'node:fs';
import path from 'node:path';
import { parseImageReference } from '../../src/image/reference.js';
import { createImageResolver, RegistryClient, type ImageResolverOptions } from '../../src/registry/index.js';
import { dockerConfigCredentials } from '../../src/registry/credentials.js';
import { MEDIA_TYPES, ResolveError } from '../../src/image/resolver.js';
import {
  freePort,
  imageIndex,
  imageManifest,
  makeTempDir,
  pushImage,
  startFaultProxy,
  startRegistry,
  type FaultProxy,
  type RegistryHandle,
} from '../helpers/registry-server.js';

const AMD64 = { os: 'linux', architecture: 'amd64' };
const ARM64 = { os: 'linux', architecture: 'arm64', variant: 'v8' };

const images = {
  slim3918: imageIndex('python 3.9.18-slim', [AMD64, ARM64]),
  slim3917: imageIndex('python 3.9.17-slim', [AMD64]),
  slim31013: imageIndex('python 3.10.13-slim', [AMD64, ARM64]),
  ociManifest: imageManifest('a plain OCI manifest'),
  dockerManifest: imageManifest('a docker v2 manifest', { format: 'docker' }),
  dockerList: imageIndex('a docker manifest list', [AMD64, ARM64], { format: 'docker' }),
};
const PYTHON_TAGS = ['3.9-slim', '3.9.18-slim', '3.9.18-slim-bookworm', '3.9.17-slim', '3.10-slim', '3.10.13-slim', '3-slim', 'slim'];

let registry: RegistryHandle;
let proxy: FaultProxy;
let tempDir: string;
const NO_DOCKER_CONFIG = () => path.join(tempDir, 'no-docker-config.json');

beforeAll(async () => {
  registry = await startRegistry();
  tempDir = makeTempDir('client-test');
  await pushImage(registry.url, 'library/python', images.slim3918, ['3.9-slim', '3.9.18-slim', '3.9.18-slim-bookworm']);
  await pushImage(registry.url, 'library/python', images.slim3917, ['3.9.17-slim']);
  await pushImage(registry.url, 'library/python', images.slim31013, ['3.10-slim', '3.10.13-slim', '3-slim', 'slim']);
  await pushImage(registry.url, 'fixtures/oci-manifest', images.ociManifest, ['1']);
  await pushImage(registry.url, 'fixtures/docker-v2', images.dockerManifest, ['1']);
  await pushImage(registry.url, 'fixtures/docker-list', images.dockerList, ['1']);
  proxy = await startFaultProxy(registry.url);
});

afterAll(async () => {
  await proxy?.stop();
  await registry?.stop();
  if (tempDir) rmSync(tempDir, { recursive: true, force: true });
});

beforeEach(() => {
  proxy.fault = () => undefined;
  proxy.tagPageSize = undefined;
  proxy.requests.length = 0;
  proxy.maxInFlight = 0;
});

function resolver(options: ImageResolverOptions = {}) {
  return createImageResolver({ diskCache: false, dockerConfig: NO_DOCKER_CONFIG(), retries: 0, retryBaseDelayMs: 10, timeoutMs: 5000, ...options });
}

const at = (host: string, reference: string) => parseImageReference(`${host}/${reference}`);

async function failure(promise: Promise<unknown>): Promise<ResolveError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ResolveError);
  return error as ResolveError;
}

describe('manifests', () => {
  test.each([
    ['an OCI index', 'library/python:3.9-slim', () => images.slim3918],
    ['an OCI manifest', 'fixtures/oci-manifest:1', () => images.ociManifest],
    ['a docker v2 manifest', 'fixtures/docker-v2:1', () => images.dockerManifest],
    ['a docker manifest list', 'fixtures/docker-list:1', () => images.dockerList],
  ])('HEAD of %s gives the digest of the stored bytes and its media type', async (_, reference, image) => {
    const summary = await resolver().lookup(at(registry.host, reference));
    expect(summary).toEqual({ digest: image().digest, mediaType: image().mediaType });
  });

  test('GET returns the same digest, computed from the body', async () => {
    const client = new RegistryClient({ credentials: dockerConfigCredentials({ configPath: NO_DOCKER_CONFIG() }) });
    for (const [repository, image] of [
      ['library/python', images.slim3918],
      ['fixtures/docker-v2', images.dockerManifest],
    ] as const) {
      const reference = repository === 'library/python' ? '3.9.18-slim' : '1';
      const fetched = await client.getManifest(registry.host, repository, reference);
      expect(fetched.summary).toEqual({ digest: image.digest, mediaType: image.mediaType });
    }
  });

  test('tags that share an image share its digest', async () => {
    const lookups = await Promise.all(['3.9-slim', '3.9.18-slim', '3.9.18-slim-bookworm', '3.9.17-slim'].map((tag) => resolver().lookup(at(registry.host, `library/python:${tag}`))));
    expect(lookups.map((summary) => summary.digest)).toEqual([images.slim3918.digest, images.slim3918.digest, images.slim3918.digest, images.slim3917.digest]);
  });

  test('a lookup by digest verifies that the digest exists', async () => {
    const summary = await resolver().lookup(at(registry.host, `library/python@${images.slim3917.digest}`));
    expect(summary.digest).toBe(images.slim3917.digest);
    const missing = `sha256:${'0'.repeat(64)}`;
    const error = await failure(resolver().lookup(at(registry.host, `library/python@${missing}`)));
    expect(error).toMatchObject({ kind: 'not-found', message: '404 digest not found' });
  });

  test('platforms of an index and of a manifest list; none for a single manifest', async () => {
    const python = at(registry.host, 'library/python');
    expect(await resolver().platforms(python, images.slim3918.digest)).toEqual([AMD64, ARM64]);
    expect(await resolver().platforms(at(registry.host, 'fixtures/docker-list'), images.dockerList.digest)).toEqual([AMD64, ARM64]);
    expect(await resolver().platforms(at(registry.host, 'fixtures/oci-manifest'), images.ociManifest.digest)).toBeUndefined();
  });

  test('an unknown tag is a 404 per tag; an unknown repository too', async () => {
    expect(await failure(resolver().lookup(at(registry.host, 'library/python:2.7-slim')))).toMatchObject({ kind: 'not-found', message: '404 tag not found' });
    expect(await failure(resolver().lookup(at(registry.host, 'library/nothing:1')))).toMatchObject({ kind: 'not-found', message: '404 tag not found' });
    expect(await failure(resolver().listTags(at(registry.host, 'library/nothing')))).toMatchObject({ kind: 'not-found', message: '404 repository not found' });
  });

  test('Docker Hub names resolve through a mirror endpoint as library/<name>', async () => {
    const viaMirror = resolver({ endpoints: { 'docker.io': registry.url } });
    expect((await viaMirror.lookup(parseImageReference('python:3.9-slim'))).digest).toBe(images.slim3918.digest);
    expect([...(await viaMirror.listTags(parseImageReference('python')))].sort()).toEqual([...PYTHON_TAGS].sort());
  });
});

describe('tag lists', () => {
  test('every tag of the repository', async () => {
    const tags = await resolver().listTags(at(registry.host, 'library/python'));
    expect([...tags].sort()).toEqual([...PYTHON_TAGS].sort());
  });

  test('Link pagination is followed to the last page', async () => {
    proxy.tagPageSize = 3;
    const tags = await resolver().listTags(at(proxy.host, 'library/python'));
    expect([...tags].sort()).toEqual([...PYTHON_TAGS].sort());
    const pages = proxy.requests.filter((request) => request.path.includes('/tags/list'));
    expect(pages).toHaveLength(Math.ceil(PYTHON_TAGS.length / 3));
    expect(pages[1].path).toMatch(/[?&]last=/);
  });

  test('a pagination loop is an error, not a hang', async () => {
    proxy.fault = (request) =>
      request.path.includes('/tags/list')
        ? { kind: 'respond', status: 200, headers: { 'content-type': 'application/json', link: '</v2/library/python/tags/list?last=a>; rel="next"' }, body: '{"tags":["a"]}' }
        : undefined;
    expect(await failure(resolver().listTags(at(proxy.host, 'library/python')))).toMatchObject({ kind: 'bad-response', message: expect.stringContaining('in a loop') });
  });

  test('pagination to another host is refused', async () => {
    proxy.fault = (request) =>
      request.path.includes('/tags/list')
        ? { kind: 'respond', status: 200, headers: { 'content-type': 'application/json', link: '<http://127.0.0.9:1/v2/x/tags/list?last=a>; rel="next"' }, body: '{"tags":["a"]}' }
        : undefined;
    expect(await failure(resolver().listTags(at(proxy.host, 'library/python')))).toMatchObject({ message: expect.stringContaining('to another host') });
  });

  test('malformed JSON is reported as such', async () => {
    proxy.fault = (request) => (request.path.includes('/tags/list') ? { kind: 'respond', status: 200, headers: { 'content-type': 'application/json' }, body: '{"tags": [' } : undefined);
    expect(await failure(resolver().listTags(at(proxy.host, 'library/python')))).toMatchObject({
      kind: 'bad-response',
      message: `malformed JSON in the tag list of library/python from ${proxy.host}`,
    });
  });
});

describe('faults', () => {
  test('429 with Retry-After is waited out and retried', async () => {
    let refused = 0;
    proxy.fault = () => (refused++ === 0 ? { kind: 'respond', status: 429, headers: { 'retry-after': '1' } } : undefined);
    const started = Date.now();
    const summary = await resolver({ retries: 2 }).lookup(at(proxy.host, 'library/python:3.9-slim'));
    expect(summary.digest).toBe(images.slim3918.digest);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(proxy.requests.filter((request) => request.method === 'HEAD')).toHaveLength(2);
  });

  test('5xx answers are retried with backoff', async () => {
    let failures = 0;
    proxy.fault = () => (failures++ < 2 ? { kind: 'respond', status: 503 } : undefined);
    expect((await resolver({ retries: 3 }).lookup(at(proxy.host, 'library/python:3.9-slim'))).digest).toBe(images.slim3918.digest);
    // Two failed HEADs, the HEAD that worked, and the GET that checks the digest it announced.
    expect(proxy.requests.map((request) => request.method)).toEqual(['HEAD', 'HEAD', 'HEAD', 'GET']);
  });

  test('when the retries run out, the last failure is reported', async () => {
    proxy.fault = () => ({ kind: 'respond', status: 429, headers: { 'retry-after': '0' } });
    expect(await failure(resolver({ retries: 2 }).lookup(at(proxy.host, 'library/python:3.9-slim')))).toMatchObject({ kind: 'rate-limited', message: `429 too many requests to ${proxy.host}` });
    expect(proxy.requests).toHaveLength(3);
  });

  test('a Retry-After longer than the longest wait gives up at once', async () => {
    proxy.fault = () => ({ kind: 'respond', status: 429, headers: { 'retry-after': '3600' } });
    const started = Date.now();
    expect(await failure(resolver({ retries: 3, maxRetryDelayMs: 2000 }).lookup(at(proxy.host, 'library/python:3.9-slim')))).toMatchObject({ kind: 'rate-limited' });
    expect(Date.now() - started).toBeLessThan(1000);
    expect(proxy.requests).toHaveLength(1);
  });

  test('a registry that does not answer in time times out', async () => {
    proxy.fault = () => ({ kind: 'delay', ms: 2000 });
    const error = await failure(resolver({ timeoutMs: 300 }).lookup(at(proxy.host, 'library/python:3.9-slim')));
    expect(error).toMatchObject({ kind: 'timeout', message: `${proxy.host} did not answer within 300 ms` });
  });

  test('a timeout is retried', async () => {
    let delayed = 0;
    proxy.fault = () => (delayed++ === 0 ? { kind: 'delay', ms: 2000 } : undefined);
    expect((await resolver({ timeoutMs: 300, retries: 1 }).lookup(at(proxy.host, 'library/python:3.9-slim'))).digest).toBe(images.slim3918.digest);
  });

  test('a dropped connection is retried, and reported as unreachable when it persists', async () => {
    proxy.fault = () => ({ kind: 'hang-up' });
    expect(await failure(resolver({ retries: 1 }).lookup(at(proxy.host, 'library/python:3.9-slim')))).toMatchObject({ kind: 'unreachable' });
    expect(proxy.requests).toHaveLength(2);
  });

  test('nothing listening is unreachable', async () => {
    const port = await freePort();
    expect(await failure(resolver().lookup(at(`127.0.0.1:${port}`, 'library/python:3.9-slim')))).toMatchObject({
      kind: 'unreachable',
      message: `cannot reach 127.0.0.1:${port}: ECONNREFUSED`,
    });
  });

  test('a manifest body that is not JSON is a bad response', async () => {
    proxy.fault = (request) => (request.method === 'GET' && request.path.includes('/manifests/') ? { kind: 'respond', status: 200, headers: { 'content-type': MEDIA_TYPES.ociIndex }, body: 'not json' } : undefined);
    const client = new RegistryClient({ credentials: dockerConfigCredentials({ configPath: NO_DOCKER_CONFIG() }), retries: 0 });
    await expect(client.getManifest(proxy.host, 'library/python', '3.9-slim')).rejects.toMatchObject({ kind: 'bad-response', message: expect.stringContaining('malformed JSON in the manifest') });
  });

  test('a HEAD without Docker-Content-Digest falls back to GET and hashes the body', async () => {
    proxy.fault = (request) => (request.method === 'HEAD' ? { kind: 'respond', status: 200, headers: { 'content-type': MEDIA_TYPES.ociIndex } } : undefined);
    expect(await resolver().lookup(at(proxy.host, 'library/python:3.9-slim'))).toEqual({ digest: images.slim3918.digest, mediaType: MEDIA_TYPES.ociIndex });
    expect(proxy.requests.map((request) => request.method)).toEqual(['HEAD', 'GET']);
  });
});

describe('one lookup per question, a few at a time', () => {
  test('the same reference asked many times at once is fetched once', async () => {
    const shared = resolver();
    const answers = await Promise.all(Array.from({ length: 8 }, () => shared.lookup(at(proxy.host, 'library/python:3.9-slim'))));
    expect(new Set(answers.map((answer) => answer.digest))).toEqual(new Set([images.slim3918.digest]));
    // One HEAD, and one GET whose bytes prove the digest the HEAD announced.
    expect(proxy.requests.map((request) => request.method)).toEqual(['HEAD', 'GET']);
  });

  test('a tag lookup vouches for its digest: verifying the pinned reference afterwards asks nothing', async () => {
    const shared = resolver();
    const summary = await shared.lookup(at(proxy.host, 'library/python:3.9-slim'));
    expect(await shared.lookup(at(proxy.host, `library/python:3.9.18-slim@${summary.digest}`))).toEqual(summary);
    expect(proxy.requests.map((request) => request.method)).toEqual(['HEAD', 'GET']);
  });

  test('a failure is remembered for the run as well', async () => {
    const shared = resolver();
    await failure(shared.lookup(at(proxy.host, 'library/python:2.7')));
    await failure(shared.lookup(at(proxy.host, 'library/python:2.7')));
    expect(proxy.requests).toHaveLength(1);
  });

  test('at most maxConcurrentPerRegistry requests are in flight', async () => {
    proxy.fault = () => ({ kind: 'delay', ms: 100 });
    const shared = resolver({ maxConcurrentPerRegistry: 2 });
    await Promise.all(PYTHON_TAGS.map((tag) => shared.lookup(at(proxy.host, `library/python:${tag}`))));
    // A HEAD per tag; a GET per distinct digest (three images), shared by the tags that name it.
    expect(proxy.requests.filter((request) => request.method === 'HEAD')).toHaveLength(PYTHON_TAGS.length);
    expect(proxy.requests.filter((request) => request.method === 'GET')).toHaveLength(3);
    expect(proxy.maxInFlight).toBe(2);
  });
});

describe('disk cache, offline and allowlist', () => {
  test('a second run answers from the disk cache without asking', async () => {
    const cacheDir = makeTempDir('cache');
    try {
      const python = at(proxy.host, 'library/python:3.9-slim');
      const first = await resolver({ diskCache: true, cacheDir }).lookup(python);
      const tags = await resolver({ diskCache: true, cacheDir }).listTags(python);
      const asked = proxy.requests.length;
      expect(await resolver({ diskCache: true, cacheDir }).lookup(python)).toEqual(first);
      expect(await resolver({ diskCache: true, cacheDir }).listTags(python)).toEqual(tags);
      expect(proxy.requests).toHaveLength(asked);
    } finally {
      rmSync(cacheDir, { recursive: true, force: true });
    }
  });

  test('an expired entry is asked again', async () => {
    const cacheDir = makeTempDir('cache');
    try {
      const python = at(proxy.host, 'library/python:3.9-slim');
      await resolver({ diskCache: true, cacheDir, cacheTtlMs: 0 }).lookup(python);
      await new Promise((resolve) => setTimeout(resolve, 5));
      await resolver({ diskCache: true, cacheDir, cacheTtlMs: 0 }).lookup(python);
      // The tag is asked again; its digest was checked by the first run (the check is kept for good).
      expect(proxy.requests.map((request) => request.method)).toEqual(['HEAD', 'GET', 'HEAD']);
    } finally {
      rmSync(cacheDir, { recursive: true, force: true });
    }
  });

  test('offline answers from the cache however old, and says so on a miss', async () => {
    const cacheDir = makeTempDir('cache');
    try {
      const python = at(proxy.host, 'library/python:3.9-slim');
      await resolver({ diskCache: true, cacheDir }).lookup(python);
      const asked = proxy.requests.length;
      const offline = resolver({ diskCache: true, cacheDir, offline: true, cacheTtlMs: 0 });
      expect((await offline.lookup(python)).digest).toBe(images.slim3918.digest);
      expect(await failure(offline.lookup(at(proxy.host, 'library/python:3.10-slim')))).toMatchObject({ kind: 'offline', message: 'not in the registry cache (offline)' });
      expect(proxy.requests).toHaveLength(asked);
    } finally {
      rmSync(cacheDir, { recursive: true, force: true });
    }
  });

  test('a registry outside the allowlist is never contacted', async () => {
    const narrowed = resolver({ allowRegistries: ['ghcr.io', 'docker.io'] });
    expect(await failure(narrowed.lookup(at(proxy.host, 'library/python:3.9-slim')))).toMatchObject({
      kind: 'not-allowed',
      message: `${proxy.host} is not an allowed registry (--registry-allow ghcr.io,docker.io)`,
    });
    expect(proxy.requests).toHaveLength(0);
    expect((await resolver({ allowRegistries: [proxy.host] }).lookup(at(proxy.host, 'library/python:3.9-slim'))).digest).toBe(images.slim3918.digest);
    expect((await resolver({ allowRegistries: ['127.0.0.1'] }).lookup(at(proxy.host, 'library/python:3.9-slim'))).digest).toBe(images.slim3918.digest);
  });
});
