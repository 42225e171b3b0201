// An OCI distribution (registry v2) client: manifests by tag or digest, blobs
// by digest, tag lists with Link pagination, bearer and basic auth, redirects,
// timeouts, retries and a concurrency limit per registry. Node's fetch (undici)
// only.
//
// Credentials: asked for only after a registry challenges us; sent to the
// registry itself, to a token realm of the same site (see auth.ts), never
// across a redirect to another origin, never over plain http to a non-loopback
// host, and never put into a message or log line.
//
// With an allowlist, every host contacted must be on it: registries, mirrors,
// redirect targets (blob storage too). One allowance: a token realm (and its
// redirects) on the same site as the registry that named it, which is how
// Docker Hub (registry-1.docker.io → auth.docker.io) and GitLab work.
//
// Answers are read as a stream and cut off at MAX_BODY_BYTES whatever
// Content-Length says (or when there is none), so a hostile registry cannot
// make the process grow without bound.
import { createHash } from 'node:crypto';
import { DOCKER_HUB, isLoopbackRegistry, isValidDigest, normalizeRegistry, registryHostname } from '../image/reference.js';
import { MEDIA_TYPES, ResolveError, type ManifestSummary } from '../image/resolver.js';
import { parseChallenges, realmMayReceiveCredentials, sameSite, type Challenge } from './auth.js';
import { CredentialError, type CredentialSource, type Credentials } from './credentials.js';

/** Every manifest type we can pin. Leaving one out makes distribution 404 or convert (and change the digest). */
export const MANIFEST_ACCEPT = [MEDIA_TYPES.ociIndex, MEDIA_TYPES.ociManifest, MEDIA_TYPES.dockerManifestList, MEDIA_TYPES.dockerManifest].join(', ');
const PINNABLE_TYPES = new Set<string>(Object.values(MEDIA_TYPES));
const DOCKER_HUB_API_HOST = 'registry-1.docker.io';

const DEFAULTS = {
  timeoutMs: 15_000,
  retries: 3,
  retryBaseDelayMs: 250,
  maxRetryDelayMs: 10_000,
  maxConcurrentPerRegistry: 4,
  userAgent: 'dockopt (registry client)',
};
const MAX_REDIRECTS = 5;
const MAX_TAG_PAGES = 10_000;
/** distribution refuses manifests over 4 MiB; tag lists of big repositories run to a few MiB. */
export const MAX_BODY_BYTES = 32 * 1024 * 1024;
/** All the pages of one tag list together. */
const MAX_TAG_LIST_BYTES = 64 * 1024 * 1024;
/** Tokens without expires_in live 60 s (distribution token spec); renew a little early. */
const DEFAULT_TOKEN_SECONDS = 60;
const TOKEN_RENEW_MARGIN_MS = 5_000;

export interface RegistryClientOptions {
  readonly credentials: CredentialSource;
  /** Per HTTP exchange (headers and body). */
  readonly timeoutMs?: number;
  /** Further attempts after a timeout, a network error, a 429 or a 5xx. */
  readonly retries?: number;
  readonly retryBaseDelayMs?: number;
  /** Longest wait between attempts; a longer Retry-After gives up at once. */
  readonly maxRetryDelayMs?: number;
  readonly maxConcurrentPerRegistry?: number;
  /** Registries reached over plain http besides the loopback ones (`host:port`); never Docker Hub. */
  readonly plainHttpRegistries?: readonly string[];
  /**
   * The only hosts that may be contacted (normalized registry names: `docker.io`,
   * `ghcr.io`, `localhost:5000`; without a port, every port). Undefined allows any.
   */
  readonly allowRegistries?: readonly string[];
  /** Largest answer read, in bytes (default MAX_BODY_BYTES). */
  readonly maxBodyBytes?: number;
  /** Base URLs that replace a registry's own, e.g. a mirror: `{ 'docker.io': 'https://mirror.example' }`. */
  readonly endpoints?: Readonly<Record<string, string>>;
  /** Page size to ask tags/list for; registries may ignore it (distribution 2.8 does). */
  readonly tagPageSize?: number;
  readonly userAgent?: string;
  /** Progress lines for --verbose; never receives credentials or tokens. */
  readonly log?: (line: string) => void;
}

