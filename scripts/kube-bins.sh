#!/usr/bin/env bash
# Provides kube-apiserver, kube-controller-manager, kube-scheduler (v1.20.2, built from Debian's
# `kubernetes` source package) and etcd (Debian's etcd-server) in one directory, and prints its path.
# Only the first run builds (~4 min); the result is cached outside the repository.
# Already-present binaries of any version win: $VNODE_KUBE_BIN_DIR, then $KUBEBUILDER_ASSETS (the three
# kube binaries; etcd from there, else from PATH, else Debian's etcd-server is installed).
set -euo pipefail

K8S_VERSION=1.20.2
# r2: vendored reflect2 1.0.2, as 1.0.1 crashes under Go >= 1.18 when the API server encodes a map in sorted-key JSON (webhook calls)
BUILD_REV=2
BINS=(kube-apiserver kube-controller-manager kube-scheduler etcd)
CACHE_ROOT=${VNODE_CACHE_DIR:-$HOME/.cache/vnode}
OUT=$CACHE_ROOT/kubernetes-v$K8S_VERSION-r$BUILD_REV

log() { printf 'kube-bins: %s\n' "$*" >&2; }

has_all() {
  local d=$1 b
  for b in "${BINS[@]}"; do [ -x "$d/$b" ] || return 1; done
}

has_kube() {
  local d=$1 b
  for b in kube-apiserver kube-controller-manager kube-scheduler; do [ -x "$d/$b" ] || return 1; done
}

for d in "${VNODE_KUBE_BIN_DIR:-}" "${KUBEBUILDER_ASSETS:-}"; do
  if [ -n "$d" ] && has_kube "$d"; then
    if [ ! -x "$d/etcd" ] && ! command -v etcd >/dev/null; then
      log "no etcd in $d or on PATH: installing Debian's etcd-server"
      if [ "$(id -u)" != 0 ]; then SUDO=sudo; else SUDO=; fi
      $SUDO apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq etcd-server >&2
    fi
    echo "$d"; exit 0
  fi
done
if has_all "$OUT"; then echo "$OUT"; exit 0; fi

mkdir -p "$CACHE_ROOT"
exec 9>"$CACHE_ROOT/.kube-bins.lock"
flock 9   # one build at a time; a waiting run then finds the cache
if has_all "$OUT"; then echo "$OUT"; exit 0; fi

if [ "$(id -u)" != 0 ]; then SUDO=sudo; else SUDO=; fi
export DEBIAN_FRONTEND=noninteractive
need_pkgs=()
command -v go >/dev/null || need_pkgs+=(golang-go)
command -v etcd >/dev/null || need_pkgs+=(etcd-server)
command -v rsync >/dev/null || need_pkgs+=(rsync)
command -v openssl >/dev/null || need_pkgs+=(openssl)
REFLECT2=/usr/share/gocode/src/github.com/modern-go/reflect2
[ -f "$REFLECT2/go_above_118.go" ] || need_pkgs+=(golang-github-modern-go-reflect2-dev)
if [ ! -f /etc/apt/sources.list.d/debian-src.sources ]; then
  log "adding a deb-src entry for bookworm"
  $SUDO tee /etc/apt/sources.list.d/debian-src.sources >/dev/null <<'X'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
X
fi
log "apt-get update"
$SUDO apt-get update -qq >&2
if [ ${#need_pkgs[@]} -gt 0 ]; then
  log "installing ${need_pkgs[*]}"
  $SUDO apt-get install -y -qq "${need_pkgs[@]}" >&2
fi

mkdir -p "$OUT.tmp"
if ! has_all "$OUT.tmp"; then
  WORK=$CACHE_ROOT/build
  mkdir -p "$WORK"
  cd "$WORK"
  if ! ls kubernetes_*.orig.tar.gz >/dev/null 2>&1; then
    log "downloading the kubernetes source package"
    apt-get source --download-only kubernetes >&2
  fi
  if [ ! -d "kubernetes-$K8S_VERSION" ]; then
    tar xzf kubernetes_*.orig.tar.gz
  fi
  cd "kubernetes-$K8S_VERSION"
  # the fixed reflect2 (same API): Debian's golang-github-modern-go-reflect2-dev
  rm -rf vendor/github.com/modern-go/reflect2 && cp -r "$REFLECT2" vendor/github.com/modern-go/reflect2
  rm -f vendor/github.com/modern-go/reflect2/go.mod vendor/github.com/modern-go/reflect2/go.sum
  export GOPATH=$PWD/.go CGO_ENABLED=0 HOME=$WORK/home GOFLAGS=
  mkdir -p .go/src/k8s.io "$HOME" && ln -sfn ../../.. .go/src/k8s.io/kubernetes
  # a failed first run leaves an empty generator binary behind; start clean then
  if [ -e _output/bin/prerelease-lifecycle-gen ] && [ ! -s _output/bin/prerelease-lifecycle-gen ]; then rm -rf _output; fi
  log "building kube-apiserver, kube-controller-manager, kube-scheduler (several minutes)"
  make WHAT="cmd/kube-apiserver cmd/kube-controller-manager cmd/kube-scheduler" >&2
  for b in kube-apiserver kube-controller-manager kube-scheduler; do cp "_output/bin/$b" "$OUT.tmp/$b"; done
  ln -sfn "$(command -v etcd)" "$OUT.tmp/etcd"
  cd "$CACHE_ROOT" && rm -rf "$WORK"
fi
rm -rf "$OUT" && mv "$OUT.tmp" "$OUT"
log "ready in $OUT"
echo "$OUT"
