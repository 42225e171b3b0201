// Registries that lie, redirect, stream without end or send dockopt elsewhere
// (issue 16, items 4-8): small local HTTP servers play the hostile part, the
// real docker-registry (behind the fault proxy) the honest one.
import { chmodSync, chownSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { parseImageReference } from '../../src/image/reference.js';
import { MEDIA_TYPES, ResolveError } from '../../src/image/resolver.js';
import { createImageResolver, UnsafeCacheDirectoryError, type ImageResolverOptions } from '../../src/registry/index.js';
import { realmMayReceiveCredentials, sameSite } from '../../src/registry/auth.js';
import { fixText } from '../../src/index.js';
import { imageIndex, makeTempDir, pushImage, startFaultProxy, startRegistry, type FaultProxy, type RegistryHandle } from '../helpers/registry-server.js';
import { rejection } from '../helpers/errors.js';

const python = imageIndex('python for hostile tests', [{ os: 'linux', architecture: 'amd64' }]);

let registry: RegistryHandle;
let proxy: FaultProxy;
let dir: string;

beforeAll(async () => {
  dir = makeTempDir('hostile');
  registry = await startRegistry();
  await pushImage(registry.url, 'library/python', python, ['3.12-slim', '3.12.4-slim']);
  proxy = await startFaultProxy(registry.url);
});

afterAll(async () => {
  await proxy?.stop();
  await registry?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  proxy.fault = () => undefined;
  proxy.requests.length = 0;
});

function resolver(options: ImageResolverOptions = {}) {
  return createImageResolver({ diskCache: false, dockerConfig: path.join(dir, 'absent.json'), retries: 0, timeoutMs: 5000, ...options });
}

async function failure(promise: Promise<unknown>): Promise<ResolveError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ResolveError);
  return error as ResolveError;
}

const at = (host: string, reference: string) => parseImageReference(`${host}/${reference}`);

/** A server on a loopback address that records who reached it and answers with `handle`. */
async function server(address: string, handle: (request: http.IncomingMessage, response: http.ServerResponse) => void) {
  const seen: string[] = [];
  const instance = http.createServer((request, response) => {
    seen.push(`${request.method} ${request.url}`);
    handle(request, response);
  });
  await new Promise<void>((resolve) => instance.listen(0, address, resolve));
  const host = `${address}:${(instance.address() as AddressInfo).port}`;
  return {
    host,
    seen,
    stop: () =>
      new Promise<void>((resolve) => {
        instance.closeAllConnections();
        instance.close(() => resolve());
      }),
  };
}

describe('4. the allowlist covers every host contacted', () => {
  test('a token realm on another host is not contacted under --registry-allow; without it, it is (anonymously)', async () => {
    const realm = await server('127.0.0.2', (_request, response) => response.writeHead(200, { 'content-type': 'application/json' }).end('{"token":"t"}'));
    const challenger = await server('127.0.0.1', (_request, response) => response.writeHead(401, { 'www-authenticate': `Bearer realm="http://${realm.host}/token",service="x"` }).end());
    try {
      const error = await failure(resolver({ allowRegistries: [challenger.host] }).lookup(at(challenger.host, 'library/python:3.12-slim')));
      expect(error.message).toBe(`refused to contact the token server ${realm.host}: not an allowed registry (--registry-allow ${challenger.host})`);
      expect(realm.seen).toEqual([]);
      await failure(resolver().lookup(at(challenger.host, 'library/python:3.12-slim')));
      expect(realm.seen.length).toBeGreaterThan(0);
    } finally {
      await realm.stop();
      await challenger.stop();
    }
  });

  test('a manifest answered with a redirect to another host: that host is not contacted, nothing is pinned', async () => {
    const other = await server('127.0.0.3', (_request, response) => response.writeHead(200, { 'docker-content-digest': python.digest, 'content-type': python.mediaType }).end(python.bytes));
    proxy.fault = (request) => (request.path.includes('/manifests/') ? { kind: 'respond', status: 307, headers: { location: `http://${other.host}${request.path}` } } : undefined);
    try {
      const error = await failure(resolver({ allowRegistries: [proxy.host] }).lookup(at(proxy.host, 'library/python:3.12-slim')));
      expect(error.message).toBe(`refused to contact ${other.host}: not an allowed registry (--registry-allow ${proxy.host})`);
      expect(other.seen).toEqual([]);
      // Allowed too, the redirect is followed.
      expect((await resolver({ allowRegistries: [proxy.host, other.host] }).lookup(at(proxy.host, 'library/python:3.12-slim'))).digest).toBe(python.digest);
    } finally {
      await other.stop();
    }
  });

  test('a mirror must be on the allowlist too', async () => {
    const narrowed = resolver({ allowRegistries: ['docker.io'], endpoints: { 'docker.io': proxy.url } });
    const error = await failure(narrowed.lookup(parseImageReference('python:3.12-slim')));
    expect(error.message).toBe(`refused to contact ${proxy.host}: not an allowed registry (--registry-allow docker.io)`);
    expect(proxy.requests).toEqual([]);
    expect((await resolver({ allowRegistries: ['docker.io', proxy.host], endpoints: { 'docker.io': proxy.url } }).lookup(parseImageReference('python:3.12-slim'))).digest).toBe(python.digest);
  });

  test('"same site" is the Public Suffix List\'s registrable domain, private suffixes included; IPs match only themselves', () => {
    const https = (host: string) => new URL(`https://${host}/token`);
    expect(realmMayReceiveCredentials('acme.co.uk', https('evil.co.uk'))).toBe(false);
    expect(realmMayReceiveCredentials('registry.acme.co.uk', https('auth.acme.co.uk'))).toBe(true);
    expect(realmMayReceiveCredentials('acme.co.uk', https('auth.acme.co.uk'))).toBe(true);
    expect(realmMayReceiveCredentials('team.github.io', https('evil.github.io'))).toBe(false);
    expect(realmMayReceiveCredentials('registry-1.docker.io', https('auth.docker.io'))).toBe(true);
    expect(sameSite('127.0.0.1', '127.0.0.2')).toBe(false);
    expect(sameSite('localhost', 'localhost')).toBe(true);
  });
});