export interface FetchedManifest {
  readonly summary: ManifestSummary;
  /** The parsed manifest JSON. */
  readonly body: unknown;
}

interface Endpoint {
  /** The registry as references name it. */
  readonly registry: string;
  readonly base: URL;
  /** Whose credentials to use: the registry, or the host of an endpoint override. */
  readonly credentialKey: string;
}

interface Reply {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Buffer;
  readonly url: URL;
  /** How the request was authenticated, for a useful 401 message. */
  readonly auth: AuthState;
}

/** Why a host is contacted, for the allowlist: a registry (or mirror) itself, or a token realm it named (allowed on its site). */
type Purpose = { readonly kind: 'registry' } | { readonly kind: 'realm'; readonly registryHost: string };

type AuthState = { readonly kind: 'none' | 'anonymous-token' | 'credentials' } | { readonly kind: 'withheld'; readonly realmHost: string };

interface CachedAuthorization {
  readonly header: string;
  readonly expiresAt: number;
  readonly state: AuthState;
}

/** A failure worth another attempt; `final` is what the caller sees when attempts run out. */
class TransientError extends Error {
  constructor(
    readonly final: ResolveError,
    readonly retryAfterMs?: number,
  ) {
    super(final.message);
  }
}

/** Summaries whose digest was computed from the manifest's bytes, not taken from a header. */
const hashedSummaries = new WeakSet<ManifestSummary>();

/** True when headManifest had to GET the manifest and its digest is the hash of the bytes received. */
export function wasHashed(summary: ManifestSummary): boolean {
  return hashedSummaries.has(summary);
}

export class RegistryClient {
  private readonly options: RegistryClientOptions & typeof DEFAULTS;
  private readonly limiters = new Map<string, Limiter>();
  private readonly challenges = new Map<string, Challenge>();
  private readonly authorizations = new Map<string, CachedAuthorization>();

  constructor(options: RegistryClientOptions) {
    this.options = { ...DEFAULTS, ...stripUndefined(options), credentials: options.credentials };
  }

  /** Digest and media type of a tag or digest, by HEAD (which does not count against Docker Hub's pull limit). */
  async headManifest(registry: string, repository: string, reference: string): Promise<ManifestSummary> {
    const endpoint = this.endpoint(registry);
    const url = new URL(`/v2/${repository}/manifests/${reference}`, endpoint.base);
    const reply = await this.exchange(endpoint, repository, url, 'HEAD', MANIFEST_ACCEPT);
    if (reply.status !== 200) throw this.failure(reply, endpoint, reference);
    const digest = reply.headers.get('docker-content-digest') ?? '';
    const mediaType = contentType(reply.headers);
    // Some registries leave the digest out of HEAD answers; GET and hash the body instead.
    if (!isValidDigest(digest) || !PINNABLE_TYPES.has(mediaType)) {
      const { summary } = await this.getManifest(registry, repository, reference);
      hashedSummaries.add(summary);
      return summary;
    }
    if (reference.includes(':') && digest !== reference) {
      throw new ResolveError('bad-response', `${endpoint.base.host} answered ${reference} with another digest (${digest})`);
    }
    return { digest, mediaType };
  }

  async getManifest(registry: string, repository: string, reference: string): Promise<FetchedManifest> {
    const endpoint = this.endpoint(registry);
    const url = new URL(`/v2/${repository}/manifests/${reference}`, endpoint.base);
    const reply = await this.exchange(endpoint, repository, url, 'GET', MANIFEST_ACCEPT);
    if (reply.status !== 200) throw this.failure(reply, endpoint, reference);
    const digest = `sha256:${createHash('sha256').update(reply.body).digest('hex')}`;
    const announced = reply.headers.get('docker-content-digest');
    if ((announced && announced.startsWith('sha256:') && announced !== digest) || (reference.startsWith('sha256:') && reference !== digest)) {
      throw new ResolveError('bad-response', `the manifest ${endpoint.base.host} sent for ${reference} does not match its digest`);
    }
    const body = parseJson(reply.body, `manifest ${reference} from ${endpoint.base.host}`) as { schemaVersion?: unknown; mediaType?: unknown };
    if (body === null || typeof body !== 'object' || body.schemaVersion !== 2) {
      throw new ResolveError('bad-response', `${endpoint.base.host} sent a manifest for ${reference} that is not schema version 2`);
    }
    const mediaType = typeof body.mediaType === 'string' ? body.mediaType : contentType(reply.headers);
    if (!PINNABLE_TYPES.has(mediaType)) {
      throw new ResolveError('bad-response', `${endpoint.base.host} sent ${reference} as ${mediaType || 'an unknown media type'}, which cannot be pinned`);
    }
    return { summary: { digest, mediaType }, body };
  }

