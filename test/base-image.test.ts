import {
  describeBaseImage,
  expandVariables,
  familyFromTag,
  refineWithConfig,
  stageBase,
  userCreationCommand,
  isRootUser,
  NODE_USER,
  NONROOT_USER,
  DOTNET_APP_USER,
} from '../src/image/base-image.js';
import { DockerfileDocument } from '../src/dockerfile/document.js';

describe('describeBaseImage', () => {
  test.each([
    ['debian:bookworm-slim', 'debian', 'shadow'],
    ['ubuntu:24.04', 'debian', 'shadow'],
    ['docker.io/library/debian:12', 'debian', 'shadow'],
    ['public.ecr.aws/docker/library/python:3.12-slim', 'debian', 'shadow'],
    ['alpine:3.20', 'alpine', 'busybox'],
    ['busybox:1.36-musl', 'busybox', 'busybox'],
    ['python:3.12-alpine3.20', 'alpine', 'busybox'],
    ['python:3.12', 'debian', 'shadow'],
    ['golang:1.22-bookworm', 'debian', 'shadow'],
    ['eclipse-temurin:21-jre', 'debian', 'shadow'],
    ['eclipse-temurin:21-jre-alpine', 'alpine', 'busybox'],
    ['eclipse-temurin:21-jre-ubi9-minimal', 'rhel', 'none'],
    ['rockylinux:9', 'rhel', 'shadow'],
    ['rockylinux:9-minimal', 'rhel', 'none'],
    ['oraclelinux:9-slim', 'rhel', 'none'],
    ['registry.access.redhat.com/ubi9/ubi:9.4', 'rhel', 'shadow'],
    ['registry.access.redhat.com/ubi9/ubi-minimal', 'rhel', 'none'],
    ['redhat/ubi8-minimal', 'rhel', 'none'],
    ['scratch', 'scratch', 'none'],
    ['gcr.io/distroless/static-debian12', 'distroless', 'none'],
    ['python:3.12-windowsservercore-ltsc2022', 'windows', 'none'],
  ])('%s is %s with %s user tools', (reference, family, tools) => {
    const facts = describeBaseImage(reference);
    expect(facts.family).toBe(family);
    expect(facts.userTools).toBe(tools);
  });

  test('official images that run as root say so; the distro of node does not matter for its user', () => {
    for (const reference of ['node:20', 'node:20-alpine', 'node@sha256:' + 'a'.repeat(64)]) {
      const facts = describeBaseImage(reference);
      expect(facts.runsAsNonRoot).toBe(false);
      expect(facts.user).toEqual(NODE_USER);
    }
    expect(describeBaseImage('node:20-alpine').family).toBe('alpine');
    expect(describeBaseImage('node:20.11.1-bookworm-slim@sha256:' + 'b'.repeat(64)).family).toBe('debian');
  });

  test('images that already run as non-root', () => {
    expect(describeBaseImage('cgr.dev/chainguard/node:latest').runsAsNonRoot).toBe(true);
    expect(describeBaseImage('cgr.dev/chainguard/node:latest').user).toEqual(NONROOT_USER);
    expect(describeBaseImage('gcr.io/distroless/base-debian12:nonroot').runsAsNonRoot).toBe(true);
    expect(describeBaseImage('gcr.io/distroless/base-debian12:debug-nonroot').runsAsNonRoot).toBe(true);
    expect(describeBaseImage('gcr.io/distroless/base-debian12').runsAsNonRoot).toBe(false);
    expect(describeBaseImage('mcr.microsoft.com/dotnet/runtime-deps:8.0-jammy-chiseled').runsAsNonRoot).toBe(true);
    expect(describeBaseImage('registry.access.redhat.com/ubi9/nodejs-20').runsAsNonRoot).toBe(true);
    expect(describeBaseImage('nginxinc/nginx-unprivileged:1.27').runsAsNonRoot).toBe(true);
  });

  test('.NET ships the app user from 8.0 on', () => {
    const eight = describeBaseImage('mcr.microsoft.com/dotnet/aspnet:8.0-bookworm-slim');
    expect(eight.user).toEqual(DOTNET_APP_USER);
    expect(eight.env).toEqual({ APP_UID: '1654' });
    expect(eight.runsAsNonRoot).toBe(false);
    const six = describeBaseImage('mcr.microsoft.com/dotnet/aspnet:6.0');
    expect(six.user).toBeUndefined();
    expect(six.family).toBe('debian');
    expect(describeBaseImage('mcr.microsoft.com/dotnet/aspnet:8.0-alpine').family).toBe('alpine');
  });

  test('images that must start as root', () => {
    for (const reference of ['nginx:1.27', 'postgres:16-alpine', 'httpd', 'php:8.3-apache', 'tomcat:10-jdk21']) {
      expect(describeBaseImage(reference).needsRoot).toEqual(expect.any(String));
    }
    expect(describeBaseImage('php:8.3-fpm-alpine').needsRoot).toBeUndefined();
  });

  test('unknown images stay unknown, even with a distro in the tag', () => {
    for (const reference of ['mycorp/base:1.4-alpine', 'ghcr.io/acme/runtime:bookworm', 'bitnami/node:20', 'haproxy:2.9', 'amazonlinux:2023', 'cgr.dev/chainguard/wolfi-base']) {
      const facts = describeBaseImage(reference);
      expect(facts.runsAsNonRoot).toBeUndefined();
      expect(facts.userTools).toBeUndefined();
    }
    expect(describeBaseImage('openjdk:21').family).toBeUndefined();
    expect(describeBaseImage('openjdk:17-jdk-slim').family).toBe('debian');
    expect(describeBaseImage('amazoncorretto:21-al2023').family).toBeUndefined();
    expect(describeBaseImage('not a reference').image).toBeUndefined();
  });
});

