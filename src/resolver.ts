// What network transforms may ask about images. The CLI hands a registry-backed
// implementation (src/registry) to the engine as `services.resolver`; fixture
// tests hand in recorded answers. Transforms see only this interface.
import type { ImageReference } from './image-ref.js';

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
}