  /**
   * A blob by digest, checked against it. Registries often answer with a
   * redirect to blob storage (S3, a CDN): it is followed like every redirect
   * here, so credentials stay with the registry's origin.
   */
  async getBlob(registry: string, repository: string, digest: string, accept = '*/*'): Promise<Buffer> {
    const endpoint = this.endpoint(registry);
    const algorithm = digest.split(':')[0];
    if (!isValidDigest(digest) || (algorithm !== 'sha256' && algorithm !== 'sha512')) {
      throw new ResolveError('bad-response', `cannot fetch or verify a blob named ${digest}`);
    }
    const url = new URL(`/v2/${repository}/blobs/${digest}`, endpoint.base);
    const reply = await this.exchange(endpoint, repository, url, 'GET', accept);
    if (reply.status === 404 && errorCode(reply.body) !== 'NAME_UNKNOWN') throw new ResolveError('not-found', `404 blob ${digest} not found`);
    if (reply.status !== 200) throw this.failure(reply, endpoint, digest);
    const actual = `${algorithm}:${createHash(algorithm).update(reply.body).digest('hex')}`;
    if (actual !== digest) throw new ResolveError('bad-response', `the blob ${reply.url.host} sent for ${digest} does not match its digest`);
    return reply.body;
  }

  /** All tags, following `Link: <…>; rel="next"` pages. */
  async listTags(registry: string, repository: string): Promise<string[]> {
    const endpoint = this.endpoint(registry);
    let url: URL | undefined = new URL(`/v2/${repository}/tags/list`, endpoint.base);
    if (this.options.tagPageSize) url.searchParams.set('n', String(this.options.tagPageSize));
    const tags: string[] = [];
    const visited = new Set<string>();
    let bytes = 0;
    while (url) {
      if (visited.size >= MAX_TAG_PAGES) throw new ResolveError('bad-response', `${endpoint.base.host} paginated tags beyond ${MAX_TAG_PAGES} pages`);
      visited.add(url.href);
      const reply = await this.exchange(endpoint, repository, url, 'GET', 'application/json');
      if (reply.status !== 200) throw this.failure(reply, endpoint);
      bytes += reply.body.length;
      if (bytes > MAX_TAG_LIST_BYTES) throw new ResolveError('bad-response', `${endpoint.base.host} sent more than ${MAX_TAG_LIST_BYTES} bytes of tags for ${repository}, more than a tag list can be`);
      const page = parseJson(reply.body, `tag list of ${repository} from ${endpoint.base.host}`) as { tags?: unknown };
      const pageTags = page === null || typeof page !== 'object' ? undefined : page.tags;
      if (pageTags !== null && !(Array.isArray(pageTags) && pageTags.every((tag) => typeof tag === 'string'))) {
        throw new ResolveError('bad-response', `the tag list of ${repository} from ${endpoint.base.host} has no "tags" array`);
      }
      tags.push(...(pageTags ?? []));
      const next = nextLink(reply.headers.get('link'), url);
      if (next && next.origin !== endpoint.base.origin) {
        throw new ResolveError('bad-response', `${endpoint.base.host} paginated its tag list to another host (${next.host})`);
      }
      if (next && visited.has(next.href)) throw new ResolveError('bad-response', `${endpoint.base.host} paginated its tag list in a loop`);
      url = next;
    }
    return tags;
  }

