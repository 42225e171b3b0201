// What dockopt knows about base images without asking a registry: which distro
// family an image belongs to (from its name and tag), whether it can add users
// and with which tools, which non-root user it already ships, and whether it
// already runs as non-root. Also how a stage's FROM leads to that image
// (through `FROM build AS runtime` chains and `FROM ${BASE}` defaults).
//
// The facts are deliberately conservative: an image dockopt does not know is
// described as unknown rather than guessed from its tag, because a third-party
// base may already set a non-root USER or ship a user with the same name.
import type { DockerfileDocument, InstructionInfo, Stage } from '../dockerfile/document.js';
import { tryParseImageReference, type ImageReference } from './reference.js';
import type { ImageConfig } from './resolver.js';

export type DistroFamily = 'debian' | 'alpine' | 'busybox' | 'rhel' | 'wolfi' | 'distroless' | 'scratch' | 'windows';

/** How an image can add users: shadow-utils (`groupadd`/`useradd`), BusyBox (`addgroup`/`adduser`), or not at all. */
export type UserTools = 'shadow' | 'busybox' | 'none';

/** A non-root account an image ships for applications. */
export interface ImageUser {
  readonly name: string;
  readonly group: string;
  readonly uid: number;
  readonly gid: number;
}

export interface BaseImageFacts {
  /** The reference the facts describe, as written (after build-arg substitution). */
  readonly reference: string;
  /** Parsed reference; undefined for `scratch` and for text that is not a reference. */
  readonly image?: ImageReference;
  /** undefined = dockopt does not know. */
  readonly family?: DistroFamily;
  /** undefined = dockopt does not know. */
  readonly userTools?: UserTools;
  /** Whether the image's own default user is non-root; undefined = dockopt does not know. */
  readonly runsAsNonRoot?: boolean;
  /** The non-root user the image ships for applications, if any. */
  readonly user?: ImageUser;
  /** Why a container of this image has to start as root (its entrypoint drops privileges itself, or it binds port 80). */
  readonly needsRoot?: string;
  /** Environment the image sets that Dockerfiles commonly refer to (e.g. APP_UID in .NET images). */
  readonly env?: Readonly<Record<string, string>>;
  /** What the facts rest on, for messages: `the official node image`, `tag "3.12-slim"`. */
  readonly source: string;
}

// ---- well-known users ---------------------------------------------------------

export const NODE_USER: ImageUser = { name: 'node', group: 'node', uid: 1000, gid: 1000 };
/** distroless and Chainguard images: `nonroot`, 65532 (the `nobody` id minus 2, by convention). */
export const NONROOT_USER: ImageUser = { name: 'nonroot', group: 'nonroot', uid: 65532, gid: 65532 };
/** .NET 8+ images: `app`, whose id they also export as $APP_UID. */
export const DOTNET_APP_USER: ImageUser = { name: 'app', group: 'app', uid: 1654, gid: 1654 };
export const NGINX_UNPRIVILEGED_USER: ImageUser = { name: 'nginx', group: 'nginx', uid: 101, gid: 101 };

// ---- official images -----------------------------------------------------------

interface OfficialImage {
  /** Family of the default tags; undefined when the default differs between versions. */
  readonly family?: DistroFamily;
  readonly user?: ImageUser;
  readonly needsRoot?: string;
  /** Tags decide the family (python:3.12-alpine); false for OS images whose tags are only versions. */
  readonly tagsNameDistro: boolean;
}

const language = (family: DistroFamily | undefined, user?: ImageUser): OfficialImage => ({ family, user, tagsNameDistro: true });
const os = (family: DistroFamily): OfficialImage => ({ family, tagsNameDistro: false });
const service = (needsRoot: string): OfficialImage => ({ needsRoot, tagsNameDistro: true });

const DROPS_PRIVILEGES = 'its entrypoint starts as root and switches to its own user itself';
const BINDS_PORT_80 = 'its master process binds port 80 as root and runs its workers as its own user';

/**
 * Docker Official Images dockopt knows, by repository name. Everything here runs
 * as root by default; images that already default to a non-root user (haproxy,
 * memcached, ...) are deliberately absent, since unknown is safer than wrong.
 */
