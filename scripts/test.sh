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

# one run of node's test runner, so its closing summary counts every test
node --import tsx --test --test-concurrency=1 --test-reporter=spec \
  test/unit/*.test.ts test/commands/*.test.ts test/e2e/*.test.ts test/flow/*.test.ts test/exe/*.test.ts

# the newest LTS as well (npm's node package, installed once into the cache): the unit and command tests and the
# mission end to end; the machine's Node ran everything above
LTS_MAJOR=26
NODE_LTS=$(node --import tsx scripts/node-bin.ts "$LTS_MAJOR")
echo "== Node.js $("$NODE_LTS" --version): unit, command and mission tests"
"$NODE_LTS" --import tsx --test --test-concurrency=1 --test-reporter=spec \
  test/unit/*.test.ts test/commands/*.test.ts test/flow/*.test.ts