  private endpoint(registry: string): Endpoint {
    const override = this.options.endpoints?.[registry];
    if (override !== undefined) {
      const base = new URL(override);
      // A mirror chosen over plain http must be one the user said may be reached that way.
      if (base.protocol === 'http:' && !this.mayUsePlainHttp(base.host)) {
        throw new ResolveError('not-allowed', `the mirror for ${registry} is plain http (${base.host}); list ${base.host} with --insecure-registry to allow it`);
      }
      return { registry, base, credentialKey: base.host };
    }
    const host = registry === DOCKER_HUB ? DOCKER_HUB_API_HOST : registry;
    return { registry, base: new URL(`${this.mayUsePlainHttp(registry) ? 'http' : 'https'}://${host}`), credentialKey: registry };
  }

  /** Loopback registries and those listed as insecure; Docker Hub never. */
  private mayUsePlainHttp(registry: string): boolean {
    const normalized = normalizeRegistry(registry);
    if (normalized === DOCKER_HUB) return false;
    return isLoopbackRegistry(normalized) || (this.options.plainHttpRegistries ?? []).includes(normalized);
  }

  /** Refuses a host the allowlist does not name (a token realm may also be on its registry's site). */
  private checkHost(url: URL, purpose: Purpose): void {
    const allowed = this.options.allowRegistries;
    if (allowed === undefined || hostAllowed(allowed, url)) return;
    if (purpose.kind === 'realm' && sameSite(purpose.registryHost, url.hostname)) return;
    const what = purpose.kind === 'realm' ? `the token server ${url.host}` : url.host;
    throw new ResolveError('bad-response', `refused to contact ${what}: not an allowed registry (--registry-allow ${allowed.join(',')})`);
  }

  /** One logical request: concurrency slot, attempts with backoff, authentication. */
  private exchange(endpoint: Endpoint, repository: string, url: URL, method: 'GET' | 'HEAD', accept: string): Promise<Reply> {
    let limiter = this.limiters.get(endpoint.base.host);
    if (!limiter) {
      limiter = new Limiter(this.options.maxConcurrentPerRegistry);
      this.limiters.set(endpoint.base.host, limiter);
    }
    return limiter.run(async () => {
      for (let attempt = 0; ; attempt++) {
        try {
          const reply = await this.authenticatedExchange(endpoint, repository, url, method, accept);
          const transient = transientFailure(reply);
          if (transient) throw transient;
          return reply;
        } catch (error) {
          if (!(error instanceof TransientError)) throw error;
          const delay = error.retryAfterMs ?? this.backoff(attempt);
          if (attempt >= this.options.retries || delay > this.options.maxRetryDelayMs) throw error.final;
          this.options.log?.(`${method} ${url.host}${url.pathname}: ${error.message}; retrying in ${delay} ms`);
          await sleep(delay);
        }
      }
    });
  }

  private backoff(attempt: number): number {
    const exponential = this.options.retryBaseDelayMs * 2 ** attempt;
    return Math.min(this.options.maxRetryDelayMs, Math.round(exponential * (0.8 + Math.random() * 0.4)));
  }

  private async authenticatedExchange(endpoint: Endpoint, repository: string, url: URL, method: 'GET' | 'HEAD', accept: string): Promise<Reply> {
    const scope = `repository:${repository}:pull`;
    const authorization = await this.knownAuthorization(endpoint, scope);
    const first = await this.send(url, method, { accept, authorization: authorization?.header }, authorization?.state);
    if (first.status !== 401) return first;
    const challenge = pickChallenge(first.headers.get('www-authenticate'));
    if (!challenge) return first;
    this.challenges.set(endpoint.base.host, challenge);
    if (authorization) this.authorizations.delete(authorizationKey(endpoint, scope));
    const fresh = await this.authorize(endpoint, scope, challenge);
    if (!fresh || fresh.header === authorization?.header) return { ...first, auth: fresh?.state ?? first.auth };
    return this.send(url, method, { accept, authorization: fresh.header }, fresh.state);
  }

  /** A still valid token for this scope, or one fetched up front when the registry challenged us before. */
  private async knownAuthorization(endpoint: Endpoint, scope: string): Promise<CachedAuthorization | undefined> {
    const cached = this.authorizations.get(authorizationKey(endpoint, scope));
    if (cached && cached.expiresAt > Date.now()) return cached;
    const challenge = this.challenges.get(endpoint.base.host);
    return challenge ? this.authorize(endpoint, scope, challenge) : undefined;
  }

