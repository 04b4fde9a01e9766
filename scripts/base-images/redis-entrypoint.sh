#!/bin/sh
# docker-entrypoint.sh of paas's locally built redis:7-bookworm, after the official image's:
# `redis-server ...` (or just options) runs as the redis user with /data owned by it.
set -e

# `docker run IMAGE --appendonly yes` or `docker run IMAGE /path/redis.conf` mean redis-server.
if [ "${1#-}" != "$1" ] || [ "${1%.conf}" != "$1" ]; then
  set -- redis-server "$@"
fi

if [ "$1" = redis-server ] && [ "$(id -u)" = 0 ]; then
  find /data \! -user redis -exec chown redis '{}' +
  exec env HOME=/data setpriv --reuid=redis --regid=redis --init-groups "$0" "$@"
fi

if [ "$1" = redis-server ]; then
  # The official image builds redis with protected mode off (a container is reached over its
  # network, not loopback); Debian's is on. With no config file it is turned off here; a config
  # file (the first argument, or "-" for stdin) decides for itself.
  case "${2:-}" in
    -v|--version|-h|--help|--test-memory|--check-system) ;;
    ''|--*) shift; set -- redis-server --protected-mode no "$@" ;;
  esac
  # Files redis writes are the redis user's alone, unless a umask was set.
  if [ "$(umask)" = 0022 ]; then umask 0077; fi
fi

exec "$@"
