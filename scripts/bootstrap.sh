#!/usr/bin/env bash
# Set up everything objstore needs on a Debian machine, idempotently:
# system packages (through apt-get, only when missing) and a venv in .venv
# with objstore and its test dependencies. Sourced by ./run-aio and
# ./run-tests; prints what it does, stays quiet when there is nothing to do.
set -euo pipefail

OBJSTORE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${OBJSTORE_VENV:-$OBJSTORE_ROOT/.venv}"

need_apt=()
command -v rsync >/dev/null 2>&1 || need_apt+=(rsync)
command -v gcc >/dev/null 2>&1 || need_apt+=(gcc)
command -v python3 >/dev/null 2>&1 || need_apt+=(python3)
if command -v python3 >/dev/null 2>&1; then
    python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need_apt+=(python3-venv)
    python3 -c 'import sysconfig, os, sys; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' \
        || need_apt+=(python3-dev)
fi
if [ ${#need_apt[@]} -gt 0 ]; then
    echo "bootstrap: installing system packages: ${need_apt[*]}" >&2
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >&2
fi

python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
    echo "bootstrap: objstore needs Python >= 3.11, found $(python3 --version)" >&2
    exit 2
}

stamp="$VENV/.objstore-installed"
want="$(cat "$OBJSTORE_ROOT/pyproject.toml" | sha256sum | cut -d' ' -f1)"
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "bootstrap: preparing $VENV (objstore and its test dependencies)" >&2
    [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
    pip_quiet() {
        "$VENV/bin/pip" install -q --disable-pip-version-check "$@" 2>&1 \
            | { grep -v '^WARNING: Location' || true; } >&2
    }
    pip_quiet --upgrade pip
    pip_quiet -e "$OBJSTORE_ROOT[test]"
    echo "$want" > "$stamp"
fi
export PATH="$VENV/bin:$PATH"
