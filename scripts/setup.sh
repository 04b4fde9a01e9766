#!/usr/bin/env bash
# Everything the tests and the demo need on this machine, idempotently:
# a running Docker Engine, the base images paas's templates name (and debian:trixie-slim, for
# the trixie sandbox flavour), and nginx with its Lua module
# (tests check configs with `nginx -t`; nginx is not started), the OpenSSH client, openssl and
# pebble (a test ACME CA).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bash "$here/engine.sh"
bash "$here/base-images.sh"
# The trixie sandbox flavour (paas sandbox:up --flavour trixie) is built FROM it.
bash "$here/base-images.sh" debian:trixie-slim

missing=()
[ -e /usr/share/nginx/modules/ngx_http_lua_module.so ] || missing+=(nginx-light libnginx-mod-http-lua)
command -v ssh-keygen >/dev/null 2>&1 || missing+=(openssh-client)
# The backup tests start their own sshd (an SFTP target) on 127.0.0.1.
[ -x /usr/sbin/sshd ] || missing+=(openssh-server)
# The TLS tests make their certificates with the openssl CLI.
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
# The ACME tests run Debian's pebble (a test CA) and pebble-challtestsrv (its DNS) on 127.0.0.1.
{ [ -x /usr/bin/pebble ] && [ -x /usr/bin/pebble-challtestsrv ]; } || missing+=(pebble)
if [ ${#missing[@]} -gt 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "[setup] installing ${missing[*]} (nginx is not started)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # A policy-rc.d that says no keeps the package from starting nginx as a service.
  policy_added=
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && policy_added=1
  fi
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  [ -z "$policy_added" ] || rm -f /usr/sbin/policy-rc.d
fi
