// pin-base end to end, and non-root reading image configs through pin-base's
// resolver: the real bin against a real docker-registry on loopback.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { imageIndex, imageManifest, pushImage, startRegistry, type RegistryHandle } from './helpers/registry-server.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin', 'dockopt');
const AMD64 = { os: 'linux', architecture: 'amd64' };
const debianBased = imageManifest('acme base, built FROM debian', { config: { Labels: { 'org.opencontainers.image.base.name': 'debian:bookworm-slim' } } });
const nonRootBased = imageIndex('acme runtime that runs as 1001', [AMD64], { config: { User: '1001' } });

let registry: RegistryHandle;
let host: string;
let dir: string;

function dockopt(args: string[]) {
  const result = spawnSync(process.execPath, [bin, ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', HOME: dir, XDG_CACHE_HOME: path.join(dir, 'cache'), DOCKER_CONFIG: path.join(dir, 'docker') } });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

beforeAll(async () => {
  registry = await startRegistry();
  host = new URL(registry.url).host;
  await pushImage(registry.url, 'library/python', imageIndex('python 3.12.4-slim', [AMD64]), ['3.12-slim', '3.12.4-slim', '3.12.4-slim-bookworm']);
  await pushImage(registry.url, 'library/python', imageIndex('python 3.12.3-slim', [AMD64]), ['3.12.3-slim']);
  await pushImage(registry.url, 'acme/base', debianBased, ['1']);
  await pushImage(registry.url, 'acme/runtime', nonRootBased, ['2']);
  dir = mkdtempSync(path.join(tmpdir(), 'dockopt-cli-registry-'));
});

afterAll(async () => {
  await registry?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('--only pin-base pins a floating tag to the exact version and digest and writes it', () => {
  writeFileSync(path.join(dir, 'Dockerfile'), `FROM ${host}/library/python:3.12-slim\nRUN echo one\nRUN echo two\n`);
  const result = dockopt(['fix', '--write', '--only', 'pin-base', 'Dockerfile']);
  expect(result.stderr).toContain('1 file scanned, 1 changed, 1 fix, 0 errors');
  expect(result.code).toBe(0);
  const written = readFileSync(path.join(dir, 'Dockerfile'), 'utf8');
  expect(written).toMatch(new RegExp(`^FROM ${host.replace(/[.]/g, '\\.')}/library/python:3\\.12\\.4-slim@sha256:[0-9a-f]{64}\\nRUN echo one\\nRUN echo two\\n$`));
});

test('pin-base is not in the default set: no registry is contacted without --only', () => {
  writeFileSync(path.join(dir, 'Dockerfile'), `FROM ${host}/library/python:3.12-slim\nRUN echo one\n`);
  expect(dockopt(['fix', '--check', 'Dockerfile']).code).toBe(0);
});

test('a tag that does not exist is an error on its line, the FROM is kept, the rest of the file still fixed, exit 2', () => {
  const input = `FROM ${host}/library/python:2.7-slim\nRUN echo one\nRUN echo two\n`;
  writeFileSync(path.join(dir, 'Dockerfile'), input);
  const result = dockopt(['fix', '--write', '--only', 'pin-base,merge-runs', 'Dockerfile']);
  expect(result.code).toBe(2);
  expect(result.stderr).toMatch(/Dockerfile:1: pin-base: error: .*2\.7-slim/);
  const written = readFileSync(path.join(dir, 'Dockerfile'), 'utf8');
  expect(written.startsWith(`FROM ${host}/library/python:2.7-slim\n`)).toBe(true);
  expect(written).toContain('&& echo two');
});

test('--registry-allow keeps dockopt away from registries not on the list', () => {
  writeFileSync(path.join(dir, 'Dockerfile'), `FROM ${host}/library/python:3.12-slim\n`);
  const result = dockopt(['fix', '--check', '--only', 'pin-base', '--registry-allow', 'ghcr.io', 'Dockerfile']);
  expect(result.code).toBe(0);
  expect(readFileSync(path.join(dir, 'Dockerfile'), 'utf8')).toBe(`FROM ${host}/library/python:3.12-slim\n`);
});

test('--offline answers from the cache the previous run filled', () => {
  writeFileSync(path.join(dir, 'Dockerfile'), `FROM ${host}/library/python:3.12-slim\n`);
  expect(dockopt(['fix', '--check', '--only', 'pin-base', 'Dockerfile']).code).toBe(1);
  const offline = dockopt(['fix', '--only', 'pin-base', '--offline', '--pin', 'version', 'Dockerfile']);
  expect(offline.stdout).toContain(`+FROM ${host}/library/python:3.12.4-slim\n`);
});

describe('non-root reads the image config through the resolver pin-base brings', () => {
  const app = (image: string) => `FROM ${host}/${image}\nWORKDIR /app\nCOPY server.sh .\nCMD ["./server.sh"]\n`;

  test('--only pin-base,non-root: an image only its config label shows to be Debian-based is pinned and gets a Debian user', () => {
    writeFileSync(path.join(dir, 'Dockerfile'), app('acme/base:1'));
    const result = dockopt(['fix', '--write', '--only', 'pin-base,non-root', 'Dockerfile']);
    expect(result.stderr).toContain('1 file scanned, 1 changed, 2 fixes, 0 errors');
    expect(result.code).toBe(0);
    expect(readFileSync(path.join(dir, 'Dockerfile'), 'utf8')).toBe(
      `FROM ${host}/acme/base:1@${debianBased.digest}\n` +
        'RUN groupadd --system --gid 10001 app && useradd --system --uid 10001 --gid app --no-create-home --no-log-init app\n' +
        'WORKDIR /app\n' +
        'COPY --chown=10001:10001 server.sh .\n' +
        'USER 10001:10001\n' +
        'CMD ["./server.sh"]\n',
    );
  });

  test('an image whose config already runs as non-root is only pinned', () => {
    writeFileSync(path.join(dir, 'Dockerfile'), app('acme/runtime:2'));
    const result = dockopt(['fix', '--write', '--only', 'pin-base,non-root', 'Dockerfile']);
    expect(result.code).toBe(0);
    expect(readFileSync(path.join(dir, 'Dockerfile'), 'utf8')).toBe(app(`acme/runtime:2@${nonRootBased.digest}`));
  });

  test('without pin-base non-root has no resolver and leaves the unknown image alone, as before', () => {
    writeFileSync(path.join(dir, 'Dockerfile'), app('acme/base:1'));
    const result = dockopt(['fix', '--check', '--only', 'non-root', '--format', 'json', 'Dockerfile']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('is not an image dockopt knows, so it may already run as non-root or ship its own users');
    expect(readFileSync(path.join(dir, 'Dockerfile'), 'utf8')).toBe(app('acme/base:1'));
  });
});
