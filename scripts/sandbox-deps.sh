#!/usr/bin/env bash
# What the sandbox's worker node needs to run pods (network namespaces, mounts, setpriv): iproute2 and util-linux,
# from Debian's packages when missing. Without root the worker reports such pods ContainerCreating instead.
set -euo pipefail
missing=()
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
command -v setpriv >/dev/null 2>&1 || missing+=(util-linux)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "sandbox-deps: ${missing[*]} missing and not root; the sandbox worker will not run pods" >&2
  exit 0
fi
apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
