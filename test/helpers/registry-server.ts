// A real registry for tests: Debian's docker-registry (distribution 2.8) on a
// free loopback port with its own temp dir, optionally behind distribution's
// own token auth (with a tiny token server here that signs JWTs with a
// throwaway key), plus a proxy that injects faults and paginates tag lists
// (distribution ignores ?n=), and helpers to push small synthetic images over
// the HTTP API.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createHash, createSign, randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { MEDIA_TYPES } from '../../src/image/resolver.js';

export const REGISTRY_BINARY = '/usr/bin/docker-registry';

export function makeTempDir(prefix: string): string {
  return mkdtempSync(path.join(os.tmpdir(), `dockopt-${prefix}-`));
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

// ---- the registry ------------------------------------------------------------

export interface TokenAuthSettings {
  readonly realm: string;
  readonly service: string;
  readonly issuer: string;
  readonly certPath: string;
}

export interface RegistryHandle {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  /** `127.0.0.1:PORT`, as an image reference names it. */
  readonly host: string;
  readonly dir: string;
  stop(): Promise<void>;
}

export async function startRegistry(options: { auth?: TokenAuthSettings } = {}): Promise<RegistryHandle> {
  if (!existsSync(REGISTRY_BINARY)) throw new Error(`${REGISTRY_BINARY} is missing: apt-get install docker-registry (.ci/run does)`);
  const dir = makeTempDir('registry');
  let lastError: unknown;
  // The port is free when we look and may be taken when the registry binds: try again with another.
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const configPath = path.join(dir, 'config.yml');
    writeFileSync(configPath, registryConfig(dir, port, options.auth));
    const logPath = path.join(dir, `registry-${attempt}.log`);
    const log = openSync(logPath, 'w');
    const child = spawn(REGISTRY_BINARY, ['serve', configPath], { stdio: ['ignore', log, log] });
    closeSync(log);
    const url = `http://127.0.0.1:${port}`;
    try {
      await waitUntilServing(url, child, logPath);
      return { url, host: `127.0.0.1:${port}`, dir, stop: () => stopChild(child).then(() => rmSync(dir, { recursive: true, force: true })) };
    } catch (error) {
      lastError = error;
      await stopChild(child);
    }
  }
  throw lastError;
}