describe('5. answers are counted while they stream', () => {
  test('a chunked tag list without end is cut at the cap: one error, and the process does not grow', async () => {
    let sent = 0;
    let stopped = false;
    const chunk = Buffer.alloc(1024 * 1024, 'a');
    const endless = await server('127.0.0.1', (request, response) => {
      if (!request.url?.includes('/tags/list')) {
        response.writeHead(404, { 'content-type': 'application/json' }).end('{"errors":[{"code":"MANIFEST_UNKNOWN"}]}');
        return;
      }
      // No Content-Length: chunked, up to 2 GiB unless the client hangs up.
      response.writeHead(200, { 'content-type': 'application/json' });
      response.write('{"tags":["');
      const pump = () => {
        while (!stopped && sent < 2 * 1024 ** 3) {
          sent += chunk.length;
          if (!response.write(chunk)) return void response.once('drain', pump);
        }
        response.end();
      };
      response.once('close', () => (stopped = true));
      pump();
    });
    try {
      const before = process.memoryUsage().rss;
      const error = await failure(resolver({ timeoutMs: 60_000 }).listTags(at(endless.host, 'library/python')));
      expect(error.message).toBe(`${endless.host} sent more than 33554432 bytes for /v2/library/python/tags/list, more than a registry answer can be (33554432 bytes)`);
      // Cut off near the cap (what sat in socket buffers aside), far from the 2 GiB on offer.
      expect(sent).toBeLessThan(128 * 1024 * 1024);
      expect(process.memoryUsage().rss - before).toBeLessThan(512 * 1024 * 1024);
    } finally {
      await endless.stop();
    }
  });

  test('a Content-Length over the cap is refused before the body is read', async () => {
    proxy.fault = (request) => (request.path.includes('/tags/list') ? { kind: 'respond', status: 200, headers: { 'content-length': String(64 * 1024 * 1024) }, body: '' } : undefined);
    const error = await failure(resolver().listTags(at(proxy.host, 'library/python')));
    expect(error.message).toContain(`sent ${64 * 1024 * 1024} bytes for /v2/library/python/tags/list`);
  });

  test('in a run, the file asking that registry gets the error; the other files still go through', async () => {
    const chunk = Buffer.alloc(1024 * 1024, 'b');
    const endless = await server('127.0.0.1', (request, response) => {
      if (request.url?.includes('/manifests/')) {
        // An honest manifest, so that pin-base goes on to list the tags.
        response.writeHead(200, { 'docker-content-digest': python.digest, 'content-type': python.mediaType, 'content-length': String(python.bytes.length) }).end(request.method === 'HEAD' ? undefined : python.bytes);
        return;
      }
      response.writeHead(200, { 'content-type': 'application/json' });
      const pump = () => {
        while (response.write(chunk));
        response.once('drain', pump);
      };
      response.once('close', () => response.removeAllListeners('drain'));
      pump();
    });
    try {
      const cacheDir = makeTempDir('hostile-cache');
      const options = { only: ['pin-base'], cacheDir, env: { DOCKER_CONFIG: dir } };
      const hostile = await fixText(`FROM ${endless.host}/library/python:3.12-slim\n`, options);
      expect(hostile.errors).toEqual([expect.objectContaining({ code: 'TRANSFORM_ERROR', transform: 'pin-base', message: expect.stringContaining('more than a registry answer can be') })]);
      const honest = await fixText(`FROM ${proxy.host}/library/python:3.12-slim\n`, options);
      expect(honest.output).toBe(`FROM ${proxy.host}/library/python:3.12.4-slim@${python.digest}\n`);
    } finally {
      await endless.stop();
    }
  });
});

