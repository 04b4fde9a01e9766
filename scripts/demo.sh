#!/usr/bin/env bash
# The README quick start: detect and build an example app, run it, print the URL where it answers.
# Usage: scripts/demo.sh [node|python|go|static|dockerfile]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
example=${1:-node}
cd "$root"
bash scripts/setup.sh >&2
[ -f dist/commands/build.js ] || npm run build >&2
paas() { node "$root/bin/run.js" "$@"; }

paas detect "examples/$example" >&2
image=$(paas build "examples/$example" --json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).image))')
port=$(docker image inspect "$image" --format '{{index .Config.Labels "paas.port"}}')
name="paas-demo-$example"
docker rm -f "$name" >/dev/null 2>&1 || true
docker run -d --name "$name" -e "PORT=$port" -p "127.0.0.1::$port" "$image" >/dev/null
url="http://$(docker port "$name" "$port/tcp" | head -n 1)/"
for _ in $(seq 1 60); do curl -fsS "$url" >/dev/null 2>&1 && break; sleep 0.5; done
curl -fsS "$url" >&2
echo "$url"
echo "(stop it with: docker rm -f $name)" >&2
