// The registry-backed ImageResolver the CLI hands to network transforms:
// allowlist first, then one lookup per distinct question per run (in-memory
// promises, failures included), then the disk cache, then the registry.
//
// A tag's digest comes from a HEAD (free on Docker Hub's pull limit), and is
// believed only once a GET of the tag has sent bytes that hash to it: a
// registry cannot get a digest pinned by naming one in a header. The check
// is remembered (a digest names the same bytes forever), so a tag that has
// not moved costs one HEAD again.
import path from 'node:path';
import { canonicalRepository, effectiveTag, normalizeRegistry, registryHostname, type ImageReference } from '../image/reference.js';
import { DEFAULT_PLATFORM, formatPlatform, isIndexMediaType, parsePlatform, ResolveError, type ImageConfig, type ImageResolver, type ManifestSummary, type Platform } from '../image/resolver.js';
import { checkCacheDirectory, DiskCache, defaultCacheDir, UnsafeCacheDirectoryError } from './cache.js';
import { RegistryClient, wasHashed, type FetchedManifest, type RegistryClientOptions } from './client.js';
import { dockerConfigCredentials, type CredentialSource } from './credentials.js';
import { configDescriptor, isImageConfig, manifestAnnotations, manifestForPlatform, parseImageConfig } from './image-config.js';

export { checkCacheDirectory, defaultCacheDir, DiskCache, UnsafeCacheDirectoryError } from './cache.js';
export { hostAllowed, MANIFEST_ACCEPT, RegistryClient, type RegistryClientOptions } from './client.js';
export { Credentials, dockerConfigCredentials, type CredentialSource } from './credentials.js';

/** How long a tag's digest and a tag list are trusted before asking again. */
export const DEFAULT_CACHE_TTL_MS = 60 * 60 * 1000;
/** An index of indexes is legal but rare; deeper nesting is treated as a broken answer. */
const MAX_INDEX_DEPTH = 2;

/**
 * The client's own settings (timeouts, retries, concurrency, plain-http
 * registries, mirrors, logging) plus how the resolver finds credentials and
 * caches answers.
 */
export interface ImageResolverOptions extends Partial<Omit<RegistryClientOptions, 'credentials'>> {
  /** --offline: answer from the disk cache only, however old; a miss is a 'offline' ResolveError. */
  readonly offline?: boolean;
  /**
   * --registry-allow: the only registries that may be contacted (`docker.io`,
   * `ghcr.io`, `localhost:5000`; an entry without a port allows every port of
   * that host). Undefined allows every registry a Dockerfile names.
   */
  readonly allowRegistries?: readonly string[];
  /** dockopt's cache root; registry answers go to `<cacheDir>/registry`. Default: the user cache dir. */
  readonly cacheDir?: string;
  /** False keeps answers in memory only (no reads or writes under cacheDir). */
  readonly diskCache?: boolean;
  readonly cacheTtlMs?: number;
  /** Path of docker's config.json (credentials); default $DOCKER_CONFIG or ~/.docker. */
  readonly dockerConfig?: string;
  /** Replaces the docker config as the source of credentials. */
  readonly credentials?: CredentialSource;
  /** Environment for the docker config location and credential helpers. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/**
 * Throws UnsafeCacheDirectoryError when the cache directory (given or
 * default) exists and is another user's or writable by others.
 */
export function createImageResolver(options: ImageResolverOptions = {}): ImageResolver {
  const env = options.env ?? process.env;
  const credentials = options.credentials ?? dockerConfigCredentials({ configPath: options.dockerConfig, env });
  const client = new RegistryClient({
    ...options,
    credentials,
    plainHttpRegistries: options.plainHttpRegistries?.map(normalizeRegistry),
    allowRegistries: options.allowRegistries?.map(normalizeRegistry),
  });
  let disk: DiskCache | undefined;
  if (options.diskCache !== false) {
    const root = options.cacheDir ?? defaultCacheDir(env);
    checkCacheDirectory(root);
    disk = new DiskCache(path.join(root, 'registry'));
    checkCacheDirectory(disk.dir);
  }
  return new RegistryResolver(client, disk, options);
}

/** Wrapped so that a cached `undefined` (no platforms) is told apart from a miss. */
interface Stored<T> {
  readonly answer: T;
}

class RegistryResolver implements ImageResolver {
  private readonly pending = new Map<string, Promise<unknown>>();
  /** Digests whose bytes were seen or are being fetched (see checkAnnouncedDigest): tags sharing an image share the check. */
  private readonly verified = new Map<string, Promise<void>>();
  /** Manifests GET for that check, by digest: reading the image's platforms or config next needs no second GET. */
  private readonly fetched = new Map<string, FetchedManifest>();
  private readonly allowed?: readonly string[];

