// Issue 16's repros through the library API: hostile repositories (configs that
// try to run code or steer the network, files that are FIFOs, devices, huge,
// symlinks out of the tree), input that once crashed or stalled the engine,
// and the per-file time budget. Hostile registries are in
// test/registry/hostile.test.ts; the command line in test/hardening-cli.test.ts.
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, statSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { defineTransform, fixFile, fixFiles, fixText, type FileResult } from '../src/index.js';
import { rejection } from './helpers/errors.js';

const MERGEABLE = 'FROM debian:bookworm-slim\nRUN echo one\nRUN echo two\n';
const MERGED = 'FROM debian:bookworm-slim\nRUN echo one \\\n    && echo two\n';

function tree(files: Record<string, string | Buffer>, options: { git?: boolean } = {}): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'dockopt-hardening-'));
  if (options.git !== false) mkdirSync(path.join(dir, '.git'));
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), content);
  }
  return dir;
}

async function collect(results: AsyncIterable<FileResult>): Promise<FileResult[]> {
  const all: FileResult[] = [];
  for await (const result of results) all.push(result);
  return all.sort((a, b) => a.index - b.index);
}

const PWN_MODULE = `import { writeFileSync } from 'node:fs';\nwriteFileSync(new URL('./PWNED', import.meta.url), 'ran');\nexport default {};\n`;

describe('1. a config file in the scanned tree never runs code', () => {
  test.each([
    ['.dockopt.json', JSON.stringify({ transforms: ['./pwn.mjs'] })],
    ['package.json', JSON.stringify({ name: 'repo', dockopt: { transforms: ['./pwn.mjs'] } })],
  ])('"transforms" in a found %s is refused before anything loads; --trust-config runs it', async (name, config) => {
    const dir = tree({ [name]: config, 'pwn.mjs': PWN_MODULE, Dockerfile: MERGEABLE });
    const error = await rejection(collect(fixFiles(dir, { configFile: true })));
    expect(error).toMatchObject({ code: 'INVALID_CONFIG', file: path.join(dir, name) });
    expect(error.message).toMatch(/"transforms" loads code, which a config file found in the scanned tree may not do; name this file with --config, or pass --trust-config/);
    expect(existsSync(path.join(dir, 'PWNED'))).toBe(false);
    // The user vouches for the tree: now it loads (and this module is no transform).
    expect((await rejection(collect(fixFiles(dir, { configFile: true, trustConfig: true })))).code).toBe('INVALID_TRANSFORM');
    expect(existsSync(path.join(dir, 'PWNED'))).toBe(true);
  });

  test('a file: URL or absolute path that leaves the repository is refused even when trusted', async () => {
    const elsewhere = tree({ 'pwn.mjs': PWN_MODULE }, { git: false });
    const dir = tree({ '.dockopt.json': JSON.stringify({ transforms: [new URL(`file://${elsewhere}/pwn.mjs`).href] }), Dockerfile: MERGEABLE });
    expect((await rejection(collect(fixFiles(dir, { configFile: true, trustConfig: true })))).message).toContain('leads outside');
    expect(existsSync(path.join(elsewhere, 'PWNED'))).toBe(false);
  });

  test('outside a repository, a config in a shared parent (such as /tmp) does not apply below it', async () => {
    const shared = tree({ '.dockopt.json': JSON.stringify({ unsafe: true, transforms: ['./pwn.mjs'] }), 'pwn.mjs': PWN_MODULE }, { git: false });
    const project = path.join(shared, 'someone', 'project');
    mkdirSync(project, { recursive: true });
    writeFileSync(path.join(project, 'Dockerfile'), MERGEABLE);
    const [result] = await collect(fixFiles(project, { configFile: true }));
    expect(result.output).toBe(MERGED);
    expect(existsSync(path.join(shared, 'PWNED'))).toBe(false);
    expect((await fixFile(path.join(project, 'Dockerfile'), { configFile: true })).output).toBe(MERGED);
  });

  test('a named config is trusted: --config may load transforms from anywhere', async () => {
    const elsewhere = tree({ 'pwn.mjs': PWN_MODULE, 'team.json': JSON.stringify({ transforms: ['./pwn.mjs'] }) }, { git: false });
    const dir = tree({ Dockerfile: MERGEABLE });
    expect((await rejection(collect(fixFiles(dir, { configFile: path.join(elsewhere, 'team.json') })))).code).toBe('INVALID_TRANSFORM');
    expect(existsSync(path.join(elsewhere, 'PWNED'))).toBe(true);
  });
});

