#!/bin/sh
# PID 1's child in a sandbox server (under tini): start the inner Docker Engine, nginx, sshd and
# the paas host service.
# It runs again at every start (`docker restart`): /run and /tmp are empty tmpfs then, the rest
# of the filesystem is as it was left. On SIGTERM (`docker stop`, `docker restart`) it stops
# sshd and nginx, then dockerd, and waits for it: the engine stops its containers itself and
# leaves its state clean for the next start.
set -eu
mkdir -p /run/sshd
# `paas sandbox:up --user NAME`: SSH only as NAME, with passwordless sudo, as on a cloud image.
if [ -s /etc/paas-sandbox/user ]; then
  user=$(cat /etc/paas-sandbox/user)
  # No password ('*': none matches), but not locked: sshd refuses a locked account even a key.
  id -u "$user" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash --password '*' "$user"
  home=$(getent passwd "$user" | cut -d: -f6)
  install -d -m 0700 -o "$user" -g "$user" "$home/.ssh"
  install -m 0600 -o "$user" -g "$user" /etc/paas-sandbox/authorized_keys "$home/.ssh/authorized_keys"
  printf '%s ALL=(ALL) NOPASSWD:ALL\n' "$user" > /etc/sudoers.d/paas-sandbox-user
  chmod 0440 /etc/sudoers.d/paas-sandbox-user
fi
# /proc/sys is read-only in a container that is not privileged: Docker Engine 26+ would refuse
# to start any container, failing to turn IPv6 off on its interface.
DOCKER_ALLOW_IPV6_ON_IPV4_INTERFACE=1 dockerd >>/var/log/dockerd.log 2>&1 &
dockerd=$!
nginx
/usr/sbin/sshd -D -e &
sshd=$!
# The paas host service, as systemd would run paas.service (Restart=always): its launcher appears
# with the first deploy; the mark tells the agent not to start one itself.
mkdir -p /run/paas
: > /run/paas/service.supervised
keep_service() {
  child=
  trap 'if [ -n "$child" ]; then kill -TERM "$child" 2>/dev/null; fi; exit 0' TERM
  while :; do
    if [ -x /var/lib/paas/bin/paas-service ]; then
      /var/lib/paas/bin/paas-service --supervised >>/var/log/paas-service.log 2>&1 &
      child=$!
      wait "$child" || true
      child=
    fi
    sleep 1
  done
}
keep_service &
service=$!
stop() {
  kill -TERM "$service" 2>/dev/null || true
  kill -TERM "$sshd" 2>/dev/null || true
  nginx -s quit 2>/dev/null || true
  kill -TERM "$dockerd" 2>/dev/null || true
  wait "$dockerd" || true
  exit 0
}
trap stop TERM INT
# sshd ending on its own ends the sandbox, as when it was the only process.
wait "$sshd"
