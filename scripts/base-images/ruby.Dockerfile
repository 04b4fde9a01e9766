# ruby:3.1-slim-bookworm made without a registry, from Debian's ruby (3.1) and bundler.
FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ruby ruby-bundler ca-certificates \
    && update-ca-certificates && rm -rf /var/lib/apt/lists/*
CMD ["irb"]
