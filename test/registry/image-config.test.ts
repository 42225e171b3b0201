// ImageResolver.imageConfig against a real docker-registry (distribution 2.8)
// on loopback: configs of single manifests (OCI and Docker v2) and of an
// index's images per platform, blob verification, missing blobs, redirects to
// blob storage on another origin (with distribution's token auth, so there are
// credentials to withhold), dedupe, the disk cache, --offline and the
// allowlist. Faults come from a proxy in front of the registry, because
// distribution verifies every blob it stores and serves blobs itself.
import { rmSync } from 'node:fs';
import path from 'node:path';
import { parseImageReference } from '../../src/image/reference.js';
import { createImageResolver, type ImageResolverOptions } from '../../src/registry/index.js';
import { ResolveError } from '../../src/image/resolver.js';
import {
  configBlob,
  deleteBlob,
  imageIndex,
  imageManifest,
  makeTempDir,
  pushImage,
  startFaultProxy,
  startRegistry,
  startTokenServer,
  type FaultProxy,
  type PushableManifest,
  type RegistryHandle,
  type TokenServer,
} from '../helpers/registry-server.js';

const AMD64 = { os: 'linux', architecture: 'amd64' };
const ARM64 = { os: 'linux', architecture: 'arm64', variant: 'v8' };
const ARMV7 = { os: 'linux', architecture: 'arm', variant: 'v7' };
const BASE_NAME = 'org.opencontainers.image.base.name';

const images = {
  oci: imageManifest('config of an OCI image', {
    config: { User: 'app', Env: ['PATH=/usr/local/bin:/usr/bin:/bin', 'JAVA_OPTS=-Xmx1g -Dfoo=bar', 'BROKEN'], Labels: { [BASE_NAME]: 'debian:bookworm-slim' } },
    annotations: { [BASE_NAME]: 'docker.io/library/debian:bookworm-slim', 'org.opencontainers.image.version': '1.2.3' },
  }),
  docker: imageManifest('config of a docker v2 image', { format: 'docker', config: { User: '1001:0' } }),
  index: imageIndex('config per platform', [AMD64, ARM64, ARMV7], {
    config: (platform) => ({ User: platform.architecture === 'amd64' ? '' : `${platform.architecture}-user`, Labels: { [BASE_NAME]: `alpine:3.20 for ${platform.architecture}` } }),
  }),
  dockerList: imageIndex('config of a docker manifest list', [AMD64], { format: 'docker', config: { User: 'listed' } }),
  missingConfig: imageManifest('config that will be deleted'),
  root: imageManifest('config without user'),
};

let registry: RegistryHandle;
let proxy: FaultProxy;
let tempDir: string;

beforeAll(async () => {
  registry = await startRegistry();
  tempDir = makeTempDir('image-config-test');
  await pushImage(registry.url, 'acme/oci', images.oci, ['1']);
  await pushImage(registry.url, 'acme/docker', images.docker, ['1']);
  await pushImage(registry.url, 'acme/multi', images.index, ['1']);
  await pushImage(registry.url, 'acme/list', images.dockerList, ['1']);
  await pushImage(registry.url, 'acme/lost', images.missingConfig, ['1']);
  await deleteBlob(registry.url, 'acme/lost', configBlob(images.missingConfig).digest);
  await pushImage(registry.url, 'acme/root', images.root, ['1']);
  proxy = await startFaultProxy(registry.url);
});

afterAll(async () => {
  await proxy?.stop();
  await registry?.stop();
  if (tempDir) rmSync(tempDir, { recursive: true, force: true });
});

beforeEach(() => {
  proxy.fault = () => undefined;
  proxy.requests.length = 0;
});

function resolver(options: ImageResolverOptions = {}) {
  return createImageResolver({ diskCache: false, dockerConfig: path.join(tempDir, 'absent.json'), retries: 0, timeoutMs: 5000, ...options });
}

const at = (host: string, reference: string) => parseImageReference(`${host}/${reference}`);
const childConfig = (index: PushableManifest, i: number) => configBlob(index.children[i]).digest;

async function failure(promise: Promise<unknown>): Promise<ResolveError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ResolveError);
  return error as ResolveError;
}

