// Reading an image's config out of registry answers: which manifest of an
// index serves a platform, which blob a manifest names as its config, and what
// that config JSON (OCI image config / Docker image v1) says. Pure functions
// over parsed JSON and bytes; the requests are the resolver's business.
import { formatPlatform, ResolveError, type ImageConfig, type Platform } from '../image/resolver.js';

/** Config media types of container images; anything else (Helm charts, signatures, SBOMs) is an artifact. */
const IMAGE_CONFIG_TYPES = new Set(['application/vnd.oci.image.config.v1+json', 'application/vnd.docker.container.image.v1+json']);

/** The variant a platform means when it names none (containerd's normalisation): arm64 is v8, arm is v7. */
function effectiveVariant(platform: Platform): string | undefined {
  if (platform.variant !== undefined) return platform.variant;
  if (platform.architecture === 'arm64') return 'v8';
  if (platform.architecture === 'arm') return 'v7';
  return undefined;
}

interface IndexEntry {
  readonly digest: string;
  readonly platform: Platform;
}

function indexEntries(index: unknown): IndexEntry[] {
  const manifests = (index as { manifests?: unknown })?.manifests;
  if (!Array.isArray(manifests)) throw new ResolveError('bad-response', 'an image index without a "manifests" list');
  return manifests.flatMap((entry: { digest?: unknown; platform?: { os?: unknown; architecture?: unknown; variant?: unknown } }) => {
    const platform = entry?.platform;
    if (typeof entry?.digest !== 'string' || typeof platform?.os !== 'string' || typeof platform.architecture !== 'string') return [];
    const variant = typeof platform.variant === 'string' && platform.variant !== '' ? platform.variant : undefined;
    return [{ digest: entry.digest, platform: { os: platform.os.toLowerCase(), architecture: platform.architecture.toLowerCase(), ...(variant && { variant: variant.toLowerCase() }) } }];
  });
}

/**
 * The digest of the index's manifest for `wanted`: the one whose variant
 * matches, or, when `wanted` names no variant, the first of its os/architecture.
 */
export function manifestForPlatform(index: unknown, wanted: Platform): string {
  const entries = indexEntries(index);
  const sameArchitecture = entries.filter((entry) => entry.platform.os === wanted.os && entry.platform.architecture === wanted.architecture);
  const exact = sameArchitecture.find((entry) => effectiveVariant(entry.platform) === effectiveVariant(wanted));
  const chosen = exact ?? (wanted.variant === undefined ? sameArchitecture[0] : undefined);
  if (chosen) return chosen.digest;
  // Attestation manifests (buildx) are listed as unknown/unknown: not an image anyone runs.
  const offered = [...new Set(entries.filter((entry) => entry.platform.os !== 'unknown').map((entry) => formatPlatform(entry.platform)))].join(', ');
  throw new ResolveError('not-found', `the image index has no ${formatPlatform(wanted)} image (it has ${offered || 'none'})`);
}

/** The string-valued annotations of a manifest (OCI only; Docker v2 manifests have none). */
export function manifestAnnotations(manifest: unknown): Record<string, string> {
  const annotations = (manifest as { annotations?: unknown })?.annotations;
  if (annotations === null || typeof annotations !== 'object' || Array.isArray(annotations)) return {};
  return stringEntries(annotations);
}

/** The config descriptor of an image manifest, refusing artifacts that are not container images. */
export function configDescriptor(manifest: unknown): { readonly digest: string; readonly mediaType: string } {
  const config = (manifest as { config?: { digest?: unknown; mediaType?: unknown } })?.config;
  if (typeof config?.digest !== 'string' || typeof config.mediaType !== 'string') throw new ResolveError('bad-response', 'an image manifest without a config descriptor');
  if (!IMAGE_CONFIG_TYPES.has(config.mediaType)) throw new ResolveError('bad-response', `not a container image: its config is ${config.mediaType}`);
  return { digest: config.digest, mediaType: config.mediaType };
}

/** The parts of an image config that say how its containers run. `bytes` must already match `digest`. */
export function parseImageConfig(bytes: Buffer, digest: string): ImageConfig {
  let body: unknown;
  try {
    body = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new ResolveError('bad-response', `malformed JSON in the image config ${digest}`);
  }
  const { os, architecture, variant, config } = (body ?? {}) as { os?: unknown; architecture?: unknown; variant?: unknown; config?: unknown };
  if (body === null || typeof body !== 'object' || typeof os !== 'string' || typeof architecture !== 'string') {
    throw new ResolveError('bad-response', `the image config ${digest} names no os and architecture`);
  }
  // `config` is optional in both specs (an image built FROM scratch with no settings has none).
  if (config !== undefined && config !== null && typeof config !== 'object') throw new ResolveError('bad-response', `the image config ${digest} has a malformed "config"`);
  const { User, Env, Labels } = (config ?? {}) as { User?: unknown; Env?: unknown; Labels?: unknown };
  if (User !== undefined && User !== null && typeof User !== 'string') throw new ResolveError('bad-response', `the image config ${digest} has a User that is not a string`);
  return {
    digest,
    platform: { os, architecture, ...(typeof variant === 'string' && variant !== '' && { variant }) },
    user: typeof User === 'string' ? User : '',
    env: environment(Env, digest),
    labels: labels(Labels, digest),
  };
}

/** `["PATH=/usr/bin", "A=b=c"]` → `{ PATH: '/usr/bin', A: 'b=c' }`; a later entry wins, as in a container. */
function environment(value: unknown, digest: string): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (!Array.isArray(value)) throw new ResolveError('bad-response', `the image config ${digest} has an Env that is not a list`);
  const env: Record<string, string> = {};
  for (const entry of value) {
    if (typeof entry !== 'string') continue;
    const equals = entry.indexOf('=');
    if (equals > 0) env[entry.slice(0, equals)] = entry.slice(equals + 1);
  }
  return env;
}

function labels(value: unknown, digest: string): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new ResolveError('bad-response', `the image config ${digest} has Labels that are not an object`);
  return stringEntries(value);
}

function stringEntries(object: object): Record<string, string> {
  return Object.fromEntries(Object.entries(object).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
}

/** A cached ImageConfig as parseImageConfig makes them (the disk cache may hold anything). */
export function isImageConfig(value: unknown): value is ImageConfig {
  if (value === null || typeof value !== 'object') return false;
  const config = value as { digest?: unknown; platform?: { os?: unknown; architecture?: unknown }; user?: unknown; env?: unknown; labels?: unknown; annotations?: unknown };
  const isStringMap = (map: unknown) => map !== null && typeof map === 'object' && Object.values(map as object).every((item) => typeof item === 'string');
  return (
    typeof config.digest === 'string' &&
    typeof config.platform?.os === 'string' &&
    typeof config.platform.architecture === 'string' &&
    typeof config.user === 'string' &&
    isStringMap(config.env) &&
    isStringMap(config.labels) &&
    isStringMap(config.annotations)
  );
}
