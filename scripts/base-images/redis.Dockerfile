# redis:7-bookworm made without a registry, from Debian's redis-server and redis-tools (7.0), with
# the official image's interface: user redis (uid/gid 999), data in /data, protected mode off
# unless a config file is given. See redis-entrypoint.sh.
FROM debian:bookworm-slim
# Made first, with the official image's ids, so that Debian's postinst finds them.
RUN groupadd --system --gid 999 redis \
    && useradd --system --uid 999 --gid redis --home-dir /data --shell /usr/sbin/nologin redis
RUN apt-get update && apt-get install -y --no-install-recommends redis-server redis-tools \
    && apt-get clean && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin \
    && mkdir /data && chown redis:redis /data \
    && redis-server --version && redis-cli --version
COPY redis-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
RUN chmod 755 /usr/local/bin/docker-entrypoint.sh
VOLUME /data
WORKDIR /data
ENTRYPOINT ["docker-entrypoint.sh"]
EXPOSE 6379
CMD ["redis-server"]
