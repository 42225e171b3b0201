import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { inMemoryBuildContext, sentFiles, type BuildContext } from '../../src/engine/build-context.js';
import { directoryBuildContext } from '../../src/runner/directory-context.js';
import { findParseProblems } from '../../src/dockerfile/document.js';
import { fixDockerfile } from '../../src/engine/fixpoint.js';
import mergeRuns from '../../transforms/merge-runs/index.js';
import multiStage from '../../transforms/multi-stage/index.js';
import pkgCleanup from '../../transforms/pkg-cleanup/index.js';
import transform from '../../transforms/cache-deps/index.js';
import { defineFixtureTests, FIXTURES_DIR, runTransform, type FixtureCase } from '../helpers/fixtures.js';
import { recordedServices } from '../helpers/services.js';

// Each case's build context is <case>.context.json: file path → contents (a JSON
// value is written out as JSON). A case without one runs with no build context.
function contextOf(fixture: FixtureCase): Record<string, unknown> {
  const file = path.join(FIXTURES_DIR, 'cache-deps', `${fixture.name}.context.json`);
  if (!existsSync(file)) return {};
  const entries = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  const files = Object.fromEntries(Object.entries(entries).map(([name, value]) => [name, typeof value === 'string' ? value : `${JSON.stringify(value, null, 2)}\n`]));
  return { buildContext: inMemoryBuildContext(files) };
}

defineFixtureTests(transform, contextOf);

const NODE_FILES = {
  'package.json': JSON.stringify({ name: 'app', dependencies: { express: '^4.19.2' } }),
  'package-lock.json': JSON.stringify({ lockfileVersion: 3, packages: { '': { name: 'app' }, 'node_modules/express': { version: '4.19.2' } } }),
  'server.js': '\n',
};

function fix(input: string, files: Record<string, string>, unsafe = true) {
  return fixDockerfile(input, { transforms: [transform], unsafeAllowed: unsafe ? 'all' : undefined, services: { buildContext: inMemoryBuildContext(files) } });
}

describe('cache-deps docs', () => {
  test('the example is exactly what the transform produces with the example build context', async () => {
    const { before, after } = transform.meta.docs.example;
    expect((await fixDockerfile(before, { transforms: [transform], services: recordedServices() })).output).toBe(after);
  });
});

describe('cache-deps safety', () => {
  const input = ['FROM node:20-slim', 'WORKDIR /app', 'COPY . .', 'RUN npm install', 'CMD ["node", "server.js"]', ''].join('\n');

  test('an install that may rewrite the lock file is only a note without --unsafe', async () => {
    const result = await fix(input, NODE_FILES, false);
    expect(result.output).toBe(input);
    expect(result.notes.map((note) => note.message)).toEqual([expect.stringContaining('may rewrite package-lock.json, and the later copy puts the context\'s version back')]);
    expect(result.notes[0].message).toContain('unsafe fix not applied: --unsafe-fixes applies it');
  });

  test('npm ci with a lock that records no install scripts is safe', async () => {
    const result = await fix(input.replace('npm install', 'npm ci'), NODE_FILES, false);
    expect(result.changes.map((change) => change.safety)).toEqual(['safe']);
  });

  test('a lock file version 1 cannot say whether dependencies run install scripts', async () => {
    const result = await fix(input.replace('npm install', 'npm ci'), { ...NODE_FILES, 'package-lock.json': JSON.stringify({ lockfileVersion: 1, dependencies: {} }) });
    expect(result.changes.map((change) => change.safety)).toEqual(['unsafe']);
  });

  test('--ignore-scripts makes dependency install scripts irrelevant', async () => {
    const files = { ...NODE_FILES, 'package-lock.json': JSON.stringify({ lockfileVersion: 3, packages: { '': {}, 'node_modules/esbuild': { hasInstallScript: true } } }) };
    expect((await fix(input.replace('npm install', 'npm ci'), files)).changes.map((change) => change.safety)).toEqual(['unsafe']);
    expect((await fix(input.replace('npm install', 'npm ci --ignore-scripts'), files)).changes.map((change) => change.safety)).toEqual(['safe']);
  });

  test('a binding.gyp is built by the install from the sources', async () => {
    const result = await fix(input.replace('npm install', 'npm ci'), { ...NODE_FILES, 'binding.gyp': '{}' });
    expect(result.output).toBe(input.replace('npm install', 'npm ci'));
    expect(result.notes.map((note) => note.message)).toEqual([expect.stringContaining('binding.gyp')]);
  });
});