const OFFICIAL_IMAGES: Readonly<Record<string, OfficialImage>> = {
  alpine: os('alpine'),
  busybox: os('busybox'),
  debian: os('debian'),
  ubuntu: os('debian'),
  'buildpack-deps': os('debian'),
  fedora: os('rhel'),
  centos: os('rhel'),
  rockylinux: os('rhel'),
  almalinux: os('rhel'),
  oraclelinux: os('rhel'),
  node: language('debian', NODE_USER),
  python: language('debian'),
  pypy: language('debian'),
  ruby: language('debian'),
  golang: language('debian'),
  rust: language('debian'),
  perl: language('debian'),
  php: language('debian'),
  erlang: language('debian'),
  elixir: language('debian'),
  haskell: language('debian'),
  gcc: language('debian'),
  julia: language('debian'),
  clojure: language('debian'),
  swift: language('debian'),
  'eclipse-temurin': language('debian'),
  'ibm-semeru-runtimes': language('debian'),
  bash: language('alpine'),
  // Oracle Linux for recent versions, Debian for old ones: only the tag can tell.
  openjdk: language(undefined),
  // Amazon Linux by default, which dockopt cannot add users to reliably.
  amazoncorretto: language(undefined),
  nginx: service(`${BINDS_PORT_80} (nginxinc/nginx-unprivileged is the non-root variant)`),
  httpd: service(BINDS_PORT_80),
  postgres: service(DROPS_PRIVILEGES),
  mysql: service(DROPS_PRIVILEGES),
  mariadb: service(DROPS_PRIVILEGES),
  mongo: service(DROPS_PRIVILEGES),
  redis: service(DROPS_PRIVILEGES),
  rabbitmq: service(DROPS_PRIVILEGES),
  tomcat: service('Tomcat writes logs/, temp/ and work/ under CATALINA_HOME, which are root-owned'),
  caddy: service('it binds ports 80 and 443 and writes to root-owned /data and /config'),
};

/** OS images whose minimal variants ship microdnf but no shadow-utils. */
const MINIMAL_RHEL_TAG = /(?:^|[-_.])(?:minimal|micro|slim)(?:$|[-_.\d])/;

/** A tag's distro hint. `unknown` = the tag names a distro dockopt cannot add users to reliably. */
export function familyFromTag(tag: string): { family: DistroFamily; userTools: UserTools } | 'unknown' | undefined {
  const t = tag.toLowerCase();
  const word = (pattern: string) => new RegExp(`(?:^|[-_.])(?:${pattern})`).test(t);
  if (word('alpine')) return { family: 'alpine', userTools: 'busybox' };
  if (word('windowsservercore|nanoserver|ltsc\\d')) return { family: 'windows', userTools: 'none' };
  if (word('ubi\\d*-?(?:minimal|micro)')) return { family: 'rhel', userTools: 'none' };
  if (word('ubi')) return { family: 'rhel', userTools: 'shadow' };
  if (word('amazonlinux|al2|azurelinux|cbl-mariner|mariner|oraclelinux|oracle|distroless|chiseled|wolfi|scratch')) return 'unknown';
  if (word('centos|rockylinux|rocky|almalinux|alma|fedora|rhel')) return { family: 'rhel', userTools: MINIMAL_RHEL_TAG.test(t) ? 'none' : 'shadow' };
  if (word('bookworm|bullseye|buster|stretch|jessie|trixie|forky|sid|slim|jammy|noble|focal|bionic|xenial|oracular|plucky|ubuntu|debian')) {
    return { family: 'debian', userTools: 'shadow' };
  }
  return undefined;
}

function toolsOf(family: DistroFamily): UserTools {
  if (family === 'debian' || family === 'rhel') return 'shadow';
  if (family === 'alpine' || family === 'busybox') return 'busybox';
  return 'none';
}

