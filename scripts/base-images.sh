#!/usr/bin/env bash
# Provides the base images that paas's templates name, on the local Docker Engine.
# For each name: present -> skip; else `docker pull`; else (no registry, e.g. air-gapped)
# build it locally from Debian packages under the same name. Idempotent: a second run
# takes seconds.
#
#   scripts/base-images.sh              # every image the templates and backing services name
#   scripts/base-images.sh NAME ...     # just these (e.g. node:22-bookworm-slim)
#
# debootstrap (for debian:<suite>) uses the Debian mirror the machine's own apt sources name;
# PAAS_DEBIAN_MIRROR=URL overrides it.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
log() { printf '[base-images] %s\n' "$*" >&2; }

# Keep in step with src/detect (base images per stack); test/detect checks this list.
default_images=(
  debian:bookworm-slim
  node:20-bookworm-slim
  python:3.11-slim-bookworm
  golang:1.19-bookworm
  ruby:3.1-slim-bookworm
  nginx:1.22
)
# The backing services' images (databases): not a stack's, so kept apart from the list above.
service_images=(
  postgres:15-bookworm
  redis:7-bookworm
)
images=("$@")
[ ${#images[@]} -gt 0 ] || images=("${default_images[@]}" "${service_images[@]}")

# Bump when a local recipe changes: images built by an older recipe are built again.
# Images that were pulled (they have a registry digest) are kept as they are.
RECIPE=2
have() {
  local digests recipe
  digests=$(docker image inspect --format '{{len .RepoDigests}}' "$1" 2>/dev/null) || return 1
  [ "$digests" != 0 ] && return 0
  recipe=$(docker image inspect --format '{{index .Config.Labels "paas.base-recipe"}}' "$1" 2>/dev/null)
  [ "$recipe" = "$RECIPE" ]
}
try_pull() { timeout 60 docker pull -q "$1" >/dev/null 2>&1; }

# The machine's trust store goes into locally built images, so builds behind a TLS-intercepting
# proxy reach package registries the way the machine itself does.
host_ca=/etc/ssl/certs/ca-certificates.crt

arch() {
  case "$(uname -m)" in
    x86_64) echo x64 ;;
    aarch64|arm64) echo arm64 ;;
    *) log "unsupported architecture $(uname -m)"; exit 1 ;;
  esac
}

# The Debian mirror: PAAS_DEBIAN_MIRROR, else the first `deb` URI of the machine's apt sources
# (one-line sources.list / sources.list.d/*.list, deb822 sources.list.d/*.sources) whose suite is a
# Debian release itself (not -security, -updates or -backports, not a third-party repository).
debian_suite_re='^(buzzard|rex|bo|hamm|slink|potato|woody|sarge|etch|lenny|squeeze|wheezy|jessie|stretch|buster|bullseye|bookworm|trixie|forky|duke|sid|oldoldstable|oldstable|stable|testing|unstable)$'
apt_source_uris() {
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    # deb [options] URI SUITE COMPONENTS...
    sed -e 's/#.*//' -e 's/\[[^]]*\]//' "$f" | awk '$1 == "deb" && NF >= 3 { print $2, $3 }'
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    # Stanzas separated by blank lines; one "URI SUITE" line per pair, skipping Enabled: no.
    awk '
      function flush(  i, j, u, s) {
        if (types ~ /(^| )deb( |$)/ && enabled != "no") {
          nu = split(uris, u, " "); ns = split(suites, s, " ")
          for (i = 1; i <= nu; i++) for (j = 1; j <= ns; j++) print u[i], s[j]
        }
        types = ""; uris = ""; suites = ""; enabled = ""; key = ""
      }
      /^[ \t]*#/ { next }
      /^[ \t]*$/ { flush(); next }
      /^[^ \t]/ {
        key = tolower($0); sub(/:.*/, "", key)
        val = $0; sub(/^[^:]*:[ \t]*/, "", val)
      }
      /^[ \t]/ { val = $0 }
      {
        if (key == "types") types = types " " val
        else if (key == "uris") uris = uris " " val
        else if (key == "suites") suites = suites " " val
        else if (key == "enabled") enabled = tolower(val)
      }
      END { flush() }
    ' "$f"
  done
}
debian_mirror() {
  if [ -n "${PAAS_DEBIAN_MIRROR:-}" ]; then printf '%s\n' "$PAAS_DEBIAN_MIRROR"; return 0; fi
  local uri suite
  while read -r uri suite; do
    case "$uri" in *security*) continue ;; esac
    if [[ $suite =~ $debian_suite_re ]]; then printf '%s\n' "${uri%/}"; return 0; fi
  done < <(apt_source_uris)
  log "no Debian mirror found in /etc/apt/sources.list or /etc/apt/sources.list.d/ (a 'deb' line or"
  log "deb822 'URIs:' of a Debian suite such as bookworm): set PAAS_DEBIAN_MIRROR to the mirror's URL"
  return 1
}