describe('cache-deps commands that share the install RUN', () => {
  const run = (command: string, files: Record<string, string> = NODE_FILES) => fix(['FROM node:20-slim', 'WORKDIR /app', 'COPY . .', `RUN ${command}`, ''].join('\n'), files);

  test.each([
    ['npm ci && npm cache clean --force'],
    ['npm ci && rm -rf /root/.npm /tmp/*'],
    ['npm install -g pm2 && npm ci'],
    ['corepack enable && npm ci'],
    ['set -eux; npm ci'],
  ])('%s moves whole', async (command) => {
    const result = await run(command);
    expect(result.output).toBe(['FROM node:20-slim', 'WORKDIR /app', 'COPY package.json package-lock.json ./', `RUN ${command}`, 'COPY . .', ''].join('\n'));
  });

  test.each([
    ['npm ci && rm -rf node_modules/.cache', 'npm ci', 'rm -rf node_modules/.cache'],
    ['npm ci && rm -rf /app/dist', 'npm ci', 'rm -rf /app/dist'],
    ['npm ci && rm -rf /ap*', 'npm ci', 'rm -rf /ap*'],
    ['npm ci && npm cache clean --force && npm test', 'npm ci && npm cache clean --force', 'npm test'],
  ])('%s is split: the command after the install may touch the sources', async (command, first, rest) => {
    const result = await run(command);
    expect(result.output).toBe(['FROM node:20-slim', 'WORKDIR /app', 'COPY package.json package-lock.json ./', `RUN ${first}`, 'COPY . .', `RUN ${rest}`, ''].join('\n'));
  });

  test.each([
    ['cp .env.example .env && npm ci', 'it runs after `cp .env.example .env`, which may need the sources'],
    ['set -e && npm ci && npm run build', 'changes the shell\'s state (set) before the commands that stay after the sources'],
    ['npm ci; npm run build', 'the commands after the install do not follow it with `&&`'],
    ['npm ci & npm run build', 'the install is part of an `||` or background chain'],
    ['npm ci || npm install', 'the install is part of an `||` or background chain'],
    ['npm ci --prefix /opt/app', 'installs somewhere else than the copied directory'],
    ['npm ci $NPM_FLAGS', 'has a computed argument'],
  ])('%s stays: %s', async (command, reason) => {
    const result = await run(command);
    expect(result.changes).toEqual([]);
    expect(result.notes.map((note) => note.message)).toEqual([expect.stringContaining(reason)]);
  });

  test('adding a package is no dependency install', async () => {
    const result = await run('npm install express');
    expect(result.changes).toEqual([]);
    expect(result.notes).toEqual([]);
  });
});

describe('cache-deps in a pipeline', () => {
  test('with merge-runs and pkg-cleanup it reaches a fixpoint that keeps the install before the sources', async () => {
    const input = ['FROM node:20-slim', 'WORKDIR /app', 'COPY . .', 'RUN npm ci', 'RUN npm run build', 'CMD ["node", "dist/index.js"]', ''].join('\n');
    const engine = { transforms: [mergeRuns, pkgCleanup, transform], unsafeAllowed: 'all' as const, services: { buildContext: inMemoryBuildContext(NODE_FILES) } };
    const first = await fixDockerfile(input, engine);
    const lines = first.output.split('\n');
    expect(lines.indexOf('COPY package.json package-lock.json ./')).toBeLessThan(lines.findIndex((line) => line.startsWith('RUN npm ci')));
    expect(lines.findIndex((line) => line.startsWith('RUN npm ci'))).toBeLessThan(lines.indexOf('COPY . .'));
    expect(lines.indexOf('COPY . .')).toBeLessThan(lines.findIndex((line) => line.includes('npm run build')));
    expect((await fixDockerfile(first.output, engine)).output).toBe(first.output);
  });
  test('with pkg-cleanup on the same RUN, the cleanup stays in the install layer', async () => {
    const input = ['FROM node:20-slim', 'WORKDIR /app', 'COPY . .', 'RUN npm ci', 'CMD ["node", "server.js"]', ''].join('\n');
    const engine = { transforms: [pkgCleanup, transform], services: { buildContext: inMemoryBuildContext(NODE_FILES) } };
    const result = await fixDockerfile(input, engine);
    expect(result.output).toBe(
      ['FROM node:20-slim', 'WORKDIR /app', 'COPY package.json package-lock.json ./', 'RUN npm ci && \\', '    npm cache clean --force', 'COPY . .', 'CMD ["node", "server.js"]', ''].join('\n'),
    );
  });
});