/** Repository `library/node` on Docker Hub or on a known mirror of it (ECR Public, mirror.gcr.io). */
function officialName(image: ImageReference): string | undefined {
  const match = /^(?:docker\/)?library\/([^/]+)$/.exec(image.repository);
  if (!match) return undefined;
  const mirrors = new Set(['docker.io', 'public.ecr.aws', 'mirror.gcr.io']);
  return mirrors.has(image.registry) ? match[1] : undefined;
}

/** Everything dockopt knows about an image from its reference alone. */
export function describeBaseImage(reference: string): BaseImageFacts {
  if (reference.toLowerCase() === 'scratch') {
    return { reference, family: 'scratch', userTools: 'none', runsAsNonRoot: false, source: 'scratch' };
  }
  const image = tryParseImageReference(reference);
  if (!image) return { reference, source: `"${reference}" is not an image reference` };
  const tag = image.tag ?? (image.digest === undefined ? 'latest' : '');
  const official = officialName(image);
  if (official !== undefined) return describeOfficial(reference, image, official, tag);
  const vendor = describeVendorImage(reference, image, tag);
  if (vendor) return vendor;
  const hint = familyFromTag(tag);
  if (typeof hint === 'object' && hint.family === 'windows') {
    return { reference, image, family: 'windows', userTools: 'none', source: `${image.name} with a Windows tag` };
  }
  return { reference, image, source: `${image.name} is not an image dockopt knows` };
}

function describeOfficial(reference: string, image: ImageReference, name: string, tag: string): BaseImageFacts {
  const entry = OFFICIAL_IMAGES[name];
  const source = `the official ${name} image`;
  if (!entry) return { reference, image, source: `${source} is not one dockopt knows` };
  if (entry.needsRoot) return { reference, image, runsAsNonRoot: false, needsRoot: entry.needsRoot, source };
  if (name === 'php' && /(?:^|[-_.])apache/.test(tag)) {
    return { reference, image, runsAsNonRoot: false, needsRoot: BINDS_PORT_80, source: `${source} (Apache variant)` };
  }
  const base = { reference, image, runsAsNonRoot: false, user: entry.user };
  if (!entry.tagsNameDistro) {
    const family = entry.family!;
    const minimal = family === 'rhel' && MINIMAL_RHEL_TAG.test(tag);
    return { ...base, family, userTools: minimal ? 'none' : toolsOf(family), source: minimal ? `${source} (minimal variant, no shadow-utils)` : source };
  }
  const hint = familyFromTag(tag);
  if (hint === 'unknown') return { ...base, source: `${source} with tag "${tag}", whose distro dockopt does not know` };
  if (hint) return { ...base, ...hint, source: `${source} with tag "${tag}"` };
  if (!entry.family) return { ...base, source: `${source}, whose distro depends on the tag ("${tag}" does not say)` };
  return { ...base, family: entry.family, userTools: toolsOf(entry.family), source };
}

function describeVendorImage(reference: string, image: ImageReference, tag: string): BaseImageFacts | undefined {
  const { registry, repository } = image;
  if (registry === 'gcr.io' && repository.startsWith('distroless/')) {
    return {
      reference,
      image,
      family: 'distroless',
      userTools: 'none',
      runsAsNonRoot: /nonroot/.test(tag),
      user: NONROOT_USER,
      source: 'a distroless image',
    };
  }
  if (registry === 'mcr.microsoft.com' && repository.startsWith('windows/')) {
    return { reference, image, family: 'windows', userTools: 'none', source: 'a Windows image' };
  }
  if (registry === 'cgr.dev') {
    // The base images for building others leave run-as unset, i.e. root; which tools they carry is their business.
    if (/(?:^|\/)(?:wolfi-base|chainguard-base)$/.test(repository)) return { reference, image, source: `${image.name} is a Chainguard base image dockopt does not describe` };
    return { reference, image, family: 'wolfi', userTools: 'none', runsAsNonRoot: true, user: NONROOT_USER, source: 'a Chainguard image' };
  }
  if (registry === 'mcr.microsoft.com' && /^dotnet\/(?:runtime|aspnet|runtime-deps|sdk)$/.test(repository)) {
    return describeDotnet(reference, image, tag);
  }
  if (repository === 'nginxinc/nginx-unprivileged' && registry === 'docker.io') {
    return { reference, image, runsAsNonRoot: true, user: NGINX_UNPRIVILEGED_USER, source: 'nginxinc/nginx-unprivileged' };
  }
  const redHat = /^(?:registry\.access\.redhat\.com|registry\.redhat\.io)$/.test(registry) || (registry === 'docker.io' && repository.startsWith('redhat/'));
  if (redHat) return describeRedHat(reference, image);
  return undefined;
}

