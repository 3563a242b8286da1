# syntax=docker/dockerfile:1
#
# One Dockerfile, one target per role (see docs/docker.md):
#   pipeline   generator, ingest and the one-shot migrate service: no Streamlit, pandas or pyarrow
#   dashboard  the Streamlit dashboard
# Compilers exist only in the builder stages; the final stages get a finished virtual environment.
#
# Alpine and confluent-kafka are pinned together. confluent-kafka publishes no musllinux wheels, so the
# builder compiles it against Alpine's librdkafka-dev, and confluent-kafka refuses a librdkafka older
# than its own minor version. Alpine 3.24 ships librdkafka 2.14.1, hence confluent-kafka==2.14.0 in
# requirements/pipeline.txt and librdkafka=~2.14 below. Moving to another Alpine release means looking up
# its librdkafka (pkgs.alpinelinux.org) and moving all three together; tests/test_docker_image.py checks
# that they agree.
ARG PYTHON_IMAGE=python:3.13-alpine3.24

# ---------------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS builder
# busybox ash knows pipefail: a failing `pip freeze` must fail the build, not hash an empty list.
# (Repeated in each stage below, although inherited, because hadolint checks stage by stage.)
SHELL ["/bin/ash", "-eo", "pipefail", "-c"]
# Packages without a musllinux wheel get compiled here: confluent-kafka (against librdkafka-dev) and lz4
# (bundled C sources, needed by clickhouse-connect). Everything else installs from wheels.
RUN apk add --no-cache build-base=~0.5 librdkafka-dev=~2.14
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
# Built at its final path: a virtual environment is not relocatable (its scripts name their interpreter
# by absolute path), and the entrypoint copies it to exactly /deps/venv on the volume.
COPY requirements/ /src/requirements/

FROM builder AS build-pipeline
SHELL ["/bin/ash", "-eo", "pipefail", "-c"]
RUN python -m venv /deps/venv \
    && /deps/venv/bin/pip install --no-cache-dir -r /src/requirements/pipeline.txt \
    && find /deps/venv -name __pycache__ -type d -prune -exec rm -rf {} + \
    && { python -VV; /deps/venv/bin/pip freeze --all; } | sha256sum > /deps/venv.sha256

# The test suites of numpy, pandas and pyarrow (about 70 MB) are never imported by the dashboard.
FROM builder AS build-dashboard
SHELL ["/bin/ash", "-eo", "pipefail", "-c"]
RUN python -m venv /deps/venv \
    && /deps/venv/bin/pip install --no-cache-dir -r /src/requirements/dashboard.txt \
    && find /deps/venv -name __pycache__ -type d -prune -exec rm -rf {} + \
    && site=$(/deps/venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])') \
    && find "$site/numpy" "$site/pandas" "$site/pyarrow" -type d -name tests -prune -exec rm -rf {} + \
    && { python -VV; /deps/venv/bin/pip freeze --all; } | sha256sum > /deps/venv.sha256

# ---------------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
# tini is PID 1: it forwards SIGTERM to the service (the ingest flushes, commits and closes on it) and
# reaps zombies. librdkafka is the runtime half of the confluent-kafka build above.
# /deps is created owned by the app user so that a new named volume mounted there starts with that owner.
RUN apk add --no-cache tini=~0.19 librdkafka=~2.14 \
    && addgroup -S -g 10001 app \
    && adduser -S -D -H -u 10001 -G app -h /home/app app \
    && mkdir -p /deps /home/app \
    && chown 10001:10001 /deps /home/app
# Bytecode is written to the volume, next to the environment it belongs to, never into image layers.
ENV PATH=/deps/venv/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONUNBUFFERED=1 \
    PYTHONPYCACHEPREFIX=/deps/venv/.pycache \
    HOME=/home/app \
    DEPS_DIR=/deps \
    VENV_SEED=/opt/venv-seed
WORKDIR /app
COPY docker/entrypoint.sh docker/lock.py docker/healthcheck.py /app/docker/
COPY orderstream/ /app/orderstream/
COPY migrations/ /app/migrations/
ENTRYPOINT ["/sbin/tini", "--", "/app/docker/entrypoint.sh"]

# ---------------------------------------------------------------------------------------------------
FROM runtime AS pipeline
COPY --from=build-pipeline /deps/venv /opt/venv-seed
COPY --from=build-pipeline /deps/venv.sha256 /opt/venv-seed.sha256
COPY generator/ /app/generator/
COPY ingest/ /app/ingest/
USER 10001:10001
CMD ["python", "-m", "ingest"]

# ---------------------------------------------------------------------------------------------------
FROM runtime AS dashboard
COPY --from=build-dashboard /deps/venv /opt/venv-seed
COPY --from=build-dashboard /deps/venv.sha256 /opt/venv-seed.sha256
COPY dashboard/ /app/dashboard/
# Streamlit's own settings, not the product's: serve on all interfaces of the container, no browser,
# no usage statistics sent anywhere.
ENV STREAMLIT_SERVER_ADDRESS=0.0.0.0 \
    STREAMLIT_SERVER_HEADLESS=true \
    STREAMLIT_BROWSER_GATHER_USAGE_STATS=false
EXPOSE 8501
USER 10001:10001
CMD ["python", "-m", "dashboard"]
