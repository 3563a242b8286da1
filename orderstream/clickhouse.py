"""ClickHouse access: one client API (clickhouse-connect) for the server and for embedded chDB.

The two modes differ only here, where the client is created: a server over HTTP when CLICKHOUSE_HOST is
set, otherwise chDB in this process at CHDB_PATH (one process at a time may open that directory; threads
in it share the engine, each client with its own handle).
"""

from __future__ import annotations

import clickhouse_connect
from clickhouse_connect.driver.client import Client

from orderstream.settings import Settings, get_settings

# An analyst's ad-hoc query must not take the pipeline down with it (in embedded mode they share one
# process): results are cut off, not materialized whole, and time and memory are bounded. Set before
# `readonly`, which then forbids the query from raising them.
ANALYST_LIMITS = {
    "max_result_rows": 100_000,
    "result_overflow_mode": "break",
    "max_execution_time": 60,
    "max_memory_usage": 4_000_000_000,
}


def connect(settings: Settings | None = None, *, readonly: bool = False, database: bool = True) -> Client:
    """A new client. `readonly` gives the analysts' read-only access; `database=False` opens no database
    (for creating it)."""
    s = settings or get_settings()
    db = s.clickhouse_database if database else None
    if s.embedded:
        path = s.chdb_path.expanduser().resolve()
        path.mkdir(parents=True, exist_ok=True)
        return clickhouse_connect.get_client(
            dsn=f"chdb://{path}", database=db, settings={**ANALYST_LIMITS, "readonly": 1} if readonly else None
        )
    user, password, settings_ = s.clickhouse_user, s.clickhouse_password, None
    if readonly:
        # The read-only user's profile caps these too (docker/clickhouse/initdb); readonly=2 still lets
        # the client send its per-query settings, while writes and DDL are refused.
        settings_ = ANALYST_LIMITS if s.clickhouse_readonly_user else {**ANALYST_LIMITS, "readonly": 2}
        if s.clickhouse_readonly_user:
            user, password = s.clickhouse_readonly_user, s.clickhouse_readonly_password
    return clickhouse_connect.get_client(
        host=s.clickhouse_host,
        port=s.clickhouse_port,
        username=user,
        password=password,
        database=db,
        secure=s.clickhouse_secure,
        settings=settings_,
    )