describe('cache-deps with multi-stage', () => {
  test('the split build stage keeps the install before the sources, and the result is a fixpoint', async () => {
    const input = ['FROM node:20-bookworm', 'WORKDIR /app', 'COPY . .', 'RUN npm ci && npm run build', 'EXPOSE 3000', 'CMD ["node", "dist/server.js"]', ''].join('\n');
    const engine = { transforms: [transform, multiStage], unsafeAllowed: 'all' as const, services: { buildContext: inMemoryBuildContext(NODE_FILES) } };
    const result = await fixDockerfile(input, engine);
    expect(result.changes.map((change) => change.transform).sort()).toEqual(['cache-deps', 'multi-stage']);
    expect(result.output.startsWith(['FROM node:20-bookworm AS build', 'WORKDIR /app', 'COPY package.json package-lock.json ./', 'RUN npm ci', 'COPY . .', 'RUN npm run build', ''].join('\n'))).toBe(true);
    expect((await fixDockerfile(result.output, engine)).output).toBe(result.output);
  });
});

describe('build contexts', () => {
  let directory: string;

  beforeAll(() => {
    directory = mkdtempSync(path.join(tmpdir(), 'cache-deps-context-'));
    mkdirSync(path.join(directory, 'requirements'));
    writeFileSync(path.join(directory, 'package.json'), '{"name":"app"}');
    writeFileSync(path.join(directory, 'requirements', 'base.txt'), 'flask\n');
  });

  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  test('a directory on disk answers like the same files in memory', () => {
    const contexts: BuildContext[] = [directoryBuildContext(directory), inMemoryBuildContext({ 'package.json': '{"name":"app"}', 'requirements/base.txt': 'flask\n' })];
    for (const context of contexts) {
      expect(context.exists('package.json')).toBe(true);
      expect(context.exists('requirements')).toBe(true);
      expect(context.exists('./requirements/base.txt')).toBe(true);
      expect(context.exists('yarn.lock')).toBe(false);
      expect(context.exists('../package.json')).toBe(false);
      expect(context.read('requirements/base.txt')).toBe('flask\n');
      expect(context.read('requirements')).toBeUndefined();
      expect(context.read('/etc/passwd')).toBeUndefined();
      expect(context.list('')).toEqual(['package.json', 'requirements']);
      expect(context.list('requirements')).toEqual(['base.txt']);
      expect(context.list('absent')).toEqual([]);
    }
  });

  test.each([
    ['node_modules\n', 'package-lock.json', 'sent'],
    ['package-lock.json\n', 'package-lock.json', 'ignored'],
    ['/package-lock.json\n', 'package-lock.json', 'ignored'],
    ['./package-lock.json\n', 'package-lock.json', 'ignored'],
    ['*.json\n', 'package-lock.json', 'ignored'],
    ['**/*.json\n', 'package-lock.json', 'ignored'],
    ['# package-lock.json\n', 'package-lock.json', 'sent'],
    ['*.txt\n', 'requirements/base.txt', 'sent'],
    ['requirements/\n', 'requirements/base.txt', 'ignored'],
    ['requirements\n!requirements/base.txt\n', 'requirements/base.txt', 'unsure'],
    ['*\n!package.json\n', 'package.json', 'unsure'],
    ['src\n!src/keep\n', 'package.json', 'sent'],
    ['', 'yarn.lock', 'absent'],
  ])('.dockerignore %j: %s is %s', (ignoreFile, file, state) => {
    const context = inMemoryBuildContext({ '.dockerignore': ignoreFile, 'package.json': '{}', 'package-lock.json': '{}', 'requirements/base.txt': '' });
    expect(sentFiles(context).state(file)).toBe(state);
  });

  test('a Dockerfile-specific ignore file makes every answer unsure', () => {
    const context = inMemoryBuildContext({ 'package.json': '{}', 'Dockerfile.dockerignore': '' });
    expect(sentFiles(context).state('package.json')).toBe('unsure');
    expect(sentFiles(context).state('yarn.lock')).toBe('absent');
  });
});

