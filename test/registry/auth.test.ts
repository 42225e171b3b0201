import { parseChallenges, realmMayReceiveCredentials } from '../../src/registry/auth.js';

describe('parseChallenges', () => {
  test('Docker Hub style bearer challenge', () => {
    expect(parseChallenges('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/python:pull"')).toEqual([
      { scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/python:pull' } },
    ]);
  });

  test('several challenges, unquoted values, escapes and spacing', () => {
    expect(parseChallenges('Basic realm="Registry \\"x\\"", Bearer realm=https://h/token , service = svc')).toEqual([
      { scheme: 'basic', params: { realm: 'Registry "x"' } },
      { scheme: 'bearer', params: { realm: 'https://h/token', service: 'svc' } },
    ]);
  });

  test('a scheme without parameters', () => {
    expect(parseChallenges('Negotiate')).toEqual([{ scheme: 'negotiate', params: {} }]);
    expect(parseChallenges('')).toEqual([]);
  });
});

describe('realmMayReceiveCredentials', () => {
  const url = (text: string) => new URL(text);

  test('the registry host itself and hosts of its site', () => {
    expect(realmMayReceiveCredentials('ghcr.io', url('https://ghcr.io/token'))).toBe(true);
    expect(realmMayReceiveCredentials('registry-1.docker.io', url('https://auth.docker.io/token'))).toBe(true);
    expect(realmMayReceiveCredentials('registry.gitlab.com', url('https://gitlab.com/jwt/auth'))).toBe(true);
  });

  test('never another site, a shorter suffix or plain http', () => {
    expect(realmMayReceiveCredentials('ghcr.io', url('https://evil.example/token'))).toBe(false);
    expect(realmMayReceiveCredentials('ghcr.io', url('https://io/token'))).toBe(false);
    expect(realmMayReceiveCredentials('registry.example.co.uk', url('https://other.co.uk/token'))).toBe(false);
    expect(realmMayReceiveCredentials('registry-1.docker.io', url('https://docker.io.evil.example/token'))).toBe(false);
    expect(realmMayReceiveCredentials('ghcr.io', url('http://ghcr.io/token'))).toBe(false);
    expect(realmMayReceiveCredentials('10.1.2.3', url('https://1.2.3/token'))).toBe(false);
  });

  test('plain http only from loopback to loopback, same host', () => {
    expect(realmMayReceiveCredentials('127.0.0.1', url('http://127.0.0.1:9000/token'))).toBe(true);
    expect(realmMayReceiveCredentials('127.0.0.1', url('http://127.0.0.2:9000/token'))).toBe(false);
    expect(realmMayReceiveCredentials('localhost', url('http://localhost:9000/token'))).toBe(true);
  });
});
