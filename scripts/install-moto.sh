#!/usr/bin/env bash
# Installs moto's AWS emulator server (PyPI moto[server], pinned) for the integration tests.
set -euo pipefail
MOTO_VERSION="${MOTO_VERSION:-5.2.1}"
if command -v moto_server >/dev/null && python3 -m pip show moto 2>/dev/null | grep -qx "Version: $MOTO_VERSION"; then
  exit 0
fi
command -v python3 >/dev/null || { echo "install-moto: Python 3 is needed (pip install 'moto[server]==$MOTO_VERSION')" >&2; exit 1; }
python3 -m pip install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
