#!/usr/bin/env bash
# Runs Triton's own Python clients against this service: the sources of triton-inference-server/client (not part
# of this repository; TRITON_CLIENT_SRC: a checkout, or a git directory without a work tree) on PYTHONPATH, with
# Debian's python3-numpy, python3-rapidjson and python3-geventhttpclient. Starts the built service (npm run build)
# on a free port with the shipped models, runs each client's check script, stops the service.
#   TRITON_CLIENT_SRC=/path/to/triton-inference-server/client bash scripts/check-triton-clients.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
src=${TRITON_CLIENT_SRC:?set TRITON_CLIENT_SRC to a checkout (or git directory) of triton-inference-server/client}
work=$(mktemp -d)
trap 'kill "${server:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT
if [ -d "$src/src/python/library" ]; then
  cp -r "$src/src/python/library" "$work/library"
else
  git -C "$src" archive HEAD src/python/library | tar -x -C "$work"
  mv "$work/src/python/library" "$work/library"
fi
python=/usr/bin/python3
port=$($python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
[ -f dist/src/main.js ] || npm run build >/dev/null
HOST=127.0.0.1 PORT=$port MODELS_DIR=models LOG_LEVEL=warn node dist/src/main.js &
server=$!
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  sleep 0.2
done
status=0
echo "== tritonclient.http"
PYTHONPATH="$work/library" $python scripts/check-triton-http-client.py "http://127.0.0.1:$port" || status=1
exit $status
