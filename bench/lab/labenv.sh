#!/usr/bin/env bash
# Runs a command against dockopt's image lab (private HOME with its
# registries.conf, private storage and containers.conf), e.g.
#   bench/lab/labenv.sh buildah images
#   bench/lab/labenv.sh skopeo inspect --raw containers-storage:localhost/dockopt-measure/NAME:original
# buildah also gets the store flags. Run bench/lab/setup.sh first.
set -Eeuo pipefail
lab_env="${DOCKOPT_LAB_DIR:-/var/tmp/dockopt-lab}/lab.env"
[[ -r "$lab_env" ]] || { echo "labenv: $lab_env not found; run bench/lab/setup.sh first" >&2; exit 2; }
[[ $# -gt 0 ]] || { echo "usage: $0 <command> [args...]" >&2; exit 2; }
# shellcheck source=/dev/null
source "$lab_env"
if [[ "$1" == buildah ]]; then
  shift
  exec env "${DOCKOPT_LAB_ENV[@]}" buildah "${DOCKOPT_LAB_BUILDAH_FLAGS[@]}" "$@"
fi
exec env "${DOCKOPT_LAB_ENV[@]}" "$@"