describe('configs of single-platform images', () => {
  test('an OCI image: User, Env, Labels, platform, the config digest and the manifest annotations', async () => {
    expect(await resolver().imageConfig(at(registry.host, 'acme/oci:1'))).toEqual({
      digest: configBlob(images.oci).digest,
      platform: { os: 'linux', architecture: 'amd64' },
      user: 'app',
      // An entry without `=` sets nothing; a value keeps its own `=`.
      env: { PATH: '/usr/local/bin:/usr/bin:/bin', JAVA_OPTS: '-Xmx1g -Dfoo=bar' },
      labels: { seed: 'config of an OCI image', [BASE_NAME]: 'debian:bookworm-slim' },
      annotations: { [BASE_NAME]: 'docker.io/library/debian:bookworm-slim', 'org.opencontainers.image.version': '1.2.3' },
    });
  });

  test('a Docker v2 image, and one whose config sets no User (root)', async () => {
    const shared = resolver();
    expect(await shared.imageConfig(at(registry.host, 'acme/docker:1'))).toMatchObject({ digest: configBlob(images.docker).digest, user: '1001:0', env: {}, annotations: {} });
    expect(await shared.imageConfig(at(registry.host, 'acme/root:1'))).toMatchObject({ user: '' });
  });

  test('a reference by digest reads the same config', async () => {
    const config = await resolver().imageConfig(at(registry.host, `acme/oci@${images.oci.digest}`));
    expect(config.digest).toBe(configBlob(images.oci).digest);
  });

  test('a single-platform image is answered whatever platform is asked for, and says which it is', async () => {
    expect((await resolver().imageConfig(at(registry.host, 'acme/oci:1'), 'linux/arm64')).platform).toEqual({ os: 'linux', architecture: 'amd64' });
  });
});

describe('configs of an index', () => {
  test('linux/amd64 by default; another platform on request, arm64 matching its v8 variant', async () => {
    const shared = resolver();
    const multi = at(registry.host, 'acme/multi:1');
    expect(await shared.imageConfig(multi)).toMatchObject({ digest: childConfig(images.index, 0), user: '', platform: AMD64 });
    expect(await shared.imageConfig(multi, 'linux/arm64')).toMatchObject({ digest: childConfig(images.index, 1), user: 'arm64-user', platform: ARM64 });
    expect(await shared.imageConfig(multi, 'linux/arm/v7')).toMatchObject({ digest: childConfig(images.index, 2), labels: expect.objectContaining({ [BASE_NAME]: 'alpine:3.20 for arm' }) });
  });

  test('a Docker manifest list works the same', async () => {
    expect(await resolver().imageConfig(at(registry.host, 'acme/list:1'))).toMatchObject({ digest: childConfig(images.dockerList, 0), user: 'listed' });
  });

  test('a platform the index does not offer is not found, and the message lists what it has', async () => {
    const error = await failure(resolver().imageConfig(at(registry.host, 'acme/multi:1'), 'linux/s390x'));
    expect(error).toMatchObject({ kind: 'not-found', message: 'the image index has no linux/s390x image (it has linux/amd64, linux/arm64/v8, linux/arm/v7)' });
    expect(await failure(resolver().imageConfig(at(registry.host, 'acme/multi:1'), 'linux/arm/v6'))).toMatchObject({ kind: 'not-found' });
  });
});

describe('what the registry sends is checked', () => {
  test('a config blob whose bytes do not match its digest is rejected', async () => {
    const digest = configBlob(images.oci).digest;
    proxy.fault = (request) => (request.path === `/v2/acme/oci/blobs/${digest}` ? { kind: 'respond', status: 200, body: '{"os":"linux","architecture":"amd64","config":{"User":"root"}}' } : undefined);
    const error = await failure(resolver().imageConfig(at(proxy.host, 'acme/oci:1')));
    expect(error).toMatchObject({ kind: 'bad-response', message: `the blob ${proxy.host} sent for ${digest} does not match its digest` });
  });

  test('a config blob the registry does not have is not found', async () => {
    const digest = configBlob(images.missingConfig).digest;
    const error = await failure(resolver().imageConfig(at(registry.host, 'acme/lost:1')));
    expect(error).toMatchObject({ kind: 'not-found', message: `404 blob ${digest} not found` });
  });

  test('a missing tag is reported like any lookup', async () => {
    expect(await failure(resolver().imageConfig(at(registry.host, 'acme/oci:2')))).toMatchObject({ kind: 'not-found', message: '404 tag not found' });
  });

  test('a platform that is not os/architecture is a programming error, not a registry answer', async () => {
    await expect(resolver().imageConfig(at(registry.host, 'acme/oci:1'), 'amd64')).rejects.toThrow(RangeError);
  });
});

