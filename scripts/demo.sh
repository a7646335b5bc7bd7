#!/usr/bin/env bash
# The whole mission against the local sandbox, printing what happens:
# sandbox up -> ram grant -> install (ServiceAccount) -> install --bootstrap -> a Deployment runs on the
# virtual nodes -> status -> label-based scheduling -> doctor -> update (in place, then by replacement) ->
# uninstall --all --drain -> the ack-virtual-node add-on (install --mode addon: ACK One registration, agent,
# add-on through the Container Service; a labelled Deployment, config set, uninstall --deregister) -> sandbox down.
set -euo pipefail
cd "$(dirname "$0")/.."
export ALIBABA_CLOUD_ECS_METADATA_DISABLED=true

npm run --silent build
VNODE_KUBE_BIN_DIR=$(bash scripts/kube-bins.sh)
bash scripts/sandbox-deps.sh
export VNODE_KUBE_BIN_DIR

WORK=$(mktemp -d)
DIR=$WORK/sandbox
say() { printf '\n\033[1m== %s\033[0m\n' "$*" >&2; }
vnode() { printf '$ vnode %s\n' "$*" >&2; node bin/vnode.js "$@"; }
cleanup() { node bin/vnode.js sandbox down --dir "$DIR" >/dev/null 2>&1 || true; rm -rf "$WORK"; }
trap cleanup EXIT

say "Start the sandbox: a real Kubernetes control plane (1.20.2 built here, or the binaries in VNODE_KUBE_BIN_DIR) and the Alibaba Cloud emulator"
eval "$(vnode sandbox up --dir "$DIR" --ready-delay 1s)"

say "RAM user, least-privilege policy and AccessKey for the addon"
vnode ram grant --yes

say "A virtual node with a ServiceAccount identity, over vSwitches in two zones"
vnode install --vswitch vsw-bp1sandboxzoneh00001,vsw-bp1sandboxzonei00001 --security-group sg-bp1sandboxkubelet0001 --name vnode-sa

say "A second one with TLS bootstrapping (token -> CSR -> vnode-approver -> certificate)"
vnode install --bootstrap --vswitch vsw-bp1sandboxzonei00001 --security-group sg-bp1sandboxkubelet0001 --name vnode-boot

say "Running it again changes nothing"
vnode install --vswitch vsw-bp1sandboxzoneh00001,vsw-bp1sandboxzonei00001 --security-group sg-bp1sandboxkubelet0001 --name vnode-sa

say "A Deployment that tolerates the virtual-node taint runs on ECI"
node --import tsx scripts/demo-workload.ts

say "Status: ECI's view joined with the cluster's"
vnode status

say "Label-based scheduling: the webhook sends pods labelled alibabacloud.com/eci=true, and every pod of a labelled namespace, to the virtual nodes"
node --import tsx scripts/demo-workload.ts namespace
vnode scheduling enable --namespace burst
node --import tsx scripts/demo-workload.ts scheduling
vnode scheduling status

say "Burst: a normal-node-prefer selector runs pods on the worker node while they fit, then on the virtual nodes"
vnode scheduling add web --pod-selector app=surge --policy normal-node-prefer
vnode scheduling list
node --import tsx scripts/demo-workload.ts burst
vnode scheduling remove web

say "A Selector made with kubectl (as for Alibaba's eci-profile) without any policy: virtual-node-only, as eci-profile has it"
node --import tsx scripts/demo-workload.ts no-policy

say "Doctor: what keeps the virtual nodes working (the sandbox's loopback API server address is a warning)"
vnode doctor

say "Update: tags and cluster DNS in place; a vSwitch change by replacement (new node Ready, old one drained and deleted)"
vnode update vnode-sa --tag team=demo --cluster-dns 10.96.0.10
vnode update vnode-boot --vswitch vsw-bp1sandboxzoneh00001 --dry-run
vnode update vnode-boot --vswitch vsw-bp1sandboxzoneh00001
vnode status

say "Turn label-based scheduling off again"
vnode scheduling disable

say "Uninstall: drain (pods evicted, Deployment pods recreated), no ECI instance left, VNodes, Nodes and credentials removed"
vnode uninstall --all --drain
vnode status

say "The ack-virtual-node add-on: register this cluster with ACK One (agent applied), install the add-on through the Container Service, one node per zone"
vnode cluster register --vswitch vsw-bp1sandboxzoneh00001,vsw-bp1sandboxzonei00001 --security-group sg-bp1sandboxkubelet0001 --dry-run   # a public endpoint (endpoint_public_access) by default
vnode install --mode addon --vswitch vsw-bp1sandboxzoneh00001,vsw-bp1sandboxzonei00001 --security-group sg-bp1sandboxkubelet0001 --yes
vnode cluster status
node --import tsx scripts/demo-workload.ts addon
vnode config get

say "Change its ECI settings in eci-profile: hot, for new ECI pods, no restart"
vnode config set kube-proxy=false --dry-run
vnode config set kube-proxy=false
vnode status
vnode doctor

say "Uninstall the add-on: drain, wait for ECI to release the instances, UnInstallClusterAddons, delete the Nodes, deregister"
vnode uninstall ack-virtual-node --drain --deregister
vnode cluster status
vnode status

say "Stop the sandbox"
vnode sandbox down --dir "$DIR"
