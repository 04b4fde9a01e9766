# node:<major>-bookworm-slim made without a registry: Debian + the official Node.js binary
# (npm package node-linux-<arch>) + npm + corepack, laid out as in the official image.
FROM debian:bookworm-slim
ADD node.tgz /tmp/node/
ADD npm.tgz /tmp/npm/
ADD corepack.tgz /tmp/corepack/
RUN set -eu; \
    install -m 0755 /tmp/node/package/bin/node /usr/local/bin/node; \
    mkdir -p /usr/local/lib/node_modules; \
    mv /tmp/npm/package /usr/local/lib/node_modules/npm; \
    mv /tmp/corepack/package /usr/local/lib/node_modules/corepack; \
    ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm; \
    ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx; \
    ln -s ../lib/node_modules/corepack/dist/corepack.js /usr/local/bin/corepack; \
    rm -rf /tmp/node /tmp/npm /tmp/corepack; \
    groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node; \
    node --version; npm --version
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
CMD ["node"]
