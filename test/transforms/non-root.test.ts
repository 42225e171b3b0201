import fc from 'fast-check';
import { existsSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describeBaseImage } from '../../src/image/base-image.js';
import { DockerfileDocument, findParseProblems } from '../../src/dockerfile/document.js';
import { fixDockerfile, type FixResult } from '../../src/engine/fixpoint.js';
import type { ImageReference } from '../../src/image/reference.js';
import { createImageResolver } from '../../src/registry/index.js';
import type { ImageConfig } from '../../src/image/resolver.js';
import mergeRuns from '../../transforms/merge-runs/index.js';
import multiStage from '../../transforms/multi-stage/index.js';
import transform from '../../transforms/non-root/index.js';
import pkgCleanup from '../../transforms/pkg-cleanup/index.js';
import { defineFixtureTests, FIXTURES_DIR, loadFixtures, runTransform } from '../helpers/fixtures.js';
import { loadRecordedRegistry, recordedResolver } from '../helpers/recorded-resolver.js';
import { configBlob, deleteBlob, imageIndex, imageManifest, makeTempDir, pushImage, startRegistry, type RegistryHandle } from '../helpers/registry-server.js';

defineFixtureTests(transform);

test('the docs example is exactly what the transform does', async () => {
  const { before, after } = transform.meta.docs.example;
  expect((await runTransform(transform, before)).output).toBe(after);
});

/** The USER the final stage ends with, as written, or undefined. */
function lastUser(text: string): string | undefined {
  const doc = new DockerfileDocument(text);
  const final = doc.stages[doc.stages.length - 1];
  const users = final.instructions.filter((instruction) => instruction.keyword === 'USER');
  return users[users.length - 1]?.node.getArgumentsContent() ?? undefined;
}

describe('non-root reads the users a RUN creates', () => {
  // [base image, lines after FROM, expected USER, expected --chown on `COPY app.sh .` in /app]
  test.each([
    ['debian:bookworm-slim', 'RUN useradd -m -s /bin/bash -c "App User" appuser', 'appuser', 'appuser:appuser'],
    ['debian:bookworm-slim', 'RUN groupadd -r app && useradd -r -g app app', 'app', 'app:app'],
    ['debian:bookworm-slim', 'RUN useradd --uid=1200 --gid=0 --no-user-group runner', '1200:0', '1200:0'],
    ['debian:bookworm-slim', 'RUN adduser --system --group --uid 999 svc', 'svc', 'svc:svc'],
    ['debian:bookworm-slim', "RUN adduser --disabled-password --gecos '' web", 'web', 'web:web'],
    ['debian:bookworm-slim', 'RUN adduser --system svc', 'svc', 'svc:nogroup'],
    ['debian:bookworm-slim', 'ARG NAME=deploy\nRUN id -u "$NAME" || useradd "$NAME"', 'deploy', 'deploy:deploy'],
    ['debian:bookworm-slim', 'RUN ["useradd", "-u", "1300", "exec"]', 'exec', 'exec:exec'],
    ['alpine:3.20', 'RUN adduser -D -u 1001 node2', '1001:1001', '1001:1001'],
    ['alpine:3.20', 'RUN addgroup -g 2000 grp && adduser -D -u 2000 -G grp usr', '2000:2000', '2000:2000'],
    ['alpine:3.20', 'RUN adduser -S svc', 'svc', 'svc:nogroup'],
    ['alpine:3.20', 'RUN addgroup -S web && adduser -S web -G web', 'web', 'web:web'],
    ['registry.access.redhat.com/ubi9/ubi', 'RUN adduser -r -u 1001 -g 0 usr', '1001:0', '1001:0'],
  ])('%s with %j runs as %s', async (image, lines, user, chown) => {
    const input = [`FROM ${image}`, lines, 'WORKDIR /app', 'COPY app.sh .', 'CMD ["./app.sh"]', ''].join('\n');
    const result = await runTransform(transform, input);
    expect(lastUser(result.output)).toBe(user);
    expect(result.output).toContain(`COPY --chown=${chown} app.sh .`);
    expect(result.output.match(/useradd|adduser/g)).toHaveLength(1);
  });

  test.each([
    ['debian:bookworm-slim', 'RUN adduser web staff'],
    ['alpine:3.20', 'RUN adduser web wheel'],
  ])('%s: %s adds a user to a group, it creates none', async (image, line) => {
    const result = await runTransform(transform, [`FROM ${image}`, line, 'CMD ["true"]', ''].join('\n'));
    expect(lastUser(result.output)).toBe('10001:10001');
  });

  test('a user whose name cannot be read is not doubled by a second one', async () => {
    const input = ['FROM debian:bookworm-slim', 'RUN useradd --create-home "$(cat /etc/app-user)"', 'CMD ["true"]', ''].join('\n');
    const result = await runTransform(transform, input);
    expect(result.output).toBe(input);
    expect(result.notes.map((note) => note.message)).toEqual([expect.stringContaining('creates a user whose name dockopt cannot read')]);
  });

  test('a user created in a stage the final one is not built on does not exist there', async () => {
    const input = ['FROM debian:bookworm-slim AS build', 'RUN useradd builder', '', 'FROM debian:bookworm-slim', 'CMD ["true"]', ''].join('\n');
    const result = await runTransform(transform, input);
    expect(lastUser(result.output)).toBe('10001:10001');
  });
});

