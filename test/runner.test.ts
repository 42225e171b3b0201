import { decodeDockerfile, isDockerfileName } from '../src/runner/runner.js';

test.each([
  ['Dockerfile', true],
  ['Dockerfile.dev', true],
  ['Dockerfile.prod.arm64', true],
  ['api.Dockerfile', true],
  ['api.dockerfile', true],
  ['Containerfile', true],
  ['Containerfile.ci', true],
  ['Dockerfile.dockerignore', false],
  ['dockerfile', false],
  ['Dockerfiles', false],
  ['README.md', false],
  ['.dockerignore', false],
])('%s is a Dockerfile name: %s', (name, expected) => {
  expect(isDockerfileName(name)).toBe(expected);
});

describe('decoding', () => {
  test('keeps a byte-order mark so it is written back', () => {
    expect(decodeDockerfile(Buffer.from('\uFEFFFROM a\n'))).toEqual({ text: '\uFEFFFROM a\n' });
  });

  test('rejects binary files and invalid UTF-8 with a reason', () => {
    expect(decodeDockerfile(Buffer.from([0x46, 0x52, 0x00, 0x4d]))).toEqual({ error: expect.stringContaining('binary') });
    expect(decodeDockerfile(Buffer.from([0x46, 0xff, 0xfe, 0x4d]))).toEqual({ error: 'not valid UTF-8 text' });
  });
});
