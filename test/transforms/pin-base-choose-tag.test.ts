import { compareNumbers, isExactTag, newerInLine, parseTagVersion, refiningCandidates } from '../../transforms/pin-base/choose-tag.js';

// A slice of Docker Hub's python tags, in registry order (unsorted).
const PYTHON_TAGS = [
  'latest', '3', '3-slim', '3.9', '3.9-slim', '3.9-alpine', '3.9-alpine3.19', '3.9.17', '3.9.17-slim', '3.9.18',
  '3.9.18-slim', '3.9.18-slim-bookworm', '3.9.18-alpine', '3.9.18-alpine3.19', '3.10', '3.10-slim', '3.10.13',
  '3.10.13-slim', '3.10.9-slim', '3.13.0rc1-slim', 'slim', 'bookworm', '3.12.1-bookworm', '3.12.1', 'alpine',
  '3.12.1-alpine', 'v3.9.18', 'windowsservercore',
];

describe('parseTagVersion', () => {
  test.each([
    ['3.9.18-slim', '', [3, 9, 18], '-slim'],
    ['20-alpine3.19', '', [20], '-alpine3.19'],
    ['v1.2', 'v', [1, 2], ''],
    ['3.13.0rc1-slim', '', [3, 13, 0], 'rc1-slim'],
    ['20240101', '', [20240101], ''],
  ])('%s', (tag, prefix, numbers, suffix) => {
    expect(parseTagVersion(tag)).toEqual({ tag, prefix, numbers, suffix });
  });

  test('tags without leading numbers have no version', () => {
    expect(parseTagVersion('latest')).toBeUndefined();
    expect(parseTagVersion('bookworm-slim')).toBeUndefined();
    expect(parseTagVersion('vnext')).toBeUndefined();
  });
});

test('compareNumbers is numeric and puts the more specific first when equal so far', () => {
  expect(compareNumbers([3, 10], [3, 9, 18])).toBeGreaterThan(0);
  expect(compareNumbers([3, 9, 18], [3, 9])).toBeGreaterThan(0);
  expect(compareNumbers([3, 9], [3, 9])).toBe(0);
  expect(compareNumbers([2], [10])).toBeLessThan(0);
});

describe('refiningCandidates', () => {
  test('same variant, extended version, newest and most specific first', () => {
    expect(refiningCandidates('3.9-slim', PYTHON_TAGS)).toEqual(['3.9.18-slim', '3.9.17-slim']);
    expect(refiningCandidates('3-slim', PYTHON_TAGS)).toEqual(['3.10.13-slim', '3.10.9-slim', '3.10-slim', '3.9.18-slim', '3.9.17-slim', '3.9-slim']);
  });

  test('a variant with numbers in it must match exactly', () => {
    expect(refiningCandidates('3.9-alpine3.19', PYTHON_TAGS)).toEqual(['3.9.18-alpine3.19']);
    expect(refiningCandidates('3.9-alpine', PYTHON_TAGS)).toEqual(['3.9.18-alpine']);
  });

  test('the v prefix must match', () => {
    expect(refiningCandidates('v3.9', PYTHON_TAGS)).toEqual(['v3.9.18']);
    expect(refiningCandidates('3.9', PYTHON_TAGS)).toEqual(['3.9.18', '3.9.17']);
  });

  test('latest is refined by any versioned tag, the plain variant first at equal versions', () => {
    const candidates = refiningCandidates('latest', PYTHON_TAGS);
    expect(candidates.slice(0, 4)).toEqual(['3.13.0rc1-slim', '3.12.1', '3.12.1-alpine', '3.12.1-bookworm']);
    expect(candidates).not.toContain('latest');
    expect(candidates).not.toContain('slim');
  });

  test('a variant-only tag is refined by versioned tags of that variant', () => {
    expect(refiningCandidates('slim', PYTHON_TAGS)).toEqual(['3.10.13-slim', '3.10.9-slim', '3.10-slim', '3.9.18-slim', '3.9.17-slim', '3.9-slim', '3-slim']);
    expect(refiningCandidates('bookworm', PYTHON_TAGS)).toEqual(['3.12.1-bookworm']);
    expect(refiningCandidates('windowsservercore', PYTHON_TAGS)).toEqual([]);
  });

  test('an exact tag has no candidates', () => {
    expect(refiningCandidates('3.9.18-slim', PYTHON_TAGS)).toEqual([]);
    expect(isExactTag('3.9.18-slim', PYTHON_TAGS)).toBe(true);
    expect(isExactTag('3.9-slim', PYTHON_TAGS)).toBe(false);
    expect(isExactTag('bookworm', PYTHON_TAGS)).toBe(false);
  });
});

describe('newerInLine', () => {
  test('newer patches of the same line and variant, newest first', () => {
    expect(newerInLine('3.10.9-slim', PYTHON_TAGS)).toEqual(['3.10.13-slim']);
    expect(newerInLine('3.9.17', PYTHON_TAGS)).toEqual(['3.9.18']);
  });

  test('never another minor, variant or a less specific tag', () => {
    expect(newerInLine('3.9.18-slim', PYTHON_TAGS)).toEqual([]);
    expect(newerInLine('3.9.17-slim', ['3.9.17-slim', '3.10.0-slim', '3.9.18', '3.9.18-alpine', '3.9-slim', '3.9.18.1-slim'])).toEqual([]);
  });

  test('a one-number tag has no line to move along', () => {
    expect(newerInLine('3', ['3', '4'])).toEqual([]);
  });

  test('two-number versions move their last number', () => {
    expect(newerInLine('12.4', ['12.4', '12.5', '12.10', '13.0'])).toEqual(['12.10', '12.5']);
  });
});