  constructor(
    private readonly client: RegistryClient,
    private readonly disk: DiskCache | undefined,
    private readonly options: ImageResolverOptions,
  ) {
    this.allowed = options.allowRegistries?.map(normalizeRegistry);
  }

  lookup(image: ImageReference): Promise<ManifestSummary> {
    if (image.digest) {
      // A digest names the same bytes forever.
      const digest = image.digest;
      return this.once(image, this.digestKey(image, digest), Number.POSITIVE_INFINITY, isManifestSummary, () => this.client.headManifest(image.registry, image.repository, digest));
    }
    const tag = effectiveTag(image)!;
    const answer = this.once(image, `manifest ${this.repositoryKey(image)}:${tag}`, this.ttl, isManifestSummary, async () => {
      const summary = await this.client.headManifest(image.registry, image.repository, tag);
      if (!wasHashed(summary)) await this.checkAnnouncedDigest(image, tag, summary);
      return summary;
    });
    // The tag's answer proves its digest exists: verifying the pinned FROM on the next pass costs no request.
    void answer.then(
      (summary) => {
        const key = this.digestKey(image, summary.digest);
        if (!this.pending.has(key)) this.pending.set(key, Promise.resolve(summary));
      },
      () => undefined,
    );
    return answer;
  }

  listTags(image: ImageReference): Promise<readonly string[]> {
    return this.once(image, `tags ${this.repositoryKey(image)}`, this.ttl, isStringArray, () => this.client.listTags(image.registry, image.repository));
  }

  async platforms(image: ImageReference, digest: string): Promise<readonly Platform[] | undefined> {
    const stored = await this.once(image, `platforms ${this.repositoryKey(image)}@${digest}`, Number.POSITIVE_INFINITY, isStoredPlatforms, async () => {
      const manifest = await this.manifestByDigest(image, digest);
      return { answer: isIndexMediaType(manifest.summary.mediaType) ? platformsOf(manifest.body) : undefined };
    });
    return stored.answer;
  }

  /**
   * Costs the tag lookup (HEAD, shared with pinning), then the manifest GETs
   * (index and the platform's image: one pull on Docker Hub's rate limit) and
   * the config blob; the answer is cached for good under the manifest digest.
   */
  async imageConfig(image: ImageReference, platform: string = DEFAULT_PLATFORM): Promise<ImageConfig> {
    const wanted = parsePlatform(platform);
    if (!wanted) throw new RangeError(`"${platform}" is not a platform (os/architecture[/variant])`);
    const summary = await this.lookup(image);
    const key = `config ${this.repositoryKey(image)}@${summary.digest} for ${formatPlatform(wanted)}`;
    return this.once(image, key, Number.POSITIVE_INFINITY, isImageConfig, async () => {
      let manifest = await this.manifestByDigest(image, summary.digest);
      for (let depth = 0; isIndexMediaType(manifest.summary.mediaType); depth++) {
        if (depth === MAX_INDEX_DEPTH) throw new ResolveError('bad-response', `${summary.digest} nests image indexes more than ${MAX_INDEX_DEPTH} deep`);
        manifest = await this.client.getManifest(image.registry, image.repository, manifestForPlatform(manifest.body, wanted));
      }
      const config = configDescriptor(manifest.body);
      const bytes = await this.client.getBlob(image.registry, image.repository, config.digest, config.mediaType);
      return { ...parseImageConfig(bytes, config.digest), annotations: manifestAnnotations(manifest.body) };
    });
  }

  /**
   * The digest a HEAD announced, checked against the bytes of a GET of the
   * same tag (once per digest: the check is cached for good).
   */
  private checkAnnouncedDigest(image: ImageReference, tag: string, announced: ManifestSummary): Promise<void> {
    const key = `verified ${this.repositoryKey(image)}@${announced.digest}`;
    let check = this.verified.get(key);
    if (!check) {
      check = this.verifyDigest(image, tag, announced, key);
      this.verified.set(key, check);
      // A failed check may succeed for another tag (or later): only successes are shared.
      check.catch(() => this.verified.delete(key));
    }
    return check;
  }

