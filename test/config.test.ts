import { execFileSync } from 'node:child_process';
import { chownSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { clearConfigCache, configForFile, createConfigCache, type ConfigLookupOptions } from '../src/runner/config.js';
import { DockoptError } from '../src/engine/errors.js';
import { rejection } from './helpers/errors.js';

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), 'data', 'config');
const discovery = path.join(fixtures, 'discovery');
const overridesDir = path.join(fixtures, 'overrides');
const invalid = path.join(fixtures, 'invalid');

/**
 * Every lookup in the fixtures stops at the fixture root: the repository's own package.json is not part of the test.
 * The fixtures hold registry settings and transforms, so they are read as trusted (--trust-config); the rules for
 * untrusted configs have their own tests below.
 */
const lookup = (file: string, options: ConfigLookupOptions = {}) => configForFile(file, { stopAt: fixtures, cache: createConfigCache(), trust: true, ...options });

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

  test('the search stops at stopAt, even inside a repository', async () => {
    write('.git/HEAD', 'ref: refs/heads/main\n');
    write('.dockopt.json', '{ "pin": "digest" }');
    const dockerfile = path.join(root, 'a', 'b', 'Dockerfile');
    expect((await configForFile(dockerfile, { cache: createConfigCache() })).config).toEqual({ pin: 'digest' });
    expect((await configForFile(dockerfile, { cache: createConfigCache(), stopAt: path.join(root, 'a') })).config).toEqual({});
  });

  test('outside a repository the search stops at the starting directory (default: the Dockerfile\'s own)', async () => {
    // The repro of issue 16: a config in a shared parent (such as /tmp) must not apply to the trees below it.
    write('.dockopt.json', '{ "unsafe": true }');
    const dockerfile = path.join(root, 'project', 'svc', 'Dockerfile');
    expect((await configForFile(dockerfile, { cache: createConfigCache() })).config).toEqual({});
    expect((await configForFile(dockerfile, { cache: createConfigCache(), startDirectory: path.join(root, 'project') })).config).toEqual({});
    write('project/.dockopt.json', '{ "pin": "version" }');
    expect((await configForFile(dockerfile, { cache: createConfigCache(), startDirectory: path.join(root, 'project') })).config).toEqual({ pin: 'version' });
    // A starting directory the Dockerfile is not under (a file named from elsewhere) bounds nothing: its own directory does.
    expect((await configForFile(dockerfile, { cache: createConfigCache(), startDirectory: path.join(root, 'other') })).config).toEqual({});
  });

  test('never above the home directory, repository or not', async () => {
    write('.git/HEAD', 'ref: refs/heads/main\n');
    write('.dockopt.json', '{ "unsafe": true }');
    const home = path.join(root, 'home', 'user');
    const dockerfile = path.join(home, 'project', 'Dockerfile');
    expect((await configForFile(dockerfile, { cache: createConfigCache(), homeDirectory: home, startDirectory: root })).config).toEqual({});
    expect((await configForFile(dockerfile, { cache: createConfigCache(), homeDirectory: path.join(root, 'elsewhere'), startDirectory: root })).config).toEqual({ unsafe: true });
  });

  test('a .git owned by another user makes no repository root (as git\'s safe.directory)', async () => {
    if (process.getuid?.() !== 0) return; // only root can hand a file to another user
    write('.dockopt.json', '{ "unsafe": true }');
    write('.git/HEAD', 'ref: refs/heads/main\n');
    const dockerfile = path.join(root, 'project', 'Dockerfile');
    expect((await configForFile(dockerfile, { cache: createConfigCache() })).config).toEqual({ unsafe: true });
    chownSync(path.join(root, '.git'), 4242, 4242);
    expect((await configForFile(dockerfile, { cache: createConfigCache() })).config).toEqual({});
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

describe('trust: a config found in the scanned tree is data, never code or network settings', () => {
  let root: string;
  const write = (relative: string, text: string) => {
    const file = path.join(root, relative);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, text);
    return file;
  };
  const found = (options: ConfigLookupOptions = {}) => configForFile(path.join(root, 'Dockerfile'), { cache: createConfigCache(), ...options });
  const refusal = (options: ConfigLookupOptions = {}) => rejection(found(options));

  beforeEach(() => {
    root = mkdtempSync(path.join(tmpdir(), 'dockopt-trust-'));
    write('.git/HEAD', 'ref: refs/heads/main\n');
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  test('"transforms" in a found .dockopt.json or package.json is refused at its line, naming the ways to opt in', async () => {
    write('.dockopt.json', '{\n  "skip": ["merge-runs"],\n  "transforms": ["./pwn.mjs"]\n}\n');
    const error = await refusal();
    expect(error).toMatchObject({ code: 'INVALID_CONFIG', file: path.join(root, '.dockopt.json'), line: 3 });
    expect(error.message).toContain('.dockopt.json:3:3: "transforms" loads code, which a config file found in the scanned tree may not do; name this file with --config, or pass --trust-config');
    rmSync(path.join(root, '.dockopt.json'));
    write('package.json', JSON.stringify({ name: 'x', dockopt: { transforms: ['file:///abs/elsewhere.mjs'] } }, null, 2));
    expect(await refusal()).toMatchObject({ code: 'INVALID_CONFIG', line: 4 });
  });

  test.each([
    ['registryMirrors', '{ "docker.io": "http://attacker:5002" }'],
    ['insecureRegistries', '["attacker:5002"]'],
    ['registryAllow', '["attacker:5002"]'],
    ['cacheDir', '"/somewhere/else"'],
    ['offline', 'true'],
  ])('"%s" in a found config is refused: registry settings come from the command line, the environment or a trusted config', async (key, value) => {
    write('.dockopt.json', `{ "overrides": [{ "files": ["**"], "${key}": ${value} }] }`);
    const error = await refusal();
    expect(error.code).toBe('INVALID_CONFIG');
    expect(error.message).toMatch(new RegExp(`"${key}" is a registry setting .*may not do`));
  });

  test('a found config cannot turn on the network by naming pin-base', async () => {
    write('.dockopt.json', '{ "only": ["merge-runs", "pin-base"] }');
    const error = await refusal();
    expect(error).toMatchObject({ code: 'INVALID_CONFIG', line: 1 });
    expect(error.message).toContain('"only" names pin-base, which contacts registries: a config file found in the scanned tree cannot turn on the network; name it on the command line (--extend-select pin-base)');
    write('.dockopt.json', '{ "skip": ["pin-base"], "unsafe": true, "pin": "digest", "runtimeBase": "debian:bookworm-slim" }');
    expect((await found()).config).toEqual({ skip: ['pin-base'], unsafe: true, pin: 'digest', runtimeBase: 'debian:bookworm-slim' });
  });

  test('--trust-config accepts all of it, but transforms must stay inside the repository', async () => {
    write('tools/own.mjs', 'export default {};\n');
    write('.dockopt.json', JSON.stringify({ only: ['pin-base'], registryMirrors: { 'docker.io': 'https://mirror.example' }, transforms: ['./tools/own.mjs'] }));
    expect((await found({ trust: true })).config).toEqual({ only: ['pin-base'], registryMirrors: { 'docker.io': 'https://mirror.example' }, transforms: [path.join(root, 'tools', 'own.mjs')] });
    for (const outside of ['/abs/elsewhere.mjs', 'file:///abs/elsewhere.mjs', '../elsewhere.mjs']) {
      write('.dockopt.json', JSON.stringify({ transforms: [outside] }));
      const error = await refusal({ trust: true });
      expect(error.message).toContain(`"transforms" entry ${JSON.stringify(outside)} leads outside`);
    }
    // A symlink inside the repository that points out of it leaves it too.
    symlinkSync('/etc', path.join(root, 'tools', 'escape'));
    write('.dockopt.json', JSON.stringify({ transforms: ['./tools/escape/passwd'] }));
    expect((await refusal({ trust: true })).message).toContain('leads outside');
  });

  test('a named config (--config) is trusted wherever its transforms are', async () => {
    const file = write('elsewhere/shared.json', JSON.stringify({ transforms: ['/opt/team/transform.mjs'], cacheDir: '/var/cache/dockopt' }));
    expect((await found({ explicitConfigPath: file })).config).toEqual({ transforms: ['/opt/team/transform.mjs'], cacheDir: '/var/cache/dockopt' });
  });

  test('a config file that is a FIFO, a device or huge is an error, never a hang', async () => {
    execFileSync('mkfifo', [path.join(root, '.dockopt.json')]);
    expect((await refusal()).message).toContain('.dockopt.json: cannot read config file: not a regular file (a FIFO)');
    rmSync(path.join(root, '.dockopt.json'));
    symlinkSync('/dev/zero', path.join(root, '.dockoptrc'));
    expect((await refusal()).message).toMatch(/\.dockoptrc: the config file is a symlink to \/dev\/zero, outside .*: not read/);
    rmSync(path.join(root, '.dockoptrc'));
    // A package.json that leads out of the tree is passed over: whether it holds a config cannot be known without reading it.
    symlinkSync('/dev/zero', path.join(root, 'package.json'));
    expect((await found()).config).toEqual({});
    rmSync(path.join(root, 'package.json'));
    write('.dockopt.json', `{ "skip": [${'"merge-runs", '.repeat(100_000)}"merge-runs"] }`);
    expect((await refusal()).message).toContain('cannot read config file: 1.3 MiB, larger than the 1 MiB');
  });

  test('JSON nested thousands deep is an error at its line, not a stack overflow', async () => {
    write('.dockopt.json', `{ "overrides": ${'['.repeat(50_000)}`);
    expect((await refusal()).message).toContain('invalid JSON: nested more than 64 levels deep');
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
