#!/usr/bin/env bash
# Installs the Debian packages the integration tests use, when they are
# missing: docker-registry (the CNCF distribution registry, started on
# loopback by test/helpers/registry-server.ts), openssl (the test token
# issuer's certificate), and buildah with runc (test/verify.test.ts builds
# FROM scratch images with `dockopt verify`; runc so that buildah has an OCI
# runtime other than crun, which fails on hosts with hybrid cgroups). Runs
# before `npm test`; does nothing when present.
set -euo pipefail
missing=()
command -v docker-registry >/dev/null 2>&1 || [ -x /usr/bin/docker-registry ] || missing+=(docker-registry)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v buildah >/dev/null 2>&1 || missing+=(buildah)
command -v runc >/dev/null 2>&1 || [ -x /usr/sbin/runc ] || missing+=(runc)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "dockopt tests need: ${missing[*]} (Debian: sudo apt-get install ${missing[*]})" >&2
  exit 1
fi
echo "installing test dependencies: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