  private async verifyDigest(image: ImageReference, tag: string, announced: ManifestSummary, key: string): Promise<void> {
    const cached = await this.readCache(key);
    if (cached?.value === true) return;
    const fetched = await this.client.getManifest(image.registry, image.repository, tag);
    this.fetched.set(this.digestKey(image, fetched.summary.digest), fetched);
    if (fetched.summary.digest !== announced.digest) {
      throw new ResolveError('bad-response', `the registry announced ${announced.digest} for ${tag}, but the manifest it sends for ${tag} hashes to ${fetched.summary.digest}; nothing is pinned`);
    }
    await this.disk?.write(key, true).catch(rethrowAsResolveError);
  }

  private manifestByDigest(image: ImageReference, digest: string): Promise<FetchedManifest> {
    const known = this.fetched.get(this.digestKey(image, digest));
    return known ? Promise.resolve(known) : this.client.getManifest(image.registry, image.repository, digest);
  }

  private get ttl(): number {
    return this.options.cacheTtlMs ?? DEFAULT_CACHE_TTL_MS;
  }

  private digestKey(image: ImageReference, digest: string): string {
    return `manifest ${this.repositoryKey(image)}@${digest}`;
  }

  private repositoryKey(image: ImageReference): string {
    const endpoint = this.options.endpoints?.[image.registry];
    return endpoint === undefined ? canonicalRepository(image) : `${canonicalRepository(image)} via ${endpoint}`;
  }

  /** Each distinct question is asked once per run; a failure is remembered too, so a dead registry is not hammered. */
  private once<T>(image: ImageReference, key: string, ttlMs: number, valid: (value: unknown) => value is T, fetch: () => Promise<T>): Promise<T> {
    let answer = this.pending.get(key) as Promise<T> | undefined;
    if (!answer) {
      answer = this.answer(image, key, ttlMs, valid, fetch);
      this.pending.set(key, answer);
    }
    return answer;
  }

  private async answer<T>(image: ImageReference, key: string, ttlMs: number, valid: (value: unknown) => value is T, fetch: () => Promise<T>): Promise<T> {
    this.checkAllowed(image.registry);
    const cached = await this.readCache(key);
    if (cached && valid(cached.value) && (this.options.offline || cached.ageMs <= ttlMs)) return cached.value;
    if (this.options.offline) throw new ResolveError('offline', 'not in the registry cache (offline)');
    const value = await fetch();
    await this.disk?.write(key, value).catch(rethrowAsResolveError);
    return value;
  }

  private readCache(key: string) {
    return this.disk?.read<unknown>(key).catch(rethrowAsResolveError);
  }

  private checkAllowed(registry: string): void {
    if (!this.allowed) return;
    const hostname = registryHostname(registry);
    if (this.allowed.some((entry) => entry === registry || (!/:\d+$/.test(entry) && !entry.includes('[') && entry === hostname))) return;
    throw new ResolveError('not-allowed', `${registry} is not an allowed registry (--registry-allow ${this.allowed.join(',')})`);
  }
}

/** A cache directory that became unsafe during the run fails the lookup, with the reason. */
function rethrowAsResolveError(error: unknown): never {
  if (error instanceof UnsafeCacheDirectoryError) throw new ResolveError('bad-response', error.message);
  throw error;
}

function platformsOf(index: unknown): Platform[] {
  const manifests = (index as { manifests?: unknown }).manifests;
  if (!Array.isArray(manifests)) throw new ResolveError('bad-response', 'an image index without a "manifests" list');
  return manifests.flatMap((entry: { platform?: { os?: unknown; architecture?: unknown; variant?: unknown } }) => {
    const platform = entry?.platform;
    if (typeof platform?.os !== 'string' || typeof platform.architecture !== 'string') return [];
    // Attestation manifests (buildx) are listed as unknown/unknown: not a platform anyone builds for.
    if (platform.os === 'unknown') return [];
    return [{ os: platform.os, architecture: platform.architecture, ...(typeof platform.variant === 'string' && { variant: platform.variant }) }];
  });
}

function isManifestSummary(value: unknown): value is ManifestSummary {
  const summary = value as ManifestSummary;
  return typeof summary?.digest === 'string' && typeof summary.mediaType === 'string';
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

function isStoredPlatforms(value: unknown): value is Stored<Platform[] | undefined> {
  if (value === null || typeof value !== 'object') return false;
  const answer = (value as { answer?: unknown }).answer;
  return answer === undefined || (Array.isArray(answer) && answer.every((platform) => typeof platform?.os === 'string' && typeof platform?.architecture === 'string'));
}