describe('familyFromTag', () => {
  test.each([
    ['3.12-slim-bookworm', 'debian'],
    ['lts-alpine3.19', 'alpine'],
    ['21-jdk-jammy', 'debian'],
    ['5.10-rhel-ubi9', 'rhel'],
    ['1.22', undefined],
    ['latest', undefined],
  ])('%s → %s', (tag, family) => {
    const hint = familyFromTag(tag);
    expect(typeof hint === 'object' ? hint.family : hint).toBe(family);
  });

  test('distros dockopt cannot add users to are unknown, not a guess', () => {
    expect(familyFromTag('21-al2023')).toBe('unknown');
    expect(familyFromTag('8.0-azurelinux3.0')).toBe('unknown');
    expect(familyFromTag('22-oraclelinux9')).toBe('unknown');
  });
});

describe('expandVariables', () => {
  const values: Record<string, string> = { BASE: 'node', TAG: '20', EMPTY: '' };
  const lookup = (name: string) => values[name];
  test.each([
    ['${BASE}:${TAG}-alpine', 'node:20-alpine'],
    ['$BASE:$TAG', 'node:20'],
    ['${MISSING:-python}:3', 'python:3'],
    ['${EMPTY:-x}', 'x'],
    ['${EMPTY-x}', ''],
    ['${TAG:+-slim}', '-slim'],
    ['${MISSING:+-slim}', ''],
    ['plain', 'plain'],
  ])('%s → %s', (text, expected) => {
    expect(expandVariables(text, lookup)).toBe(expected);
  });

  test('unknown variables and unsupported forms give undefined', () => {
    expect(expandVariables('${MISSING}', lookup)).toBeUndefined();
    expect(expandVariables('$MISSING-x', lookup)).toBeUndefined();
    expect(expandVariables('${BASE#n}', lookup)).toBeUndefined();
  });
});

describe('stageBase', () => {
  test('follows FROM <stage> back to the image, with global ARG defaults', () => {
    const doc = new DockerfileDocument(
      ['ARG PY=3.12', 'FROM python:${PY}-slim AS Base', 'RUN true', 'FROM base AS build', 'RUN true', 'FROM build', 'CMD ["x"]', ''].join('\n'),
    );
    const base = stageBase(doc, 2);
    expect(base.reference).toBe('python:3.12-slim');
    expect(base.chain.map((stage) => stage.index)).toEqual([0, 1, 2]);
  });

  test('a FROM naming a later stage names an image, not the stage', () => {
    const doc = new DockerfileDocument(['FROM app AS base', 'FROM alpine AS app', ''].join('\n'));
    expect(stageBase(doc, 0).reference).toBe('app');
  });

  test('an ARG without default leaves the base unresolved', () => {
    const doc = new DockerfileDocument(['ARG BASE', 'FROM $BASE AS x', 'FROM x', ''].join('\n'));
    const base = stageBase(doc, 1);
    expect(base.reference).toBeUndefined();
    expect(base.unresolved).toBe('$BASE');
    expect(base.chain).toHaveLength(2);
  });
});

