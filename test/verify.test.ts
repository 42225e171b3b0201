// dockopt verify: builder detection (stub builders on PATH), the table, and
// real builds with buildah (installed by scripts/ensure-test-deps.sh) in a
// private store. The Dockerfiles build FROM scratch, so no registry is needed;
// custom transforms make the fixes whose effect the builds must show.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { main } from '../src/cli/cli.js';
import { defineTransform, Edit, type Transform } from '../src/index.js';
import { describeChanges, formatBytes, runsAsRoot, verifyJson, verifyProblems, verifyText } from '../src/verify/table.js';
import { baseImages, BuilderUnavailableError, detectBuilder, verifyDockerfile, verifyExitCode, verifyTags, type VerifyReport } from '../src/verify/verify.js';

const temporaryDirectories: string[] = [];
function tempDir(prefix: string): string {
  const directory = mkdtempSync(path.join(os.tmpdir(), `dockopt-verify-test-${prefix}-`));
  temporaryDirectories.push(directory);
  return directory;
}
afterAll(() => {
  for (const directory of temporaryDirectories) rmSync(directory, { recursive: true, force: true });
});

function files(directory: string, contents: Record<string, string | Buffer>): void {
  for (const [name, content] of Object.entries(contents)) {
    mkdirSync(path.dirname(path.join(directory, name)), { recursive: true });
    writeFileSync(path.join(directory, name), content);
  }
}

// ---- detection -----------------------------------------------------------------------

interface StubBuilders {
  /** docker: does `docker buildx version` work, does `docker info` reach a daemon? */
  readonly docker?: { readonly buildx: boolean; readonly daemon: boolean };
  readonly podman?: boolean;
  readonly buildah?: boolean;
}

/** A PATH with only shell stubs of the builders: enough to detect, never to build. */
function stubPath(builders: StubBuilders): string {
  const directory = tempDir('path');
  const stub = (name: string, script: string) => {
    writeFileSync(path.join(directory, name), `#!/bin/sh\n${script}\n`);
    chmodSync(path.join(directory, name), 0o755);
  };
  if (builders.docker) {
    stub(
      'docker',
      [
        `if [ "$1 $2" = "buildx version" ]; then ${builders.docker.buildx ? 'echo "github.com/docker/buildx v0.12.1 9a4a94d"; exit 0' : "echo \"docker: 'buildx' is not a docker command.\" >&2; exit 1"}; fi`,
        `if [ "$1" = "info" ]; then ${builders.docker.daemon ? 'echo 24.0.7; exit 0' : 'echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock" >&2; exit 1'}; fi`,
        'exit 3',
      ].join('\n'),
    );
  }
  if (builders.podman) stub('podman', 'echo "podman version 4.3.1"');
  if (builders.buildah) stub('buildah', 'echo "buildah version 1.28.2 (image-spec 1.1.0-rc2, runtime-spec 1.0.2-dev)"');
  return directory;
}

const detected = async (builders: StubBuilders, forced?: 'docker' | 'podman' | 'buildah', storage?: { root?: string }) =>
  detectBuilder(forced, { env: { PATH: stubPath(builders) }, storage });

