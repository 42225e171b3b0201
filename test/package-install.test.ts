// The package as npm publishes it: `npm pack`, then a global install of the
// tarball into an empty prefix (as `npm install -g ./dockopt-*.tgz` on a
// fresh machine), its size, its install scripts (none), the installed
// `dockopt` running, and its type declarations compiling for a TypeScript
// project that has no @types/node. Dependencies come from npm's cache when
// `npm ci` put them there (--prefer-offline), else from the registry.
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const manifest = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string; dependencies: Record<string, string> };
// 10 MB, plus psl (the Public Suffix List, 0.8 MB) for the registry client's same-site rule (issue 16).
const MAX_INSTALL_BYTES = 10_900_000;

function run(command: string, args: string[], cwd: string) {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '', npm_config_update_notifier: 'false' } });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function filesUnder(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(directory, entry.name);
    if (entry.isSymbolicLink()) return [];
    return entry.isDirectory() ? filesUnder(full) : [full];
  });
}

const work = mkdtempSync(path.join(tmpdir(), 'dockopt-pack-'));
const prefix = path.join(work, 'prefix');
let packed: { filename: string; files: { path: string }[] };
let install: { code: number | null; stdout: string; stderr: string };
const installed = path.join(prefix, 'lib', 'node_modules', 'dockopt');
const bin = path.join(prefix, 'bin', 'dockopt');

beforeAll(() => {
  // --ignore-scripts: the test run has built dist/ already; `prepare` would rebuild it under the other tests' feet.
  const pack = run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], root);
  expect(pack.code).toBe(0);
  [packed] = JSON.parse(pack.stdout);
  install = run('npm', ['install', '--global', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', path.join(work, packed.filename)], work);
}, 180_000);

