#!/usr/bin/env bash
# Installs the pinned OPA CLI from the Go module proxy into ~/.cache/custos/opa-<version>/ (or
# $CUSTOS_TOOLS_DIR), reused by every clone on the machine once built.
# Prints the path of the binary. Needs Go 1.24+.
set -euo pipefail
OPA_VERSION="${OPA_VERSION:-v1.22.2}"
dir="${CUSTOS_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/custos}/opa-$OPA_VERSION"
if [ ! -x "$dir/opa" ]; then
  command -v go >/dev/null || { echo "install-opa: Go is needed to install OPA (go install github.com/open-policy-agent/opa@$OPA_VERSION)" >&2; exit 1; }
  echo "install-opa: building opa $OPA_VERSION with $(go version | cut -d' ' -f3) (a few minutes, once)" >&2
  GOBIN="$dir" GOFLAGS=-mod=mod go install "github.com/open-policy-agent/opa@$OPA_VERSION" >&2
fi
echo "$dir/opa"