describe('refineWithConfig', () => {
  const unknown = describeBaseImage('mycorp/base:1.4');
  test('a non-root User in the config means the image already runs as non-root', () => {
    expect(refineWithConfig(unknown, { user: '1001' }).runsAsNonRoot).toBe(true);
    expect(refineWithConfig(unknown, { user: 'root' }).runsAsNonRoot).toBe(false);
    expect(refineWithConfig(unknown, {}).runsAsNonRoot).toBe(false);
  });
  test('the base.name label tells the distro', () => {
    const refined = refineWithConfig(unknown, { user: '', labels: { 'org.opencontainers.image.base.name': 'docker.io/library/debian:bookworm-slim' } });
    expect(refined.family).toBe('debian');
    expect(refined.userTools).toBe('shadow');
  });
  test('a label wins over the manifest annotation, which counts when there is no label', () => {
    const label = 'org.opencontainers.image.base.name';
    expect(refineWithConfig(unknown, { labels: { [label]: 'alpine:3.20' }, annotations: { [label]: 'debian:12' } }).family).toBe('alpine');
    expect(refineWithConfig(unknown, { annotations: { [label]: 'debian:12' } }).family).toBe('debian');
    expect(refineWithConfig(unknown, { labels: { [label]: 'acme/other:1' } }).family).toBeUndefined();
  });
  test('a Windows config makes a Windows image, whatever its labels say', () => {
    const refined = refineWithConfig(unknown, { platform: { os: 'windows', architecture: 'amd64' }, labels: { 'org.opencontainers.image.base.name': 'debian:12' } });
    expect(refined).toMatchObject({ family: 'windows', userTools: 'none' });
  });
  test('a family the name already tells is kept; the config only settles the user', () => {
    const alpine = describeBaseImage('alpine:3.20');
    const refined = refineWithConfig(alpine, { user: 'nobody', labels: { 'org.opencontainers.image.base.name': 'debian:12' } });
    expect(refined).toMatchObject({ family: 'alpine', userTools: 'busybox', runsAsNonRoot: true });
  });
  test('the config\'s Env joins (and overrides) what dockopt knows the image sets', () => {
    const dotnet = describeBaseImage('mcr.microsoft.com/dotnet/aspnet:8.0');
    expect(refineWithConfig(dotnet, { env: { APP_UID: '2000', ASPNETCORE_HTTP_PORTS: '8080' } }).env).toEqual({ APP_UID: '2000', ASPNETCORE_HTTP_PORTS: '8080' });
    expect(refineWithConfig(dotnet, { env: {} }).env).toBe(dotnet.env);
  });
});

describe('users', () => {
  test('creation commands use the distro\'s own tools', () => {
    const user = { name: 'app', group: 'app', uid: 10001, gid: 10001 };
    expect(userCreationCommand('shadow', user)).toBe(
      'groupadd --system --gid 10001 app && useradd --system --uid 10001 --gid app --no-create-home --no-log-init app',
    );
    expect(userCreationCommand('busybox', user)).toBe('addgroup -S -g 10001 app && adduser -S -D -H -u 10001 -G app app');
    expect(userCreationCommand('none', user)).toBeUndefined();
  });

  test.each([
    ['root', true],
    ['0', true],
    ['0:0', true],
    ['root:staff', true],
    ['000', true],
    ['node', false],
    ['1000:0', false],
    ['10001:10001', false],
    ['rootless', false],
  ])('isRootUser(%s) = %s', (spec, root) => {
    expect(isRootUser(spec)).toBe(root);
  });
});