describe('non-root with a resolver that reads image configs', () => {
  const input = ['FROM registry.example.com/platform/base:2.1', 'WORKDIR /app', 'COPY . .', 'CMD ["./app"]', ''].join('\n');
  const withConfig = (answer: (image: ImageReference, platform?: string) => Promise<ImageConfig>) => ({ resolver: { imageConfig: answer } });

  test('an image the config shows to be Debian-based and running as root gets a user', async () => {
    const looked: string[] = [];
    const result = await runTransform(transform, input, {}, withConfig(async (image) => {
      looked.push(`${image.registry}/${image.repository}:${image.tag}`);
      return { user: '', labels: { 'org.opencontainers.image.base.name': 'debian:bookworm-slim' } };
    }));
    expect(looked[0]).toBe('registry.example.com/platform/base:2.1');
    expect(result.output).toBe(
      [
        'FROM registry.example.com/platform/base:2.1',
        'RUN groupadd --system --gid 10001 app && useradd --system --uid 10001 --gid app --no-create-home --no-log-init app',
        'WORKDIR /app',
        'COPY --chown=10001:10001 . .',
        'USER 10001:10001',
        'CMD ["./app"]',
        '',
      ].join('\n'),
    );
  });

  test('an image whose config already sets a non-root User is left alone, silently', async () => {
    const result = await runTransform(transform, input, {}, withConfig(async () => ({ user: '1001' })));
    expect(result.output).toBe(input);
    expect(result.notes).toEqual([]);
  });

  test('a config without distro hints is still not enough to add a user', async () => {
    const result = await runTransform(transform, input, {}, withConfig(async () => ({ user: 'root' })));
    expect(result.output).toBe(input);
    expect(result.notes.map((note) => note.message)).toEqual([expect.stringMatching(/^left as root: registry.example.com\/platform\/base .*dockopt does not know its distro/)]);
  });

  test('a failed lookup is an error, and the file stays as it is', async () => {
    const result = await runTransform(transform, input, {}, withConfig(async () => {
      throw new Error('registry.example.com: 401 unauthorized');
    }));
    expect(result.output).toBe(input);
    expect(result.notes.map((note) => [note.severity, note.message])).toEqual([
      ['error', 'reading the image config of registry.example.com/platform/base:2.1 failed: registry.example.com: 401 unauthorized'],
      ['note', expect.stringMatching(/^left as root: registry.example.com\/platform\/base is not an image dockopt knows/)],
    ]);
  });

  test('known images are not looked up', async () => {
    let calls = 0;
    await runTransform(transform, ['FROM debian:bookworm-slim', 'CMD ["true"]', ''].join('\n'), {}, withConfig(async () => {
      calls++;
      return { user: '' };
    }));
    expect(calls).toBe(0);
  });
});

