#!/bin/bash
# Run by the clickhouse/clickhouse-server entrypoint on the first start with an empty data volume
# (executed, or sourced when the checkout lost its exec bit: so no `exit` and no `set` here).
# It creates the read-only user for the dashboard's SQL page and for analysts from the environment; the
# app user (CLICKHOUSE_USER) was created by the image from the same environment, with access management
# so that it may create this one. Read-only twice over: only SELECT is granted, and readonly = 2 refuses
# writes and DDL even if a grant were added by mistake, while still letting clients set query settings.
if [ -n "${CLICKHOUSE_READONLY_USER:-}" ]; then
    ro_password="${CLICKHOUSE_READONLY_PASSWORD:-}"
    if [ -n "$ro_password" ]; then
        ro_auth="IDENTIFIED WITH sha256_password BY '${ro_password//\'/\\\'}'"
    else
        ro_auth="NOT IDENTIFIED"
    fi
    echo "initdb: creating read-only user '${CLICKHOUSE_READONLY_USER}'"
    clickhouse-client --host 127.0.0.1 --user "${CLICKHOUSE_USER:-default}" \
        --password "${CLICKHOUSE_PASSWORD:-}" --multiquery <<SQL
CREATE USER IF NOT EXISTS \`${CLICKHOUSE_READONLY_USER}\` ${ro_auth}
    SETTINGS readonly = 2, max_result_rows = 100000 MAX 100000, result_overflow_mode = 'break' CONST,
             max_execution_time = 60 MAX 60, max_memory_usage = 4000000000 MAX 4000000000;
GRANT SELECT ON \`${CLICKHOUSE_DB:-shop}\`.* TO \`${CLICKHOUSE_READONLY_USER}\`;
SQL
fi
