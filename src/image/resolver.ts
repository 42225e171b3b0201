// What network transforms may ask about images. The CLI hands a registry-backed
// implementation (src/registry) to the engine as `services.resolver`; fixture
// tests hand in recorded answers. Transforms see only this interface.
import type { ImageReference } from './reference.js';

export const MEDIA_TYPES = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
} as const;

/** Multi-platform manifests: their digest stands for every platform at once. */
export function isIndexMediaType(mediaType: string): boolean {
  return mediaType === MEDIA_TYPES.ociIndex || mediaType === MEDIA_TYPES.dockerManifestList;
}

export interface Platform {
  readonly os: string;
  readonly architecture: string;
  readonly variant?: string;
}

/** The distribution spec's name for a platform in indexes and --platform: `linux/arm64/v8`. */
export function formatPlatform(platform: Platform): string {
  return [platform.os, platform.architecture, platform.variant].filter((part) => part !== undefined && part !== '').join('/');
}

/** `linux/arm64/v8` → its parts; undefined when it is not os/architecture[/variant]. */
export function parsePlatform(text: string): Platform | undefined {
  const [os, architecture, variant, ...rest] = text.trim().toLowerCase().split('/');
  if (!os || !architecture || rest.length > 0 || variant === '') return undefined;
  return { os, architecture, ...(variant !== undefined && { variant }) };
}

/** The platform builds get when nothing asks for another: what the CLI assumes for `FROM` without --platform. */
export const DEFAULT_PLATFORM = 'linux/amd64';

/**
 * What an image's config (the JSON its manifest points at) says about how a
 * container of it runs. Every field is optional so that partial answers, e.g.
 * from test doubles, are still answers; the registry resolver fills them all.
 */
export interface ImageConfig {
  /** `sha256:…` of the config blob, i.e. the image ID. */
  readonly digest?: string;
  /** The platform the image was built for (`os`, `architecture`, `variant` of the config). */
  readonly platform?: Platform;
  /** The config's User: `name`, `uid`, `uid:gid`…; '' or absent means root. */
  readonly user?: string;
  /** The config's Env, `NAME=value` entries as a map. */
  readonly env?: Readonly<Record<string, string>>;
  /** The config's Labels, e.g. `org.opencontainers.image.base.name`; inherited from the images it was built FROM. */
  readonly labels?: Readonly<Record<string, string>>;
  /** The annotations of the image's manifest (not inherited): Docker Official Images name their base there. */
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface ManifestSummary {
  /** `sha256:…` of the manifest bytes: what `@digest` in a FROM pins. */
  readonly digest: string;
  readonly mediaType: string;
}

export type ResolveErrorKind =
  /** The tag, digest or repository does not exist. */
  | 'not-found'
  /** 401/403: no credentials, wrong ones, or no access. */
  | 'unauthorized'
  | 'unreachable'
  | 'timeout'
  /** 429 after the retries ran out. */
  | 'rate-limited'
  /** The registry answered something that is not the protocol (bad JSON, missing digest, 5xx). */
  | 'bad-response'
  /** Offline and the answer is not in the cache. */
  | 'offline'
  /** The registry is not in the allowlist. */
  | 'not-allowed';

/** A lookup that failed; the message is safe to show (it never contains credentials). */
export class ResolveError extends Error {
  constructor(
    readonly kind: ResolveErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'ResolveError';
  }
}

export interface ImageResolver {
  /** What the reference's digest, or else its tag (`latest` when absent), points at now. */
  lookup(image: ImageReference): Promise<ManifestSummary>;
  /** Every tag of the image's repository, in the registry's order. */
  listTags(image: ImageReference): Promise<readonly string[]>;
  /** The platforms an index or manifest list offers; undefined when digest is a single-platform manifest. */
  platforms(image: ImageReference, digest: string): Promise<readonly Platform[] | undefined>;
  /**
   * The config of the image the reference names; for an index, of its image for
   * `platform` (default DEFAULT_PLATFORM), while a single-platform manifest is
   * answered whatever it was built for (see ImageConfig.platform). Optional:
   * callers check for it, so resolvers that only pin need not implement it.
   */
  imageConfig(image: ImageReference, platform?: string): Promise<ImageConfig>;
}
