# Shared by the scripts: paths, building the node, waiting for RPC.
# shellcheck shell=bash
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/attribution-chain/target}
PROFILE=${PROFILE:-debug}
NODE="$CARGO_TARGET_DIR/$PROFILE/attribution-node"
DEMO_BIN="$CARGO_TARGET_DIR/$PROFILE/attribution-demo"
export WORKER_TARGET_DIR=${WORKER_TARGET_DIR:-$HOME/.cache/attribution-chain/target-worker}
# The worker serves and trains real models: scripts/devnet builds it optimized (WORKER_PROFILE);
# the tests use the debug build.
WORKER_PROFILE=${WORKER_PROFILE:-$PROFILE}
WORKER="$WORKER_TARGET_DIR/$WORKER_PROFILE/attribution-worker"

# step TITLE: prints a step's title with the seconds since the script started.
step() { echo "== [${SECONDS}s] $*"; }

build_node() {
  bash "$ROOT/scripts/setup"
  local flags=()
  # Release builds are what validators run: their runtime carries the metadata hash wallets check.
  [ "$PROFILE" = release ] && flags+=(--release --features attribution-runtime/metadata-hash)
  echo "building attribution-node ($PROFILE) into $CARGO_TARGET_DIR ..."
  # The whole workspace, as scripts/test builds it: one feature set, so neither rebuilds the other.
  (cd "$ROOT" && cargo build --workspace "${flags[@]}")
}

build_worker() {
  local flags=()
  [ "$WORKER_PROFILE" = release ] && flags+=(--release)
  echo "building attribution-worker ($WORKER_PROFILE) into $WORKER_TARGET_DIR ..."
  (cd "$ROOT" && CARGO_TARGET_DIR=$WORKER_TARGET_DIR cargo build --manifest-path worker/Cargo.toml "${flags[@]}")
}

# wait_http PORT PATH: waits until http://127.0.0.1:PORT/PATH answers 200 (at most 2 minutes).
wait_http() {
  for _ in $(seq 1 120); do
    curl -sf "http://127.0.0.1:$1$2" >/dev/null 2>&1 && return 0
    sleep 1
  done
  echo "nothing answers on http://127.0.0.1:$1$2" >&2
  return 1
}

# wait_rpc PORT: waits until the node on PORT answers system_health (at most 5 minutes).
wait_rpc() {
  local port=$1
  for _ in $(seq 1 300); do
    if curl -sf -H 'Content-Type: application/json' \
      -d '{"id":1,"jsonrpc":"2.0","method":"system_health","params":[]}' \
      "http://127.0.0.1:$port" >/dev/null 2>&1; then
      return 0
    fi
    sleep 1
  done
  echo "node on port $port did not answer RPC" >&2
  return 1
}

# rpc PORT METHOD: prints the result of a parameterless RPC call.
rpc() {
  curl -s -H 'Content-Type: application/json' \
    -d "{\"id\":1,\"jsonrpc\":\"2.0\",\"method\":\"$2\",\"params\":[]}" "http://127.0.0.1:$1"
}