describe('one question per run, the disk cache, offline and the allowlist', () => {
  test('the same config asked many times at once is fetched once', async () => {
    const shared = resolver();
    const image = at(proxy.host, 'acme/multi:1');
    const answers = await Promise.all(Array.from({ length: 6 }, () => shared.imageConfig(image)));
    expect(new Set(answers.map((answer) => answer.digest)).size).toBe(1);
    const blobGets = proxy.requests.filter((request) => request.path.includes('/blobs/'));
    expect(blobGets).toHaveLength(1);
    // HEAD for the tag, GET for the index, GET for the amd64 image, GET for the config.
    expect(proxy.requests).toHaveLength(4);
  });

  test('a second run answers from the disk cache; --offline answers from it however old; an empty cache offline says so', async () => {
    const cacheDir = path.join(tempDir, 'cache-roundtrip');
    const image = at(proxy.host, 'acme/oci:1');
    const first = await resolver({ cacheDir, diskCache: true }).imageConfig(image);
    expect(proxy.requests.length).toBeGreaterThan(0);
    proxy.requests.length = 0;
    expect(await resolver({ cacheDir, diskCache: true }).imageConfig(image)).toEqual(first);
    expect(proxy.requests).toEqual([]);
    expect(await resolver({ cacheDir, diskCache: true, offline: true, cacheTtlMs: 0 }).imageConfig(image)).toEqual(first);
    expect(proxy.requests).toEqual([]);
    const missing = await failure(resolver({ cacheDir, diskCache: true, offline: true }).imageConfig(at(proxy.host, 'acme/docker:1')));
    expect(missing.kind).toBe('offline');
    expect(proxy.requests).toEqual([]);
  });

  test('when the tag expires it is asked again, but the config of an unchanged digest is not', async () => {
    const cacheDir = path.join(tempDir, 'cache-expiry');
    const image = at(proxy.host, 'acme/docker:1');
    await resolver({ cacheDir, diskCache: true }).imageConfig(image);
    proxy.requests.length = 0;
    await resolver({ cacheDir, diskCache: true, cacheTtlMs: 0 }).imageConfig(image);
    expect(proxy.requests.map((request) => request.method)).toEqual(['HEAD']);
  });

  test('a registry outside the allowlist is never contacted', async () => {
    const error = await failure(resolver({ allowRegistries: ['ghcr.io'] }).imageConfig(at(proxy.host, 'acme/oci:1')));
    expect(error.kind).toBe('not-allowed');
    expect(proxy.requests).toEqual([]);
  });
});

describe('blobs redirected to storage on another origin', () => {
  let tokens: TokenServer;
  let secured: RegistryHandle;
  let securedProxy: FaultProxy;

  beforeAll(async () => {
    tokens = await startTokenServer({ users: {} });
    secured = await startRegistry({ auth: tokens });
    await pushImage(secured.url, 'acme/oci', images.oci, ['1'], tokens.mint([{ name: 'acme/oci', actions: ['pull', 'push'] }]));
    securedProxy = await startFaultProxy(secured.url);
  });

  afterAll(async () => {
    await securedProxy?.stop();
    await secured?.stop();
    await tokens?.stop();
  });

  test('the redirect is followed, and the registry token is not sent to the storage host', async () => {
    // The "storage" is the open registry's proxy: another origin that serves the same blob without credentials.
    securedProxy.fault = (request) => (request.path.includes('/blobs/') ? { kind: 'respond', status: 307, headers: { location: `${proxy.url}${request.path}` } } : undefined);
    const config = await resolver().imageConfig(at(securedProxy.host, 'acme/oci:1'));
    expect(config.digest).toBe(configBlob(images.oci).digest);
    const askedRegistry = securedProxy.requests.filter((request) => request.path.includes('/blobs/'));
    expect(askedRegistry).toHaveLength(1);
    expect(askedRegistry[0].authorization).toMatch(/^Bearer /);
    expect(proxy.requests).toEqual([{ method: 'GET', path: `/v2/acme/oci/blobs/${config.digest}`, authorization: undefined }]);
  });
});