  private async authorize(endpoint: Endpoint, scope: string, challenge: Challenge): Promise<CachedAuthorization | undefined> {
    const credentials = await this.credentialsFor(endpoint);
    let authorization: CachedAuthorization | undefined;
    if (challenge.scheme === 'basic') {
      if (credentials?.kind !== 'password') return undefined;
      authorization = { header: credentials.basicAuthorization(), expiresAt: Number.POSITIVE_INFINITY, state: { kind: 'credentials' } };
    } else if (credentials?.kind === 'registry-token') {
      authorization = { header: `Bearer ${credentials.reveal()}`, expiresAt: Number.POSITIVE_INFINITY, state: { kind: 'credentials' } };
    } else {
      authorization = await this.fetchToken(endpoint, challenge, scope, credentials);
    }
    this.authorizations.set(authorizationKey(endpoint, scope), authorization);
    return authorization;
  }

  private async credentialsFor(endpoint: Endpoint): Promise<Credentials | undefined> {
    try {
      return await this.options.credentials.get(endpoint.credentialKey);
    } catch (error) {
      if (error instanceof CredentialError) throw new ResolveError('unauthorized', `${endpoint.registry} asks for credentials: ${error.message}`);
      throw error;
    }
  }

  /** The bearer token dance: realm?service=…&scope=…, with the registry's credentials when the realm may see them. */
  private async fetchToken(endpoint: Endpoint, challenge: Challenge, scope: string, credentials: Credentials | undefined): Promise<CachedAuthorization> {
    let realm: URL;
    try {
      realm = new URL(challenge.params.realm ?? '');
    } catch {
      throw new ResolveError('bad-response', `${endpoint.base.host} sent a bearer challenge without a valid realm`);
    }
    const mayUse = credentials !== undefined && realmMayReceiveCredentials(registryHostname(endpoint.base.host), realm);
    const used = mayUse ? credentials : undefined;
    const state: AuthState = used ? { kind: 'credentials' } : credentials ? { kind: 'withheld', realmHost: realm.host } : { kind: 'anonymous-token' };
    const service = challenge.params.service;
    const realmPurpose: Purpose = { kind: 'realm', registryHost: endpoint.base.hostname };
    // Our own scope, not the challenge's: a remembered challenge names the repository of an earlier request.
    const tokenScope = scope;
    let reply: Reply;
    if (used?.kind === 'identity-token') {
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: used.reveal(), client_id: 'dockopt', scope: tokenScope });
      if (service) form.set('service', service);
      reply = await this.send(realm, 'POST', { accept: 'application/json', contentType: 'application/x-www-form-urlencoded', body: form.toString() }, state, realmPurpose);
    } else {
      const url = new URL(realm);
      if (service) url.searchParams.set('service', service);
      url.searchParams.set('scope', tokenScope);
      reply = await this.send(url, 'GET', { accept: 'application/json', authorization: used?.basicAuthorization() }, state, realmPurpose);
    }
    if (reply.status === 401 || reply.status === 403) {
      throw new ResolveError(
        'unauthorized',
        used ? `${reply.status} the token server ${realm.host} rejected the credentials for ${endpoint.credentialKey}` : `${reply.status} the token server ${realm.host} requires credentials for ${endpoint.credentialKey}`,
      );
    }
    const transient = transientFailure(reply);
    if (transient) throw transient;
    if (reply.status !== 200) throw new ResolveError('bad-response', `the token server ${realm.host} answered HTTP ${reply.status}`);
    const answer = parseJson(reply.body, `token from ${realm.host}`) as { token?: unknown; access_token?: unknown; expires_in?: unknown };
    const token = typeof answer?.token === 'string' && answer.token ? answer.token : answer?.access_token;
    if (typeof token !== 'string' || token === '') throw new ResolveError('bad-response', `the token server ${realm.host} sent no token`);
    const seconds = typeof answer.expires_in === 'number' && answer.expires_in > 0 ? answer.expires_in : DEFAULT_TOKEN_SECONDS;
    return { header: `Bearer ${token}`, expiresAt: Date.now() + seconds * 1000 - TOKEN_RENEW_MARGIN_MS, state };
  }

  /**
   * One HTTP exchange, following redirects by hand so that Authorization
   * never leaves its origin and every hop passes the allowlist.
   */
  private async send(
    url: URL,
    method: 'GET' | 'HEAD' | 'POST',
    request: { accept: string; authorization?: string; contentType?: string; body?: string },
    auth: AuthState = { kind: 'none' },
    purpose: Purpose = { kind: 'registry' },
  ): Promise<Reply> {
    let current = url;
    let currentMethod = method;
    let authorization = request.authorization;
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      this.checkHost(current, purpose);
      const headers: Record<string, string> = { accept: request.accept, 'user-agent': this.options.userAgent };
      if (authorization) headers.authorization = authorization;
      if (request.contentType && currentMethod === 'POST') headers['content-type'] = request.contentType;
      let status: number;
      let responseHeaders: Headers;
      let body: Buffer;
      try {
        const response = await fetch(current, {
          method: currentMethod,
          headers,
          body: currentMethod === 'POST' ? request.body : undefined,
          redirect: 'manual',
          signal: AbortSignal.timeout(this.options.timeoutMs),
        });
        status = response.status;
        responseHeaders = response.headers;
        body = currentMethod === 'HEAD' ? (await response.body?.cancel(), Buffer.alloc(0)) : await readCapped(response, current, this.options.maxBodyBytes ?? MAX_BODY_BYTES);
      } catch (error) {
        throw networkFailure(error, current, this.options.timeoutMs);
      }
      this.options.log?.(`${currentMethod} ${current.origin}${current.pathname} → ${status}`);
      const location = responseHeaders.get('location');
      if (status >= 300 && status < 400 && status !== 304 && location) {
        const next = new URL(location, current);
        if (next.protocol !== 'https:' && !(next.protocol === 'http:' && (current.protocol === 'http:' || isLoopbackRegistry(next.host)))) {
          throw new ResolveError('bad-response', `${current.host} redirected to ${next.protocol}//${next.host}, which is not followed`);
        }
        // Credentials and tokens belong to the origin that asked for them.
        if (next.origin !== current.origin) authorization = undefined;
        if (status === 303) currentMethod = currentMethod === 'HEAD' ? 'HEAD' : 'GET';
        current = next;
        continue;
      }
      return { status, headers: responseHeaders, body, url: current, auth };
    }
    throw new ResolveError('bad-response', `${url.host} redirected more than ${MAX_REDIRECTS} times`);
  }

  private failure(reply: Reply, endpoint: Endpoint, reference?: string): ResolveError {
    const code = errorCode(reply.body);
    const host = endpoint.base.host;
    switch (reply.status) {
      case 401:
        return new ResolveError('unauthorized', `401 unauthorized${authHint(reply.auth, endpoint)}`);
      case 403:
        return new ResolveError('unauthorized', `403 access denied by ${host}`);
      case 404: {
        if (code === 'NAME_UNKNOWN' || reference === undefined) return new ResolveError('not-found', '404 repository not found');
        return new ResolveError('not-found', `404 ${reference.includes(':') ? 'digest' : 'tag'} not found`);
      }
      default:
        return new ResolveError('bad-response', `${host} answered HTTP ${reply.status}${code ? ` (${code})` : ''}`);
    }
  }
}

