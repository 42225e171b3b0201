// An ImageResolver that answers from recorded registry contents (a JSON of
// repositories → tags → digests, and the image configs behind digests), for
// fixture tests that must not touch the network. It mimics what the real
// client reports (see test/registry/ for the client against a real registry):
// 404s per tag, digest lookups, platforms of indexes, the config of an index's
// image for a platform, and recorded failures.
import { readFileSync } from 'node:fs';
import { canonicalRepository, effectiveTag, type ImageReference } from '../../src/image/reference.js';
import { manifestForPlatform } from '../../src/registry/image-config.js';
import {
  DEFAULT_PLATFORM,
  MEDIA_TYPES,
  parsePlatform,
  ResolveError,
  type ImageConfig,
  type ImageResolver,
  type ManifestSummary,
  type Platform,
  type ResolveErrorKind,
} from '../../src/image/resolver.js';

/** An ImageConfig as JSON records it: the platform written `os/arch[/variant]`. */
export interface RecordedConfig extends Omit<ImageConfig, 'platform'> {
  readonly platform: string;
}

export interface RecordedRepository {
  /** tag → digest */
  readonly tags: Readonly<Record<string, string>>;
  /** Digests that are image indexes, with their platforms as `os/arch[/variant]`; other digests are single manifests. */
  readonly indexes?: Readonly<Record<string, readonly string[]>>;
  /** digest → the configs of its images: one for a single manifest, one per platform for an index. */
  readonly configs?: Readonly<Record<string, readonly RecordedConfig[]>>;
  /** When set, every lookup in the repository fails like this. */
  readonly error?: { readonly kind: ResolveErrorKind; readonly message: string };
}

/** Keyed by `registry/repository`, e.g. `docker.io/library/python`. */
export type RecordedRegistry = Readonly<Record<string, RecordedRepository>>;

export interface RecordedResolver extends ImageResolver {
  /** Every question asked, in order: `lookup docker.io/library/python:3.9-slim`, `tags …`, `platforms …@sha256:…`, `config … for linux/amd64`. */
  readonly calls: string[];
}

export function loadRecordedRegistry(file: string): RecordedRegistry {
  return JSON.parse(readFileSync(file, 'utf8')) as RecordedRegistry;
}

export function recordedResolver(registry: RecordedRegistry): RecordedResolver {
  const calls: string[] = [];
  const repositoryOf = (image: ImageReference): RecordedRepository | undefined => {
    const repository = registry[canonicalRepository(image)];
    if (repository?.error) throw new ResolveError(repository.error.kind, repository.error.message);
    return repository;
  };
  const resolve = (image: ImageReference): { repository: RecordedRepository; digest: string } => {
    const repository = repositoryOf(image);
    if (image.digest) {
      const known = repository && (Object.values(repository.tags).includes(image.digest) || repository.indexes?.[image.digest]);
      if (!known) throw new ResolveError('not-found', '404 digest not found');
      return { repository, digest: image.digest };
    }
    const digest = repository?.tags[effectiveTag(image)!];
    if (!repository || !digest) throw new ResolveError('not-found', '404 tag not found');
    return { repository, digest };
  };
  return {
    calls,
    async lookup(image: ImageReference): Promise<ManifestSummary> {
      calls.push(`lookup ${canonicalRepository(image)}${image.digest ? `@${image.digest}` : `:${effectiveTag(image)}`}`);
      const { repository, digest } = resolve(image);
      return summary(repository, digest);
    },
    async imageConfig(image: ImageReference, platform: string = DEFAULT_PLATFORM): Promise<ImageConfig> {
      calls.push(`config ${canonicalRepository(image)}${image.digest ? `@${image.digest}` : `:${effectiveTag(image)}`} for ${platform}`);
      const { repository, digest } = resolve(image);
      const recorded = repository.configs?.[digest];
      // Every image has a config: a missing recording is a gap in the fixture, reported like a registry would.
      if (!recorded || recorded.length === 0) throw new ResolveError('not-found', `404 blob not found (no config recorded for ${digest})`);
      let config = recorded[0];
      if (repository.indexes?.[digest]) {
        const wanted = parsePlatform(platform);
        if (!wanted) throw new RangeError(`"${platform}" is not a platform (os/architecture[/variant])`);
        // The real resolver's choice among an index's images, over the recorded ones.
        const chosen = manifestForPlatform({ manifests: recorded.map((entry, i) => ({ digest: String(i), platform: parsePlatform(entry.platform) })) }, wanted);
        config = recorded[Number(chosen)];
      }
      return { ...config, platform: parsePlatform(config.platform) };
    },
    async listTags(image: ImageReference): Promise<readonly string[]> {
      calls.push(`tags ${canonicalRepository(image)}`);
      const repository = repositoryOf(image);
      if (!repository) throw new ResolveError('not-found', '404 repository not found');
      return Object.keys(repository.tags);
    },
    async platforms(image: ImageReference, digest: string): Promise<readonly Platform[] | undefined> {
      calls.push(`platforms ${canonicalRepository(image)}@${digest}`);
      const platforms = repositoryOf(image)?.indexes?.[digest];
      return platforms?.map((text) => {
        const [os, architecture, variant] = text.split('/');
        return { os, architecture, ...(variant !== undefined && { variant }) };
      });
    },
  };
}

function summary(repository: RecordedRepository, digest: string): ManifestSummary {
  return { digest, mediaType: repository.indexes?.[digest] ? MEDIA_TYPES.ociIndex : MEDIA_TYPES.ociManifest };
}