function describeDotnet(reference: string, image: ImageReference, tag: string): BaseImageFacts {
  const major = /^(\d+)\./.exec(tag)?.[1];
  const modern = major === undefined ? tag === 'latest' : Number(major) >= 8;
  const base = {
    reference,
    image,
    user: modern ? DOTNET_APP_USER : undefined,
    env: modern ? { APP_UID: String(DOTNET_APP_USER.uid) } : undefined,
    source: `the .NET image with tag "${tag}"`,
  };
  if (/chiseled|distroless/.test(tag)) return { ...base, family: 'distroless', userTools: 'none', runsAsNonRoot: modern };
  const hint = familyFromTag(tag);
  if (hint === 'unknown') return { ...base, runsAsNonRoot: false };
  // The default tags are Debian (bookworm-slim) or Ubuntu (noble), both shadow-utils.
  return { ...base, runsAsNonRoot: false, ...(hint ?? { family: 'debian', userTools: 'shadow' }) };
}

/** Red Hat's UBI base images, and the language images built on them, which already run as 1001 (or 185 for Java). */
function describeRedHat(reference: string, image: ImageReference): BaseImageFacts {
  const parts = image.repository.split('/');
  const last = parts[parts.length - 1];
  const isBase = /^ubi\d*(?:-(?:minimal|micro|init))?$/.test(last) && (parts.length === 1 || /^ubi\d*$/.test(parts[0]) || parts[0] === 'redhat');
  if (!isBase) {
    return /^ubi\d*$/.test(parts[0])
      ? { reference, image, family: 'rhel', runsAsNonRoot: true, source: `Red Hat's ${last} image, which runs as non-root` }
      : { reference, image, source: `${image.name} is not an image dockopt knows` };
  }
  const tools: UserTools = /-(?:minimal|micro)$/.test(last) ? 'none' : 'shadow';
  const detail = tools === 'none' ? ' (no shadow-utils)' : '';
  return { reference, image, family: 'rhel', userTools: tools, runsAsNonRoot: false, source: `the Red Hat ${last} image${detail}` };
}

/** Names the image a build started FROM: an OCI manifest annotation (Docker Official Images set it), often also a label. */
export const BASE_NAME_LABEL = 'org.opencontainers.image.base.name';

/**
 * Facts refined with what a registry says about the image's config (see
 * ImageResolver.imageConfig): its default User, its Env, and its distro when
 * the config is a Windows one or the `org.opencontainers.image.base.name`
 * label (or manifest annotation) names an image dockopt knows. The config
 * wins over the name about the user; a family the name already tells is kept.
 */
export function refineWithConfig(facts: BaseImageFacts, config: ImageConfig): BaseImageFacts {
  const user = config.user?.trim() ?? '';
  const runsAsNonRoot = user !== '' && !isRootUser(user);
  const env = config.env && Object.keys(config.env).length > 0 ? { ...facts.env, ...config.env } : facts.env;
  let refined: BaseImageFacts = { ...facts, runsAsNonRoot, ...(env && { env }), source: `${facts.source}; its config sets User "${user}"` };
  if (facts.family !== undefined) return refined;
  if (config.platform?.os === 'windows') return { ...refined, family: 'windows', userTools: 'none', source: `${refined.source} and is a Windows image` };
  const baseName = config.labels?.[BASE_NAME_LABEL] ?? config.annotations?.[BASE_NAME_LABEL];
  if (baseName) {
    const base = describeBaseImage(baseName);
    if (base.family !== undefined) refined = { ...refined, family: base.family, userTools: base.userTools, source: `${refined.source}, based on ${baseName}` };
  }
  return refined;
}

