// Authentication against a real docker-registry running distribution's own
// token auth (auth.token with a rootcertbundle), with a token server from the
// test that signs JWTs. Credentials come from docker config files and
// credential helpers written to a temp dir, never from the user's own config.
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import path from 'node:path';
import { inspect } from 'node:util';
import { parseImageReference } from '../../src/image/reference.js';
import { createImageResolver, type ImageResolverOptions } from '../../src/registry/index.js';
import { Credentials } from '../../src/registry/credentials.js';
import { ResolveError } from '../../src/image/resolver.js';
import {
  imageIndex,
  makeTempDir,
  pushImage,
  startFaultProxy,
  startRegistry,
  startTokenServer,
  type FaultProxy,
  type RegistryHandle,
  type TokenServer,
} from '../helpers/registry-server.js';

const PASSWORD = 'wonder-land-42';
const REFRESH_TOKEN = 'refresh-token-of-alice-9000';
const python = imageIndex('python behind token auth', [{ os: 'linux', architecture: 'amd64' }]);
const privateApp = imageIndex('a private application', [{ os: 'linux', architecture: 'amd64' }]);

let tokens: TokenServer;
let secured: RegistryHandle;
let securedProxy: FaultProxy;
let elsewhereTokens: TokenServer;
let elsewhere: RegistryHandle;
let open: RegistryHandle;
let openProxy: FaultProxy;
let dir: string;
const logLines: string[] = [];

beforeAll(async () => {
  dir = makeTempDir('auth-test');
  tokens = await startTokenServer({ users: { alice: PASSWORD }, refreshTokens: { alice: REFRESH_TOKEN } });
  secured = await startRegistry({ auth: tokens });
  const push = tokens.mint([
    { name: 'library/python', actions: ['pull', 'push'] },
    { name: 'private/app', actions: ['pull', 'push'] },
  ]);
  await pushImage(secured.url, 'private/app', privateApp, ['1.0'], push);
  await pushImage(secured.url, 'library/python', python, ['3.9-slim', '3.9.18-slim'], push);
  await pushImage(secured.url, 'library/debian', python, ['12'], tokens.mint([{ name: 'library/debian', actions: ['pull', 'push'] }]));
  securedProxy = await startFaultProxy(secured.url);

  // Same setup, but the token realm is on another loopback address: another site for the registry's credentials.
  elsewhereTokens = await startTokenServer({ users: { alice: PASSWORD }, host: '127.0.0.2' });
  elsewhere = await startRegistry({ auth: elsewhereTokens });
  await pushImage(elsewhere.url, 'private/app', privateApp, ['1.0'], elsewhereTokens.mint([{ name: 'private/app', actions: ['pull', 'push'] }]));

  open = await startRegistry();
  await pushImage(open.url, 'library/python', python, ['3.9-slim']);
  openProxy = await startFaultProxy(open.url);
});

afterAll(async () => {
  for (const stop of [openProxy?.stop, open?.stop, elsewhere?.stop, elsewhereTokens?.stop, securedProxy?.stop, secured?.stop, tokens?.stop]) {
    await stop?.();
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  tokens.requests.length = 0;
  elsewhereTokens.requests.length = 0;
  securedProxy.requests.length = 0;
  openProxy.requests.length = 0;
});

function writeConfig(name: string, content: object): string {
  const file = path.join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify(content));
  return file;
}

const basicAuth = (user: string, password: string) => Buffer.from(`${user}:${password}`).toString('base64');

