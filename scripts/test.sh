#!/usr/bin/env bash
# The whole test suite: type check, lint, unit and command tests, then e2e tests against a real
# Kubernetes 1.20.2 control plane (binaries built once by scripts/kube-bins.sh and cached).
set -euo pipefail
cd "$(dirname "$0")/.."
export ALIBABA_CLOUD_ECS_METADATA_DISABLED=true

echo "== typecheck"; npx tsc -p tsconfig.json --noEmit
echo "== lint"; npx eslint src test bench scripts
echo "== build"; npm run --silent build
echo "== build:exe"; node scripts/build-exe.mjs
bash scripts/sandbox-deps.sh

VNODE_KUBE_BIN_DIR=$(bash scripts/kube-bins.sh)
export VNODE_KUBE_BIN_DIR

# A file whose tests are done exits even if something it started still holds the event loop (a leak is then
# found by the check below, not by a run that never ends); a file or test that hangs fails after 20 minutes.
RUNNER=(--test --test-concurrency=1 --test-reporter=spec --test-force-exit --test-timeout=1200000)

# what a test left running of the control plane (started from the binaries above, and not running before the
# tests): named, stopped, and a failure
CONTROL_PLANE="^$VNODE_KUBE_BIN_DIR/(kube-apiserver|kube-controller-manager|kube-scheduler|etcd)( |$)"
BEFORE=" $(pgrep -d ' ' -f "$CONTROL_PLANE" || true) "
leftovers() {
  local pid left=()
  for pid in $(pgrep -f "$CONTROL_PLANE" || true); do [[ $BEFORE == *" $pid "* ]] || left+=("$pid"); done
  [ ${#left[@]} -eq 0 ] && return 0
  echo "test.sh: control-plane processes the tests left running (stopped now):" >&2
  for pid in "${left[@]}"; do ps -o pid=,args= -p "$pid" | cut -c1-160 >&2 || true; done
  kill -9 "${left[@]}" 2>/dev/null || true
  return 1
}

# one run of node's test runner, so its closing summary counts every test
node --import tsx "${RUNNER[@]}" \
  test/unit/*.test.ts test/commands/*.test.ts test/e2e/*.test.ts test/flow/*.test.ts test/exe/*.test.ts
leftovers

# the newest LTS as well (npm's node package, installed once into the cache): the unit and command tests and the
# mission end to end; the machine's Node ran everything above
LTS_MAJOR=26
NODE_LTS=$(node --import tsx scripts/node-bin.ts "$LTS_MAJOR")
echo "== Node.js $("$NODE_LTS" --version): unit, command and mission tests"
"$NODE_LTS" --import tsx "${RUNNER[@]}" \
  test/unit/*.test.ts test/commands/*.test.ts test/flow/*.test.ts
