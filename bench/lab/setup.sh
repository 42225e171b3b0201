#!/usr/bin/env bash
# dockopt's image lab: a private OCI registry on loopback holding Debian 12
# and Node 20 base images made with debootstrap, plus a private buildah store
# and containers config, so that Dockerfiles saying `FROM debian:bookworm-slim`
# or `FROM node:20-bookworm-slim` build here with no Docker engine and no
# Docker Hub (only Debian's apt mirror is needed).
#
#   bench/lab/setup.sh [setup]   idempotent: packages, registry, base images, config
#   bench/lab/setup.sh start     start (or reuse) the registry only
#   bench/lab/setup.sh stop      stop our registry (and nothing else)
#   bench/lab/setup.sh status    registry health, repositories and tags, disk use
#
# Everything lives in $DOCKOPT_LAB_DIR (default /var/tmp/dockopt-lab). Nothing
# under /etc/containers is written: builds get their registries.conf (in a
# private HOME), storage and containers.conf through flags and environment
# variables; bench/lab/labenv.sh runs any command (buildah, skopeo) with them.
#
# DOCKOPT_LAB_PORT=N          use this loopback port instead of the first free one from 5100
# DOCKOPT_LAB_REBUILD=1       rebuild and re-push the base images (the debootstrap tree is reused)
# DOCKOPT_LAB_REBOOTSTRAP=1   also run debootstrap again
# DOCKOPT_LAB_MIRROR=URL      Debian mirror for debootstrap (default http://deb.debian.org/debian)
set -Eeuo pipefail

readonly LAB_DIR="${DOCKOPT_LAB_DIR:-/var/tmp/dockopt-lab}"
readonly SUITE=bookworm
readonly DEBIAN_MAJOR=12
readonly MIRROR="${DOCKOPT_LAB_MIRROR:-http://deb.debian.org/debian}"
readonly APT_PACKAGES=(docker-registry buildah runc skopeo debootstrap jq curl)
readonly FIRST_PORT=5100 LAST_PORT=5199

readonly REGISTRY_DIR="$LAB_DIR/registry"
readonly REGISTRY_CONFIG="$REGISTRY_DIR/config.yml"
readonly PID_FILE="$LAB_DIR/registry.pid"
readonly PORT_FILE="$LAB_DIR/registry.port"
readonly LOG_DIR="$LAB_DIR/logs"
readonly CONF_DIR="$LAB_DIR/containers"
readonly LAB_HOME="$LAB_DIR/home"
readonly STORAGE_ROOT="$LAB_DIR/storage/root"
# Mount state belongs on /run: a reboot must not leave stale mount records behind.
readonly STORAGE_RUNROOT="${DOCKOPT_LAB_RUNROOT:-/run/dockopt-lab/storage}"
readonly ROOTFS_DIR="$LAB_DIR/rootfs"
readonly WORK_DIR="$LAB_DIR/work"
# lab.mjs takes the same lock: builds, pulls and prunes in the private store never overlap.
readonly LOCK_FILE="$LAB_DIR/lab.lock"
readonly ACCEPT_ALL='application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json'

log() { printf '[dockopt-lab] %s\n' "$*" >&2; }
die() { printf '[dockopt-lab] error: %s\n' "$*" >&2; exit 1; }

# ---- packages -----------------------------------------------------------------

