#!/usr/bin/env bash
# Builds bin/devcluster from the Go module proxy. Skips the build when the binary is newer than
# every input. The version ldflags make /version report the real Kubernetes release.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out="$root/bin/devcluster"
export GOTOOLCHAIN=local
if [ -x "$out" ] && [ -z "$(find "$here" -newer "$out" \( -name '*.go' -o -name 'go.mod' -o -name 'go.sum' -o -name build.sh \) -print -quit)" ]; then
  exit 0
fi
k8s=$(cd "$here" && go list -m -f '{{.Version}}' k8s.io/kubernetes)
minor=$(echo "$k8s" | cut -d. -f2)
pkg=k8s.io/component-base/version
ld="-s -w -X $pkg.gitVersion=$k8s -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
mkdir -p "$root/bin"
echo "building bin/devcluster (Kubernetes $k8s); a cold build takes several minutes" >&2
cd "$here" && go build -trimpath -ldflags "$ld" -o "$out.tmp" . && mv "$out.tmp" "$out"
