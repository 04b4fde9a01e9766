# node:<major>-bookworm-slim made without a registry: Debian + the official Node.js binary
# (npm package node-linux-<arch>) + npm + corepack, laid out as in the official image.
# scripts/base-images.sh prepares rootfs/ (one layer).
FROM debian:bookworm-slim
COPY rootfs/ /
RUN groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node \
    && node --version && npm --version
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
CMD ["node"]
