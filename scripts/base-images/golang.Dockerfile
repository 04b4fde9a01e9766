# golang:1.19-bookworm made without a registry, from Debian's golang-go (1.19).
FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends golang-go git ca-certificates \
    && update-ca-certificates && rm -rf /var/lib/apt/lists/*
ENV GOPATH=/go PATH=/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
WORKDIR /go
CMD ["bash"]
