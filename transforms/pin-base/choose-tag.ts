// Which tags could name the same image as a floating tag, in the order worth
// asking the registry about them. Pure: the caller compares digests.
//
// A tag reads as [v]<numbers><suffix>: `3.9.18-slim` is 3.9.18 with variant
// `-slim`, `20-alpine3.19` is 20 with `-alpine3.19`. A tag refines another
// when it has the same prefix and variant and its numbers extend the other's
// (3.9 → 3.9.18). Tags without numbers are variants of `latest`: `slim`
// is refined by `3.12.1-slim`, `latest` by any versioned tag.
import { DEFAULT_TAG } from '../../src/image/reference.js';

export interface TagVersion {
  readonly tag: string;
  /** `v` or empty. */
  readonly prefix: string;
  readonly numbers: readonly number[];
  /** Everything after the numbers: `-slim`, `-alpine3.19`, `rc1`, or empty. */
  readonly suffix: string;
}

const VERSIONED_TAG = /^(v?)(\d+(?:\.\d+)*)(.*)$/;

export function parseTagVersion(tag: string): TagVersion | undefined {
  const match = VERSIONED_TAG.exec(tag);
  if (!match) return undefined;
  const numbers = match[2].split('.').map(Number);
  if (numbers.some((number) => !Number.isSafeInteger(number))) return undefined;
  return { tag, prefix: match[1], numbers, suffix: match[3] };
}

/** Numeric, component by component; when one is a prefix of the other the longer (more specific) is greater. */
export function compareNumbers(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i] !== b[i]) return a[i] - b[i];
  }
  return a.length - b.length;
}

/**
 * Newest and most specific first; at the same numbers, the plain variant
 * before the others, then by name so the order never depends on the registry's.
 */
export function compareNewestFirst(a: TagVersion, b: TagVersion): number {
  return compareNumbers(b.numbers, a.numbers) || Number(a.suffix !== '') - Number(b.suffix !== '') || (a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0);
}

/** Tags that name a more specific version of `floating`, newest first. */
export function refiningCandidates(floating: string, tags: readonly string[]): string[] {
  const versions = tags.filter((tag) => tag !== floating).flatMap((tag) => parseTagVersion(tag) ?? []);
  const base = parseTagVersion(floating);
  let candidates: TagVersion[];
  if (base) {
    candidates = versions.filter(
      (version) =>
        version.prefix === base.prefix &&
        version.suffix === base.suffix &&
        version.numbers.length > base.numbers.length &&
        base.numbers.every((number, i) => version.numbers[i] === number),
    );
  } else if (floating === DEFAULT_TAG) {
    candidates = versions;
  } else {
    candidates = versions.filter((version) => version.suffix === `-${floating}`);
  }
  return candidates.sort(compareNewestFirst).map((version) => version.tag);
}

/** A tag nothing refines names one version; `3.9` with a `3.9.18` next to it floats. */
export function isExactTag(tag: string, tags: readonly string[]): boolean {
  return parseTagVersion(tag) !== undefined && refiningCandidates(tag, tags).length === 0;
}

/**
 * Newer tags of the same line as an exact tag, newest first: same prefix,
 * variant and number of components, all but the last component equal
 * (3.9.17-slim → 3.9.18-slim, never 3.10.0-slim). A one-number tag has no line.
 */
export function newerInLine(exact: string, tags: readonly string[]): string[] {
  const base = parseTagVersion(exact);
  if (!base || base.numbers.length < 2) return [];
  const line = base.numbers.slice(0, -1);
  const last = base.numbers[base.numbers.length - 1];
  return tags
    .flatMap((tag) => parseTagVersion(tag) ?? [])
    .filter(
      (version) =>
        version.prefix === base.prefix &&
        version.suffix === base.suffix &&
        version.numbers.length === base.numbers.length &&
        line.every((number, i) => version.numbers[i] === number) &&
        version.numbers[version.numbers.length - 1] > last,
    )
    .sort(compareNewestFirst)
    .map((version) => version.tag);
}
