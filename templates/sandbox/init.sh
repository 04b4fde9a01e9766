#!/bin/sh
# PID 1's child in a sandbox server: start the inner Docker Engine and nginx, then run sshd.
set -eu
mkdir -p /run/sshd
dockerd >/var/log/dockerd.log 2>&1 &
nginx
exec /usr/sbin/sshd -D -e