// Cases whose base image only its config explains, answered by recorded configs
// (registry.json next to them). They live in their own directory because the
// fixtures above run without a resolver, exactly as `dockopt fix` without pin-base does.
describe('non-root fixtures with recorded image configs', () => {
  const dir = path.join('non-root', 'with-registry');
  const recorded = loadRecordedRegistry(path.join(FIXTURES_DIR, dir, 'registry.json'));
  const findings = (result: FixResult) =>
    [...result.changes.map((change) => `change  line ${change.line} [${change.safety}] ${change.message}`), ...result.notes.map((note) => `${note.severity.padEnd(7)} line ${note.line} ${note.message}`)].join('\n') ||
    '(nothing)';

  for (const fixture of loadFixtures(dir)) {
    test(fixture.name, async () => {
      const result = await runTransform(transform, fixture.input, fixture.options, { resolver: recordedResolver(recorded) });
      if (process.env.UPDATE_FIXTURES === '1') {
        if (result.output !== fixture.input) writeFileSync(fixture.outputPath, result.output);
        else if (existsSync(fixture.outputPath)) unlinkSync(fixture.outputPath);
      } else {
        expect(result.output).toBe(fixture.expected ?? fixture.input);
      }
      expect(findParseProblems(result.output)).toEqual([]);
      expect((await runTransform(transform, result.output, fixture.options, { resolver: recordedResolver(recorded) })).output).toBe(result.output);
      expect(findings(result)).toMatchSnapshot();
    });
  }

  test('the FROM --platform chooses the image of an index whose config is read', async () => {
    const resolver = recordedResolver(recorded);
    const input = ['FROM --platform=linux/arm64 registry.example/acme/multi:1', 'CMD ["./app"]', ''].join('\n');
    const result = await runTransform(transform, input, {}, { resolver });
    expect(resolver.calls).toContain('config registry.example/acme/multi:1 for linux/arm64');
    expect(result.output).toContain('RUN addgroup -S -g 10001 app && adduser -S -D -H -u 10001 -G app app');
    const amd64 = await runTransform(transform, input.replace('--platform=linux/arm64 ', ''), {}, { resolver: recordedResolver(recorded) });
    expect(amd64.output).toContain('RUN groupadd --system --gid 10001 app');
  });
});

