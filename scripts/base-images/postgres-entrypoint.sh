#!/usr/bin/env bash
# docker-entrypoint.sh of paas's locally built postgres:15-bookworm, after the official image's:
# as root it owns $PGDATA to postgres and runs itself again as postgres (setpriv); on an empty
# $PGDATA it runs initdb, sets the superuser's password, creates $POSTGRES_DB and runs
# /docker-entrypoint-initdb.d; a data directory that has PG_VERSION is used as it is.
set -Eeuo pipefail

# `docker run IMAGE -c fsync=on` means `postgres -c fsync=on`.
if [ "${1:0:1}" = '-' ]; then set -- postgres "$@"; fi

wants_help() {
  local arg
  for arg; do
    case "$arg" in -'?'|--help|--describe-config|-V|--version) return 0 ;; esac
  done
  return 1
}

if [ "${1:-}" != postgres ] || wants_help "$@"; then exec "$@"; fi

: "${POSTGRES_USER:=postgres}"
: "${POSTGRES_DB:=$POSTGRES_USER}"
: "${POSTGRES_HOST_AUTH_METHOD:=scram-sha-256}"
: "${POSTGRES_INITDB_ARGS:=}"
export POSTGRES_USER POSTGRES_DB

if [ "$(id -u)" = 0 ]; then
  mkdir -p "$PGDATA"
  chown postgres:postgres "$PGDATA"
  chmod 00700 "$PGDATA" || :
  mkdir -p /var/run/postgresql
  chown postgres:postgres /var/run/postgresql
  chmod 3777 /var/run/postgresql
  find "$PGDATA" \! -user postgres -exec chown postgres:postgres '{}' +
  HOME=/var/lib/postgresql exec setpriv --reuid=postgres --regid=postgres --init-groups "${BASH_SOURCE[0]}" "$@"
fi

log() { printf '%s\n' "$*" >&2; }

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ -z "${POSTGRES_PASSWORD:-}" ] && [ "$POSTGRES_HOST_AUTH_METHOD" != trust ]; then
    cat >&2 <<'MSG'
Error: Database is uninitialized and superuser password is not specified.
       You must specify POSTGRES_PASSWORD to a non-empty value for the
       superuser. For example, "-e POSTGRES_PASSWORD=password" on "docker run".

       You may also use "POSTGRES_HOST_AUTH_METHOD=trust" to allow all
       connections without a password. This is *not* recommended.

       See PostgreSQL documentation about "trust":
       https://www.postgresql.org/docs/current/auth-trust.html
MSG
    exit 1
  fi
  if [ ! -w "$PGDATA" ]; then
    log "Error: $PGDATA is not writable by $(id -un) (uid $(id -u)): own it to that user, or run as root"
    exit 1
  fi

  log "initdb: a new database cluster in $PGDATA for user \"$POSTGRES_USER\""
  # The password goes through a pipe, not argv (ps would show it).
  # shellcheck disable=SC2086 # POSTGRES_INITDB_ARGS is a list of words, as in the official image
  initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "${POSTGRES_PASSWORD:-}") \
    --auth-local=trust --auth-host="$POSTGRES_HOST_AUTH_METHOD" $POSTGRES_INITDB_ARGS -D "$PGDATA" >&2
  if [ "$POSTGRES_HOST_AUTH_METHOD" = trust ]; then
    log "WARNING: POSTGRES_HOST_AUTH_METHOD=trust: every connection is let in without a password"
  fi
  printf '\nhost all all all %s\n' "$POSTGRES_HOST_AUTH_METHOD" >> "$PGDATA/pg_hba.conf"

  # A server on the socket only, while the database is made and init scripts run.
  pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -p 5432" -w start >&2
  export PGPASSWORD="${POSTGRES_PASSWORD:-}"
  psql_init=(psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc)
  if [ "$POSTGRES_DB" != postgres ]; then
    "${psql_init[@]}" --dbname postgres --set db="$POSTGRES_DB" -q <<<'CREATE DATABASE :"db";' >&2
  fi
  for f in /docker-entrypoint-initdb.d/*; do
    [ -e "$f" ] || continue
    case "$f" in
      *.sh)
        log "running $f"
        # shellcheck disable=SC1090 # the image user's own scripts
        if [ -x "$f" ]; then "$f"; else . "$f"; fi ;;
      *.sql) log "running $f"; "${psql_init[@]}" --dbname "$POSTGRES_DB" -f "$f" >&2 ;;
      *.sql.gz) log "running $f"; gunzip -c "$f" | "${psql_init[@]}" --dbname "$POSTGRES_DB" >&2 ;;
      *) log "ignoring $f" ;;
    esac
  done
  unset PGPASSWORD
  pg_ctl -D "$PGDATA" -m fast -w stop >&2
  log "PostgreSQL init process complete; ready for start up."
else
  log "PostgreSQL Database directory appears to contain a database; skipping initialization"
fi

exec "$@"
