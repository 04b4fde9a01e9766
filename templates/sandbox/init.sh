#!/bin/sh
# PID 1's child in a sandbox server (under tini): start the inner Docker Engine, nginx, sshd and
# the paas host service.
# It runs again at every start (`docker restart`): /run and /tmp are empty tmpfs then, the rest
# of the filesystem is as it was left. On SIGTERM (`docker stop`, `docker restart`) it stops
# sshd and nginx, then dockerd, and waits for it: the engine stops its containers itself and
# leaves its state clean for the next start.
set -eu
mkdir -p /run/sshd
dockerd >>/var/log/dockerd.log 2>&1 &
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