function authHint(auth: AuthState, endpoint: Endpoint): string {
  switch (auth.kind) {
    case 'credentials':
      return ` (the credentials for ${endpoint.credentialKey} were not accepted)`;
    case 'withheld':
      return ` (credentials for ${endpoint.credentialKey} exist but were not sent to the token server ${auth.realmHost}, another site)`;
    default:
      return ` (no credentials for ${endpoint.credentialKey} in the docker config)`;
  }
}

function authorizationKey(endpoint: Endpoint, scope: string): string {
  return `${endpoint.base.host} ${scope}`;
}

/** Bearer wins when a registry offers both: it is what the distribution spec describes. */
function pickChallenge(header: string | null): Challenge | undefined {
  if (!header) return undefined;
  const challenges = parseChallenges(header);
  return challenges.find((challenge) => challenge.scheme === 'bearer') ?? challenges.find((challenge) => challenge.scheme === 'basic');
}

function transientFailure(reply: Reply): TransientError | undefined {
  const host = reply.url.host;
  if (reply.status === 429) {
    return new TransientError(new ResolveError('rate-limited', `429 too many requests to ${host}`), retryAfterMs(reply.headers.get('retry-after')));
  }
  if (reply.status === 500 || reply.status === 502 || reply.status === 503 || reply.status === 504) {
    return new TransientError(new ResolveError('bad-response', `${host} answered HTTP ${reply.status}`), retryAfterMs(reply.headers.get('retry-after')));
  }
  return undefined;
}

