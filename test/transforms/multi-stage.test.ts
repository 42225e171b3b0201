import { fixDockerfile } from '../../src/engine/fixpoint.js';
import { DockerfileDocument } from '../../src/dockerfile/document.js';
import { baseRef, debianCodename, distrolessStatic } from '../../transforms/multi-stage/images.js';
import { headersWithoutRuntimeLibrary, isBuildOnlyPackage } from '../../transforms/multi-stage/packages.js';
import { initShell } from '../../src/shell/script.js';
import transform from '../../transforms/multi-stage/index.js';
import nonRoot from '../../transforms/non-root/index.js';
import { defineFixtureTests, runTransform } from '../helpers/fixtures.js';

defineFixtureTests(transform);

describe('multi-stage docs', () => {
  test('the example is what the transform produces', async () => {
    const result = await runTransform(transform, transform.meta.docs.example.before);
    expect(result.output).toBe(transform.meta.docs.example.after);
  });
});

describe('multi-stage in a pipeline', () => {
  beforeAll(() => initShell());

  const cBuild = ['FROM debian:bookworm', 'RUN apt-get update && apt-get install -y gcc libc6-dev', 'COPY hello.c /src/hello.c', 'RUN gcc -O2 -o /usr/local/bin/hello /src/hello.c', 'EXPOSE 8080', 'LABEL a=b', 'CMD ["hello"]', ''].join('\n');
  const nodeBuild = ['FROM node:20', 'WORKDIR /app', 'COPY package*.json ./', 'RUN npm ci', 'COPY . .', 'RUN npm run build', 'CMD ["node", "dist/server.js"]', ''].join('\n');

  const creates = (text: string) => /useradd|adduser/.test(text);

  test.each([
    ['a C build (non-root adds a user)', cBuild],
    ['a Node.js build (non-root uses the image user)', nodeBuild],
  ])('non-root applies to the new runtime stage: %s', async (_name, input) => {
    const result = await fixDockerfile(input, { transforms: [transform, nonRoot], unsafeAllowed: 'all' });
    const doc = new DockerfileDocument(result.output);
    expect(doc.stages).toHaveLength(2);
    const [build, runtime] = doc.stages;
    expect(build.instructions.some((instruction) => instruction.keyword === 'USER')).toBe(false);
    expect(runtime.instructions.filter((instruction) => instruction.keyword === 'USER')).toHaveLength(1);
    expect(build.instructions.some((instruction) => creates(result.output.slice(instruction.start, instruction.end)))).toBe(false);
    expect(result.changes.map((change) => change.transform)).toEqual(['multi-stage', 'non-root']);
  });

  test('after non-root ran first, the runtime stage creates the user again before switching to it', async () => {
    const result = await fixDockerfile(cBuild, { transforms: [nonRoot, transform], unsafeAllowed: 'all' });
    const doc = new DockerfileDocument(result.output);
    expect(doc.stages).toHaveLength(2);
    const runtime = doc.stages[1].instructions;
    const created = runtime.findIndex((instruction) => instruction.keyword === 'RUN' && creates(result.output.slice(instruction.start, instruction.end)));
    const user = runtime.findIndex((instruction) => instruction.keyword === 'USER');
    expect(created).toBeGreaterThanOrEqual(0);
    expect(user).toBeGreaterThan(created);
    expect(result.changes.map((change) => change.transform)).toEqual(['non-root', 'multi-stage']);
  });
});

describe('multi-stage safety', () => {
  test('without permission for unsafe fixes the split is only a note', async () => {
    const input = transform.meta.docs.example.before;
    const result = await fixDockerfile(input, { transforms: [transform] });
    expect(result.output).toBe(input);
    expect(result.notes).toEqual([expect.objectContaining({ transform: 'multi-stage', message: expect.stringContaining('unsafe fix not applied') })]);
  });
});

describe('multi-stage image knowledge', () => {
  test.each([
    ['debian:12', 'bookworm'],
    ['debian:bookworm-20240110-slim', 'bookworm'],
    ['golang:1.22-bookworm', 'bookworm'],
    ['rust:1-slim-trixie', 'trixie'],
    ['buildpack-deps:bullseye-scm', 'bullseye'],
    ['golang:1.22', undefined],
    ['ubuntu:24.04', undefined],
  ])('%s is built on Debian %s', (reference, codename) => {
    expect(debianCodename(baseRef(reference, reference)!)).toBe(codename);
  });

  test.each([
    ['bookworm', 'gcr.io/distroless/static-debian12'],
    ['trixie', 'gcr.io/distroless/static-debian13'],
    // Debian 11 images are no longer published: the oldest one that is.
    ['bullseye', 'gcr.io/distroless/static-debian12'],
    [undefined, 'gcr.io/distroless/static-debian12'],
  ])('a static binary built on %s runs on %s', (codename, image) => {
    expect(distrolessStatic(codename)).toBe(image);
  });

  test.each(['gcc', 'g++-12', 'build-essential', 'build-base', 'libpq-dev', 'openssl-devel', 'golang-1.19-go', 'git', 'pkg-config'])('%s is build-only', (name) => {
    expect(isBuildOnlyPackage(name)).toBe(true);
  });

  test.each(['curl', 'ca-certificates', 'tzdata', 'libpq5', 'python3', 'ffmpeg'])('%s may be needed at runtime', (name) => {
    expect(isBuildOnlyPackage(name)).toBe(false);
  });

  test('headers whose library a runtime image lacks', () => {
    const installed = ['libc6-dev', 'zlib1g-dev', 'libssl-dev', 'libffi-dev', 'libpq-dev', 'gcc'];
    expect(headersWithoutRuntimeLibrary(installed, 'debian')).toEqual(['libssl-dev', 'libffi-dev', 'libpq-dev']);
    expect(headersWithoutRuntimeLibrary(installed, 'python')).toEqual(['libpq-dev']);
  });
});
