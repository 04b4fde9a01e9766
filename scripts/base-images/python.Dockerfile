# python:3.11-slim-bookworm made without a registry, from Debian's python3 (3.11).
FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends python3 python3-pip python3-venv ca-certificates \
    && update-ca-certificates \
    && ln -s /usr/bin/python3 /usr/local/bin/python && ln -s /usr/bin/pip3 /usr/local/bin/pip \
    && rm -rf /var/lib/apt/lists/*
# Debian marks its python "externally managed"; the official image does not.
ENV PIP_BREAK_SYSTEM_PACKAGES=1 PIP_CERT=/etc/ssl/certs/ca-certificates.crt PYTHONUNBUFFERED=1
CMD ["python3"]
