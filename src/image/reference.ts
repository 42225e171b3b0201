// Image references as `docker build` reads them: the distribution reference
// grammar (name [":" tag] ["@" digest]) plus Docker's normalisation of short
// names (`python` is docker.io/library/python). The name keeps its spelling so
// a rewrite changes only the tag and digest the user wrote.

export const DOCKER_HUB = 'docker.io';
const DOCKER_HUB_ALIASES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com']);
export const DEFAULT_TAG = 'latest';

/** Longest name (domain and path together) the grammar accepts. */
export const NAME_TOTAL_LENGTH_MAX = 255;

// The grammar, one production per constant, as in distribution/reference.
const ALPHANUMERIC = '[a-z0-9]+';
const SEPARATOR = '(?:[._]|__|[-]+)';
const PATH_COMPONENT = `${ALPHANUMERIC}(?:${SEPARATOR}${ALPHANUMERIC})*`;
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const IPV6_ADDRESS = '\\[[a-fA-F0-9:]+\\]';
const HOST = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|${IPV6_ADDRESS})`;
const DOMAIN = `${HOST}(?::[0-9]+)?`;
const PATH = `${PATH_COMPONENT}(?:/${PATH_COMPONENT})*`;
const TAG = '[\\w][\\w.-]{0,127}';
const DIGEST = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';

const REFERENCE = new RegExp(`^((?:${DOMAIN}/)?${PATH})(?::(${TAG}))?(?:@(${DIGEST}))?$`);
const ANCHORED_DOMAIN = new RegExp(`^${DOMAIN}$`);
const ANCHORED_TAG = new RegExp(`^${TAG}$`);
const ANCHORED_DIGEST = new RegExp(`^${DIGEST}$`);
const IDENTIFIER = /^[a-f0-9]{64}$/;

/** Hex lengths of the digest algorithms registries accept (OCI image spec). */
const DIGEST_HEX_LENGTH: Readonly<Record<string, number>> = { sha256: 64, sha384: 96, sha512: 128 };

export interface ImageReference {
  /** The name as written, without tag and digest: `python`, `ghcr.io/org/app`. */
  readonly name: string;
  /** Registry the name points at after normalisation: `docker.io`, `ghcr.io`, `localhost:5000`. */
  readonly registry: string;
  /** Repository path on that registry: `library/python`, `org/app`. */
  readonly repository: string;
  readonly tag?: string;
  readonly digest?: string;
}

export class ImageReferenceError extends Error {
  constructor(
    readonly reference: string,
    readonly reason: string,
  ) {
    super(`invalid image reference "${reference}": ${reason}`);
    this.name = 'ImageReferenceError';
  }
}

/** Parses a reference the way `docker build` does, or throws ImageReferenceError. */
export function parseImageReference(text: string): ImageReference {
  if (text === '') throw new ImageReferenceError(text, 'empty');
  if (IDENTIFIER.test(text)) throw new ImageReferenceError(text, 'a 64-character hex string is an image ID, not a name');
  const match = REFERENCE.exec(text);
  if (!match) throw new ImageReferenceError(text, whyInvalid(text));
  const [, name, tag, digest] = match;
  if (name.length > NAME_TOTAL_LENGTH_MAX) {
    throw new ImageReferenceError(text, `name is longer than ${NAME_TOTAL_LENGTH_MAX} characters`);
  }
  if (digest !== undefined) validateDigest(text, digest);
  const { registry, repository } = splitName(text, name);
  return { name, registry, repository, ...(tag !== undefined && { tag }), ...(digest !== undefined && { digest }) };
}

/** Like parseImageReference, but undefined instead of an error. */
export function tryParseImageReference(text: string): ImageReference | undefined {
  try {
    return parseImageReference(text);
  } catch (error) {
    if (error instanceof ImageReferenceError) return undefined;
    throw error;
  }
}

export function isValidTag(tag: string): boolean {
  return ANCHORED_TAG.test(tag);
}

export function isValidDigest(digest: string): boolean {
  if (!ANCHORED_DIGEST.test(digest)) return false;
  const [algorithm, hex] = digest.split(':');
  return DIGEST_HEX_LENGTH[algorithm] === hex.length && /^[a-f0-9]+$/.test(hex);
}

/** `name[:tag][@digest]` with the name as it was written. */
export function formatImageReference(reference: Pick<ImageReference, 'name' | 'tag' | 'digest'>): string {
  return `${reference.name}${reference.tag !== undefined ? `:${reference.tag}` : ''}${reference.digest !== undefined ? `@${reference.digest}` : ''}`;
}

/** The tag a pull uses: the written one, or `latest` when there is neither tag nor digest. */
export function effectiveTag(reference: ImageReference): string | undefined {
  return reference.tag ?? (reference.digest === undefined ? DEFAULT_TAG : undefined);
}

/** `docker.io/library/python`: one spelling per repository, for caches and dedupe. */
export function canonicalRepository(reference: Pick<ImageReference, 'registry' | 'repository'>): string {
  return `${reference.registry}/${reference.repository}`;
}

/** Normalises a registry as users write it (`index.docker.io`, `https://ghcr.io/`) to the form references use. */
export function normalizeRegistry(registry: string): string {
  const bare = registry
    .trim()
    .replace(/^[a-z][a-z0-9+.-]*:\/\//i, '')
    .replace(/\/.*$/, '')
    .toLowerCase();
  return DOCKER_HUB_ALIASES.has(bare) ? DOCKER_HUB : bare;
}

/** Host name without port or IPv6 brackets. */
export function registryHostname(registry: string): string {
  if (registry.startsWith('[')) return registry.slice(1, registry.indexOf(']'));
  // A bare IPv6 address (two or more colons) has no port to strip.
  if (registry.indexOf(':') !== registry.lastIndexOf(':')) return registry;
  return registry.replace(/:\d+$/, '');
}

/** Registries Docker talks to over plain HTTP without configuration: the loopback ones. */
export function isLoopbackRegistry(registry: string): boolean {
  const host = registryHostname(registry).toLowerCase();
  return host === 'localhost' || host === '::1' || /^127(?:\.\d{1,3}){3}$/.test(host);
}

function validateDigest(text: string, digest: string): void {
  const [algorithm, hex] = digest.split(':');
  const expected = DIGEST_HEX_LENGTH[algorithm];
  if (expected === undefined) throw new ImageReferenceError(text, `unsupported digest algorithm "${algorithm}"`);
  if (hex.length !== expected || !/^[a-f0-9]+$/.test(hex)) {
    throw new ImageReferenceError(text, `a ${algorithm} digest has ${expected} lower-case hex characters`);
  }
}

/**
 * Docker's rule for where the registry ends: the first path component names a
 * registry only when it looks like a host (has a dot or a port, is localhost,
 * or has capitals, which repository paths never do).
 */
function splitName(text: string, name: string): { registry: string; repository: string } {
  const slash = name.indexOf('/');
  const first = slash === -1 ? '' : name.slice(0, slash);
  const isDomain = slash !== -1 && (first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase());
  if (!isDomain) {
    return { registry: DOCKER_HUB, repository: name.includes('/') ? name : `library/${name}` };
  }
  if (!ANCHORED_DOMAIN.test(first)) throw new ImageReferenceError(text, `"${first}" is not a valid registry host`);
  const repository = name.slice(slash + 1);
  // Docker itself folds only index.docker.io into docker.io; other spellings are other hosts.
  const registry = first.toLowerCase() === 'index.docker.io' ? DOCKER_HUB : first.toLowerCase();
  if (registry === DOCKER_HUB && !repository.includes('/')) return { registry, repository: `library/${repository}` };
  return { registry, repository };
}

/** A precise reason for the common mistakes, so the report says more than "invalid". */
function whyInvalid(text: string): string {
  const at = text.indexOf('@');
  const beforeDigest = at === -1 ? text : text.slice(0, at);
  const lastSlash = beforeDigest.lastIndexOf('/');
  const colon = beforeDigest.indexOf(':', lastSlash + 1);
  const name = colon === -1 ? beforeDigest : beforeDigest.slice(0, colon);
  const tag = colon === -1 ? undefined : beforeDigest.slice(colon + 1);
  const path = name.includes('/') ? name.slice(name.indexOf('/') + 1) : name;
  if (at !== -1 && !ANCHORED_DIGEST.test(text.slice(at + 1))) return 'malformed digest';
  if (tag !== undefined && !ANCHORED_TAG.test(tag)) return tag === '' ? 'empty tag' : `invalid tag "${tag}"`;
  if (path !== path.toLowerCase()) return 'repository name must be lowercase';
  return 'does not match the reference grammar';
}