describe('6. a HEAD\'s digest is believed only once the bytes hash to it', () => {
  const fake = `sha256:${'f'.repeat(64)}`;

  test('a HEAD that names another digest than the manifest it serves is an error, and nothing is pinned', async () => {
    proxy.fault = (request) => (request.method === 'HEAD' ? { kind: 'respond', status: 200, headers: { 'docker-content-digest': fake, 'content-type': MEDIA_TYPES.ociIndex } } : undefined);
    const error = await failure(resolver().lookup(at(proxy.host, 'library/python:3.12-slim')));
    expect(error).toMatchObject({ kind: 'bad-response', message: `the registry announced ${fake} for 3.12-slim, but the manifest it sends for 3.12-slim hashes to ${python.digest}; nothing is pinned` });
    const result = await fixText(`FROM ${proxy.host}/library/python:3.12-slim\n`, { only: ['pin-base'], pin: 'digest', cacheDir: makeTempDir('hostile-cache'), env: { DOCKER_CONFIG: dir } });
    expect(result.output).toBe(`FROM ${proxy.host}/library/python:3.12-slim\n`);
    expect(result.errors[0].message).toContain('hashes to');
  });

  test('the check is cached: a tag whose digest was proven costs one HEAD next time', async () => {
    const cacheDir = makeTempDir('hostile-cache');
    await resolver({ diskCache: true, cacheDir, cacheTtlMs: 0 }).lookup(at(proxy.host, 'library/python:3.12-slim'));
    expect(proxy.requests.map((request) => request.method)).toEqual(['HEAD', 'GET']);
    proxy.requests.length = 0;
    await resolver({ diskCache: true, cacheDir, cacheTtlMs: 0 }).lookup(at(proxy.host, 'library/python:3.12.4-slim'));
    expect(proxy.requests.map((request) => request.method)).toEqual(['HEAD']);
  });
});

describe('8. a cache directory someone else could write is refused', () => {
  test('writable by others', async () => {
    const cacheDir = makeTempDir('shared-cache');
    chmodSync(cacheDir, 0o777);
    expect(() => resolver({ diskCache: true, cacheDir })).toThrow(UnsafeCacheDirectoryError);
    expect(() => resolver({ diskCache: true, cacheDir })).toThrow(`the cache directory ${cacheDir} may be written by others (mode 777): they could choose the digests dockopt pins; chmod go-w it, or choose another with --cache-dir`);
    // Through the API, a clear option error before anything runs.
    const error = await rejection(fixText('FROM python:3.12\n', { only: ['pin-base'], cacheDir }));
    expect(error).toMatchObject({ code: 'INVALID_OPTIONS', message: expect.stringContaining('may be written by others') });
    // Its registry directory, and a symlink to a shared one, are judged the same way.
    chmodSync(cacheDir, 0o700);
    mkdirSync(path.join(cacheDir, 'registry'), { mode: 0o777 });
    chmodSync(path.join(cacheDir, 'registry'), 0o777);
    expect(() => resolver({ diskCache: true, cacheDir })).toThrow('may be written by others');
    const link = path.join(makeTempDir('cache-link'), 'dockopt');
    symlinkSync(path.join(cacheDir, 'registry'), link);
    expect(() => resolver({ diskCache: true, cacheDir: link })).toThrow('may be written by others');
  });

  test('owned by another user', () => {
    if (process.getuid?.() !== 0) return; // only root can hand a directory to another user
    const cacheDir = makeTempDir('foreign-cache');
    chownSync(cacheDir, 4242, 4242);
    expect(() => resolver({ diskCache: true, cacheDir })).toThrow(`the cache directory ${cacheDir} belongs to uid 4242, not to you (uid 0)`);
  });

  test('one that appears during the run is checked before it is read or written', async () => {
    const root = makeTempDir('late-cache');
    const cacheDir = path.join(root, 'dockopt');
    const late = resolver({ diskCache: true, cacheDir });
    mkdirSync(cacheDir, { mode: 0o777 });
    chmodSync(cacheDir, 0o777);
    const error = await failure(late.lookup(at(proxy.host, 'library/python:3.12-slim')));
    expect(error.message).toContain('may be written by others');
  });
});
