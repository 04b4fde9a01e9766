#!/usr/bin/env bash
# Everything the tests and the demo need on this machine, idempotently:
# a running Docker Engine and the base images paas's templates name.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bash "$here/engine.sh"
bash "$here/base-images.sh"
