// The package as users get it, through the compiled dist/ (built by `npm
// test`): the README's example script and custom transform exactly as the
// README shows them, `import` and `require` from an installed copy, and no
// side effects on import.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
const exampleScript = path.join(root, 'examples', 'api', 'fix-directory.mjs');
const exampleTransform = path.join(root, 'examples', 'custom-transform', 'maintainer-to-label.mjs');

function node(args: string[], cwd = root) {
  const result = spawnSync(process.execPath, args, { cwd, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** A project elsewhere with dockopt installed (linked, as `npm link dockopt` does). */
function installedProject(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'dockopt-consumer-'));
  mkdirSync(path.join(dir, 'node_modules'));
  symlinkSync(root, path.join(dir, 'node_modules', 'dockopt'), 'dir');
  return dir;
}

describe('the README example', () => {
  test.each([exampleScript, exampleTransform])('README shows %s verbatim', (file) => {
    expect(readme).toContain(`\`\`\`js\n${readFileSync(file, 'utf8')}\`\`\``);
  });

  test('the migration script fixes a directory in place, prints the diffs, and reports a bad file with its code', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'dockopt-example-'));
    mkdirSync(path.join(dir, 'api'));
    mkdirSync(path.join(dir, 'broken'));
    writeFileSync(path.join(dir, 'api', 'Dockerfile'), 'FROM node:20-slim\nMAINTAINER Jane Doe <jane@example.com>\nRUN npm ci\nRUN npm run build\n');
    writeFileSync(path.join(dir, 'Containerfile'), 'FROM alpine:3.20\nCMD ["true"]\n');
    writeFileSync(path.join(dir, 'broken', 'Dockerfile'), 'FROM alpine:3.20\nFROOM x\n');
    const result = node([exampleScript, dir]);
    expect(result.code).toBe(2);
    expect(readFileSync(path.join(dir, 'api', 'Dockerfile'), 'utf8')).toBe(
      'FROM node:20-slim\nLABEL org.opencontainers.image.authors="Jane Doe <jane@example.com>"\nRUN npm ci \\\n    && npm run build\n',
    );
    expect(result.stdout).toBe(
      [
        `fixed ${path.join(dir, 'api', 'Dockerfile')}`,
        `--- a${path.join(dir, 'api', 'Dockerfile')}`,
        `+++ b${path.join(dir, 'api', 'Dockerfile')}`,
        '@@ -1,4 +1,4 @@',
        ' FROM node:20-slim',
        '-MAINTAINER Jane Doe <jane@example.com>',
        '-RUN npm ci',
        '-RUN npm run build',
        '+LABEL org.opencontainers.image.authors="Jane Doe <jane@example.com>"',
        '+RUN npm ci \\',
        '+    && npm run build',
        '',
      ].join('\n'),
    );
    expect(result.stderr).toBe(`${path.join(dir, 'broken', 'Dockerfile')}:2: PARSE_ERROR: cannot parse: Unknown instruction: FROOM\n`);
    expect(readFileSync(path.join(dir, 'Containerfile'), 'utf8')).toBe('FROM alpine:3.20\nCMD ["true"]\n');
  });

  test("the custom transform's docs example is exactly what it does, and it declines what a LABEL would read differently", () => {
    const script = `
      import { fixText, loadTransform } from 'dockopt';
      const transform = await loadTransform(${JSON.stringify(exampleTransform)});
      const { before, after } = transform.meta.docs.example;
      const example = await fixText(before, { transforms: [transform], only: [transform.meta.id] });
      const quoted = await fixText('FROM a\\nMAINTAINER "Jane" $USER\\n', { transforms: [transform], only: [transform.meta.id] });
      const ignored = await fixText('FROM a\\n# dockopt-ignore\\nMAINTAINER Jane\\n', { transforms: [transform], only: [transform.meta.id] });
      console.log(JSON.stringify({ matches: example.output === after, changed: example.changed, quoted, ignored: ignored.changed }));`;
    const result = node(['--input-type=module', '-e', script]);
    expect(result.stderr).toBe('');
    const answer = JSON.parse(result.stdout);
    expect(answer).toMatchObject({ matches: true, changed: true, ignored: false });
    expect(answer.quoted.changed).toBe(false);
    expect(answer.quoted.notes).toEqual([
      { line: 2, message: expect.stringMatching(/^MAINTAINER left alone/), severity: 'note', transform: 'maintainer-to-label' },
    ]);
  });
});

