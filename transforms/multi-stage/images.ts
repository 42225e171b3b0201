// What the multi-stage split needs to know about images beyond src/image/base-image.ts:
// which Debian or Alpine release a tag is built on (a runtime image has to match
// the C library the build linked against) and what a candidate runtime image
// offers the runtime stage (a package manager, a shell, users).
import { describeBaseImage } from '../../src/image/base-image.js';
import { tryParseImageReference, type ImageReference } from '../../src/image/reference.js';

/** Debian codenames by version; tags name either. */
export const DEBIAN_RELEASES: Readonly<Record<string, number>> = { buster: 10, bullseye: 11, bookworm: 12, trixie: 13 };

/** Distroless publishes static/base/cc images per Debian version; 12 is the oldest one still built. */
const DISTROLESS_DEBIAN_VERSIONS = new Set([12, 13]);

/** A base image as the FROM line wrote it and as the build will pull it. */
export interface BaseRef {
  /** The reference as written, variables included. */
  readonly written: string;
  /** After substituting global ARG defaults. */
  readonly resolved: string;
  readonly image: ImageReference;
  /** `node`, `python`… for Docker Official Images, otherwise undefined. */
  readonly official?: string;
  /** The tag a pull uses (`latest` when none is written). */
  readonly tag: string;
}

export function baseRef(written: string, resolved: string): BaseRef | undefined {
  const image = tryParseImageReference(resolved);
  if (!image) return undefined;
  const match = /^library\/([^/]+)$/.exec(image.repository);
  const official = image.registry === 'docker.io' && match ? match[1] : undefined;
  return { written, resolved, image, official, tag: image.tag ?? 'latest' };
}

/** The tag as written (variables kept), or undefined when the reference has none. */
export function writtenTag(ref: BaseRef): string | undefined {
  const withoutDigest = ref.written.replace(/@[^@]*$/, '');
  const slash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.indexOf(':', slash + 1);
  return colon === -1 ? undefined : withoutDigest.slice(colon + 1);
}

/** The repository part as written (`node`, `docker.io/library/node`). */
export function writtenName(ref: BaseRef): string {
  const withoutDigest = ref.written.replace(/@[^@]*$/, '');
  const slash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.indexOf(':', slash + 1);
  return colon === -1 ? withoutDigest : withoutDigest.slice(0, colon);
}

function tagWords(tag: string): string[] {
  return tag.toLowerCase().split(/[-_]/);
}

/**
 * The Debian codename an image is built on, when its tag says so: `debian:12`,
 * `debian:bookworm-slim`, `golang:1.22-bookworm`, `buildpack-deps:bookworm`.
 */
export function debianCodename(ref: BaseRef): string | undefined {
  if (ref.official === 'debian') {
    const version = /^(\d+)(?:[.-]|$)/.exec(ref.tag)?.[1];
    if (version !== undefined) return Object.keys(DEBIAN_RELEASES).find((name) => DEBIAN_RELEASES[name] === Number(version));
  }
  return tagWords(ref.tag).find((word) => word in DEBIAN_RELEASES);
}

/** `3.20` from `alpine:3.20.1`, `golang:1.22-alpine3.20`; undefined when the tag does not pin one. */
export function alpineVersion(ref: BaseRef): string | undefined {
  if (ref.official === 'alpine') return /^(\d+\.\d+)/.exec(ref.tag)?.[1];
  return /(?:^|[-_])alpine(\d+\.\d+)/.exec(ref.tag.toLowerCase())?.[1];
}

export function isAlpine(ref: BaseRef): boolean {
  return ref.official === 'alpine' || /(?:^|[-_])alpine/.test(ref.tag.toLowerCase());
}

export function isSlim(ref: BaseRef): boolean {
  return tagWords(ref.tag).includes('slim');
}

/** The slim variant of a Debian release. */
export function debianSlim(codename: string): string {
  return `debian:${codename}-slim`;
}

/** distroless/static for the Debian release a build ran on, or the oldest one still published. */
export function distrolessStatic(codename: string | undefined): string {
  const version = codename === undefined ? undefined : DEBIAN_RELEASES[codename];
  const chosen = version !== undefined && DISTROLESS_DEBIAN_VERSIONS.has(version) ? version : 12;
  return `gcr.io/distroless/static-debian${chosen}`;
}

/** What the runtime stage can do on top of an image. */
export interface RuntimeImage {
  /** The reference written after FROM. */
  readonly reference: string;
  /** How runtime packages get installed; undefined when the image has no package manager (or dockopt cannot tell). */
  readonly packageManager?: 'apt' | 'apk';
  /** Whether /bin/sh exists, so shell-form CMD, HEALTHCHECK and RUN work. */
  readonly shell: boolean;
  /** Whether dockopt knows what the image is (an unknown image is assumed to have a shell, nothing else). */
  readonly known: boolean;
  /** Named accounts the image ships besides root. */
  readonly users: readonly string[];
  /** Packages the image already has that builds commonly install for the runtime. */
  readonly provides: readonly string[];
  /** Debian itself (not Ubuntu) with apt; the codename when the tag names one. */
  readonly debian?: { readonly codename?: string };
}

/** Official images built on Debian (their Alpine and Windows tags aside); Ubuntu-based ones (eclipse-temurin) are not. */
const DEBIAN_BASED = new Set(['debian', 'buildpack-deps', 'node', 'python', 'golang', 'rust', 'gcc', 'ruby', 'php', 'perl']);

/** Facts about a runtime image, from its reference alone (global ARG defaults substituted). */
export function describeRuntimeImage(reference: string, resolved: string = reference): RuntimeImage {
  if (resolved.toLowerCase() === 'scratch') return { reference, shell: false, known: true, users: [], provides: [] };
  const facts = describeBaseImage(resolved);
  const users = facts.user ? ['nobody', facts.user.name] : ['nobody'];
  switch (facts.family) {
    case 'distroless':
      // static and base both ship CA certificates, tzdata and /etc/passwd with nonroot and nobody.
      return { reference, shell: false, known: true, users, provides: ['ca-certificates', 'tzdata'] };
    case 'alpine':
      return { reference, packageManager: 'apk', shell: true, known: true, users, provides: [] };
    case 'debian': {
      const ref = baseRef(resolved, resolved);
      const debian = ref?.official !== undefined && DEBIAN_BASED.has(ref.official) ? { codename: debianCodename(ref) } : undefined;
      return { reference, packageManager: 'apt', shell: true, known: true, users, provides: [], debian };
    }
    default:
      return { reference, shell: true, known: false, users: [], provides: [] };
  }
}