describe('builder detection', () => {
  const all = { docker: { buildx: true, daemon: true }, podman: true, buildah: true };

  test('docker buildx with a reachable daemon comes first', async () => {
    const builder = await detected(all);
    expect([builder.name, builder.version]).toEqual(['docker', 'docker buildx v0.12.1']);
  });

  test('docker without a daemon, or without buildx, gives way to podman', async () => {
    expect((await detected({ ...all, docker: { buildx: true, daemon: false } })).version).toBe('podman 4.3.1');
    expect((await detected({ ...all, docker: { buildx: false, daemon: true } })).name).toBe('podman');
  });

  test('buildah is the last choice', async () => {
    const builder = await detected({ docker: { buildx: true, daemon: false }, buildah: true });
    expect([builder.name, builder.version]).toEqual(['buildah', 'buildah 1.28.2']);
  });

  test('with none of them, the error says what to install and why each was not used', async () => {
    const error = await detected({ docker: { buildx: true, daemon: false } }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(BuilderUnavailableError);
    expect((error as Error).message).toBe(
      'no image builder found: install docker with buildx (and start its daemon), podman, or buildah ' +
        '(the docker daemon is not reachable (docker info: Cannot connect to the Docker daemon at unix:///var/run/docker.sock); podman is not installed; buildah is not installed)',
    );
  });

  test('--builder forces a builder, and names it when it cannot be used', async () => {
    expect((await detected(all, 'buildah')).name).toBe('buildah');
    await expect(detected({ buildah: true }, 'podman')).rejects.toThrow('podman is not installed');
    await expect(detected({ docker: { buildx: false, daemon: true } }, 'docker')).rejects.toThrow("docker has no buildx plugin (docker buildx version: docker: 'buildx' is not a docker command.)");
  });

  test('a private storage root passes over docker, whose daemon keeps its own images', async () => {
    expect((await detected(all, undefined, { root: '/tmp/store' })).name).toBe('podman');
    await expect(detected(all, 'docker', { root: '/tmp/store' })).rejects.toThrow('docker keeps images in its daemon');
  });
});

// ---- rendering ------------------------------------------------------------------------

const change = (transform: string, line: number) => ({ transform, line, message: 'fixed', safety: 'safe' as const });

function report(overrides: Partial<VerifyReport>): VerifyReport {
  return {
    status: 'verified',
    dockerfile: 'Dockerfile',
    context: '/src',
    builder: { name: 'buildah', version: 'buildah 1.28.2' },
    changes: [change('merge-runs', 2), change('merge-runs', 4), change('pkg-cleanup', 3)],
    errors: [],
    original: { ok: true, tag: 'dockopt-verify/abc:original', buildSeconds: 13.62, exitCode: 0, sizeBytes: 197_847_552, layers: 5, user: '' },
    fixed: { ok: true, tag: 'dockopt-verify/abc:fixed', buildSeconds: 11.32, exitCode: 0, sizeBytes: 129_307_648, layers: 4, user: 'app' },
    fixedDockerfile: null,
    ...overrides,
  };
}

describe('the report', () => {
  test('sizes are decimal, as docker shows them', () => {
    expect([formatBytes(0), formatBytes(999), formatBytes(1000), formatBytes(301_568), formatBytes(-68_539_904), formatBytes(2_500_000_000)]).toEqual([
      '0 B',
      '999 B',
      '1.0 kB',
      '301.6 kB',
      '-68.5 MB',
      '2.5 GB',
    ]);
  });

  test('root is no USER, root, or uid 0, with any group', () => {
    expect(['', 'root', '0', '0:0', 'root:staff'].every(runsAsRoot)).toBe(true);
    expect(['app', '1000', '1000:0', 'rooted', '10'].some(runsAsRoot)).toBe(false);
  });

  test('both images built: a before/after table with the changes', () => {
    expect(verifyText(report({}))).toBe(
      [
        'Dockerfile: 3 fixes: merge-runs (2), pkg-cleanup; built with buildah 1.28.2',
        '',
        '             original         fixed      change',
        'image size   197.8 MB         129.3 MB   -68.5 MB (-34.6%)',
        'layers       5                4          -1',
        'final user   root (no USER)   app        now non-root',
        'build time   13.6 s           11.3 s     -2.3 s',
        '',
      ].join('\n'),
    );
    expect(verifyProblems(report({}))).toBe('');
    expect(verifyExitCode(report({}))).toBe(0);
  });

  test('a fixed build that fails: the table says so, stderr has the end of its log, exit 1', () => {
    const failed = report({
      status: 'fixed-failed',
      changes: [change('copy-config', 3)],
      fixed: { ok: false, tag: 'dockopt-verify/abc:fixed', buildSeconds: 0.4, exitCode: 125, logTail: 'STEP 2/3: COPY missing.txt /\nError: no such file' },
    });
    expect(verifyText(failed)).toBe(
      [
        'Dockerfile: 1 fix: copy-config; built with buildah 1.28.2',
        '',
        '             original         fixed          change',
        'image size   197.8 MB         build failed',
        'layers       5                build failed',
        'final user   root (no USER)   build failed',
        'build time   13.6 s           0.4 s',
        '',
      ].join('\n'),
    );
    expect(verifyProblems(failed)).toBe(
      'dockopt: the fixed Dockerfile does not build with buildah (exit 125); its log ends with:\n    STEP 2/3: COPY missing.txt /\n    Error: no such file\n',
    );
    expect(verifyExitCode(failed)).toBe(1);
  });

  test('an unchanged Dockerfile, a missing builder, a failing original and fix errors', () => {
    expect(verifyText(report({ status: 'unchanged', changes: [], original: null, fixed: null }))).toBe('Dockerfile: dockopt changes nothing, so there is nothing to build\n');
    const noBuilder = report({ status: 'no-builder', builder: null, original: null, fixed: null, message: 'no image builder found: …' });
    expect([verifyText(noBuilder), verifyProblems(noBuilder), verifyExitCode(noBuilder)]).toEqual(['', 'dockopt: no image builder found: …\n', 2]);
    const originalFails = report({ status: 'original-failed', fixed: null, original: { ok: false, tag: 't', buildSeconds: 1, exitCode: null, logTail: 'Killed' } });
    expect(verifyText(originalFails)).toContain('the original does not build, so the fix cannot be verified');
    expect(verifyProblems(originalFails)).toBe('dockopt: the original Dockerfile does not build with buildah (killed); its log ends with:\n    Killed\n');
    expect(verifyExitCode(originalFails)).toBe(2);
    const fixError = report({ status: 'fix-error', original: null, fixed: null, errors: [{ line: 3, message: 'cannot parse: unknown instruction', severity: 'error', code: 'PARSE_ERROR' }] });
    expect(verifyProblems(fixError)).toBe('Dockerfile:3: error: cannot parse: unknown instruction\n');
    expect(verifyExitCode(fixError)).toBe(2);
  });

  test('JSON is the report with the exit code', () => {
    const parsed = JSON.parse(verifyJson(report({}), 0));
    expect(parsed).toMatchObject({ status: 'verified', exitCode: 0, builder: { name: 'buildah' }, original: { sizeBytes: 197_847_552, layers: 5, user: '' }, fixed: { user: 'app' } });
  });

  test('describes the fixes by transform, in order of appearance', () => {
    expect(describeChanges([change('a', 1), change('b', 2), change('a', 3)])).toBe('3 fixes: a (2), b');
  });

  test('base images to pull first: literal images only, each once', () => {
    const text = [
      'ARG BASE=debian:12',
      'FROM --platform=linux/amd64 node:20-slim AS Build',
      'FROM build AS test',
      'FROM ${BASE}',
      'FROM scratch',
      'FROM 127.0.0.1:5000/library/debian:bookworm-slim@sha256:' + 'a'.repeat(64),
      'FROM node:20-slim',
      '',
    ].join('\n');
    expect(baseImages(text)).toEqual(['node:20-slim', `127.0.0.1:5000/library/debian:bookworm-slim@sha256:${'a'.repeat(64)}`]);
  });

  test('image names are stable for a Dockerfile and differ between Dockerfiles', () => {
    const tags = verifyTags('/src/Dockerfile', 'FROM scratch\n');
    expect(tags.original).toMatch(/^dockopt-verify\/[0-9a-f]{12}:original$/);
    expect(tags.fixed).toBe(tags.original.replace(':original', ':fixed'));
    expect(verifyTags('/src/Dockerfile', 'FROM scratch\n')).toEqual(tags);
    expect(verifyTags('/other/Dockerfile', 'FROM scratch\n').original).not.toBe(tags.original);
  });
});

// ---- docker's command line, through a stub ---------------------------------------------

describe('docker buildx (stub: there is no docker engine here)', () => {
  test('builds with --load and the fixed file outside the context, reads `docker image inspect`, removes both images', async () => {
    const bin = stubPath({});
    const calls = path.join(bin, 'calls.log');
    // Records each call; `image inspect` answers in docker's format (an array of one image).
    writeFileSync(
      path.join(bin, 'docker'),
      [
        '#!/bin/sh',
        `printf '%s\\n' "$*" >> ${calls}`,
        'case "$1 $2" in',
        '  "buildx version") echo "github.com/docker/buildx v0.12.1 9a4a94d" ;;',
        '  "image inspect") case "$3" in',
        '      *:original) echo \'[{"Size": 5000000, "RootFS": {"Type": "layers", "Layers": ["sha256:a", "sha256:b", "sha256:c"]}, "Config": {"User": ""}}]\' ;;',
        '      *) echo \'[{"Size": 3000000, "RootFS": {"Type": "layers", "Layers": ["sha256:a", "sha256:b"]}, "Config": {"User": "app"}}]\' ;;',
        '    esac ;;',
        'esac',
      ].join('\n'),
    );
    chmodSync(path.join(bin, 'docker'), 0o755);
    const source = tempDir('docker-src');
    files(source, { Dockerfile: 'FROM debian:12\nCOPY a /a\nCOPY big /big\n', 'Dockerfile.dockerignore': 'secret\n' });
    const result = await verifyDockerfile({
      dockerfile: path.join(source, 'Dockerfile'),
      fix: { only: [dropBigCopy.meta.id], transforms: [dropBigCopy] },
      builderSettings: { env: { PATH: bin } },
      buildArgs: { VERSION: '1.2' },
      target: 'runtime',
    });
    expect(result).toMatchObject({
      status: 'verified',
      builder: { name: 'docker', version: 'docker buildx v0.12.1' },
      original: { ok: true, sizeBytes: 5_000_000, layers: 3, user: '' },
      fixed: { ok: true, sizeBytes: 3_000_000, layers: 2, user: 'app' },
    });
    const lines = readFileSync(calls, 'utf8').trim().split('\n');
    const builds = lines.filter((line) => line.startsWith('buildx build'));
    const tags = verifyTags(path.join(source, 'Dockerfile'), 'FROM debian:12\nCOPY a /a\nCOPY big /big\n');
    // The base image is fetched before either build is timed.
    expect(lines.slice(0, 3)).toEqual(['buildx version', 'info --format {{.ServerVersion}}', 'pull --quiet debian:12']);
    const buildArgs = (dockerfile: string, tag: string) =>
      `buildx build --load --progress plain --no-cache --file ${dockerfile} --tag ${tag} --build-arg VERSION=1.2 --target runtime ${source}`;
    expect(builds[0]).toBe(buildArgs(path.join(source, 'Dockerfile'), tags.original));
    const fixedDockerfile = /--file (\S+)/.exec(builds[1]!)![1]!;
    expect(builds[1]).toBe(buildArgs(fixedDockerfile, tags.fixed));
    expect(path.basename(fixedDockerfile)).toBe('Dockerfile');
    expect(path.relative(source, fixedDockerfile).startsWith('..')).toBe(true);
    expect(existsSync(path.dirname(fixedDockerfile))).toBe(false);
    expect(lines.at(-1)).toBe(`image rm --force ${tags.original} ${tags.fixed}`);
  });
});

// ---- real builds with buildah ------------------------------------------------------------

/** Replaces `COPY big.bin /big.bin` with `USER 1000`: the fixed image is smaller, has a layer less and runs as 1000. */
const dropBigCopy: Transform = defineTransform({
  meta: {
    id: 'drop-big-copy',
    title: 'Drop the COPY of big.bin',
    description: 'Test transform: replaces the COPY of big.bin with USER 1000.',
    safety: 'safe',
    network: false,
    docs: { summary: 'Test.', why: 'Test.', fixSafety: 'Test.', example: { before: 'FROM scratch\nCOPY big.bin /big.bin\n', after: 'FROM scratch\nUSER 1000\n' } },
  },
  run(ctx) {
    return ctx.doc.instructions
      .filter((instruction) => instruction.keyword === 'COPY' && /\bbig(\.bin)?\b/.test(ctx.doc.text.slice(instruction.start, instruction.end)))
      .map((instruction) => ({ offset: instruction.start, message: 'big file', edits: [Edit.replace(instruction.start, instruction.end, 'USER 1000')] }));
  },
});

/** Adds a COPY of a file the context does not have: the fixed build must fail. */
const copyMissingFile: Transform = defineTransform({
  meta: {
    id: 'copy-missing-file',
    title: 'Copy a file that is not there',
    description: 'Test transform: appends COPY missing.txt.',
    safety: 'safe',
    network: false,
    docs: { summary: 'Test.', why: 'Test.', fixSafety: 'Test.', example: { before: 'FROM scratch\n', after: 'FROM scratch\nCOPY missing.txt /missing.txt\n' } },
  },
  run(ctx) {
    if (ctx.doc.text.includes('missing.txt')) return [];
    const end = ctx.doc.text.length;
    return [{ offset: end, message: 'copy it', edits: [Edit.insert(end, `COPY missing.txt /missing.txt${ctx.doc.eol}`)] }];
  },
});

const BIG_FILE_BYTES = 300_000;
const ORIGINAL = 'FROM scratch\nCOPY small.txt /small.txt\nCOPY big.bin /big.bin\n';

function buildahContext(): { source: string; dockerfile: string } {
  const source = tempDir('src');
  files(source, { Dockerfile: ORIGINAL, 'small.txt': 'hello\n', 'big.bin': Buffer.alloc(BIG_FILE_BYTES, 7) });
  return { source, dockerfile: path.join(source, 'Dockerfile') };
}

/** A private vfs store: no overlay mounts to leak, removable with rm -rf. */
function buildahStore(): { root: string; driver: string; images: () => string[] } {
  const root = tempDir('store');
  return {
    root,
    driver: 'vfs',
    images: () =>
      execFileSync('buildah', ['--root', path.join(root, 'root'), '--runroot', path.join(root, 'runroot'), '--storage-driver', 'vfs', 'images', '--all', '--quiet'], {
        encoding: 'utf8',
      })
        .split('\n')
        .filter(Boolean),
  };
}

async function cli(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: string[] = [];
  const err: string[] = [];
  stdout.on('data', (chunk: Buffer) => out.push(chunk.toString()));
  stderr.on('data', (chunk: Buffer) => err.push(chunk.toString()));
  const code = await main(argv, { stdout, stderr, stdin: new PassThrough(), env: { ...process.env, NO_COLOR: '1' } });
  return { code, stdout: out.join(''), stderr: err.join('') };
}

describe('verify with buildah', () => {
  test('buildah is installed (scripts/ensure-test-deps.sh installs it)', () => {
    expect(execFileSync('buildah', ['--version'], { encoding: 'utf8' })).toMatch(/^buildah version \d/);
  });

  test('measures both images: the fixed one is smaller, has a layer less and runs as 1000; nothing is left behind', async () => {
    const { dockerfile } = buildahContext();
    const store = buildahStore();
    const lines: string[] = [];
    const tempEntries = () => readdirSync(os.tmpdir()).filter((name) => name.startsWith('dockopt-verify-') && !name.startsWith('dockopt-verify-test-'));
    const tempBefore = tempEntries();
    const result = await verifyDockerfile({
      dockerfile,
      fix: { only: ['drop-big-copy'], transforms: [dropBigCopy] },
      builder: 'buildah',
      builderSettings: { storage: { root: store.root, driver: store.driver } },
      progress: (line) => lines.push(line),
    });
    expect(result).toMatchObject({ status: 'verified', builder: { name: 'buildah' }, changes: [{ transform: 'drop-big-copy', line: 3 }] });
    const { original, fixed } = result;
    expect(original).toMatchObject({ ok: true, layers: 2, user: '' });
    expect(fixed).toMatchObject({ ok: true, layers: 1, user: '1000' });
    // Layer tars: the big file and its header and padding are in the original only.
    expect(original!.sizeBytes! - fixed!.sizeBytes!).toBeGreaterThanOrEqual(BIG_FILE_BYTES);
    expect(original!.sizeBytes! - fixed!.sizeBytes!).toBeLessThan(BIG_FILE_BYTES + 4096);
    expect(original!.buildSeconds).toBeGreaterThan(0);
    expect(lines).toEqual([`building the original ${dockerfile} with ${result.builder!.version}`, `building the fixed ${dockerfile} with ${result.builder!.version}`]);
    expect(store.images()).toEqual([]);
    // The fixed Dockerfile's temp directory is gone too.
    expect(tempEntries()).toEqual(tempBefore);
  });

  test('a fixed Dockerfile that does not build: exit 1 with the end of its log; the original is measured; nothing is left behind', async () => {
    const { dockerfile } = buildahContext();
    const store = buildahStore();
    const result = await verifyDockerfile({
      dockerfile,
      fix: { only: ['copy-missing-file'], transforms: [copyMissingFile] },
      builder: 'buildah',
      builderSettings: { storage: { root: store.root, driver: store.driver } },
    });
    expect(result.status).toBe('fixed-failed');
    expect(verifyExitCode(result)).toBe(1);
    expect(result.original).toMatchObject({ ok: true, layers: 2 });
    expect(result.fixed).toMatchObject({ ok: false, exitCode: 125 });
    expect(result.fixed!.logTail).toContain('missing.txt');
    // The two COPY steps before the failing one were committed as images: removed too.
    expect(store.images()).toEqual([]);
  });

  test('an original that does not build: nothing to compare, exit 2', async () => {
    const source = tempDir('src');
    files(source, { Dockerfile: 'FROM scratch\nCOPY absent.txt /absent.txt\nCOPY big.bin /big.bin\n', 'big.bin': 'x' });
    const store = buildahStore();
    const result = await verifyDockerfile({
      dockerfile: path.join(source, 'Dockerfile'),
      fix: { only: ['drop-big-copy'], transforms: [dropBigCopy] },
      builder: 'buildah',
      builderSettings: { storage: { root: store.root, driver: store.driver } },
    });
    expect(result.status).toBe('original-failed');
    expect(result.fixed).toBeNull();
    expect(result.original!.logTail).toContain('absent.txt');
    expect(verifyExitCode(result)).toBe(2);
    expect(store.images()).toEqual([]);
  });

  test('a Dockerfile dockopt leaves alone is not built at all, so it needs no builder', async () => {
    const source = tempDir('src');
    files(source, { Dockerfile: 'FROM scratch\nCOPY small.txt /small.txt\n', 'small.txt': 'hello\n' });
    const result = await verifyDockerfile({
      dockerfile: path.join(source, 'Dockerfile'),
      fix: { only: ['drop-big-copy'], transforms: [dropBigCopy] },
      builderSettings: { env: { PATH: stubPath({}) } },
    });
    expect(result).toMatchObject({ status: 'unchanged', builder: null, original: null, fixed: null });
    expect(verifyExitCode(result)).toBe(0);
  });

  test('without a builder: exit 2 and what to install', async () => {
    const { dockerfile } = buildahContext();
    const result = await verifyDockerfile({ dockerfile, fix: { only: ['drop-big-copy'], transforms: [dropBigCopy] }, builderSettings: { env: { PATH: stubPath({}) } } });
    expect(result.status).toBe('no-builder');
    expect(result.message).toMatch(/^no image builder found: install docker with buildx/);
    expect(verifyExitCode(result)).toBe(2);
  });
});

describe('dockopt verify (the command)', () => {
  /** The same transform as dropBigCopy, as a module for --transform. */
  function transformModule(): string {
    const directory = tempDir('transform');
    const file = path.join(directory, 'drop-big-copy.mjs');
    writeFileSync(
      file,
      `export default {
  meta: {
    id: 'drop-big-copy', title: 'Drop the COPY of big.bin', description: 'Test transform.', safety: 'safe', network: false,
    docs: { summary: 'Test.', why: 'Test.', fixSafety: 'Test.', example: { before: 'FROM scratch\\n', after: 'FROM scratch\\n' } },
  },
  run(ctx) {
    return ctx.doc.instructions
      .filter((instruction) => instruction.keyword === 'COPY' && ctx.doc.text.slice(instruction.start, instruction.end).includes('big.bin'))
      .map((instruction) => ({ offset: instruction.start, message: 'big file', edits: [{ start: instruction.start, end: instruction.end, text: 'USER 1000' }] }));
  },
};
`,
    );
    return file;
  }

  test('prints the table on stdout and the progress on stderr; exit 0', async () => {
    const { dockerfile } = buildahContext();
    const store = buildahStore();
    const result = await cli(['verify', dockerfile, '--only', 'drop-big-copy', '--transform', transformModule(), '--builder', 'buildah', '--storage-root', store.root, '--storage-driver', 'vfs']);
    expect(result.code).toBe(0);
    const [heading, blank, header, size, layers, user, time] = result.stdout.split('\n');
    expect(heading).toBe(`${dockerfile}: 1 fix: drop-big-copy; built with buildah ${execFileSync('buildah', ['--version'], { encoding: 'utf8' }).split(' ')[2]}`);
    expect(blank).toBe('');
    expect(header).toMatch(/^ +original +fixed +change$/);
    expect(size).toMatch(/^image size {3}30\d\.\d kB +\d\.\d kB +-30\d\.\d kB \(-9\d\.\d%\)$/);
    expect(layers).toMatch(/^layers +2 +1 +-1$/);
    expect(user).toMatch(/^final user +root \(no USER\) +1000 +now non-root$/);
    expect(time).toMatch(/^build time +\d+\.\d s +\d+\.\d s +[-+]?\d+\.\d s$/);
    expect(result.stderr).toContain(`building the fixed ${dockerfile} with buildah`);
    expect(store.images()).toEqual([]);
  });

  test('--format json --keep: the report as JSON, and both images stay (with the fixed Dockerfile and its ignore file)', async () => {
    const { source, dockerfile } = buildahContext();
    files(source, { 'Dockerfile.dockerignore': 'secret.txt\n' });
    const store = buildahStore();
    const result = await cli(['verify', dockerfile, '--only', 'drop-big-copy', '-t', transformModule(), '--builder', 'buildah', '--storage-root', store.root, '--storage-driver', 'vfs', '--format', 'json', '--keep']);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    const report = JSON.parse(result.stdout);
    expect(report).toMatchObject({ status: 'verified', exitCode: 0, original: { layers: 2, user: '' }, fixed: { layers: 1, user: '1000' } });
    expect(readFileSync(report.fixedDockerfile, 'utf8')).toBe('FROM scratch\nCOPY small.txt /small.txt\nUSER 1000\n');
    expect(readFileSync(path.join(path.dirname(report.fixedDockerfile), 'Dockerfile.dockerignore'), 'utf8')).toBe('secret.txt\n');
    temporaryDirectories.push(path.dirname(report.fixedDockerfile));
    const tagged = execFileSync('buildah', ['--root', path.join(store.root, 'root'), '--runroot', path.join(store.root, 'runroot'), '--storage-driver', 'vfs', 'images', '--format', '{{.Name}}:{{.Tag}}'], {
      encoding: 'utf8',
    });
    expect(tagged.split('\n').filter(Boolean).sort()).toEqual([`localhost/${report.fixed.tag}`, `localhost/${report.original.tag}`]);
  });

  test('a fixed build that fails exits 1 and shows the end of its log', async () => {
    const source = tempDir('src');
    files(source, { Dockerfile: 'FROM scratch\nCOPY big.bin /big.bin\n', 'big.bin': 'x' });
    const module = path.join(tempDir('transform'), 'copy-missing.mjs');
    writeFileSync(
      module,
      `export default {
  meta: {
    id: 'copy-missing-file', title: 'Copy a missing file', description: 'Test transform.', safety: 'safe', network: false,
    docs: { summary: 'Test.', why: 'Test.', fixSafety: 'Test.', example: { before: 'FROM scratch\\n', after: 'FROM scratch\\n' } },
  },
  run(ctx) {
    if (ctx.doc.text.includes('missing.txt')) return [];
    const end = ctx.doc.text.length;
    return [{ offset: end, message: 'copy it', edits: [{ start: end, end, text: 'COPY missing.txt /missing.txt' + ctx.doc.eol }] }];
  },
};
`,
    );
    const store = buildahStore();
    const result = await cli(['verify', path.join(source, 'Dockerfile'), '--only', 'copy-missing-file', '-t', module, '--builder', 'buildah', '--storage-root', store.root, '--storage-driver', 'vfs', '-q']);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^final user +root \(no USER\) +build failed$/m);
    expect(result.stderr).toMatch(/^dockopt: the fixed Dockerfile does not build with buildah \(exit 125\); its log ends with:\n(    .*\n)+$/);
    expect(result.stderr).toContain('missing.txt');
  });

  test('a Dockerfile that cannot be read or parsed is an error before any build: exit 2', async () => {
    const source = tempDir('src');
    files(source, { Dockerfile: 'FROM scratch\nFROOM nothing\n' });
    const missing = await cli(['verify', path.join(source, 'Containerfile'), '--builder', 'buildah']);
    expect([missing.code, missing.stdout]).toEqual([2, '']);
    expect(missing.stderr).toMatch(/Containerfile:1: error: cannot read: ENOENT\n/);
    const broken = await cli(['verify', path.join(source, 'Dockerfile'), '--builder', 'buildah']);
    expect(broken.code).toBe(2);
    expect(broken.stderr).toContain('Dockerfile:2: error: cannot parse');
    expect(broken.stderr).toContain('dockopt: nothing was built, because the Dockerfile cannot be fixed\n');
  });

  test('usage errors: a bad --build-arg, an unknown builder', async () => {
    const { dockerfile } = buildahContext();
    const badArg = await cli(['verify', dockerfile, '--build-arg', 'NOVALUE']);
    expect([badArg.code, badArg.stderr]).toEqual([2, 'dockopt: --build-arg takes NAME=VALUE, got "NOVALUE"\nRun "dockopt --help" for usage.\n']);
    const badBuilder = await cli(['verify', dockerfile, '--builder', 'kaniko']);
    expect(badBuilder.code).toBe(2);
    expect(badBuilder.stderr).toContain('Invalid values');
  });
});
