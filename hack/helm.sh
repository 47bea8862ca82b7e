#!/usr/bin/env bash
# Prints the path of a pinned helm, building it from the Go module proxy into bin/ on first use.
# Pinned so chart tests render the same way on every machine; built with the local Go toolchain
# because nothing but the module proxy is reachable. The ldflags are the ones helm's own Makefile
# sets: without the Kubernetes version, `helm template` assumes v1.20 and refuses the chart.
set -euo pipefail
HELM_VERSION=v3.22.0
K8S_MINOR=37 # helm v3.22.0 is built against k8s.io/client-go v0.37
root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/bin/helm-$HELM_VERSION"
if [ ! -x "$out" ]; then
  echo "building helm $HELM_VERSION from the Go module proxy (first use only, a few minutes)" >&2
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  ld="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
  for pkg in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
    ld="$ld -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=$K8S_MINOR"
  done
  GOTOOLCHAIN=local GOBIN="$tmp" CGO_ENABLED=0 \
    go install -trimpath -ldflags "$ld" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" >&2
  mkdir -p "$root/bin"
  mv "$tmp/helm" "$out"
fi
ln -sfn "helm-$HELM_VERSION" "$root/bin/helm"
echo "$out"
