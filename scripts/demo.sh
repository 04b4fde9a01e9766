#!/usr/bin/env bash
# The README quick start: a sandbox server on this machine's Docker Engine, set up for paas, and
# an example app deployed to it with zero downtime. Prints the URL where the app answers.
# Usage: scripts/demo.sh [node|python|go|static|dockerfile]     (again: redeploys, in seconds)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
example=${1:-node}
cd "$root"
bash scripts/setup.sh >&2
[ -f dist/agent.mjs ] || npm run build >&2
paas() { node "$root/bin/run.js" "$@"; }
field() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s)[process.argv[1]]))' "$1"; }

sandbox=$(paas sandbox:up demo --json)
host=$(field url <<<"$sandbox")
key=$(field keyPath <<<"$sandbox")
http_port=$(field httpPort <<<"$sandbox")
paas host:setup --host "$host" --identity "$key" --public-port "$http_port" >&2
paas deploy "examples/$example" --host "$host" --identity "$key" >&2

url="http://$example.localhost:$http_port/"
curl -fsS --retry 5 --retry-connrefused --resolve "$example.localhost:$http_port:127.0.0.1" "$url" >&2
echo "$url"
echo "(the sandbox keeps running: paas sandbox:down demo removes it)" >&2