// The same decisions from a real docker-registry through the CLI's resolver;
// `registry.example` is mapped onto it with an endpoint override, as a mirror would be.
describe('non-root with the registry resolver against a real registry', () => {
  let registry: RegistryHandle;
  let configDir: string;
  const base = imageManifest('acme base for non-root', { config: { Env: ['PATH=/usr/bin:/bin'], Labels: { 'org.opencontainers.image.base.name': 'debian:bookworm-slim' } } });
  const annotated = imageIndex('acme annotated for non-root', [{ os: 'linux', architecture: 'amd64' }], { annotations: { 'org.opencontainers.image.base.name': 'alpine:3.20' } });
  const nonRoot = imageManifest('acme runtime for non-root', { config: { User: '65532:65532' } });
  const broken = imageManifest('acme broken for non-root', { config: { Labels: { 'org.opencontainers.image.base.name': 'debian:bookworm-slim' } } });

  beforeAll(async () => {
    registry = await startRegistry();
    configDir = makeTempDir('non-root-registry');
    await pushImage(registry.url, 'acme/base', base, ['1']);
    await pushImage(registry.url, 'acme/annotated', annotated, ['1']);
    await pushImage(registry.url, 'acme/runtime', nonRoot, ['1']);
    await pushImage(registry.url, 'acme/broken', broken, ['1']);
    await deleteBlob(registry.url, 'acme/broken', configBlob(broken).digest);
  });

  afterAll(async () => {
    await registry?.stop();
    if (configDir) rmSync(configDir, { recursive: true, force: true });
  });

  const fix = (image: string) => {
    const resolver = createImageResolver({ diskCache: false, dockerConfig: path.join(configDir, 'absent.json'), endpoints: { 'registry.example': registry.url }, retries: 0, timeoutMs: 5000 });
    return runTransform(transform, [`FROM registry.example/${image}`, 'WORKDIR /app', 'COPY app .', 'CMD ["./app"]', ''].join('\n'), {}, { resolver });
  };

  test('a config label naming a Debian base gets the Debian user tools', async () => {
    const result = await fix('acme/base:1');
    expect(result.output).toBe(
      [
        'FROM registry.example/acme/base:1',
        'RUN groupadd --system --gid 10001 app && useradd --system --uid 10001 --gid app --no-create-home --no-log-init app',
        'WORKDIR /app',
        'COPY --chown=10001:10001 app .',
        'USER 10001:10001',
        'CMD ["./app"]',
        '',
      ].join('\n'),
    );
    expect(result.changes.map((change) => change.message)).toEqual(['the container runs as root; create user app (10001:10001) with groupadd/useradd and run as it']);
  });

  test('the base named by an index image\'s manifest annotation counts as well', async () => {
    expect((await fix('acme/annotated:1')).output).toContain('RUN addgroup -S -g 10001 app && adduser -S -D -H -u 10001 -G app app\n');
  });

  test('a config whose User is already non-root is left alone', async () => {
    const result = await fix('acme/runtime:1');
    expect(result.changes).toEqual([]);
    expect(result.notes).toEqual([]);
  });

  test('a config blob the registry has lost is an error, and nothing is edited', async () => {
    const result = await fix('acme/broken:1');
    expect(result.changes).toEqual([]);
    expect(result.notes.map((note) => [note.severity, note.message])).toEqual([
      ['error', `reading the image config of registry.example/acme/broken:1 failed: 404 blob ${configBlob(broken).digest} not found`],
      ['note', 'left as root: registry.example/acme/broken is not an image dockopt knows, so it may already run as non-root or ship its own users; add a USER by hand'],
    ]);
  });
});

describe('non-root in a pipeline', () => {
  test('composes with the other transforms and reaches a fixpoint that keeps one user', async () => {
    const input = [
      'FROM debian:bookworm-slim',
      'RUN apt-get update',
      'RUN apt-get install -y curl',
      'WORKDIR /app',
      'COPY run.sh .',
      'CMD ["./run.sh"]',
      '',
    ].join('\n');
    const engine = { transforms: [mergeRuns, pkgCleanup, transform], unsafeAllowed: 'all' as const };
    const first = await fixDockerfile(input, engine);
    expect(first.output.match(/useradd/g)).toHaveLength(1);
    expect(lastUser(first.output)).toBe('10001:10001');
    expect(first.output).toContain('COPY --chown=10001:10001 run.sh .');
    const second = await fixDockerfile(first.output, engine);
    expect(second.output).toBe(first.output);
  });

  test('after multi-stage splits the build, it applies to the new runtime stage', async () => {
    const engine = { transforms: [multiStage, transform], unsafeAllowed: 'all' as const };
    const input = multiStage.meta.docs.example.before;
    const result = await fixDockerfile(input, engine);
    expect(result.changes.map((change) => change.transform).sort()).toEqual(['multi-stage', 'non-root']);
    const doc = new DockerfileDocument(result.output);
    expect(doc.stages).toHaveLength(2);
    expect(lastUser(result.output)).toMatch(/^[1-9]\d*:[1-9]\d*$/);
    expect(doc.stages[0].instructions.some((instruction) => instruction.keyword === 'USER')).toBe(false);
    expect((await fixDockerfile(result.output, engine)).output).toBe(result.output);
  });

  test('without --unsafe the fix is only a note', async () => {
    const input = ['FROM node:20-slim', 'COPY . /app', 'CMD ["node", "/app/index.js"]', ''].join('\n');
    const result = await fixDockerfile(input, { transforms: [transform] });
    expect(result.output).toBe(input);
    expect(result.notes.map((note) => note.message)).toEqual([expect.stringContaining('unsafe fix not applied: --unsafe-fixes applies it')]);
  });
});