describe('npm pack', () => {
  test('ships the code, the docs pages, the grammar, the schema, README, LICENSE and CHANGELOG; no sources, tests or source maps', () => {
    const files = packed.files.map((file) => file.path);
    for (const expected of ['bin/dockopt', 'dist/src/index.js', 'dist/src/index.d.ts', 'dist/transforms/merge-runs/README.md', 'dist/grammar/tree-sitter-bash.wasm', 'dist/grammar/LICENSE.tree-sitter-bash', 'schema/dockopt.schema.json', 'README.md', 'LICENSE', 'CHANGELOG.md', 'package.json']) {
      expect(files).toContain(expected);
    }
    expect(files.filter((file) => /^(src|test|transforms|scripts|bench)\//.test(file) || file.endsWith('.ts') && !file.endsWith('.d.ts'))).toEqual([]);
    expect(files.filter((file) => file.endsWith('.map'))).toEqual([]);
  });

  test('the shipped grammar is the pinned tree-sitter-bash release\'s WASM, byte for byte (what the tests parse with from the sources)', () => {
    const shipped = readFileSync(path.join(root, 'dist', 'grammar', 'tree-sitter-bash.wasm'));
    const pinned = readFileSync(path.join(root, 'node_modules', 'tree-sitter-bash', 'tree-sitter-bash.wasm'));
    expect(shipped.equals(pinned)).toBe(true);
    expect((JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> }).devDependencies['tree-sitter-bash']).toMatch(/^\d+\.\d+\.\d+$/);
  });

  test('no shipped module points at a source map or source that is not shipped', () => {
    const files = new Set(packed.files.map((file) => file.path));
    const dangling: string[] = [];
    for (const file of files) {
      if (!/\.(m?js|d\.ts)$/.test(file)) continue;
      const match = /[#@] sourceMappingURL=(\S+)/.exec(readFileSync(path.join(root, file), 'utf8'));
      if (match && !match[1].startsWith('data:') && !files.has(path.posix.join(path.posix.dirname(file), match[1]))) dangling.push(`${file} -> ${match[1]}`);
    }
    expect(dangling).toEqual([]);
  });
});

describe('npm install -g ./dockopt-*.tgz', () => {
  test('installs with no install scripts, held back or run', () => {
    expect(install.stderr).not.toMatch(/install-scripts|gyp/i);
    expect(install.code).toBe(0);
    const scripted: string[] = [];
    for (const file of filesUnder(path.join(prefix, 'lib', 'node_modules')).filter((file) => path.basename(file) === 'package.json')) {
      const scripts = (JSON.parse(readFileSync(file, 'utf8')) as { scripts?: Record<string, string> }).scripts ?? {};
      if (['preinstall', 'install', 'postinstall'].some((name) => name in scripts)) scripted.push(path.relative(prefix, file));
    }
    expect(scripted).toEqual([]);
  });

  test(`takes at most ${MAX_INSTALL_BYTES / 1e6} MB with its dependencies, and only the runtime dependencies`, () => {
    const bytes = filesUnder(path.join(prefix, 'lib', 'node_modules')).reduce((sum, file) => sum + statSync(file).size, 0);
    expect(bytes).toBeLessThanOrEqual(MAX_INSTALL_BYTES);
    const direct = readdirSync(path.join(installed, 'node_modules')).filter((name) => !name.startsWith('.'));
    for (const dependency of Object.keys(manifest.dependencies)) expect(direct).toContain(dependency);
    expect(direct).not.toContain('tree-sitter-bash');
    expect(direct).not.toContain('typescript');
  });

  test('the installed dockopt runs: --version, and a fix that parses the shell of a RUN', () => {
    expect(lstatSync(bin).isSymbolicLink() || existsSync(bin)).toBe(true);
    const version = run(bin, ['--version'], work);
    expect(version).toEqual({ code: 0, stdout: `${manifest.version}\n`, stderr: '' });
    const project = path.join(work, 'project');
    mkdirSync(project);
    writeFileSync(path.join(project, 'Dockerfile'), 'FROM debian:12\nRUN apt-get update\nRUN apt-get install -y curl\n');
    const fix = run(bin, ['fix', '--check', '.'], project);
    expect(fix.stdout).toBe('Dockerfile: merge-runs:2, pkg-cleanup:2\n');
    expect(fix.code).toBe(1);
  });

  test('its type declarations compile in a strict TypeScript project without @types/node (skipLibCheck off)', () => {
    const consumer = path.join(work, 'consumer');
    mkdirSync(path.join(consumer, 'node_modules'), { recursive: true });
    symlinkSync(installed, path.join(consumer, 'node_modules', 'dockopt'), 'dir');
    writeFileSync(path.join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    writeFileSync(
      path.join(consumer, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { strict: true, module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', lib: ['ES2022'], types: [], skipLibCheck: false, noEmit: true }, files: ['main.ts'] }),
    );
    writeFileSync(
      path.join(consumer, 'main.ts'),
      [
        "import { fixText, fixFiles, listTransforms, defineTransform, Edit, DockoptError, type DockoptOptions, type FileResult, type TransformInfo } from 'dockopt';",
        "const options: DockoptOptions = { select: ['merge-runs'], extendSelect: ['non-root'], ignore: ['pin-base'], unsafeFixes: false };",
        'export async function demo(): Promise<string> {',
        "  const result = await fixText('FROM a\\nRUN x\\nRUN y\\n', options);",
        '  const infos: TransformInfo[] = listTransforms();',
        "  for await (const file of fixFiles('.', { write: false, exclude: ['legacy/'] })) { const seen: FileResult = file; void seen; }",
        "  const custom = defineTransform({ meta: { id: 'x', title: 't', description: 'd', safety: 'safe', network: false, docs: { summary: 's', why: 'w', fixSafety: 'f', example: { before: '', after: '' } } }, run: (ctx) => [{ offset: 0, message: 'm', edits: [Edit.insert(0, ctx.doc.text.slice(0, 0))] }] });",
        "  if (result.errors.length > 0) throw new DockoptError('INVALID_OPTIONS', 'no');",
        "  return `${result.output}${infos.length}${custom.meta.id}`;",
        '}',
      ].join('\n'),
    );
    const tsc = run(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', consumer], consumer);
    expect(tsc.stdout + tsc.stderr).toBe('');
    expect(tsc.code).toBe(0);
  });
});
