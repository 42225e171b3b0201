// schema/dockopt.schema.json (what editors read through "$schema") against the
// checks dockopt itself runs on config files (src/runner/config.ts, which
// reports file and line): the same keys, and the same verdict on each sample.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv from 'ajv';
import { parseConfigFile } from '../src/runner/config.js';
import { CONFIG_KEYS } from '../src/runner/options.js';
import { CONTEXT_TRANSFORMS, TRANSFORMS } from '../transforms/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const schema = JSON.parse(readFileSync(path.join(root, 'schema', 'dockopt.schema.json'), 'utf8'));
const validate = new Ajv({ allErrors: true, strict: true, strictRequired: false }).compile(schema);

function handChecked(config: unknown): string | undefined {
  try {
    parseConfigFile(path.join(root, '.dockopt.json'), JSON.stringify(config, null, 2), true);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

const VALID: readonly unknown[] = [
  {},
  { $schema: './node_modules/dockopt/schema/dockopt.schema.json', select: ['merge-runs', 'pkg-cleanup'] },
  { extendSelect: ['non-root', 'pin-base'], ignore: ['cache-deps'], skip: ['exec-form'], unsafeFixes: true },
  { only: ['pin-base'], pin: 'digest', update: false, offline: true, registryAllow: ['ghcr.io'], registryMirrors: { 'docker.io': 'https://mirror.example' }, insecureRegistries: ['localhost:5000'], cacheDir: '.cache' },
  { unsafe: true, cacheMounts: true, runtimeBase: 'debian:12-slim', exclude: ['legacy/', 'vendor/**'] },
  { transforms: ['./my-transform.mjs'], select: ['my-transform'] },
  { overrides: [{ files: ['legacy/**'], ignore: ['merge-runs'] }, { files: ['**/Dockerfile.windows'], select: ['exec-form'], unsafeFixes: false }] },
];

const INVALID: readonly unknown[] = [
  { skp: ['merge-runs'] },
  { unsafe: 'yes' },
  { unsafeFixes: 1 },
  { select: [] },
  { only: [] },
  { select: ['merge-runs'], only: ['pkg-cleanup'] },
  { select: 'merge-runs' },
  { ignore: [''] },
  { pin: 'tag' },
  { registryMirrors: { 'docker.io': 'ftp://mirror' } },
  { cacheDir: ' ' },
  { exclude: 'legacy/' },
  { overrides: {} },
  { overrides: [{ ignore: ['merge-runs'] }] },
  { overrides: [{ files: [] }] },
  { overrides: [{ files: ['a/**'], exclude: ['b/'] }] },
  { overrides: [{ files: ['a/**'], only: ['merge-runs'], select: ['pkg-cleanup'] }] },
  { $schema: 7 },
];

describe('the config schema', () => {
  test('names exactly the keys dockopt reads, at the top and in overrides', () => {
    expect(Object.keys(schema.properties).sort()).toEqual(['$schema', ...CONFIG_KEYS, 'overrides'].sort());
    expect(Object.keys(schema.definitions.override.properties).sort()).toEqual(['files', ...CONFIG_KEYS.filter((key) => key !== 'exclude')].sort());
  });

  test('lists every built-in transform id for completion', () => {
    expect(schema.definitions.transformId.anyOf[0].enum).toEqual([...TRANSFORMS, ...CONTEXT_TRANSFORMS].map((transform) => transform.meta.id));
  });

  test.each(VALID.map((config) => [JSON.stringify(config), config]))('valid for both: %s', (_name, config) => {
    expect(handChecked(config)).toBeUndefined();
    expect(validate(config) ? [] : validate.errors).toEqual([]);
  });

  test.each(INVALID.map((config) => [JSON.stringify(config), config]))('invalid for both: %s', (_name, config) => {
    expect(handChecked(config)).toMatch(/^\.dockopt\.json:\d+:\d+: /);
    expect(validate(config)).toBe(false);
  });

  test('one difference: an id that is no transform is an error for dockopt (it knows which exist), while the schema only asks for a kebab-case id', () => {
    expect(handChecked({ ignore: ['merge-run'] })).toMatch(/unknown transform "merge-run" \(did you mean "merge-runs"\?\)/);
    expect(validate({ ignore: ['merge-run'] })).toBe(true);
    expect(validate({ ignore: ['Merge Runs'] })).toBe(false);
  });
});