/** `root`, `0`, `root:…`, `0:…`: the user part names root. */
export function isRootUser(spec: string): boolean {
  const user = spec.trim().split(':')[0];
  return user === 'root' || /^0+$/.test(user);
}

// ---- users -------------------------------------------------------------------------

/** The RUN command that adds user and group with the image's own tools, or undefined when it has none. */
export function userCreationCommand(tools: UserTools, user: ImageUser): string | undefined {
  if (tools === 'shadow') {
    // --no-log-init keeps the user out of lastlog/faillog: sparse files whose size grows with the uid, which layer tarballs may store in full (Docker's Dockerfile best practices).
    return `groupadd --system --gid ${user.gid} ${user.group} && useradd --system --uid ${user.uid} --gid ${user.group} --no-create-home --no-log-init ${user.name}`;
  }
  if (tools === 'busybox') {
    return `addgroup -S -g ${user.gid} ${user.group} && adduser -S -D -H -u ${user.uid} -G ${user.group} ${user.name}`;
  }
  return undefined;
}

// ---- stages and build args -----------------------------------------------------------

/** Defaults of the ARGs before the first FROM: the only ones a FROM line can use. */
export function globalArgDefaults(doc: DockerfileDocument): Map<string, string | undefined> {
  const defaults = new Map<string, string | undefined>();
  for (const instruction of doc.instructions) {
    if (instruction.stage !== -1 || instruction.keyword !== 'ARG') continue;
    for (const property of propertiesOf(instruction)) defaults.set(property.name, property.value);
  }
  return defaults;
}

/** ARG/ENV name=value pairs of an instruction (value undefined for `ARG NAME`). */
export function propertiesOf(instruction: InstructionInfo): { name: string; value: string | undefined }[] {
  const node = instruction.node as unknown as { getProperties?: () => { getName(): string; getValue(): string | null }[] };
  if (typeof node.getProperties !== 'function') return [];
  return node.getProperties().map((property) => ({ name: property.getName(), value: property.getValue() ?? undefined }));
}

/**
 * Substitutes `$NAME`, `${NAME}`, `${NAME:-word}` and `${NAME:+word}` the way
 * BuildKit does in FROM and other instructions; undefined when a variable has no
 * known value (or a form dockopt does not evaluate is used).
 */
export function expandVariables(text: string, lookup: (name: string) => string | undefined): string | undefined {
  let failed = false;
  const expanded = text.replace(/\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*)|(\{[^}]*\}?))/g, (_match, braced, operator, word, bare, other) => {
    if (other !== undefined) {
      failed = true;
      return '';
    }
    const value = lookup(braced ?? bare);
    if (operator === undefined) {
      if (value === undefined) failed = true;
      return value ?? '';
    }
    const set = operator.startsWith(':') ? value !== undefined && value !== '' : value !== undefined;
    if (operator.endsWith('+')) return set ? word : '';
    return set ? value! : word;
  });
  return failed ? undefined : expanded;
}

export interface StageBase {
  /** The stages from the one whose FROM names an image (or is unresolved) down to the requested one. */
  readonly chain: readonly Stage[];
  /** The image the chain starts from, after substituting global ARG defaults. */
  readonly reference?: string;
  /** The FROM argument as written, when a variable in it has no default. */
  readonly unresolved?: string;
}

/** Follows `FROM <earlier stage>` back to the image a stage is really built on. */
export function stageBase(doc: DockerfileDocument, stageIndex: number): StageBase {
  const args = globalArgDefaults(doc);
  const chain: Stage[] = [];
  let stage: Stage | undefined = doc.stages[stageIndex];
  while (stage) {
    chain.unshift(stage);
    const written = stage.from.node.getArguments()[0]?.getValue();
    if (written === undefined) return { chain, unresolved: '' };
    const reference = expandVariables(written, (name) => args.get(name));
    if (reference === undefined) return { chain, unresolved: written };
    const lower = reference.toLowerCase();
    const parent: Stage | undefined = doc.stages.slice(0, stage.index).reverse().find((earlier) => earlier.name === lower);
    if (!parent) return { chain, reference };
    stage = parent;
  }
  return { chain };
}
