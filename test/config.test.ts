import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { clearConfigCache, configForFile, createConfigCache, type ConfigLookupOptions } from '../src/runner/config.js';
import { DockoptError } from '../src/engine/errors.js';

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), 'data', 'config');
const discovery = path.join(fixtures, 'discovery');
const overridesDir = path.join(fixtures, 'overrides');
const invalid = path.join(fixtures, 'invalid');

/** Every lookup in the fixtures stops at the fixture root: the repository's own package.json is not part of the test. */
const lookup = (file: string, options: ConfigLookupOptions = {}) => configForFile(file, { stopAt: fixtures, cache: createConfigCache(), ...options });

async function configError(file: string, options: ConfigLookupOptions = {}): Promise<DockoptError> {
  try {
    await lookup(file, options);
  } catch (error) {
    if (error instanceof DockoptError) return error;
    throw error;
  }
  throw new Error(`no error for ${file}`);
}

describe('finding the config upward', () => {
  test('a Dockerfile deep below a .dockopt.json gets its settings', async () => {
    expect(await lookup(path.join(discovery, 'services', 'api', 'Dockerfile'))).toEqual({
      config: { skip: ['merge-runs'], pin: 'digest' },
      file: path.join(discovery, '.dockopt.json'),
      sources: [path.join(discovery, '.dockopt.json')],
    });
  });

  test('.dockoptrc is JSON', async () => {
    expect(await lookup(path.join(discovery, 'rc', 'app', 'Dockerfile'))).toEqual({
      config: { unsafe: true, registryAllow: ['registry.example.com'] },
      file: path.join(discovery, 'rc', '.dockoptrc'),
      sources: [path.join(discovery, 'rc', '.dockoptrc')],
    });
  });

  test('the "dockopt" key of package.json', async () => {
    expect(await lookup(path.join(discovery, 'pkg', 'Dockerfile'))).toEqual({
      config: { pin: 'version', cacheMounts: true },
      file: path.join(discovery, 'pkg', 'package.json'),
      sources: [`${path.join(discovery, 'pkg', 'package.json')}#/dockopt`],
    });
  });

  test('a package.json without a "dockopt" key is passed over and the search goes on', async () => {
    expect((await lookup(path.join(discovery, 'pkg-without-key', 'Dockerfile'))).sources).toEqual([path.join(discovery, '.dockopt.json')]);
  });

  test('the nearest directory wins, and in it .dockopt.json before .dockoptrc before package.json', async () => {
    expect(await lookup(path.join(discovery, 'order', 'Dockerfile.prod'))).toEqual({
      config: { pin: 'both' },
      file: path.join(discovery, 'order', '.dockopt.json'),
      sources: [path.join(discovery, 'order', '.dockopt.json')],
    });
  });

  test('relative Dockerfile paths are taken from the current directory', async () => {
    const relative = path.relative(process.cwd(), path.join(discovery, 'rc', 'Dockerfile'));
    expect((await lookup(relative)).config).toEqual({ unsafe: true, registryAllow: ['registry.example.com'] });
  });

  test('no config file: empty settings and no sources', async () => {
    expect(await lookup(path.join(fixtures, 'Dockerfile'))).toEqual({ config: {}, sources: [] });
  });
});

describe('--config (explicitConfigPath)', () => {
  test('uses the named file only, whatever lies nearer the Dockerfile', async () => {
    const explicit = path.join(discovery, 'rc', '.dockoptrc');
    expect(await lookup(path.join(discovery, 'pkg', 'Dockerfile'), { explicitConfigPath: explicit })).toEqual({
      config: { unsafe: true, registryAllow: ['registry.example.com'] },
      file: explicit,
      sources: [explicit],
    });
  });

  test('a named package.json must have the "dockopt" key', async () => {
    const error = await configError(path.join(discovery, 'Dockerfile'), { explicitConfigPath: path.join(discovery, 'pkg-without-key', 'package.json') });
    expect(error).toMatchObject({ code: 'INVALID_CONFIG', file: path.join(discovery, 'pkg-without-key', 'package.json'), line: 1 });
    expect(error.message).toContain('package.json has no "dockopt" key');
  });

  test('a named file that does not exist is an error, not an empty config', async () => {
    const missing = path.join(fixtures, 'no-such-config.json');
    const error = await configError(path.join(discovery, 'Dockerfile'), { explicitConfigPath: missing });
    expect(error).toMatchObject({ code: 'INVALID_CONFIG', file: missing });
    expect(error.message).toContain('cannot read config file: ENOENT');
  });
});

