# postgres:15-bookworm made without a registry, from Debian's postgresql-15, with the official
# image's interface as far as paas uses it: POSTGRES_PASSWORD / POSTGRES_USER / POSTGRES_DB /
# PGDATA / POSTGRES_HOST_AUTH_METHOD / POSTGRES_INITDB_ARGS, /docker-entrypoint-initdb.d, user
# postgres (uid/gid 999), the server binaries on PATH. See postgres-entrypoint.sh.
FROM debian:bookworm-slim
# Made first, with the official image's ids, so that Debian's postinst finds them.
RUN groupadd --system --gid 999 postgres \
    && useradd --system --uid 999 --gid postgres --home-dir /var/lib/postgresql --shell /bin/bash postgres \
    && mkdir -p /var/lib/postgresql && chown postgres:postgres /var/lib/postgresql
# No cluster under /etc/postgresql: the entrypoint makes one in $PGDATA, as the official image does.
RUN mkdir -p /etc/postgresql-common/createcluster.d \
    && echo 'create_main_cluster = false' > /etc/postgresql-common/createcluster.d/paas.conf \
    && apt-get update && apt-get install -y --no-install-recommends postgresql-15 \
    && apt-get clean && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin \
    && sed -ri "s!^#?(listen_addresses)\s*=\s*\S+.*!\1 = '*'!" /usr/share/postgresql/15/postgresql.conf.sample \
    && grep -F "listen_addresses = '*'" /usr/share/postgresql/15/postgresql.conf.sample \
    && mkdir -p /var/run/postgresql /docker-entrypoint-initdb.d \
    && chown -R postgres:postgres /var/run/postgresql && chmod 3777 /var/run/postgresql
ENV PG_MAJOR=15 LANG=C.UTF-8 PGDATA=/var/lib/postgresql/data \
    PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
RUN mkdir -p "$PGDATA" && chown postgres:postgres "$PGDATA" && chmod 1777 "$PGDATA"
VOLUME /var/lib/postgresql/data
COPY postgres-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
RUN chmod 755 /usr/local/bin/docker-entrypoint.sh && postgres --version && pg_dump --version
ENTRYPOINT ["docker-entrypoint.sh"]
# Postgres's "fast shutdown" (the official image's choice): sessions end, data is flushed.
STOPSIGNAL SIGINT
EXPOSE 5432
CMD ["postgres"]