function registryConfig(dir: string, port: number, auth?: TokenAuthSettings): string {
  const lines = [
    'version: 0.1',
    'log:',
    '  level: warn',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${path.join(dir, 'data')}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: 127.0.0.1:${port}`,
  ];
  if (auth) {
    lines.push('auth:', '  token:', `    realm: ${auth.realm}`, `    service: ${auth.service}`, `    issuer: ${auth.issuer}`, `    rootcertbundle: ${auth.certPath}`);
  }
  return `${lines.join('\n')}\n`;
}

async function waitUntilServing(url: string, child: ChildProcess, logPath: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited with ${child.exitCode}: ${readFileSync(logPath, 'utf8')}`);
    try {
      const response = await fetch(`${url}/v2/`, { signal: AbortSignal.timeout(1000) });
      await response.arrayBuffer();
      if (response.status === 200 || response.status === 401) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`docker-registry did not answer on ${url}: ${readFileSync(logPath, 'utf8')}`);
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

// ---- the token server ----------------------------------------------------------

export interface TokenRequestRecord {
  readonly scope: string | null;
  readonly service: string | null;
  /** Who authenticated (Basic), or undefined when anonymous. */
  readonly user?: string;
  readonly hadAuthorization: boolean;
  /** Asked with the refresh-token grant (POST) instead of Basic. */
  readonly refreshToken?: boolean;
}

export interface TokenServer extends TokenAuthSettings {
  readonly requests: TokenRequestRecord[];
  /** A token the registry accepts, for the test's own pushes. */
  mint(access: readonly { name: string; actions: readonly string[] }[]): string;
  stop(): Promise<void>;
}

/**
 * Distribution's token auth: anonymous users may pull every repository except
 * those under `private/`; a user from `users` may pull and push everything;
 * wrong credentials get 401 (as Docker Hub's auth server does). Basic auth on
 * GET, or an OAuth2 refresh token on POST.
 */
export async function startTokenServer(options: {
  users: Readonly<Record<string, string>>;
  /** user → refresh token accepted by the POST grant. */
  refreshTokens?: Readonly<Record<string, string>>;
  host?: string;
}): Promise<TokenServer> {
  const dir = makeTempDir('token');
  const keyPath = path.join(dir, 'token.key');
  const certPath = path.join(dir, 'token.crt');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyPath, '-out', certPath, '-days', '2', '-subj', '/CN=dockopt test token issuer'], { stdio: 'ignore' });
  const privateKey = readFileSync(keyPath, 'utf8');
  const certDer = readFileSync(certPath, 'utf8').replace(/-----[^-]+-----|\s/g, '');
  const service = 'dockopt-test-registry';
  const issuer = 'dockopt-test-issuer';
  const requests: TokenRequestRecord[] = [];

  const mint = (access: readonly { name: string; actions: readonly string[] }[], subject = ''): string => {
    const now = Math.floor(Date.now() / 1000);
    const header = { typ: 'JWT', alg: 'RS256', x5c: [certDer] };
    const claims = {
      iss: issuer,
      sub: subject,
      aud: service,
      exp: now + 300,
      nbf: now - 10,
      iat: now,
      jti: randomBytes(8).toString('hex'),
      access: access.map((entry) => ({ type: 'repository', name: entry.name, actions: entry.actions })),
    };
    const signingInput = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
    const signature = createSign('RSA-SHA256').update(signingInput).sign(privateKey);
    return `${signingInput}.${base64url(signature)}`;
  };

  const server = http.createServer(async (request, response) => {
    const url = new URL(request.url ?? '/', 'http://token');
    const authorization = request.headers.authorization;
    let user: string | undefined;
    if (request.method === 'POST') {
      // The OAuth2 refresh-token grant that `docker login` identity tokens use.
      const chunks: Buffer[] = [];
      for await (const chunk of request) chunks.push(chunk as Buffer);
      const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
      for (const [key, value] of form) if (key !== 'refresh_token') url.searchParams.set(key, value);
      const owner = Object.keys(options.refreshTokens ?? {}).find((name) => options.refreshTokens?.[name] === form.get('refresh_token'));
      if (form.get('grant_type') !== 'refresh_token' || !owner) {
        requests.push({ scope: form.get('scope'), service: form.get('service'), hadAuthorization: authorization !== undefined, refreshToken: true });
        response.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"invalid_grant"}');
        return;
      }
      user = owner;
    } else if (authorization?.startsWith('Basic ')) {
      const [name, ...rest] = Buffer.from(authorization.slice(6), 'base64').toString('utf8').split(':');
      if (options.users[name] !== rest.join(':')) {
        requests.push({ scope: url.searchParams.get('scope'), service: url.searchParams.get('service'), user: name, hadAuthorization: true });
        response.writeHead(401, { 'content-type': 'application/json' }).end('{"details":"incorrect username or password"}');
        return;
      }
      user = name;
    }
    const scope = url.searchParams.get('scope');
    requests.push({ scope, service: url.searchParams.get('service'), user, hadAuthorization: authorization !== undefined, refreshToken: request.method === 'POST' });
    const access = (scope ? scope.split(' ') : []).flatMap((item) => {
      const [type, name, actions] = item.split(':');
      if (type !== 'repository' || !name) return [];
      const granted = user ? actions.split(',') : name.startsWith('private/') ? [] : actions.split(',').filter((action) => action === 'pull');
      return [{ name, actions: granted }];
    });
    const token = mint(access, user);
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token, access_token: token, expires_in: 300, issued_at: new Date().toISOString() }));
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    realm: `http://${host}:${port}/token`,
    service,
    issuer,
    certPath,
    requests,
    mint: (access) => mint(access, 'test-pusher'),
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }).then(() => rmSync(dir, { recursive: true, force: true })),
  };
}

function base64url(data: string | Buffer): string {
  return Buffer.from(data).toString('base64url');
}

// ---- synthetic images ------------------------------------------------------------

export interface Blob {
  readonly digest: string;
  readonly bytes: Buffer;
  readonly mediaType: string;
}

export interface PushableManifest {
  readonly mediaType: string;
  readonly bytes: Buffer;
  readonly digest: string;
  /** Blobs this manifest references directly. */
  readonly blobs: readonly Blob[];
  /** Manifests an index references. */
  readonly children: readonly PushableManifest[];
}

export interface PlatformSpec {
  readonly os: string;
  readonly architecture: string;
  readonly variant?: string;
}