describe('worker threads', () => {
  test('a custom transform given as a module path runs in the worker threads; an object keeps the batch on the main thread, with the same results', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'dockopt-api-workers-'));
    for (let index = 0; index < 420; index++) {
      mkdirSync(path.join(dir, `svc-${index}`));
      writeFileSync(path.join(dir, `svc-${index}`, 'Dockerfile'), index % 2 === 0 ? 'from alpine:3.20\nrun echo hi\n' : 'FROM alpine:3.20\n');
    }
    const keywordCase = path.join(root, 'test', 'data', 'custom-transforms', 'keyword-case.cjs');
    const script = `
      import { createRequire } from 'node:module';
      import { Worker } from 'node:worker_threads';
      import { fixFiles } from 'dockopt';
      let messages = 0;
      const post = Worker.prototype.postMessage;
      Worker.prototype.postMessage = function (...args) { messages++; return post.apply(this, args); };
      async function run(transform) {
        messages = 0;
        const changed = [];
        for await (const result of fixFiles(${JSON.stringify(dir)}, { transforms: [transform] })) if (result.changed) changed.push(result.path);
        return { messages, changed: changed.sort() };
      }
      const byPath = await run(${JSON.stringify(keywordCase)});
      // A copy: the module's own object is known to come from its file (and could go to the threads).
      const byObject = await run({ ...createRequire(import.meta.url)(${JSON.stringify(keywordCase)}) });
      console.log(JSON.stringify({ byPath, byObject }));`;
    const result = node(['--input-type=module', '-e', script]);
    expect(result.stderr).toBe('');
    const { byPath, byObject } = JSON.parse(result.stdout);
    expect(byPath.changed).toHaveLength(210);
    expect(byObject.changed).toEqual(byPath.changed);
    // A message per file plus "done" messages to each thread; none when the machine has one core.
    if (availableParallelism() >= 2) expect(byPath.messages).toBeGreaterThan(420);
    else expect(byPath.messages).toBe(0);
    expect(byObject.messages).toBe(0);
  });
});

describe('loading the package', () => {
  const probe = "fixText('FROM a\\nRUN echo 1\\nRUN echo 2\\n').then((result) => console.log(JSON.stringify([typeof DockoptError, result.output])))";
  const expected = JSON.stringify(['function', 'FROM a\nRUN echo 1 \\\n    && echo 2\n']);

  test('import works from an installed copy', () => {
    const result = node(['--input-type=module', '-e', `import { fixText, DockoptError } from 'dockopt'; ${probe}`], installedProject());
    expect(result).toEqual({ code: 0, stdout: `${expected}\n`, stderr: '' });
  });

  test('require works from an installed copy (Node.js >= 20.19), without warnings', () => {
    const result = node(['-e', `const { fixText, DockoptError } = require('dockopt'); ${probe}`], installedProject());
    expect(result).toEqual({ code: 0, stdout: `${expected}\n`, stderr: '' });
  });

  test('package.json points import, require and types at the compiled index', () => {
    const manifest = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
    expect(manifest.exports['.']).toEqual({ types: './dist/src/index.d.ts', default: './dist/src/index.js' });
    expect(readFileSync(path.join(root, 'dist', 'src', 'index.d.ts'), 'utf8')).toContain('fixFiles');
  });

  test('importing reads no file but modules, sets no V8 flag and loads no grammar; the first fix does', () => {
    const script = `
      import fs from 'node:fs';
      import v8 from 'node:v8';
      const calls = [];
      const spy = (owner, name) => {
        const original = owner[name];
        owner[name] = function (...args) { calls.push(name + ' ' + String(args[0])); return original.apply(this, args); };
      };
      for (const name of ['readFileSync', 'readFile', 'openSync', 'open', 'readdirSync', 'statSync']) spy(fs, name);
      for (const name of ['readFile', 'open', 'readdir', 'stat']) spy(fs.promises, name);
      spy(v8, 'setFlagsFromString');
      const dockopt = await import('dockopt');
      const isModuleSource = (call) => /\\.(c|m)?js$|package\\.json$/.test(call);
      const onImport = calls.filter((call) => !isModuleSource(call));
      calls.length = 0;
      await dockopt.fixText('FROM a\\n');
      console.log(JSON.stringify({ onImport, onFix: calls.filter((call) => !isModuleSource(call)) }));`;
    const result = node(['--input-type=module', '-e', script], installedProject());
    expect(result.stderr).toBe('');
    const { onImport, onFix } = JSON.parse(result.stdout);
    expect(onImport).toEqual([]);
    expect(onFix).toContain('setFlagsFromString --liftoff-only');
    expect(onFix.some((call: string) => call.endsWith('tree-sitter-bash.wasm'))).toBe(true);
  });
});
