// Property tests shared by every transform: over generated Dockerfiles the
// engine never throws, the output always parses, a second run is a no-op, and
// a transform leaves instructions outside its target byte-for-byte alone.
import fc from 'fast-check';
import { fixDockerfile } from '../src/engine/fixpoint.js';
import { DockerfileDocument, findParseProblems } from '../src/dockerfile/document.js';
import { TRANSFORMS } from '../transforms/index.js';

const commands = fc.constantFrom(
  'echo hello',
  'cd /app',
  'export PATH=/opt/bin:$PATH',
  'set -eux',
  'umask 022',
  'A=1',
  'make install || true',
  'false; true',
  'curl -fsSL https://example.com/x | tar -xz',
  'sleep 1 &',
  'if [ -f /etc/os-release ]; then cat /etc/os-release; fi',
  'for f in a b; do echo "$f"; done',
  'case "$X" in a) echo a;; *) echo b;; esac',
  'apt-get update',
  'apt-get install curl ca-certificates',
  'apt install -y git',
  'apt-get update && apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/*',
  'apk add git',
  'apk update && apk add --no-cache curl',
  'pip install requests',
  'python3 -m pip install -r requirements.txt',
  'npm ci',
  'yarn install --frozen-lockfile',
  'gem install bundler',
  'dnf install nginx',
  'yum install -y httpd',
  'zypper install vim',
  'echo "apt-get install x" > /notes.txt',
  'source /etc/profile',
  'trap "echo bye" EXIT',
  'exit 0',
  'useradd app # create the user',
);

const shellRun = fc
  .tuple(fc.array(commands, { minLength: 1, maxLength: 3 }), fc.constantFrom(' && ', '; ', ' || '), fc.boolean(), fc.constantFrom('', '--mount=type=cache,target=/root/.cache ', '--network=none '))
  .map(([parts, joiner, continued, flags]) => {
    const body = continued ? parts.join(`${joiner.trimEnd()} \\\n    `) : parts.join(joiner);
    return `RUN ${flags}${body}`;
  });

const instruction = fc.oneof(
  { weight: 6, arbitrary: shellRun },
  { weight: 1, arbitrary: fc.constant('RUN ["/bin/sh", "-c", "echo exec"]') },
  { weight: 1, arbitrary: fc.constant('RUN <<EOF\necho heredoc\nEOF') },
  { weight: 1, arbitrary: fc.constantFrom('ENV A=1', 'WORKDIR /app', 'COPY . /app', 'USER root', 'EXPOSE 8080', 'ARG V=1', 'LABEL a="b"') },
  { weight: 1, arbitrary: fc.constantFrom('# a comment', '', '# dockopt-ignore', '# dockopt-ignore merge-runs') },
  { weight: 1, arbitrary: fc.constantFrom('SHELL ["/bin/bash", "-o", "pipefail", "-c"]', 'SHELL ["pwsh", "-Command"]') },
  { weight: 1, arbitrary: fc.constantFrom('FROM python:3.12-slim AS build', 'FROM node:20') },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      'CMD node server.js',
      'CMD ["node", "server.js"]',
      'CMD echo "$HOME" && sleep 1',
      "CMD exec python -m http.server 'port 8000'",
      'ENTRYPOINT /usr/local/bin/run --flag',
      'ADD . /app',
      'ADD app.tar.gz /opt/',
      'ADD https://example.com/x.txt /x.txt',
      'MAINTAINER Jane Doe <jane@example.com>',
    ),
  },
);

const dockerfile = fc
  .tuple(
    fc.constantFrom('debian:bookworm', 'ubuntu:24.04', 'alpine:3.20', 'python:3.12-slim', 'node:20-bookworm-slim', 'fedora:40'),
    fc.array(instruction, { minLength: 1, maxLength: 10 }),
    fc.constantFrom('\n', '\r\n'),
    fc.boolean(),
    fc.boolean(),
    fc.boolean(),
  )
  .map(([base, body, eol, bom, backtick, trailingNewline]) => {
    let stage = 0;
    // Stage names must be unique; number them so every generated file is valid.
    let lines = [`FROM ${base}`, ...body].map((line) => (line.endsWith(' AS build') ? `${line}${++stage}` : line));
    if (backtick) lines = ['# escape=`', ...lines.map((line) => line.replace(/ \\\n/g, ' `\n'))];
    const text = lines.join('\n').replace(/\n/g, eol) + (trailingNewline ? eol : '');
    return (bom ? '\uFEFF' : '') + text;
  });

const offline = TRANSFORMS.filter((transform) => !transform.meta.network);

/** Instructions a transform may touch; every other instruction must come out byte-identical. */
const TARGETS: Record<string, readonly string[]> = {
  'merge-runs': ['RUN'],
  'pkg-cleanup': ['RUN'],
  'exec-form': ['CMD', 'ENTRYPOINT', 'ADD', 'COPY', 'MAINTAINER', 'LABEL'],
};

function untargetedInstructions(text: string, targets: readonly string[]): string[] {
  const doc = new DockerfileDocument(text);
  return doc.instructions.filter((instruction) => !targets.includes(instruction.keyword)).map((instruction) => text.slice(instruction.start, instruction.end));
}

describe('every transform, over generated Dockerfiles', () => {
  test('generated inputs are valid Dockerfiles (sanity of the generator)', () => {
    fc.assert(fc.property(dockerfile, (text) => findParseProblems(text).length === 0), { numRuns: 200 });
  });

  test('the whole pipeline never throws, output parses, a second run is a no-op', async () => {
    await fc.assert(
      fc.asyncProperty(dockerfile, async (text) => {
        const first = await fixDockerfile(text, { transforms: offline, unsafeAllowed: 'all' });
        expect(findParseProblems(first.output)).toEqual([]);
        const second = await fixDockerfile(first.output, { transforms: offline, unsafeAllowed: 'all' });
        expect(second.output).toBe(first.output);
      }),
      { numRuns: 300 },
    );
  });

  for (const transform of offline) {
    test(`${transform.meta.id}: never throws, parses, idempotent${TARGETS[transform.meta.id] ? ', touches only its target instructions' : ''}`, async () => {
      await fc.assert(
        fc.asyncProperty(dockerfile, async (text) => {
          const first = await fixDockerfile(text, { transforms: [transform], unsafeAllowed: 'all' });
          expect(first.notes.filter((note) => /internal error/.test(note.message))).toEqual([]);
          expect(findParseProblems(first.output)).toEqual([]);
          const second = await fixDockerfile(first.output, { transforms: [transform], unsafeAllowed: 'all' });
          expect(second.output).toBe(first.output);
          const targets = TARGETS[transform.meta.id];
          if (targets) expect(untargetedInstructions(first.output, targets)).toEqual(untargetedInstructions(text, targets));
        }),
        { numRuns: 200 },
      );
    });
  }
});