build_debian() {
  local name=$1 suite=${1#debian:}; suite=${suite%-slim}
  command -v debootstrap >/dev/null 2>&1 || {
    log "installing debootstrap"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
  }
  local mirror; mirror=$(debian_mirror) || return 1
  local dir; dir=$(mktemp -d /tmp/paas-rootfs.XXXXXX)
  log "debootstrap $suite (minbase) into $dir from $mirror"
  debootstrap --variant=minbase "$suite" "$dir" "$mirror" >/dev/null
  # Trimmed like the official slim images: no docs, man pages or locales, now or after apt installs.
  rm -rf "$dir"/usr/share/doc/* "$dir"/usr/share/man/* "$dir"/usr/share/info/* "$dir"/usr/share/locale/* \
    "$dir"/var/cache/apt/* "$dir"/var/log/*.log "$dir"/var/cache/debconf/*-old
  cat > "$dir/etc/dpkg/dpkg.cfg.d/paas-slim" <<'CFG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/lintian/*
CFG
  if [ -f "$host_ca" ]; then
    mkdir -p "$dir/etc/ssl/certs" "$dir/usr/local/share/ca-certificates"
    cp "$host_ca" "$dir/etc/ssl/certs/ca-certificates.crt"
    cp "$host_ca" "$dir/usr/local/share/ca-certificates/paas-host-bundle.crt"
  fi
  rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*
  tar -C "$dir" -c . | docker import \
    -c 'CMD ["bash"]' -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    -c "LABEL paas.base-recipe=$RECIPE" \
    - "$name" >/dev/null
  rm -rf "$dir"
}

build_from_dockerfile() {
  local name=$1 dockerfile=$2 context=$3; shift 3
  log "building $name from $dockerfile"
  local out; out=$(mktemp)
  if ! docker build -t "$name" --label "paas.base-recipe=$RECIPE" -f "$dockerfile" "$@" "$context" >"$out" 2>&1; then
    tail -n 30 "$out" >&2; rm -f "$out"; return 1
  fi
  rm -f "$out"
}

build_node() {
  local name=$1 major=${1#node:}; major=${major%%-*}
  local ctx; ctx=$(mktemp -d /tmp/paas-node.XXXXXX)
  log "fetching node-linux-$(arch)@$major and npm from the npm registry"
  (cd "$ctx" && npm pack -q "node-linux-$(arch)@$major" >/dev/null && mv node-linux-*.tgz node.tgz \
    && npm pack -q "npm@10" >/dev/null && mv npm-*.tgz npm.tgz \
    && npm pack -q "corepack@0" >/dev/null && mv corepack-*.tgz corepack.tgz) 2> >(grep -v 'Unknown user config' >&2)
  # Laid out here so that the image gets it in one COPY layer (ADD + move would store it twice).
  local rootfs="$ctx/rootfs" modules="$ctx/rootfs/usr/local/lib/node_modules"
  mkdir -p "$rootfs/usr/local/bin" "$modules/npm" "$modules/corepack"
  tar -xzf "$ctx/node.tgz" -C "$ctx" package/bin/node && mv "$ctx/package/bin/node" "$rootfs/usr/local/bin/node" && rm -rf "$ctx/package"
  tar -xzf "$ctx/npm.tgz" -C "$modules/npm" --strip-components=1
  tar -xzf "$ctx/corepack.tgz" -C "$modules/corepack" --strip-components=1
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
  ln -s ../lib/node_modules/corepack/dist/corepack.js "$rootfs/usr/local/bin/corepack"
  rm -f "$ctx"/*.tgz
  cp "$here/base-images/node.Dockerfile" "$ctx/Dockerfile"
  build_from_dockerfile "$name" "$ctx/Dockerfile" "$ctx"
  rm -rf "$ctx"
}

build_local() {
  local name=$1
  case "$name" in
    debian:*) build_debian "$name" ;;
    node:*-bookworm-slim) build_node "$name" ;;
    python:3.11-slim-bookworm) build_from_dockerfile "$name" "$here/base-images/python.Dockerfile" "$here/base-images" ;;
    golang:1.19-bookworm) build_from_dockerfile "$name" "$here/base-images/golang.Dockerfile" "$here/base-images" ;;
    ruby:3.1-slim-bookworm) build_from_dockerfile "$name" "$here/base-images/ruby.Dockerfile" "$here/base-images" ;;
    nginx:1.22) build_from_dockerfile "$name" "$here/base-images/nginx.Dockerfile" "$here/base-images" ;;
    postgres:15-bookworm) build_from_dockerfile "$name" "$here/base-images/postgres.Dockerfile" "$here/base-images" ;;
    redis:7-bookworm) build_from_dockerfile "$name" "$here/base-images/redis.Dockerfile" "$here/base-images" ;;
    *) log "no local recipe for $name: make it available to the Docker Engine (docker pull / docker load) and run again"; return 1 ;;
  esac
}

ensure() {
  local name=$1
  if have "$name"; then log "$name: present"; return 0; fi
  # Everything else is built FROM debian:bookworm-slim.
  case "$name" in debian:*) ;; *) ensure debian:bookworm-slim ;; esac
  if try_pull "$name"; then log "$name: pulled"; return 0; fi
  local t0=$SECONDS
  build_local "$name"
  log "$name: built locally in $((SECONDS - t0)) s"
}

docker info >/dev/null 2>&1 || { log "Docker Engine is not running: run scripts/engine.sh first"; exit 1; }
for image in "${images[@]}"; do ensure "$image"; done
