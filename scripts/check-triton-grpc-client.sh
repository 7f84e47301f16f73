#!/usr/bin/env bash
# Triton's own Python gRPC client against rnn-serve: starts the server (from source, on free loopback ports, with
# an API key) and runs scripts/check-triton-grpc-client.py against it with tritonclient.grpc from Triton's sources.
#
#   TRITON_CLIENT_SRC   a checkout of https://github.com/triton-inference-server/client, or its git directory
#                       (a bare clone: its Python library folder is taken from HEAD with git archive). Not committed here.
#   PYTHON              a Python 3 with grpcio, protobuf, numpy, python-rapidjson and packaging (Debian: python3-grpcio
#                       python3-protobuf python3-numpy python3-rapidjson python3-packaging); default /usr/bin/python3.
#
# The client's stubs are generated from proto/triton/ (Triton's build renames grpc_service.proto to service, keeping the suffix) with
# protoc and grpc_python_plugin (Debian: protobuf-compiler-grpc), else `python -m grpc_tools.protoc`.
# Exit status: that of the Python checks (the number that failed), or 2 when something needed is missing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

SRC=${TRITON_CLIENT_SRC:-/work/.mirror/triton-inference-server+client/repo}
if [ -z "${PYTHON:-}" ]; then
  if [ -x /usr/bin/python3 ]; then PYTHON=/usr/bin/python3; else PYTHON=python3; fi
fi
missing() { echo "check-triton-grpc-client: $*" >&2; exit 2; }

work=$(mktemp -d)
server=""
cleanup() {
  if [ -n "$server" ] && kill -0 "$server" 2>/dev/null; then
    kill "$server"
    wait "$server" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# --- the client library --------------------------------------------------------------------------------------------
if [ -d "$SRC/src/python/library/tritonclient" ]; then
  cp -r "$SRC/src/python/library" "$work/library"
elif git --git-dir="$SRC" rev-parse --verify -q HEAD >/dev/null 2>&1; then
  git --git-dir="$SRC" archive HEAD src/python/library | tar -x -C "$work"
  mv "$work/src/python/library" "$work/library"
else
  missing "TRITON_CLIENT_SRC=$SRC is neither a checkout of triton-inference-server/client nor its git directory"
fi
echo "tritonclient from $SRC ($(git --git-dir="$SRC" log -1 --format='%h %cs' 2>/dev/null || echo 'a checkout'))"

# --- stubs from proto/triton/ --------------------------------------------------------------------------------------
mkdir "$work/protos"
cp proto/triton/grpc_service.proto "$work/protos/service.proto"
cp proto/triton/model_config.proto "$work/protos/model_config.proto"
stubs="$work/library/tritonclient/grpc"
if command -v protoc >/dev/null && command -v grpc_python_plugin >/dev/null; then
  protoc -I "$work/protos" --python_out="$stubs" --grpc_python_out="$stubs" \
    --plugin=protoc-gen-grpc_python="$(command -v grpc_python_plugin)" service.proto model_config.proto
elif "$PYTHON" -c 'import grpc_tools.protoc' 2>/dev/null; then
  "$PYTHON" -m grpc_tools.protoc -I "$work/protos" --python_out="$stubs" --grpc_python_out="$stubs" \
    service.proto model_config.proto
else
  missing "no protoc with grpc_python_plugin (apt: protobuf-compiler-grpc) and no grpc_tools for $PYTHON"
fi
# The generated modules import each other as top-level modules; in the package they are tritonclient.grpc's.
sed -i 's/^import model_config_pb2 as /from tritonclient.grpc import model_config_pb2 as /' "$stubs/service_pb2.py"
sed -i 's/^import service_pb2 as /from tritonclient.grpc import service_pb2 as /' "$stubs/service_pb2_grpc.py"
"$PYTHON" -c 'import grpc, google.protobuf, numpy, rapidjson, packaging' 2>/dev/null ||
  missing "$PYTHON lacks one of grpcio, protobuf, numpy, python-rapidjson, packaging"

# --- the server ----------------------------------------------------------------------------------------------------
free_port() { "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
http_port=$(free_port)
grpc_port=$(free_port)
key="check-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
# Explicit model control with every model loaded, so that the repository checks can unload and load one.
HOST=127.0.0.1 PORT=$http_port GRPC_PORT=$grpc_port API_KEYS=$key SHUTDOWN_DELAY_MS=0 LOG_LEVEL=warn \
  MODEL_CONTROL_MODE=explicit MODELS_LOAD='*' node --import tsx src/main.ts >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 300); do
  curl -sf -o /dev/null "http://127.0.0.1:$http_port/readyz" && break
  kill -0 "$server" 2>/dev/null || { cat "$work/server.log"; missing "the server exited before it was ready"; }
  sleep 0.1
done
curl -sf -o /dev/null "http://127.0.0.1:$http_port/readyz" || { cat "$work/server.log"; missing "the server is not ready"; }

# --- the checks ----------------------------------------------------------------------------------------------------
status=0
PYTHONPATH="$work/library" "$PYTHON" scripts/check-triton-grpc-client.py --url "127.0.0.1:$grpc_port" --api-key "$key" ||
  status=$?
exit "$status"