test('the transform reads a real directory through the runner-facing constructor', async () => {
  const directory = mkdtempSync(path.join(tmpdir(), 'cache-deps-run-'));
  try {
    for (const [name, text] of Object.entries(NODE_FILES)) writeFileSync(path.join(directory, name), text);
    const input = transform.meta.docs.example.before;
    const result = await runTransform(transform, input, {}, { buildContext: directoryBuildContext(directory) });
    expect(result.output).toBe(transform.meta.docs.example.after);
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
});

describe('cache-deps properties', () => {
  const passive = fc.constantFrom('ENV NODE_ENV=production', 'ARG VERSION=1', 'LABEL org.opencontainers.image.title=app', 'EXPOSE 8080', 'USER node', 'WORKDIR /app');
  const install = fc.constantFrom('npm ci', 'npm ci --omit=dev', 'npm install', 'npm ci && npm cache clean --force', 'corepack enable && npm ci');
  const after = fc.constantFrom('', ' && npm run build', ' && npm test && npm prune --omit=dev', '; npm run build', ' || true');
  const dockerfile = fc.record({
    before: fc.array(passive, { maxLength: 2 }),
    copy: fc.constantFrom('COPY . .', 'COPY --chown=node:node . .', 'ADD . .', 'COPY . /app', 'COPY . /srv'),
    between: fc.array(passive, { maxLength: 2 }),
    run: fc.tuple(install, after).map(([first, rest]) => `RUN ${first}${rest}`),
    tail: fc.constantFrom([], ['CMD ["node", "server.js"]'], ['RUN npm run lint', 'CMD ["npm", "start"]']),
    eol: fc.constantFrom('\n', '\r\n'),
  });

  test('output parses, is idempotent, and only moves the context copy after the install', async () => {
    await fc.assert(
      fc.asyncProperty(dockerfile, async ({ before, copy, between, run, tail, eol }) => {
        const lines = ['FROM node:20-slim', 'WORKDIR /app', ...before, copy, ...between, run, ...tail];
        const input = lines.join(eol) + eol;
        const first = await fix(input, NODE_FILES);
        expect(findParseProblems(first.output)).toEqual([]);
        expect((await fix(first.output, NODE_FILES)).output).toBe(first.output);
        if (first.output === input) return;
        const output = first.output.split(eol);
        // The manifests are copied right before the install and the sources right after it.
        const installAt = output.findIndex((line) => line.startsWith(`RUN ${run.slice(4, 10)}`));
        expect(output[installAt - 1]).toMatch(/^COPY (--chown=node:node )?package\.json package-lock\.json (\.\/|\/app\/)$/);
        expect(output[installAt + 1]).toBe(copy);
        // Apart from the added manifest copy and the split, the instructions are the input's, in order, with the copy moved.
        const joined = first.output.replace(new RegExp(`${eol}COPY (--chown=node:node )?package\\.json package-lock\\.json \\S+`), '');
        const split = first.changes[0].message.includes('the RUN is split');
        const unsplit = split ? joined.replace(`${eol}${copy}${eol}RUN `, ' && ') : joined.replace(`${eol}${copy}`, '');
        expect(unsplit).toBe(input.replace(`${eol}${copy}`, ''));
      }),
      { numRuns: 150 },
    );
  });
});
