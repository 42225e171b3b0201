import fc from 'fast-check';
import { describeBaseImage, type ImageConfigSummary } from '../../src/base-image.js';
import { DockerfileDocument, findParseProblems } from '../../src/dockerfile.js';
import { fixDockerfile } from '../../src/engine.js';
import type { ImageReference } from '../../src/image-ref.js';
import mergeRuns from '../../transforms/merge-runs.js';
import multiStage from '../../transforms/multi-stage.js';
import transform from '../../transforms/non-root.js';
import pkgCleanup from '../../transforms/pkg-cleanup.js';
import { defineFixtureTests, runTransform } from '../helpers/fixtures.js';

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
  const withConfig = (answer: (image: ImageReference) => Promise<ImageConfigSummary | undefined>) => ({ resolver: { imageConfig: answer } });

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
      return undefined;
    }));
    expect(calls).toBe(0);
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
    expect(result.notes.map((note) => note.message)).toEqual([expect.stringContaining('unsafe fix not applied; use --unsafe or --only non-root')]);
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