function resolver(dockerConfig: string, options: ImageResolverOptions = {}) {
  return createImageResolver({ diskCache: false, dockerConfig, retries: 0, timeoutMs: 5000, log: (line) => logLines.push(line), ...options });
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
const noConfig = () => path.join(dir, 'absent.json');

describe('anonymous bearer tokens', () => {
  test('the WWW-Authenticate challenge leads to an anonymous token with the repository scope', async () => {
    const summary = await resolver(noConfig()).lookup(at(secured.host, 'library/python:3.9-slim'));
    expect(summary.digest).toBe(python.digest);
    expect(tokens.requests).toEqual([{ scope: 'repository:library/python:pull', service: tokens.service, user: undefined, hadAuthorization: false, refreshToken: false }]);
  });

  test('a token is reused for its scope, and fetched up front for the next repository', async () => {
    const shared = resolver(noConfig());
    await shared.lookup(at(securedProxy.host, 'library/python:3.9-slim'));
    await shared.lookup(at(securedProxy.host, 'library/python:3.9.18-slim'));
    await shared.listTags(at(securedProxy.host, 'library/python'));
    expect(tokens.requests).toHaveLength(1);
    await shared.lookup(at(securedProxy.host, 'library/debian:12'));
    expect(tokens.requests.map((request) => request.scope)).toEqual(['repository:library/python:pull', 'repository:library/debian:pull']);
    // One challenge in all: the first request; every later one carried a token.
    const challenged = securedProxy.requests.filter((request) => request.authorization === undefined);
    expect(challenged).toHaveLength(1);
    // The challenged HEAD and its retry; a HEAD and a GET (checking the announced digest) per other image; the tag list.
    expect(securedProxy.requests.map((request) => request.method)).toEqual(['HEAD', 'HEAD', 'GET', 'HEAD', 'GET', 'HEAD', 'GET']);
  });

  test('a private repository without credentials is a 401 that says so', async () => {
    const error = await failure(resolver(noConfig()).lookup(at(secured.host, 'private/app:1.0')));
    expect(error).toMatchObject({ kind: 'unauthorized', message: `401 unauthorized (no credentials for ${secured.host} in the docker config)` });
  });
});

describe('credentials from the docker config', () => {
  test('auths: base64 user:password goes to the token server, which grants the private pull', async () => {
    const config = writeConfig('auths', { auths: { [`http://${secured.host}/v2/`]: { auth: basicAuth('alice', PASSWORD) } } });
    expect((await resolver(config).lookup(at(secured.host, 'private/app:1.0'))).digest).toBe(privateApp.digest);
    expect(tokens.requests).toEqual([expect.objectContaining({ scope: 'repository:private/app:pull', user: 'alice' })]);
  });

  test('wrong credentials are reported as rejected by the token server', async () => {
    const config = writeConfig('wrong', { auths: { [secured.host]: { auth: basicAuth('alice', 'not-the-password') } } });
    const error = await failure(resolver(config).lookup(at(secured.host, 'private/app:1.0')));
    expect(error).toMatchObject({ kind: 'unauthorized', message: `401 the token server ${new URL(tokens.realm).host} rejected the credentials for ${secured.host}` });
  });

  test('identity tokens are traded with the refresh-token grant', async () => {
    const config = writeConfig('identity', { auths: { [secured.host]: { identitytoken: REFRESH_TOKEN } } });
    expect((await resolver(config).lookup(at(secured.host, 'private/app:1.0'))).digest).toBe(privateApp.digest);
    expect(tokens.requests).toEqual([expect.objectContaining({ user: 'alice', refreshToken: true, hadAuthorization: false })]);
  });

  describe('credential helpers', () => {
    let binDir: string;
    let stdinLog: string;

    beforeAll(() => {
      binDir = path.join(dir, 'bin');
      stdinLog = path.join(dir, 'helper-stdin.log');
      mkdirSync(binDir, { recursive: true });
      const helper = path.join(binDir, 'docker-credential-dockopttest');
      writeFileSync(
        helper,
        [
          '#!/bin/sh',
          'read -r server',
          `printf '%s %s\\n' "$1" "$server" >> '${stdinLog}'`,
          `if [ "$1" = get ] && [ "$server" = '${secured.host}' ]; then`,
          `  printf '{"ServerURL":"%s","Username":"alice","Secret":"${PASSWORD}"}' "$server"`,
          'else',
          '  echo "credentials not found in native keychain"',
          '  exit 1',
          'fi',
          '',
        ].join('\n'),
      );
      chmodSync(helper, 0o755);
    });

    const env = () => ({ ...process.env, PATH: `${binDir}:${process.env.PATH}` });

    test('credHelpers: the helper for this registry is asked with its host on stdin', async () => {
      const config = writeConfig('helpers', { credHelpers: { [secured.host]: 'dockopttest' } });
      expect((await resolver(config, { env: env() }).lookup(at(secured.host, 'private/app:1.0'))).digest).toBe(privateApp.digest);
      expect(readFileSync(stdinLog, 'utf8')).toContain(`get ${secured.host}\n`);
      expect(tokens.requests).toEqual([expect.objectContaining({ user: 'alice' })]);
    });

    test('credsStore: one helper for every registry; "not found" means anonymous', async () => {
      const config = writeConfig('store', { credsStore: 'dockopttest' });
      expect((await resolver(config, { env: env() }).lookup(at(secured.host, 'private/app:1.0'))).digest).toBe(privateApp.digest);
      // The helper knows nothing for the open registry, and it does not need credentials anyway.
      const error = await failure(resolver(config, { env: env() }).lookup(at(elsewhere.host, 'private/app:1.0')));
      expect(error.message).toBe(`401 unauthorized (no credentials for ${elsewhere.host} in the docker config)`);
    });

    test('a helper that is not installed is reported by name', async () => {
      const config = writeConfig('missing-helper', { credHelpers: { [secured.host]: 'not-installed-anywhere' } });
      const error = await failure(resolver(config, { env: env() }).lookup(at(secured.host, 'private/app:1.0')));
      expect(error).toMatchObject({ kind: 'unauthorized', message: `${secured.host} asks for credentials: credential helper docker-credential-not-installed-anywhere is not installed` });
    });
  });

  test('a docker config that is not JSON is named without quoting it', async () => {
    const config = path.join(dir, 'broken.json');
    writeFileSync(config, `{"auths": {"${secured.host}": {"auth": "${basicAuth('alice', PASSWORD)}"`);
    const error = await failure(resolver(config).lookup(at(secured.host, 'private/app:1.0')));
    expect(error.message).toBe(`${secured.host} asks for credentials: docker config ${config} is not valid JSON`);
  });
});

describe('credentials stay with their host', () => {
  test('a token realm on another site gets no credentials, and the 401 explains why', async () => {
    const config = writeConfig('elsewhere', { auths: { [elsewhere.host]: { auth: basicAuth('alice', PASSWORD) } } });
    const error = await failure(resolver(config).lookup(at(elsewhere.host, 'private/app:1.0')));
    const realmHost = new URL(elsewhereTokens.realm).host;
    expect(error.message).toBe(`401 unauthorized (credentials for ${elsewhere.host} exist but were not sent to the token server ${realmHost}, another site)`);
    expect(elsewhereTokens.requests.length).toBeGreaterThan(0);
    expect(elsewhereTokens.requests.every((request) => !request.hadAuthorization)).toBe(true);
  });

  test('basic auth is not carried across a redirect to another origin', async () => {
    const seenByFront: (string | undefined)[] = [];
    const front = http.createServer((request, response) => {
      seenByFront.push(request.headers.authorization);
      if (request.headers.authorization !== `Basic ${basicAuth('alice', PASSWORD)}`) {
        response.writeHead(401, { 'www-authenticate': 'Basic realm="front"' }).end();
        return;
      }
      response.writeHead(307, { location: `${openProxy.url}${request.url}` }).end();
    });
    await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
    const frontHost = `127.0.0.1:${(front.address() as net.AddressInfo).port}`;
    try {
      const config = writeConfig('front', { auths: { [frontHost]: { username: 'alice', password: PASSWORD } } });
      expect((await resolver(config).lookup(at(frontHost, 'library/python:3.9-slim'))).digest).toBe(python.digest);
      // The HEAD is challenged, then sent with the password; the GET that checks its digest carries it at once.
      expect(seenByFront).toEqual([undefined, `Basic ${basicAuth('alice', PASSWORD)}`, `Basic ${basicAuth('alice', PASSWORD)}`]);
      expect(openProxy.requests).toHaveLength(2);
      expect(openProxy.requests.every((request) => request.authorization === undefined)).toBe(true);
    } finally {
      front.closeAllConnections();
      await new Promise((resolve) => front.close(resolve));
    }
  });

  test('no secret reaches a message, a log line or a printed Credentials object', async () => {
    const config = writeConfig('leak-check', { auths: { [securedProxy.host]: { auth: basicAuth('alice', PASSWORD) } } });
    const wrong = writeConfig('leak-check-wrong', { auths: { [secured.host]: { auth: basicAuth('alice', `${PASSWORD}x`) } } });
    securedProxy.fault = (() => {
      let first = true;
      return () => (first ? ((first = false), { kind: 'respond', status: 503 } as const) : undefined);
    })();
    const messages: string[] = [];
    await resolver(config, { retries: 1, retryBaseDelayMs: 5 }).lookup(at(securedProxy.host, 'private/app:1.0'));
    messages.push((await failure(resolver(wrong).lookup(at(secured.host, 'private/app:1.0')))).message);
    securedProxy.fault = () => undefined;
    const credentials = new Credentials('password', 'alice', PASSWORD);
    const printed = [...messages, ...logLines, JSON.stringify(credentials), inspect(credentials), String(credentials), JSON.stringify({ nested: credentials })].join('\n');
    expect(logLines.length).toBeGreaterThan(0);
    expect(printed).not.toContain(PASSWORD);
    expect(printed).not.toContain(basicAuth('alice', PASSWORD));
    expect(printed).not.toContain('Bearer ');
  });
});
