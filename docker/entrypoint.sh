#!/bin/sh
# Entrypoint of the app images (tini is PID 1 and runs this). POSIX sh: Alpine runs it with busybox.
#
#   entrypoint.sh migrate        apply the migrations once, under the volume lock, and exit
#   entrypoint.sh COMMAND...     run a service (exec'd, so tini's SIGTERM reaches it directly)
#
# Before either, the dependency volume is brought up to date with the image: the virtual environment
# lives on a named volume (DEPS_DIR) shared by the containers of one role, and the image carries the
# environment it was built with (VENV_SEED) plus a hash of its `pip freeze` and Python version. When the
# volume's copy has another hash (first start, or an image built from other requirements) it is replaced.
# All of it runs under one file lock on the volume, so containers starting together neither copy over
# each other nor migrate at the same time (embedded chDB even refuses a second process outright).
#
# Environment (all optional): DEPS_DIR (/deps), VENV_SEED (/opt/venv-seed), SYSTEM_PYTHON
# (/usr/local/bin/python3, runs the lock helper before the venv exists), MIGRATE_ON_START (false; true
# migrates before COMMAND, for running a service without the compose migrate service).
set -eu

DEPS_DIR="${DEPS_DIR:-/deps}"
VENV_SEED="${VENV_SEED:-/opt/venv-seed}"
SYSTEM_PYTHON="${SYSTEM_PYTHON:-/usr/local/bin/python3}"
here=$(cd "$(dirname "$0")" && pwd)
venv="$DEPS_DIR/venv"

log() { echo "entrypoint: $*" >&2; }
locked() { "$SYSTEM_PYTHON" -B "$here/lock.py" "$DEPS_DIR/.lock" "$@"; }

case "${1:-}" in
    __sync-venv)
        # Runs under the lock (see below): re-check, another container may have refreshed meanwhile.
        if ! cmp -s "$VENV_SEED.sha256" "$venv/.seed.sha256" 2>/dev/null; then
            log "installing the image's dependencies into $venv"
            rm -rf "$venv"
            cp -RP "$VENV_SEED" "$venv"
            # The stamp goes last, so an interrupted copy is never taken for a current one.
            cp "$VENV_SEED.sha256" "$venv/.seed.sha256"
        fi
        exit 0
        ;;
    "")
        log "usage: entrypoint.sh migrate | COMMAND..."
        exit 64
        ;;
esac

if [ ! -f "$VENV_SEED.sha256" ]; then
    log "no dependency stamp at $VENV_SEED.sha256: is this the image's entrypoint?"
    exit 70
fi
mkdir -p "$DEPS_DIR"
locked "$0" __sync-venv

PATH="$venv/bin:$PATH"
export PATH

if [ "$1" = migrate ]; then
    exec "$SYSTEM_PYTHON" -B "$here/lock.py" "$DEPS_DIR/.lock" python -m orderstream.migrate
fi
if [ "${MIGRATE_ON_START:-false}" = true ]; then
    locked python -m orderstream.migrate
fi
exec "$@"