describe('overrides', () => {
  const configFile = path.join(overridesDir, '.dockopt.json');
  const base = { skip: ['pin-base'], pin: 'both', transforms: [path.join(overridesDir, 'custom', 'keyword-case.cjs')], cacheDir: path.join(overridesDir, '.cache', 'dockopt') };

  test('a Dockerfile no override matches gets the top-level settings, paths made absolute from the config directory', async () => {
    expect(await lookup(path.join(overridesDir, 'services', 'web', 'Dockerfile'))).toEqual({ config: base, file: configFile, sources: [configFile] });
  });

  test('any glob of an entry applies it; an override replaces the value of the key it sets', async () => {
    for (const file of [path.join(overridesDir, 'legacy', 'Dockerfile'), path.join(overridesDir, 'windows', 'iis', 'Dockerfile.windows')]) {
      expect(await lookup(file)).toEqual({ config: { ...base, skip: ['merge-runs'] }, file: configFile, sources: [configFile, `${configFile}#/overrides/0`] });
    }
  });

  test('several matching entries apply in order and the later one wins', async () => {
    expect(await lookup(path.join(overridesDir, 'legacy', 'old', 'cron', 'Dockerfile'))).toEqual({
      config: { ...base, skip: ['merge-runs', 'pkg-cleanup'], unsafe: true },
      file: configFile,
      sources: [configFile, `${configFile}#/overrides/0`, `${configFile}#/overrides/1`],
    });
  });

  test('globs are relative to the config directory: "./*.Dockerfile" matches only beside it', async () => {
    expect((await lookup(path.join(overridesDir, 'api.Dockerfile'))).config).toEqual({ ...base, pin: 'version' });
    expect((await lookup(path.join(overridesDir, 'services', 'api.Dockerfile'))).config).toEqual(base);
  });

  test('a Dockerfile outside the directory of an explicit config matches no override', async () => {
    const outside = path.join(discovery, 'legacy', 'Dockerfile.windows');
    expect(await lookup(outside, { explicitConfigPath: configFile })).toEqual({ config: base, file: configFile, sources: [configFile] });
  });

  test('Dockerfiles with the same overrides share one frozen config object', async () => {
    const cache = createConfigCache();
    const first = await lookup(path.join(overridesDir, 'legacy', 'a', 'Dockerfile'), { cache });
    const second = await lookup(path.join(overridesDir, 'legacy', 'b', 'Dockerfile'), { cache });
    expect(second.config).toBe(first.config);
    expect(Object.isFrozen(first.config)).toBe(true);
  });
});

describe('validation', () => {
  test.each([
    ['trailing-comma.json', 4, 'trailing-comma.json:4:1: invalid JSON: expected a key in double quotes, found "}"'],
    ['unknown-key.json', 3, 'unknown-key.json:3:3: unknown key "skp" (did you mean "skip"?); known keys: $schema, select, extendSelect, ignore, skip, only, unsafeFixes, unsafe, exclude, pin,'],
    ['wrong-type.json', 3, 'wrong-type.json:3:3: "unsafe" must be true or false'],
    ['unknown-transform.json', 5, 'unknown-transform.json:5:31: "skip" names unknown transform "merge-run" (did you mean "merge-runs"?); known: pin-base, merge-runs,'],
    ['override-without-files.json', 3, 'override-without-files.json:3:5: overrides[0] needs "files": globs relative to the config file\'s directory'],
    ['duplicate-key.json', 4, 'duplicate-key.json:4:3: invalid JSON: duplicate key "pin"'],
  ])('%s: INVALID_CONFIG at line %i, naming the key and what is expected', async (name, line, message) => {
    const file = path.join(invalid, name);
    const error = await configError(path.join(invalid, 'Dockerfile'), { explicitConfigPath: file });
    expect(error).toMatchObject({ code: 'INVALID_CONFIG', file, line });
    expect(error.message).toContain(message);
  });

  test('a package.json found on the way up is checked like any config file', async () => {
    const file = path.join(invalid, 'found-in-package-json', 'package.json');
    const error = await configError(path.join(invalid, 'found-in-package-json', 'Dockerfile'));
    expect(error).toMatchObject({ code: 'INVALID_CONFIG', file, line: 4 });
    expect(error.message).toContain('package.json:4:5: "pin" must be "version", "digest" or "both"');
  });
});