describe('non-root properties', () => {
  const bases = [
    'debian:bookworm-slim',
    'ubuntu:24.04',
    'python:3.12-slim',
    'node:20-bookworm-slim',
    'alpine:3.20',
    'python:3.12-alpine',
    'node:20-alpine',
    'registry.access.redhat.com/ubi9/ubi',
    'registry.access.redhat.com/ubi9/ubi-minimal',
    'scratch',
    'gcr.io/distroless/static-debian12',
    'cgr.dev/chainguard/static',
    'mycorp/runtime:1.0-alpine',
  ];
  const body = fc.constantFrom(
    'WORKDIR /app',
    'WORKDIR data',
    'COPY . .',
    'COPY a.txt /app/a.txt',
    'COPY --chown=1:1 b.txt .',
    'ADD c.tar.gz vendor/',
    'RUN echo hi',
    'RUN make \\\n  && make install',
    'USER root',
    'USER 1000',
    'ENV A=1',
    'EXPOSE 80',
    'VOLUME /data',
  );
  const dockerfile = fc.record({
    base: fc.constantFrom(...bases),
    builder: fc.boolean(),
    lines: fc.array(body, { maxLength: 8 }),
    entry: fc.constantFrom('CMD ["./app"]', 'ENTRYPOINT ["/app/run"]', ''),
    eol: fc.constantFrom('\n', '\r\n'),
    trailing: fc.boolean(),
  });

  test('output parses, is idempotent, ends non-root when changed, and speaks the distro of its base', async () => {
    await fc.assert(
      fc.asyncProperty(dockerfile, async ({ base, builder, lines, entry, eol, trailing }) => {
        const stages = builder ? ['FROM golang:1.22 AS build', 'RUN go build -o /out/app .', ''] : [];
        const all = [...stages, `FROM ${base}`, ...lines, ...(entry ? [entry] : [])];
        const input = all.join(eol) + (trailing ? eol : '');
        const first = await runTransform(transform, input);
        expect(findParseProblems(first.output)).toEqual([]);
        const second = await runTransform(transform, first.output);
        expect(second.output).toBe(first.output);
        if (first.output === input) return;

        const user = lastUser(first.output);
        expect(user).toBeDefined();
        expect(['root', '0'].includes(user!.split(':')[0])).toBe(false);
        expect(first.output.match(/useradd|adduser/g)?.length ?? 0).toBeLessThanOrEqual(1);
        const facts = describeBaseImage(base);
        if (facts.family !== 'alpine') expect(first.output).not.toMatch(/adduser|addgroup/);
        if (facts.family !== 'debian' && facts.family !== 'rhel') expect(first.output).not.toMatch(/useradd|groupadd/);
        // An image dockopt does not know is only switched back to a user the file itself used.
        if (facts.runsAsNonRoot === undefined) expect(user).toBe('1000');
        // Nothing is removed: the input's lines all survive, in order.
        const kept = first.output.split(/\r?\n/).filter((line) => !/^(?:RUN (?:groupadd|addgroup)|USER )/.test(line));
        const original = input.split(/\r?\n/).filter((line) => !/^USER /.test(line));
        const withoutChown = (line: string) => line.replace(/--chown=\S+ /, '');
        expect(kept.map(withoutChown)).toEqual(original.map(withoutChown));
      }),
      { numRuns: 300 },
    );
  });
});