install_packages() {
  local missing=() package
  for package in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
  done
  [[ ${#missing[@]} -eq 0 ]] && return
  log "installing ${missing[*]}"
  # An out-of-date package index is the usual reason for a failed install; retry once after an update.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >"$LOG_DIR/apt-install.log" 2>&1 \
    || { apt-get update -q >>"$LOG_DIR/apt-install.log" 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >>"$LOG_DIR/apt-install.log" 2>&1; } \
    || die "apt-get install ${missing[*]} failed, see $LOG_DIR/apt-install.log"
}

# ---- registry -----------------------------------------------------------------

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

registry_healthy() { [[ "$(curl -s -m 3 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1/v2/")" == 200 ]]; }

# Only a process started with our config file is ours; anything else on a
# recorded pid (a reused pid, another lab) is left alone.
is_our_registry() {
  local pid=$1
  [[ "$pid" =~ ^[0-9]+$ && -r "/proc/$pid/cmdline" ]] || return 1
  tr '\0' '\n' <"/proc/$pid/cmdline" | grep -qxF -- "$REGISTRY_CONFIG"
}

recorded_pid() { [[ -s "$PID_FILE" ]] && cat "$PID_FILE"; }
recorded_port() { [[ -s "$PORT_FILE" ]] && cat "$PORT_FILE"; }

choose_port() {
  if [[ -n "${DOCKOPT_LAB_PORT:-}" ]]; then
    port_in_use "$DOCKOPT_LAB_PORT" && die "DOCKOPT_LAB_PORT=$DOCKOPT_LAB_PORT is already in use"
    echo "$DOCKOPT_LAB_PORT"
    return
  fi
  # Keep the previous port when it is still free: it is the one in registries.conf.
  local port
  port=$(recorded_port || true)
  if [[ -n "$port" ]] && ! port_in_use "$port"; then echo "$port"; return; fi
  for ((port = FIRST_PORT; port <= LAST_PORT; port++)); do
    port_in_use "$port" || { echo "$port"; return; }
  done
  die "no free loopback port in $FIRST_PORT-$LAST_PORT"
}

write_registry_config() {
  mkdir -p "$REGISTRY_DIR/data"
  cat >"$REGISTRY_CONFIG" <<EOF
# dockopt lab registry (CNCF distribution); written by bench/lab/setup.sh
version: 0.1
log:
  level: info
  formatter: text
storage:
  filesystem:
    rootdirectory: $REGISTRY_DIR/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$1
  headers:
    X-Content-Type-Options: [nosniff]
EOF
}

start_registry() {
  local pid port
  pid=$(recorded_pid || true)
  port=$(recorded_port || true)
  if [[ -n "$pid" ]] && is_our_registry "$pid"; then
    if [[ -n "$port" ]] && registry_healthy "$port"; then
      log "registry already running: pid $pid on 127.0.0.1:$port"
      return
    fi
    log "registry pid $pid does not answer, restarting it"
    stop_registry
  fi
  port=$(choose_port)
  write_registry_config "$port"
  # setsid: the registry must outlive this script and whatever process group runs it.
  setsid docker-registry serve "$REGISTRY_CONFIG" >>"$LOG_DIR/registry.log" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$PID_FILE"
  echo "$port" >"$PORT_FILE"
  local tries
  for ((tries = 0; tries < 100; tries++)); do
    registry_healthy "$port" && { log "registry started: pid $pid on 127.0.0.1:$port"; return; }
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  tail -n 20 "$LOG_DIR/registry.log" >&2 || true
  die "the registry did not come up on 127.0.0.1:$port"
}

stop_registry() {
  local pid
  pid=$(recorded_pid || true)
  if [[ -z "$pid" ]]; then log "no registry pid recorded"; return; fi
  if ! is_our_registry "$pid"; then
    log "pid $pid is not our registry (stale pid file); nothing stopped"
    rm -f "$PID_FILE"
    return
  fi
  kill -TERM "$pid"
  local tries
  for ((tries = 0; tries < 100; tries++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
  rm -f "$PID_FILE"
  log "registry pid $pid stopped"
}

# ---- private containers configuration -------------------------------------------

write_containers_config() {
  local port=$1
  mkdir -p "$CONF_DIR" "$LAB_HOME/.config/containers" "$STORAGE_ROOT" "$STORAGE_RUNROOT"
  # Our registries.conf is the per-user one of a private HOME. containers/image
  # then reads neither /etc/containers/registries.conf nor its .conf.d drop-ins
  # (another lab's docker.io mirror lives there). buildah's --registries-conf
  # flag is no substitute: the drop-ins are still merged on top of it, and
  # --registries-conf-dir only sets the signature registries.d directory.
  cat >"$LAB_HOME/.config/containers/registries.conf" <<EOF
# dockopt lab; written by bench/lab/setup.sh
unqualified-search-registries = ["docker.io"]
short-name-mode = "permissive"

[[registry]]
location = "127.0.0.1:$port"
insecure = true

# docker.io is unreachable here. A tag our registry lacks falls back to
# docker.io and fails with a network error, which is the honest outcome.
[[registry]]
prefix = "docker.io"
location = "docker.io"
[[registry.mirror]]
location = "127.0.0.1:$port"
insecure = true
EOF
  cat >"$LAB_HOME/.config/containers/policy.json" <<'EOF'
{ "default": [{ "type": "insecureAcceptAnything" }] }
EOF
  cat >"$CONF_DIR/storage.conf" <<EOF
# dockopt lab; written by bench/lab/setup.sh
[storage]
driver = "overlay"
graphroot = "$STORAGE_ROOT"
runroot = "$STORAGE_RUNROOT"
EOF
  # crun fails on this host's hybrid cgroups; runc works for --isolation oci.
  cat >"$CONF_DIR/containers.conf" <<'EOF'
# dockopt lab; written by bench/lab/setup.sh
[engine]
runtime = "runc"
EOF
  cat >"$LAB_DIR/lab.env" <<EOF
# dockopt lab; written by bench/lab/setup.sh. bench/lab/labenv.sh runs a command with it.
DOCKOPT_LAB_DIR='$LAB_DIR'
DOCKOPT_LAB_PORT='$port'
DOCKOPT_LAB_REGISTRY='127.0.0.1:$port'
DOCKOPT_LAB_ENV=(HOME='$LAB_HOME' CONTAINERS_CONF='$CONF_DIR/containers.conf' CONTAINERS_STORAGE_CONF='$CONF_DIR/storage.conf')
DOCKOPT_LAB_BUILDAH_FLAGS=(--root '$STORAGE_ROOT' --runroot '$STORAGE_RUNROOT' --storage-driver overlay)
EOF
  # shellcheck source=/dev/null
  source "$LAB_DIR/lab.env"
}

lab_buildah() { env "${DOCKOPT_LAB_ENV[@]}" buildah "${DOCKOPT_LAB_BUILDAH_FLAGS[@]}" "$@"; }

lab_skopeo() { env "${DOCKOPT_LAB_ENV[@]}" skopeo "$@"; }

# ---- registry queries -------------------------------------------------------------

manifest_digest() {
  curl -s -m 5 -I -H "Accept: $ACCEPT_ALL" "http://$DOCKOPT_LAB_REGISTRY/v2/$1/manifests/$2" \
    | awk 'tolower($1) == "docker-content-digest:" { print $2 }' | tr -d '\r'
}

all_tags_present() {
  local repo=$1 tag
  shift
  for tag in "$@"; do [[ -n "$(manifest_digest "$repo" "$tag")" ]] || return 1; done
}

# Push under the first tag, then give the other tags the very same manifest.
push_tags() {
  local image=$1 repo=$2 first=$3 tag
  shift 3
  lab_buildah push --quiet --tls-verify=false "$image" "docker://$DOCKOPT_LAB_REGISTRY/$repo:$first" >/dev/null
  for tag in "$@"; do
    lab_skopeo copy --quiet --preserve-digests --src-tls-verify=false --dest-tls-verify=false \
      "docker://$DOCKOPT_LAB_REGISTRY/$repo:$first" "docker://$DOCKOPT_LAB_REGISTRY/$repo:$tag" >/dev/null
  done
  log "pushed $repo: $first $*"
}

# ---- Debian base images -------------------------------------------------------------

readonly TREE="$ROOTFS_DIR/$SUITE-minbase"
readonly TREE_STAMP="$ROOTFS_DIR/$SUITE-minbase.complete"

# debootstrap can leave /proc or /sys mounted inside the tree when interrupted;
# unmount them before deleting so rm never walks into the host's.
remove_tree() {
  local tree=$1 mountpoint
  [[ -e "$tree" ]] || return 0
  awk -v prefix="$tree/" 'index($2, prefix) == 1 { print $2 }' /proc/mounts | sort -r | while read -r mountpoint; do
    umount -l "$mountpoint"
  done
  rm -rf --one-file-system -- "$tree"
}

bootstrap_tree() {
  if [[ -f "$TREE_STAMP" && -z "${DOCKOPT_LAB_REBOOTSTRAP:-}" ]]; then
    log "reusing debootstrap tree $TREE"
    return
  fi
  rm -f "$TREE_STAMP"
  remove_tree "$TREE"
  mkdir -p "$ROOTFS_DIR"
  log "debootstrap --variant=minbase $SUITE (about 30 s)"
  debootstrap --variant=minbase --arch=amd64 "$SUITE" "$TREE" "$MIRROR" >"$LOG_DIR/debootstrap.log" 2>&1 \
    || { tail -n 20 "$LOG_DIR/debootstrap.log" >&2; die "debootstrap failed, see $LOG_DIR/debootstrap.log"; }
  touch "$TREE_STAMP"
}

# The apt and dpkg settings of the official images (debuerreotype's minimizing
# config), so that layer sizes of apt-get steps match what users see.
write_minimizing_config() {
  local root=$1
  cat >"$root/usr/sbin/policy-rc.d" <<'EOF'
#!/bin/sh
# Services cannot start during an image build; tell invoke-rc.d not to try.
exit 101
EOF
  chmod 0755 "$root/usr/sbin/policy-rc.d"
  cat >"$root/etc/dpkg/dpkg.cfg.d/docker-apt-speedup" <<'EOF'
# An image build that dies is started over, so dpkg need not sync after every package.
force-unsafe-io
EOF
  cat >"$root/etc/apt/apt.conf.d/docker-autoremove-suggests" <<'EOF'
// Let "apt-get purge --auto-remove" also remove packages that something merely suggests.
Apt::AutoRemove::SuggestsImportant "false";
EOF
  cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'EOF'
// Every install runs in a build step that becomes a layer: drop downloaded
// .deb files and the binary caches right away instead of shipping them.
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
  cat >"$root/etc/apt/apt.conf.d/docker-gzip-indexes" <<'EOF'
// Keep package lists compressed on disk: "apt-get update" layers stay small.
Acquire::GzipIndexes "true";
EOF
  cat >"$root/etc/apt/apt.conf.d/docker-no-languages" <<'EOF'
// Skip translated descriptions: faster "apt-get update", smaller lists.
Acquire::Languages "none";
EOF
  chmod 0644 "$root/etc/dpkg/dpkg.cfg.d/docker-apt-speedup" "$root"/etc/apt/apt.conf.d/docker-*
  rm -f "$root/etc/apt/sources.list"
  cat >"$root/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: http://deb.debian.org/debian
Suites: $SUITE $SUITE-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: $SUITE-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  # debootstrap copied resolv.conf and hostname from the host; the runtime
  # mounts its own over them. A missing /etc/hosts would be created as an empty
  # mount point by the first RUN of every build and land in that layer.
  rm -f "$root/etc/resolv.conf" "$root/etc/hostname" "$root/etc/hosts"
  install -m 0644 /dev/null "$root/etc/resolv.conf"
  install -m 0644 /dev/null "$root/etc/hostname"
  printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"
  chmod 0644 "$root/etc/hosts"
  rm -f "$root/var/log/dpkg.log" "$root/var/log/bootstrap.log" "$root/var/log/alternatives.log" \
    "$root/var/log/apt/history.log" "$root/var/log/apt/term.log" "$root/var/cache/ldconfig/aux-cache" \
    "$root/run/mount/utab"
}

# What the official -slim variant leaves out, and the dpkg config that keeps it out.
readonly SLIM_EXCLUDES=(/usr/share/doc/'*' /usr/share/groff/'*' /usr/share/info/'*' /usr/share/linda/'*'
  /usr/share/lintian/overrides/'*' /usr/share/locale/'*' /usr/share/man/'*')
readonly SLIM_INCLUDES=(/usr/share/doc/'*'/copyright /usr/share/doc/kde/HTML/C/'*' /usr/share/gnome/help/'*'/C/'*'
  /usr/share/locale/all_languages /usr/share/locale/currency/'*' /usr/share/locale/l10n/'*'
  /usr/share/locale/languages /usr/share/locale/locale.alias /usr/share/omf/'*'/'*'-C.emf)

slimify() {
  local root=$1 pattern dirs=()
  {
    echo '# The "slim" variant: files that containers rarely need are excluded, and stay excluded.'
    for pattern in "${SLIM_EXCLUDES[@]}"; do echo "path-exclude $pattern"; done
    for pattern in "${SLIM_INCLUDES[@]}"; do echo "path-include $pattern"; done
  } >"$root/etc/dpkg/dpkg.cfg.d/docker"
  chmod 0644 "$root/etc/dpkg/dpkg.cfg.d/docker"
  for pattern in "${SLIM_EXCLUDES[@]}"; do dirs+=("${pattern%/\*}"); done
  # Inside the rootfs (chroot) so that absolute symlinks resolve against the
  # image, not the host. Files first, then dangling links and empty directories
  # until none are left (removing one can empty its parent).
  chroot "$root" /bin/bash -euc '
    keep=()
    while [[ $1 != -- ]]; do keep+=(-o -path "$1"); shift; done
    shift
    for dir in "$@"; do
      [[ -d $dir ]] || continue
      find "$dir" -depth -mindepth 1 -not \( -false "${keep[@]}" \) -not \( -type d -o -type l \) -exec rm -f {} +
      while [[ -n $(find "$dir" -mindepth 1 \( -empty -o -xtype l \) -print -quit) ]]; do
        find "$dir" -depth -mindepth 1 \( -empty -o -xtype l \) -exec rm -rf {} +
      done
    done
  ' slimify "${SLIM_INCLUDES[@]}" -- "${dirs[@]}"
}

# Makes localhost/dockopt-lab/debian:<variant> from the cached tree; prints nothing.
import_debian() {
  local variant=$1 image="localhost/dockopt-lab/debian:$1" container mountpoint
  container=$(lab_buildah from --quiet scratch)
  mountpoint=$(lab_buildah mount "$container")
  # Left out as in the official images: kernel file systems, devices (the
  # runtime provides them), apt caches and package lists.
  tar -C "$TREE" --numeric-owner -cf - \
    --exclude='./proc/*' --exclude='./sys/*' --exclude='./dev/*' \
    --exclude='./var/cache/apt/*' --exclude='./var/lib/apt/lists/*' . \
    | tar -C "$mountpoint" --numeric-owner -xpf -
  write_minimizing_config "$mountpoint"
  [[ "$variant" == *-slim ]] && slimify "$mountpoint"
  lab_buildah umount "$container" >/dev/null
  lab_buildah config --os linux --arch amd64 \
    --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --cmd '["bash"]' --created-by "dockopt lab: debootstrap --variant=minbase $SUITE ($variant)" "$container"
  lab_buildah commit --quiet --rm --format docker "$container" "$image" >/dev/null
}

build_debian_images() {
  bootstrap_tree
  local version
  version=$(cat "$TREE/etc/debian_version")
  log "importing Debian $version as debian:$SUITE and debian:$SUITE-slim"
  import_debian "$SUITE"
  import_debian "$SUITE-slim"
  push_tags "localhost/dockopt-lab/debian:$SUITE" library/debian "$SUITE" "$DEBIAN_MAJOR" "$version"
  push_tags "localhost/dockopt-lab/debian:$SUITE-slim" library/debian "$SUITE-slim" "$DEBIAN_MAJOR-slim" "$version-slim"
  lab_buildah rmi "localhost/dockopt-lab/debian:$SUITE" "localhost/dockopt-lab/debian:$SUITE-slim" >/dev/null
}

# ---- Node base images -----------------------------------------------------------------

readonly NODE_VERSION="$(node --version 2>/dev/null | sed 's/^v//')"
readonly NODE_MAJOR="${NODE_VERSION%%.*}"
readonly NODE_MINOR="${NODE_VERSION%.*}"

node_tags() { # <variant suffix, e.g. bookworm-slim or bookworm>
  case $1 in
    *-slim) echo "$NODE_MAJOR-$1 $NODE_MAJOR-slim $NODE_MINOR-$1 $NODE_VERSION-$1 $NODE_VERSION-slim" ;;
    *) echo "$NODE_MAJOR-$1 $NODE_MAJOR $NODE_MINOR-$1 $NODE_VERSION-$1 $NODE_VERSION" ;;
  esac
}

write_node_files() {
  mkdir -p "$WORK_DIR/node"
  # Same contract as the official image's entrypoint: `docker run node:20 -e ...`
  # or a script path runs under node; a real command runs as it is.
  cat >"$WORK_DIR/node/docker-entrypoint.sh" <<'EOF'
#!/bin/sh
set -e
first=${1:-}
if [ "${first#-}" != "$first" ] || ! command -v -- "$first" >/dev/null 2>&1 || { [ -f "$first" ] && ! [ -x "$first" ]; }; then
  set -- node "$@"
fi
exec "$@"
EOF
  # npm reaches its registry through a TLS-intercepting proxy here; the image
  # trusts the host's CA bundle so `npm ci` works inside builds.
  cp /etc/ssl/certs/ca-certificates.crt "$WORK_DIR/node/host-ca.crt"
  echo 'cafile=/usr/local/share/dockopt-lab/host-ca.crt' >"$WORK_DIR/node/npmrc"
}

# The debian image plus the host's node, npm and corepack in /usr/local, a
# node user (1000:1000) and CMD ["node"], laid out like the official image.
build_node_image() {
  local variant=$1 image="localhost/dockopt-lab/node:$1" container
  container=$(lab_buildah from --quiet --pull=always --tls-verify=false "docker.io/library/debian:$variant")
  lab_buildah run --isolation chroot "$container" -- sh -c \
    'groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node'
  lab_buildah copy --quiet "$container" "$(readlink -f "$(command -v node)")" /usr/local/bin/node >/dev/null
  lab_buildah copy --quiet "$container" /usr/lib/node_modules/npm /usr/local/lib/node_modules/npm >/dev/null
  lab_buildah copy --quiet "$container" /usr/lib/node_modules/corepack /usr/local/lib/node_modules/corepack >/dev/null
  lab_buildah copy --quiet --chmod 0755 "$container" "$WORK_DIR/node/docker-entrypoint.sh" /usr/local/bin/docker-entrypoint.sh >/dev/null
  lab_buildah copy --quiet --chmod 0644 "$container" "$WORK_DIR/node/host-ca.crt" /usr/local/share/dockopt-lab/host-ca.crt >/dev/null
  lab_buildah copy --quiet --chmod 0644 "$container" "$WORK_DIR/node/npmrc" /usr/local/etc/npmrc >/dev/null
  lab_buildah run --isolation chroot "$container" -- sh -c '
    ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm &&
    ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx &&
    ln -s ../lib/node_modules/corepack/dist/corepack.js /usr/local/bin/corepack &&
    node --version >/dev/null && npm --version >/dev/null'
  # --log-level error: the warning that CMD is passed to the ENTRYPOINT is the point here.
  lab_buildah --log-level error config --env "NODE_VERSION=$NODE_VERSION" --entrypoint '["docker-entrypoint.sh"]' --cmd '["node"]' \
    --created-by "dockopt lab: host node $NODE_VERSION on debian:$variant" "$container"
  lab_buildah commit --quiet --rm --format docker "$container" "$image" >/dev/null
}

build_node_images() {
  [[ -n "$NODE_VERSION" ]] || die "node is not installed on the host; the node images copy the host's node"
  write_node_files
  local variant tags
  for variant in "$SUITE-slim" "$SUITE"; do
    log "building node:$NODE_MAJOR-$variant from the host's node $NODE_VERSION"
    build_node_image "$variant"
    read -r -a tags <<<"$(node_tags "$variant")"
    push_tags "localhost/dockopt-lab/node:$variant" library/node "${tags[@]}"
    lab_buildah rmi "localhost/dockopt-lab/node:$variant" >/dev/null
  done
}

# ---- the whole setup ---------------------------------------------------------------------

# Our store is private, so anything left in it is ours: containers of a build
# that was killed, and dangling intermediate images.
clean_store() {
  lab_buildah rm --all >/dev/null 2>&1 || true
  lab_buildah rmi --prune >/dev/null 2>&1 || true
}

pull_base_images() { # <policy: always|missing>
  local ref
  for ref in "debian:$SUITE" "debian:$SUITE-slim" "node:$NODE_MAJOR-$SUITE-slim" "node:$NODE_MAJOR-$SUITE"; do
    lab_buildah pull --quiet --policy "$1" --tls-verify=false "docker.io/library/$ref" >/dev/null
  done
}

write_lab_json() {
  local debian_version=unknown
  [[ -f "$TREE/etc/debian_version" ]] && debian_version=$(cat "$TREE/etc/debian_version")
  jq -n \
    --arg dir "$LAB_DIR" --argjson port "$DOCKOPT_LAB_PORT" --arg registry "$DOCKOPT_LAB_REGISTRY" \
    --arg storageRoot "$STORAGE_ROOT" --arg storageRunRoot "$STORAGE_RUNROOT" \
    --arg home "$LAB_HOME" --arg storageConf "$CONF_DIR/storage.conf" --arg containersConf "$CONF_DIR/containers.conf" \
    --arg lockFile "$LOCK_FILE" --arg logDir "$LOG_DIR" --arg workDir "$WORK_DIR" \
    --arg debianVersion "$debian_version" --arg nodeVersion "$NODE_VERSION" \
    '{dir: $dir, port: $port, registry: $registry, storageDriver: "overlay", storageRoot: $storageRoot,
      storageRunRoot: $storageRunRoot, home: $home, storageConf: $storageConf, containersConf: $containersConf,
      lockFile: $lockFile, logDir: $logDir, workDir: $workDir,
      debianVersion: $debianVersion, nodeVersion: $nodeVersion}' >"$LAB_DIR/lab.json.tmp"
  mv "$LAB_DIR/lab.json.tmp" "$LAB_DIR/lab.json"
}

setup() {
  [[ $EUID -eq 0 ]] || die "run as root (debootstrap, overlay mounts and chroot need it)"
  mkdir -p "$LAB_DIR" "$LOG_DIR" "$WORK_DIR"
  install_packages
  # Held until the images are in place, so no lab.mjs build runs meanwhile.
  exec 9>"$LOCK_FILE"
  flock --wait 3600 9 || die "another lab build holds $LOCK_FILE"
  if [[ -n "${DOCKOPT_LAB_REBUILD:-}${DOCKOPT_LAB_REBOOTSTRAP:-}" ]]; then
    # Re-pushed tags would leave the old manifests and blobs behind, and plain
    # garbage-collect keeps them; the registry holds nothing but these images.
    log "rebuild: emptying the lab registry"
    stop_registry
    remove_tree "$REGISTRY_DIR/data"
  fi
  start_registry
  write_containers_config "$(recorded_port)"
  clean_store
  local rebuilt=''
  if [[ -n "${DOCKOPT_LAB_REBUILD:-}${DOCKOPT_LAB_REBOOTSTRAP:-}" ]] \
    || ! all_tags_present library/debian "$SUITE" "$SUITE-slim" "$DEBIAN_MAJOR" "$DEBIAN_MAJOR-slim"; then
    build_debian_images
    rebuilt=1
  fi
  local node_slim_tags node_full_tags
  read -r -a node_slim_tags <<<"$(node_tags "$SUITE-slim")"
  read -r -a node_full_tags <<<"$(node_tags "$SUITE")"
  if [[ -n "$rebuilt" ]] || ! all_tags_present library/node "${node_slim_tags[@]}" "${node_full_tags[@]}"; then
    build_node_images
    rebuilt=1
  fi
  # Builds then start from images already in the store, so the first measured
  # build does not also pay for a pull.
  pull_base_images "$([[ -n "$rebuilt" ]] && echo always || echo missing)"
  clean_store
  flock --unlock 9
  write_lab_json
  log "ready: registry 127.0.0.1:$DOCKOPT_LAB_PORT, state in $LAB_DIR; try: bench/lab/labenv.sh buildah images"
}

status() {
  local pid port repo
  pid=$(recorded_pid || true)
  port=$(recorded_port || true)
  if [[ -n "$pid" ]] && is_our_registry "$pid" && [[ -n "$port" ]] && registry_healthy "$port"; then
    echo "registry: running, pid $pid, http://127.0.0.1:$port"
  else
    echo "registry: not running (pid file: ${pid:-none}, port file: ${port:-none})"
    return 1
  fi
  for repo in $(curl -s -m 5 "http://127.0.0.1:$port/v2/_catalog" | jq -r '.repositories[]'); do
    echo "  $repo: $(curl -s -m 5 "http://127.0.0.1:$port/v2/$repo/tags/list" | jq -r '.tags | sort | join(" ")')"
  done
  echo "disk: $(du -sh "$LAB_DIR" 2>/dev/null | cut -f1) in $LAB_DIR"
}

case "${1:-setup}" in
  setup) setup ;;
  start)
    mkdir -p "$LAB_DIR" "$LOG_DIR"
    start_registry
    write_containers_config "$(recorded_port)"
    write_lab_json
    ;;
  stop) stop_registry ;;
  status) status ;;
  *) die "usage: $0 [setup|start|stop|status]" ;;
esac
