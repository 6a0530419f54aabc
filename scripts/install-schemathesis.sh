#!/usr/bin/env bash
# Installs schemathesis (PyPI, pinned) into its own virtualenv under ~/.cache/custos, for the OpenAPI
# fuzzing test (test/http/schemathesis.test.ts); prints the path of its executable.
set -euo pipefail
SCHEMATHESIS_VERSION="${SCHEMATHESIS_VERSION:-4.32.5}"
venv="${XDG_CACHE_HOME:-$HOME/.cache}/custos/schemathesis-$SCHEMATHESIS_VERSION"
bin="$venv/bin/schemathesis"
if [ -x "$bin" ] && "$bin" --version 2>/dev/null | grep -q "version $SCHEMATHESIS_VERSION\$"; then
  echo "$bin"
  exit 0
fi
command -v python3 >/dev/null || { echo "install-schemathesis: Python 3 is needed (pip install schemathesis==$SCHEMATHESIS_VERSION)" >&2; exit 1; }
rm -rf "$venv"
python3 -m venv "$venv" >&2
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION" >&2
"$bin" --version >&2
echo "$bin"