function sha256(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

function blob(bytes: Buffer, mediaType: string): Blob {
  return { digest: sha256(bytes), bytes, mediaType };
}

function descriptor(item: { mediaType: string; digest: string; bytes: Buffer }, extra: object = {}): object {
  return { mediaType: item.mediaType, digest: item.digest, size: item.bytes.length, ...extra };
}

/** The runtime part of an image config (`config` in the JSON), as `docker build` writes it. */
export interface RuntimeConfig {
  readonly User?: string;
  /** `NAME=value` entries. */
  readonly Env?: readonly string[];
  /** Merged over the `seed` label every synthetic image has. */
  readonly Labels?: Readonly<Record<string, string>>;
}

export interface ImageOptions {
  readonly platform?: PlatformSpec;
  readonly format?: 'oci' | 'docker';
  /** What the config says; a function gives each image of an index its own. */
  readonly config?: RuntimeConfig | ((platform: PlatformSpec) => RuntimeConfig);
  /** Annotations of the image manifest (OCI only). */
  readonly annotations?: Readonly<Record<string, string>>;
}

/** A one-layer image whose content depends on `seed`, so different seeds give different digests. */
export function imageManifest(seed: string, options: ImageOptions = {}): PushableManifest {
  const platform = options.platform ?? { os: 'linux', architecture: 'amd64' };
  const docker = options.format === 'docker';
  const runtime = typeof options.config === 'function' ? options.config(platform) : (options.config ?? {});
  const layer = blob(Buffer.from(`layer of ${seed} for ${platform.os}/${platform.architecture}`), docker ? 'application/vnd.docker.image.rootfs.diff.tar.gzip' : 'application/vnd.oci.image.layer.v1.tar+gzip');
  const config = blob(
    Buffer.from(
      JSON.stringify({
        architecture: platform.architecture,
        os: platform.os,
        ...(platform.variant && { variant: platform.variant }),
        rootfs: { type: 'layers', diff_ids: [layer.digest] },
        config: { ...runtime, Labels: { seed, ...runtime.Labels } },
      }),
    ),
    docker ? 'application/vnd.docker.container.image.v1+json' : 'application/vnd.oci.image.config.v1+json',
  );
  const mediaType = docker ? MEDIA_TYPES.dockerManifest : MEDIA_TYPES.ociManifest;
  const annotations = !docker && options.annotations ? { annotations: options.annotations } : {};
  const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType, config: descriptor(config), layers: [descriptor(layer)], ...annotations }));
  return { mediaType, bytes, digest: sha256(bytes), blobs: [config, layer], children: [] };
}

/** The config blob of a single-platform image from imageManifest. */
export function configBlob(manifest: PushableManifest): Blob {
  return manifest.blobs[0];
}

/** An OCI index (or docker manifest list) with one image per platform. */
export function imageIndex(seed: string, platforms: readonly PlatformSpec[], options: Omit<ImageOptions, 'platform'> = {}): PushableManifest {
  const docker = options.format === 'docker';
  const children = platforms.map((platform) => imageManifest(seed, { ...options, platform }));
  const mediaType = docker ? MEDIA_TYPES.dockerManifestList : MEDIA_TYPES.ociIndex;
  const bytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType,
      manifests: children.map((child, i) => descriptor(child, { platform: platforms[i] })),
    }),
  );
  return { mediaType, bytes, digest: sha256(bytes), blobs: [], children };
}

/** Pushes blobs, child manifests and the manifest under every tag, with the registry's HTTP API. */
export async function pushImage(registryUrl: string, repository: string, manifest: PushableManifest, tags: readonly string[], token?: string): Promise<void> {
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  const put = async (reference: string, item: PushableManifest) => {
    for (const child of item.children) await put(child.digest, child);
    for (const part of item.blobs) await pushBlob(registryUrl, repository, part, headers);
    const response = await fetch(`${registryUrl}/v2/${repository}/manifests/${reference}`, {
      method: 'PUT',
      headers: { ...headers, 'content-type': item.mediaType },
      body: new Uint8Array(item.bytes),
    });
    const text = await response.text();
    if (response.status !== 201) throw new Error(`PUT manifest ${repository}:${reference} → ${response.status} ${text}`);
  };
  for (const tag of tags) await put(tag, manifest);
}

/** Unlinks a blob from a repository (storage.delete is enabled), leaving the manifests that name it dangling. */
export async function deleteBlob(registryUrl: string, repository: string, digest: string): Promise<void> {
  const response = await fetch(`${registryUrl}/v2/${repository}/blobs/${digest}`, { method: 'DELETE' });
  const text = await response.text();
  if (response.status !== 202) throw new Error(`DELETE blob ${repository}@${digest} → ${response.status} ${text}`);
}

async function pushBlob(registryUrl: string, repository: string, item: Blob, headers: Record<string, string>): Promise<void> {
  const head = await fetch(`${registryUrl}/v2/${repository}/blobs/${item.digest}`, { method: 'HEAD', headers });
  if (head.status === 200) return;
  const start = await fetch(`${registryUrl}/v2/${repository}/blobs/uploads/`, { method: 'POST', headers });
  await start.arrayBuffer();
  if (start.status !== 202) throw new Error(`POST blob upload ${repository} → ${start.status}`);
  const location = new URL(start.headers.get('location')!, registryUrl);
  location.searchParams.set('digest', item.digest);
  const done = await fetch(location, { method: 'PUT', headers: { ...headers, 'content-type': 'application/octet-stream' }, body: new Uint8Array(item.bytes) });
  const text = await done.text();
  if (done.status !== 201) throw new Error(`PUT blob ${item.digest} → ${done.status} ${text}`);
}

