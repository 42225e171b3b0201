import fc from 'fast-check';
import {
  effectiveTag,
  formatImageReference,
  isLoopbackRegistry,
  isValidDigest,
  normalizeRegistry,
  parseImageReference,
  registryHostname,
  tryParseImageReference,
} from '../src/image/reference.js';

const HEX64 = 'a'.repeat(32) + '0123456789abcdef'.repeat(2);

describe('parseImageReference: names and registries', () => {
  test.each([
    ['python', 'docker.io', 'library/python'],
    ['library/python', 'docker.io', 'library/python'],
    ['docker.io/python', 'docker.io', 'library/python'],
    ['docker.io/library/python', 'docker.io', 'library/python'],
    ['index.docker.io/python', 'docker.io', 'library/python'],
    ['bitnami/redis', 'docker.io', 'bitnami/redis'],
    ['ghcr.io/org/app', 'ghcr.io', 'org/app'],
    ['quay.io/org/team/app', 'quay.io', 'org/team/app'],
    ['localhost/app', 'localhost', 'app'],
    ['localhost:5000/app', 'localhost:5000', 'app'],
    ['127.0.0.1:5000/a/b', '127.0.0.1:5000', 'a/b'],
    ['[::1]:5000/app', '[::1]:5000', 'app'],
    ['[2001:db8::1]/app', '[2001:db8::1]', 'app'],
    ['myregistry:5000/team/app', 'myregistry:5000', 'team/app'],
    ['Registry.Example.com/app', 'registry.example.com', 'app'],
    ['Upper/app', 'upper', 'app'],
    ['a.b-c.d/e__f.g-h', 'a.b-c.d', 'e__f.g-h'],
    ['foo/a---b', 'docker.io', 'foo/a---b'],
  ])('%s → %s / %s', (text, registry, repository) => {
    const reference = parseImageReference(text);
    expect(reference).toMatchObject({ registry, repository, name: text });
    expect(reference.tag).toBeUndefined();
    expect(reference.digest).toBeUndefined();
  });

  test('a port without a path is a tag of a Docker Hub image', () => {
    expect(parseImageReference('localhost:5000')).toEqual({ name: 'localhost', registry: 'docker.io', repository: 'library/localhost', tag: '5000' });
  });

  test('tags and digests are split off and the name keeps its spelling', () => {
    expect(parseImageReference('python:3.9-slim')).toEqual({ name: 'python', registry: 'docker.io', repository: 'library/python', tag: '3.9-slim' });
    expect(parseImageReference(`localhost:5000/app:1.2@sha256:${HEX64}`)).toEqual({
      name: 'localhost:5000/app',
      registry: 'localhost:5000',
      repository: 'app',
      tag: '1.2',
      digest: `sha256:${HEX64}`,
    });
    expect(parseImageReference(`python@sha256:${HEX64}`)).toMatchObject({ repository: 'library/python', digest: `sha256:${HEX64}` });
    expect(parseImageReference(`x@sha512:${'ab'.repeat(64)}`).digest).toBe(`sha512:${'ab'.repeat(64)}`);
  });

  test('tags follow [\\w][\\w.-]{0,127}', () => {
    expect(parseImageReference(`app:${'a'.repeat(128)}`).tag).toHaveLength(128);
    expect(parseImageReference('app:_x').tag).toBe('_x');
    expect(parseImageReference('app:V1.2-rc_3').tag).toBe('V1.2-rc_3');
    expect(() => parseImageReference(`app:${'a'.repeat(129)}`)).toThrow();
    expect(() => parseImageReference('app:.x')).toThrow('invalid tag ".x"');
    expect(() => parseImageReference('app:-x')).toThrow('invalid tag "-x"');
  });
});

describe('parseImageReference: what the grammar rejects', () => {
  test.each([
    ['', 'empty'],
    ['Python', 'repository name must be lowercase'],
    ['docker.io/Python', 'repository name must be lowercase'],
    ['foo/Bar:1', 'repository name must be lowercase'],
    ['python:', 'empty tag'],
    ['python:3:4', 'invalid tag "3:4"'],
    [':3.9', 'does not match'],
    ['a//b', 'does not match'],
    ['a/', 'does not match'],
    ['/a', 'does not match'],
    ['a..b', 'does not match'],
    ['a___b', 'does not match'],
    ['_a', 'does not match'],
    ['a-', 'does not match'],
    ['-a', 'does not match'],
    ['http://registry.example.com/app', 'does not match'],
    ['app@sha256:abc', 'malformed digest'],
    [`app@sha256:${HEX64.toUpperCase()}`, 'lower-case hex'],
    [`app@sha256:${HEX64}0`, 'lower-case hex'],
    [`app@md5:${'a'.repeat(32)}`, 'unsupported digest algorithm "md5"'],
    [HEX64, 'image ID'],
    [`a/${'b'.repeat(254)}`, 'longer than 255'],
    ['-registry.com/app', 'does not match'],
    ['my_registry.com/app', '"my_registry.com" is not a valid registry host'],
  ])('%s', (text, reason) => {
    expect(() => parseImageReference(text)).toThrow(reason);
    expect(tryParseImageReference(text)).toBeUndefined();
  });

  test('the error names the reference', () => {
    expect(() => parseImageReference('Python:3')).toThrow('invalid image reference "Python:3": repository name must be lowercase');
  });
});