/** Retry-After is seconds or an HTTP date. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  if (/^\s*\d+\s*$/.test(header)) return Number(header) * 1000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function networkFailure(error: unknown, url: URL, timeoutMs: number): Error {
  if (error instanceof ResolveError) return error;
  const name = (error as Error)?.name;
  if (name === 'TimeoutError' || name === 'AbortError') {
    return new TransientError(new ResolveError('timeout', `${url.host} did not answer within ${timeoutMs} ms`));
  }
  const cause = (error as { cause?: { code?: string; message?: string } })?.cause;
  const detail = cause?.code ?? cause?.message ?? (error as Error)?.message ?? String(error);
  return new TransientError(new ResolveError('unreachable', `cannot reach ${url.host}: ${detail}`));
}

function contentType(headers: Headers): string {
  return (headers.get('content-type') ?? '').split(';')[0].trim().toLowerCase();
}

function parseJson(body: Buffer, what: string): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new ResolveError('bad-response', `malformed JSON in the ${what}`);
  }
}

/** The `code` of a distribution error body ({"errors":[{"code":"MANIFEST_UNKNOWN",…}]}), if any. */
function errorCode(body: Buffer): string | undefined {
  if (body.length === 0) return undefined;
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { errors?: { code?: unknown }[] };
    const code = parsed?.errors?.[0]?.code;
    return typeof code === 'string' && /^[A-Z_]+$/.test(code) ? code : undefined;
  } catch {
    return undefined;
  }
}

/** `Link: </v2/x/tags/list?last=b&n=2>; rel="next"` → absolute URL. */
export function nextLink(header: string | null, base: URL): URL | undefined {
  if (!header) return undefined;
  for (const part of header.split(/,(?=\s*<)/)) {
    const match = /^\s*<([^>]*)>\s*(.*)$/.exec(part);
    if (match && /(?:^|;)\s*rel\s*=\s*"?next"?\s*(?:;|$)/i.test(match[2])) return new URL(match[1], base);
  }
  return undefined;
}

/**
 * The body, counted as it streams: past `maxBytes` the stream is cancelled
 * and the answer refused, whatever Content-Length said (or when there was none).
 */
async function readCapped(response: Response, url: URL, maxBytes: number): Promise<Buffer> {
  const tooLarge = (size: string) => new ResolveError('bad-response', `${url.host} sent ${size} for ${url.pathname}, more than a registry answer can be (${maxBytes} bytes)`);
  const announced = Number(response.headers.get('content-length') ?? 0);
  if (announced > maxBytes) {
    await response.body?.cancel();
    throw tooLarge(`${announced} bytes`);
  }
  if (!response.body) return Buffer.alloc(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel();
      throw tooLarge(`more than ${maxBytes} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, total);
}

/** An allowlist entry `host:port` allows that port, `host` every port; names compare normalized (Docker Hub's aliases are docker.io). */
export function hostAllowed(allowed: readonly string[], url: URL | string): boolean {
  const host = typeof url === 'string' ? url : url.host;
  const registry = normalizeRegistry(host);
  const hostname = registryHostname(registry);
  return allowed.some((entry) => entry === registry || (!/:\d+$/.test(entry) && !entry.includes('[') && entry === hostname));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function stripUndefined<T extends object>(object: T): Partial<T> {
  return Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined)) as Partial<T>;
}

/** At most `max` tasks at once; the others wait in arrival order. */
class Limiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly max: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    // A finishing task hands its slot straight to the next waiter, so a newcomer cannot slip in between.
    if (this.active >= this.max) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}
