#!/usr/bin/env bash
# Runs Triton's own Python clients against this service: the sources of triton-inference-server/client (not part
# of this repository; TRITON_CLIENT_SRC: a checkout, or a git directory without a work tree) on PYTHONPATH, with
# Debian's python3-numpy, python3-rapidjson and python3-geventhttpclient. Starts the built service (npm run build,
# again when src/ or schemas/ changed since) on a free port, serving the shipped models and an LSTM (`lstm`, the
# TF.js fixture test/fixtures/tfjs-gated/lstm-state), runs each client's check script, stops the service.
#
# --redis: starts a redis-server (Debian's package; nothing persisted) and two servers sharing it (REDIS_URL); the
# sequence checks alternate each sequence's chunks between the two.
#   TRITON_CLIENT_SRC=/path/to/triton-inference-server/client bash scripts/check-triton-clients.sh [--redis]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
src=${TRITON_CLIENT_SRC:?set TRITON_CLIENT_SRC to a checkout (or git directory) of triton-inference-server/client}
redis=false
for arg in "$@"; do
  case $arg in
    --redis) redis=true ;;
    *) echo "unknown option $arg; expected --redis" >&2; exit 2 ;;
  esac
done
work=$(mktemp -d)
pids=()
cleanup() {
  # The servers first, then Redis (started first).
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill "${pids[i]}" 2>/dev/null || true
    wait "${pids[i]}" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT
if [ -d "$src/src/python/library" ]; then
  cp -r "$src/src/python/library" "$work/library"
else
  git -C "$src" archive HEAD src/python/library | tar -x -C "$work"
  mv "$work/src/python/library" "$work/library"
fi
python=/usr/bin/python3
free_port() { $python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
if [ ! -f dist/src/main.js ] || [ -n "$(find src schemas -newer dist/src/main.js -print -quit)" ]; then
  npm run build >/dev/null
fi
mkdir -p "$work/models/lstm"
cp -r models/. "$work/models/"
cp -r test/fixtures/tfjs-gated/lstm-state "$work/models/lstm/1"

env=()
servers=1
if $redis; then
  redis_port=$(free_port)
  mkdir "$work/redis"
  redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --dir "$work/redis" >"$work/redis.log" &
  pids+=($!)
  env=(REDIS_URL="redis://127.0.0.1:$redis_port")
  servers=2
fi
urls=()
for _ in $(seq 1 $servers); do
  port=$(free_port)
  env "${env[@]}" HOST=127.0.0.1 PORT="$port" MODELS_DIR="$work/models" LOG_LEVEL=warn node dist/src/main.js &
  pids+=($!)
  urls+=("http://127.0.0.1:$port")
done
for url in "${urls[@]}"; do
  for _ in $(seq 1 100); do
    # Ready, and with --redis connected to it.
    curl -fs "$url/readyz" 2>/dev/null | grep -q '"ready":true' && break
    sleep 0.2
  done
done
status=0
echo "== tritonclient.http (${#urls[@]} server(s)$($redis && echo ', sequences in Redis'))"
PYTHONPATH="$work/library" $python scripts/check-triton-http-client.py "${urls[@]}" || status=1
exit $status