describe('search boundaries and caching (temporary trees)', () => {
  let root: string;
  const write = (relative: string, text: string) => {
    const file = path.join(root, relative);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, text);
  };

  beforeEach(() => {
    root = mkdtempSync(path.join(tmpdir(), 'dockopt-config-'));
  });
  afterEach(() => {
    rmSync(root, { recursive: true, force: true });
  });

  test('the search stops at the repository root (.git), which is still searched itself', async () => {
    write('.dockopt.json', '{ "pin": "digest" }');
    write('repo/.git/HEAD', 'ref: refs/heads/main\n');
    const inRepo = path.join(root, 'repo', 'app', 'Dockerfile');
    expect(await configForFile(inRepo, { cache: createConfigCache() })).toEqual({ config: {}, sources: [] });
    write('repo/.dockoptrc', '{ "pin": "version" }');
    expect((await configForFile(inRepo, { cache: createConfigCache() })).config).toEqual({ pin: 'version' });
  });

  test('the search stops at stopAt', async () => {
    write('.dockopt.json', '{ "pin": "digest" }');
    const dockerfile = path.join(root, 'a', 'b', 'Dockerfile');
    expect((await configForFile(dockerfile, { cache: createConfigCache() })).config).toEqual({ pin: 'digest' });
    expect((await configForFile(dockerfile, { cache: createConfigCache(), stopAt: path.join(root, 'a') })).config).toEqual({});
  });

  test('an unrelated package.json that does not parse is passed over; one that mentions dockopt is an error', async () => {
    write('.git/HEAD', 'ref: refs/heads/main\n');
    write('.dockopt.json', '{ "pin": "digest" }');
    write('web/package.json', '{ "name": "web", }');
    expect((await configForFile(path.join(root, 'web', 'Dockerfile'), { cache: createConfigCache() })).config).toEqual({ pin: 'digest' });
    write('web/package.json', '{ "name": "web",\n  "dockopt": { "pin": "digest" }, }');
    await expect(configForFile(path.join(root, 'web', 'Dockerfile'), { cache: createConfigCache() })).rejects.toMatchObject({ code: 'INVALID_CONFIG', line: 2 });
  });

  test('one cache reads each config file once: an edit is not seen until a new cache (or clearConfigCache)', async () => {
    write('.git/HEAD', 'ref: refs/heads/main\n');
    write('.dockopt.json', '{ "pin": "digest" }');
    const cache = createConfigCache();
    const files = Array.from({ length: 50 }, (_, index) => path.join(root, `service-${index % 5}`, 'Dockerfile'));
    const results = await Promise.all(files.map((file) => configForFile(file, { cache })));
    expect(new Set(results.map((result) => result.config)).size).toBe(1);

    write('.dockopt.json', '{ "pin": "version" }');
    expect((await configForFile(path.join(root, 'service-9', 'Dockerfile'), { cache })).config).toEqual({ pin: 'digest' });
    expect((await configForFile(path.join(root, 'service-9', 'Dockerfile'), { cache: createConfigCache() })).config).toEqual({ pin: 'version' });
  });

  test('the default cache lives until clearConfigCache()', async () => {
    write('.git/HEAD', 'ref: refs/heads/main\n');
    write('.dockopt.json', '{ "unsafe": true }');
    const dockerfile = path.join(root, 'Dockerfile');
    expect((await configForFile(dockerfile)).config).toEqual({ unsafe: true });
    write('.dockopt.json', '{ "unsafe": false }');
    expect((await configForFile(dockerfile)).config).toEqual({ unsafe: true });
    clearConfigCache();
    expect((await configForFile(dockerfile)).config).toEqual({ unsafe: false });
  });

  test('a config file with a BOM and CRLF line ends reports lines as an editor shows them', async () => {
    write('.dockopt.json', '\uFEFF{\r\n  "pin": "digest",\r\n  "cacheMount": true\r\n}\r\n');
    const error = await configForFile(path.join(root, 'Dockerfile'), { cache: createConfigCache(), stopAt: root }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'INVALID_CONFIG', line: 3 });
    expect((error as Error).message).toContain('.dockopt.json:3:3: unknown key "cacheMount" (did you mean "cacheMounts"?)');
  });
});

test('a config may name the dockerignore context transform', async () => {
  const { mkdtempSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const path = (await import('node:path')).default;
  const { configForFile, createConfigCache } = await import('../src/runner/config.js');
  const dir = mkdtempSync(path.join(tmpdir(), 'dockopt-config-context-'));
  writeFileSync(path.join(dir, '.dockopt.json'), JSON.stringify({ only: ['dockerignore', 'merge-runs'] }));
  const { config } = await configForFile(path.join(dir, 'Dockerfile'), { cache: createConfigCache() });
  expect(config.only).toEqual(['dockerignore', 'merge-runs']);
});