// ---- a proxy that misbehaves on purpose ---------------------------------------------

export interface ProxiedRequest {
  readonly method: string;
  readonly path: string;
  readonly authorization?: string;
}

export type Fault =
  /** Answer this instead of forwarding. */
  | { readonly kind: 'respond'; readonly status: number; readonly headers?: Record<string, string>; readonly body?: string }
  /** Wait before forwarding (longer than the client's timeout to test it). */
  | { readonly kind: 'delay'; readonly ms: number }
  /** Drop the connection without an answer. */
  | { readonly kind: 'hang-up' };

export interface FaultProxy {
  readonly url: string;
  readonly host: string;
  readonly requests: ProxiedRequest[];
  /** Decides per request; undefined forwards it unchanged. */
  fault: (request: ProxiedRequest) => Fault | undefined;
  /** When set, tags/list answers are cut into pages of this size with Link headers (distribution itself ignores ?n=). */
  tagPageSize?: number;
  /** Requests being handled now, and the most at once since the last reset. */
  inFlight: number;
  maxInFlight: number;
  stop(): Promise<void>;
}

export async function startFaultProxy(targetUrl: string): Promise<FaultProxy> {
  const target = new URL(targetUrl);
  const requests: ProxiedRequest[] = [];
  const proxy: Omit<FaultProxy, 'url' | 'host' | 'stop'> = { requests, fault: () => undefined, inFlight: 0, maxInFlight: 0 };
  const server = http.createServer(async (request, response) => {
    const record: ProxiedRequest = { method: request.method ?? 'GET', path: request.url ?? '/', authorization: request.headers.authorization };
    requests.push(record);
    proxy.inFlight++;
    proxy.maxInFlight = Math.max(proxy.maxInFlight, proxy.inFlight);
    response.once('close', () => proxy.inFlight--);
    const fault = proxy.fault(record);
    if (fault?.kind === 'respond') {
      response.writeHead(fault.status, fault.headers ?? {}).end(fault.body ?? '');
      return;
    }
    if (fault?.kind === 'hang-up') {
      request.socket.destroy();
      return;
    }
    if (fault?.kind === 'delay') {
      // Ends early when the client gives up, so no timer outlives the test.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, fault.ms);
        response.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    if (response.destroyed) return;
    const tagsList = /^\/v2\/(.+)\/tags\/list(?:\?|$)/.exec(record.path);
    if (tagsList && proxy.tagPageSize && request.method === 'GET') {
      await servePagedTags(request, response, target, tagsList[1], proxy.tagPageSize);
      return;
    }
    await forward(request, response, target);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return Object.assign(proxy, {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}

async function forward(request: IncomingMessage, response: ServerResponse, target: URL): Promise<void> {
  const headers = new Headers();
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined || name === 'host' || name === 'connection' || name === 'content-length') continue;
    headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  try {
    const upstream = await fetch(new URL(request.url ?? '/', target), {
      method: request.method,
      headers,
      body: chunks.length > 0 ? Buffer.concat(chunks) : undefined,
      redirect: 'manual',
    });
    const body = Buffer.from(await upstream.arrayBuffer());
    const out: Record<string, string> = {};
    upstream.headers.forEach((value, name) => {
      if (name !== 'content-length' && name !== 'transfer-encoding' && name !== 'connection' && name !== 'content-encoding') out[name] = value;
    });
    // HEAD answers keep the upstream length so clients see what the registry said.
    const length = upstream.headers.get('content-length');
    if (request.method === 'HEAD' && length !== null) out['content-length'] = length;
    response.writeHead(upstream.status, out).end(request.method === 'HEAD' ? undefined : body);
  } catch {
    response.writeHead(502).end();
  }
}

async function servePagedTags(request: IncomingMessage, response: ServerResponse, target: URL, repository: string, pageSize: number): Promise<void> {
  const upstream = await fetch(new URL(`/v2/${repository}/tags/list`, target), {
    headers: request.headers.authorization ? { authorization: request.headers.authorization } : {},
  });
  const text = await upstream.text();
  if (upstream.status !== 200) {
    response.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/json' }).end(text);
    return;
  }
  const all = ((JSON.parse(text) as { tags: string[] | null }).tags ?? []).slice().sort();
  const last = new URL(request.url ?? '/', 'http://proxy').searchParams.get('last');
  const start = last === null ? 0 : all.findIndex((tag) => tag > last);
  const page = start === -1 ? [] : all.slice(start, start + pageSize);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (start !== -1 && start + pageSize < all.length) {
    headers.link = `</v2/${repository}/tags/list?n=${pageSize}&last=${encodeURIComponent(page[page.length - 1])}>; rel="next"`;
  }
  response.writeHead(200, headers).end(JSON.stringify({ name: repository, tags: page }));
}