describe('round trip', () => {
  const alphanumeric = fc.stringMatching(/^[a-z0-9]{1,6}$/);
  const separator = fc.constantFrom('.', '_', '__', '-', '--');
  const component = fc
    .tuple(alphanumeric, fc.array(fc.tuple(separator, alphanumeric), { maxLength: 2 }))
    .map(([first, rest]) => first + rest.map(([sep, part]) => sep + part).join(''));
  const domain = fc.oneof(
    fc.constant(undefined),
    fc.constantFrom('ghcr.io', 'localhost', 'localhost:5000', 'registry.example.com:443', '10.0.0.1:5000', '[::1]:5000'),
  );
  const tag = fc.option(fc.stringMatching(/^\w[\w.-]{0,20}$/), { nil: undefined });
  const digest = fc.option(fc.stringMatching(/^[a-f0-9]{64}$/).map((hex) => `sha256:${hex}`), { nil: undefined });

  test('every reference built from the grammar parses back to its parts', () => {
    fc.assert(
      fc.property(domain, fc.array(component, { minLength: 1, maxLength: 3 }), tag, digest, (host, path, tagValue, digestValue) => {
        const name = [host, ...path].filter(Boolean).join('/');
        fc.pre(name.length <= 255 && !/^[a-f0-9]{64}$/.test(name));
        // A dotted first component is read as a host, and hosts have no underscores (tested above).
        fc.pre(!(host === undefined && path.length > 1 && path[0].includes('.') && path[0].includes('_')));
        const text = formatImageReference({ name, tag: tagValue, digest: digestValue });
        const parsed = parseImageReference(text);
        expect(parsed.name).toBe(name);
        expect(parsed.tag).toBe(tagValue);
        expect(parsed.digest).toBe(digestValue);
        expect(formatImageReference(parsed)).toBe(text);
        // Without a host, a first component with a dot still names one (Docker's rule), e.g. a.b/c.
        const expected = host ?? (path.length > 1 && path[0].includes('.') ? path[0] : 'docker.io');
        expect(parsed.registry).toBe(expected);
      }),
    );
  });
});

describe('helpers', () => {
  test('effectiveTag: latest only when there is neither tag nor digest', () => {
    expect(effectiveTag(parseImageReference('python'))).toBe('latest');
    expect(effectiveTag(parseImageReference('python:3'))).toBe('3');
    expect(effectiveTag(parseImageReference(`python@sha256:${HEX64}`))).toBeUndefined();
  });

  test('normalizeRegistry folds the spellings users write', () => {
    expect(normalizeRegistry('https://index.docker.io/v1/')).toBe('docker.io');
    expect(normalizeRegistry('registry-1.docker.io')).toBe('docker.io');
    expect(normalizeRegistry('http://localhost:5000/v2/')).toBe('localhost:5000');
    expect(normalizeRegistry(' GHCR.io ')).toBe('ghcr.io');
  });

  test('registryHostname and isLoopbackRegistry', () => {
    expect(registryHostname('localhost:5000')).toBe('localhost');
    expect(registryHostname('[::1]:5000')).toBe('::1');
    expect(registryHostname('::1')).toBe('::1');
    expect(registryHostname('ghcr.io')).toBe('ghcr.io');
    expect(isLoopbackRegistry('localhost:5000')).toBe(true);
    expect(isLoopbackRegistry('127.0.0.1:5000')).toBe(true);
    expect(isLoopbackRegistry('127.8.0.1')).toBe(true);
    expect(isLoopbackRegistry('[::1]:5000')).toBe(true);
    expect(isLoopbackRegistry('localhost.example.com')).toBe(false);
    expect(isLoopbackRegistry('127.0.0.1.nip.io')).toBe(false);
    expect(isLoopbackRegistry('docker.io')).toBe(false);
  });

  test('isValidDigest checks the algorithm and length', () => {
    expect(isValidDigest(`sha256:${HEX64}`)).toBe(true);
    expect(isValidDigest(`sha256:${HEX64.slice(1)}`)).toBe(false);
    expect(isValidDigest(`sha384:${'a'.repeat(96)}`)).toBe(true);
    expect(isValidDigest('sha256:')).toBe(false);
  });
});