describe('2. a config file in the scanned tree never turns on the network or chooses its answers', () => {
  let server: http.Server;
  let requests = 0;
  let host = '';
  beforeAll(async () => {
    server = http.createServer((_request, response) => {
      requests++;
      response.writeHead(500).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  test('the issue\'s config is refused at its first offending line, and nothing is contacted', async () => {
    const config = `{\n  "only": ["pin-base"],\n  "registryMirrors": { "docker.io": "http://${host}" },\n  "cacheDir": "/somewhere/else"\n}\n`;
    const dir = tree({ '.dockopt.json': config, Dockerfile: 'FROM python:3.12\n' });
    const error = await rejection(collect(fixFiles(dir, { configFile: true })));
    expect(error).toMatchObject({ code: 'INVALID_CONFIG', line: 2 });
    expect(error.message).toContain('"only" names pin-base, which contacts registries');
    expect(requests).toBe(0);
    expect(existsSync('/somewhere/else')).toBe(false);
  });

  test('the run refuses it whatever key a found config used, when the parser did not (an untrusted config handed to a run)', async () => {
    const { prepareRun } = await import('../src/runner/options.js');
    const error = await rejection(prepareRun({}, { config: { only: ['pin-base'] }, source: '/repo/.dockopt.json' }));
    expect(error).toMatchObject({ code: 'INVALID_CONFIG', file: '/repo/.dockopt.json' });
    expect(error.message).toContain('turns on pin-base, which contacts registries');
    // Typed by the user, the same selection is fine.
    await expect(prepareRun({ only: ['pin-base'], offline: true, cacheDir: mkdtempSync(path.join(tmpdir(), 'dockopt-cache-')) })).resolves.toBeDefined();
  });

  test('never plain http to Docker Hub; an http mirror only when named insecure', async () => {
    const cacheDir = mkdtempSync(path.join(tmpdir(), 'dockopt-cache-'));
    expect((await rejection(fixText('FROM python:3.12\n', { only: ['pin-base'], insecureRegistries: ['docker.io'], cacheDir }))).message).toContain('--insecure-registry cannot name Docker Hub');
    const mirrored = { only: ['pin-base'], registryMirrors: { 'docker.io': 'http://mirror.example:5000' }, cacheDir };
    expect((await rejection(fixText('FROM python:3.12\n', mirrored))).message).toContain('is plain http: list mirror.example:5000 with --insecure-registry');
    // Loopback may always be plain http (a local mirror); this one answers 500, which is reported per file.
    const result = await fixText('FROM python:3.12\n', { only: ['pin-base'], registryMirrors: { 'docker.io': `http://${host}` }, cacheDir, registryAllow: ['docker.io', host] });
    expect(result.errors[0]).toMatchObject({ code: 'TRANSFORM_ERROR', transform: 'pin-base' });
  });
});

describe('9. symlinks met while walking are taken only inside the given roots', () => {
  test('a Dockerfile that links outside the tree is skipped by a walk (never rewritten), but followed when named', async () => {
    const outside = tree({ 'victim.conf': MERGEABLE }, { git: false });
    const dir = tree({ 'svc/Dockerfile': MERGEABLE, 'real/Dockerfile': MERGEABLE });
    symlinkSync(path.join(outside, 'victim.conf'), path.join(dir, 'Dockerfile'));
    symlinkSync(path.join(dir, 'real', 'Dockerfile'), path.join(dir, 'svc', 'Dockerfile.link'));
    const results = await collect(fixFiles(dir, { write: true }));
    expect(results.map((result) => path.relative(dir, result.path))).toEqual(['real/Dockerfile', 'svc/Dockerfile', 'svc/Dockerfile.link']);
    expect(readFileSync(path.join(outside, 'victim.conf'), 'utf8')).toBe(MERGEABLE);
    expect(readFileSync(path.join(dir, 'real', 'Dockerfile'), 'utf8')).toBe(MERGED);
    // Named by the user, the link is followed as before.
    const [named] = await collect(fixFiles(path.join(dir, 'Dockerfile'), { write: true }));
    expect(named.written).toBe(true);
    expect(readFileSync(path.join(outside, 'victim.conf'), 'utf8')).toBe(MERGED);
  });

  test('a .dockerignore that links outside the tree is left alone, never written through', async () => {
    const outside = tree({ victim: 'keep me\n' }, { git: false });
    const dir = tree({ Dockerfile: 'FROM node:20\nCOPY . .\n', 'node_modules/x/index.js': '' });
    symlinkSync(path.join(outside, 'victim'), path.join(dir, '.dockerignore'));
    const results = await collect(fixFiles(dir, { write: true, only: ['dockerignore'] }));
    expect(results.at(-1)).toMatchObject({ path: path.join(dir, '.dockerignore'), status: 'error', errors: [{ code: 'READ_ERROR', message: expect.stringContaining('outside the directories searched') }] });
    expect(readFileSync(path.join(outside, 'victim'), 'utf8')).toBe('keep me\n');
  });

  test('build-context files that link outside the context count as absent', async () => {
    const outside = tree({ 'package.json': JSON.stringify({ name: 'x', dependencies: { express: '4' } }) }, { git: false });
    const dir = tree({ Dockerfile: 'FROM node:20\nWORKDIR /app\nCOPY . .\nRUN npm ci\nCMD ["node", "server.js"]\n', 'package-lock.json': '{}' });
    symlinkSync(path.join(outside, 'package.json'), path.join(dir, 'package.json'));
    const [result] = await collect(fixFiles(path.join(dir, 'Dockerfile'), { only: ['cache-deps'] }));
    expect(result.changed).toBe(false);
    expect(result.notes.some((note) => note.transform === 'cache-deps')).toBe(true);
  });
});

describe('10. only regular files of a sane size are read', () => {
  test('a FIFO given by name, or reached through a symlink, is a READ_ERROR at once; the files after it still run', async () => {
    const dir = tree({ 'b/Dockerfile': MERGEABLE });
    execFileSync('mkfifo', [path.join(dir, 'fifo')]);
    symlinkSync(path.join(dir, 'fifo'), path.join(dir, 'Dockerfile'));
    const results = await collect(fixFiles([path.join(dir, 'fifo'), path.join(dir, 'Dockerfile'), path.join(dir, 'b', 'Dockerfile')]));
    expect(results.map((result) => result.errors[0]?.message)).toEqual(['cannot read: not a regular file (a FIFO)', 'cannot read: not a regular file (a FIFO)', undefined]);
    expect(results[2].output).toBe(MERGED);
  });

  test('a symlink to /dev/zero is refused without reading it', async () => {
    const dir = tree({});
    symlinkSync('/dev/zero', path.join(dir, 'Dockerfile'));
    expect((await fixFile(path.join(dir, 'Dockerfile'))).errors[0]).toMatchObject({ code: 'READ_ERROR', message: 'cannot read: not a regular file (a character device)' });
  });

  test('a file over the size limit is a READ_ERROR naming the limit; maxFileSize changes it', async () => {
    const big = `FROM debian:bookworm\n${'# padding\n'.repeat(1000)}RUN echo one\nRUN echo two\n`;
    const dir = tree({ Dockerfile: big });
    const refused = await fixFile(path.join(dir, 'Dockerfile'), { maxFileSize: 4096 });
    expect(refused.errors[0]).toMatchObject({ code: 'READ_ERROR', message: expect.stringContaining('larger than the 4 KiB a file may have here (--max-file-size)') });
    expect((await fixFile(path.join(dir, 'Dockerfile'))).status).toBe('changed');
  });

  test('a NUL byte after the first 8 KiB still makes the file binary', async () => {
    const dir = tree({ Dockerfile: Buffer.concat([Buffer.from(`FROM a\n${'# x\n'.repeat(4000)}`), Buffer.from([0]), Buffer.from('\n')]) });
    expect((await fixFile(path.join(dir, 'Dockerfile'))).errors[0]).toMatchObject({ code: 'READ_ERROR', message: 'binary file (contains NUL bytes), not a Dockerfile' });
  });

  test('a .gitignore that is a FIFO does not hang the walk', async () => {
    const dir = tree({ Dockerfile: MERGEABLE });
    execFileSync('mkfifo', [path.join(dir, '.gitignore')]);
    expect((await collect(fixFiles(dir))).map((result) => result.status)).toEqual(['changed']);
  });
});

describe('11. a rewrite as root keeps the owner and the setuid and setgid bits', () => {
  test('chown before chmod', async () => {
    if (process.getuid?.() !== 0) return; // only root can give a file away
    const dir = tree({ Dockerfile: MERGEABLE });
    const file = path.join(dir, 'Dockerfile');
    chownSync(file, 4242, 4343);
    chmodSync(file, 0o6754);
    expect((await fixFile(file, { write: true })).written).toBe(true);
    const stats = statSync(file);
    expect({ uid: stats.uid, gid: stats.gid, mode: (stats.mode & 0o7777).toString(8) }).toEqual({ uid: 4242, gid: 4343, mode: '6754' });
  });
});

describe('12. a per-file time budget', () => {
  const slow = defineTransform({
    meta: { id: 'slow-transform', title: 'slow', description: 'slow', safety: 'safe', network: false, docs: { summary: 's', why: 'w', fixSafety: 'f', example: { before: '', after: '' } } },
    run(ctx) {
      // Busy for 300 ms on the file that asks for it: the budget is checked between transforms and passes.
      if (ctx.doc.text.includes('slow')) for (const started = Date.now(); Date.now() - started < 300; );
      return [];
    },
  });

  test('a file over its budget is left untouched with a TIMEOUT error naming the budget; the batch goes on', async () => {
    const dir = tree({ 'a/Dockerfile': 'FROM a\n# slow\nRUN echo one\nRUN echo two\n', 'b/Dockerfile': MERGEABLE });
    const results = await collect(fixFiles(dir, { transforms: [slow], timeout: 0.1 }));
    expect(results[0]).toMatchObject({ status: 'error', changed: false, output: 'FROM a\n# slow\nRUN echo one\nRUN echo two\n', errors: [{ code: 'TIMEOUT', line: 1 }] });
    expect(results[0].errors[0].message).toBe('gave up after 0.1 s: the file took longer than its time budget (--timeout); it is left untouched');
    expect(results[1].output).toBe(MERGED);
  });

  test('the budget is an option of fixText too, checked like the others', async () => {
    expect((await fixText('FROM a\n# slow\n', { transforms: [slow], timeout: 0.05 })).errors[0].code).toBe('TIMEOUT');
    expect((await rejection(fixText('FROM a\n', { timeout: 0 }))).message).toContain('options.timeout must be a number of seconds above 0');
  });

  test('a chain of thousands of commands is analysed without running out of stack (it once overflowed merge-runs)', async () => {
    const chain = Array.from({ length: 5000 }, (_, index) => `echo ${index}`).join(' && ');
    const result = await fixText(`FROM debian:bookworm\nRUN ${chain}\nRUN echo last\n`, { only: ['merge-runs'], timeout: Infinity });
    expect(result.errors).toEqual([]);
    expect(result.status).toBe('changed');
  });
});

describe('13. malformed input is a parse error at its line', () => {
  test('an unterminated heredoc (it once made non-root rewrite until the CYCLE guard fired)', async () => {
    const input = 'FROM alpine:3.19\nCMD python app.py --port $PORT\nRUN --mount=type=cache,target=/var/cache/apt <<"EOF"\n';
    const result = await fixText(input, { unsafe: true });
    expect(result).toMatchObject({ status: 'error', output: input, errors: [{ code: 'PARSE_ERROR', line: 3 }] });
    expect(result.errors[0].message).toBe('cannot parse: unterminated heredoc: no line "EOF" ends the here-document that starts here');
    // Terminated, it is fine; `<< EOF` with a space is a shell heredoc, not a Dockerfile one.
    expect((await fixText('FROM alpine:3.19\nRUN <<EOF\necho hi\nEOF\n')).errors).toEqual([]);
    expect((await fixText('FROM alpine:3.19\nRUN cat << EOF\n')).errors).toEqual([]);
  });

  test('a byte-order mark, no FROM and a CR (it once overflowed the stack of the parser)', async () => {
    for (const input of ['\uFEFFCMD a $P\r', ' CMD a $P\n', '\uFEFFRUN echo $X\r\n']) {
      const result = await fixText(input);
      expect(result).toMatchObject({ status: 'error', output: input, errors: [{ code: 'PARSE_ERROR', line: 1, message: 'cannot parse: No source image provided with `FROM`' }] });
    }
  });
});
