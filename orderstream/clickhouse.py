"""ClickHouse access: one client API (clickhouse-connect) for the server and for embedded chDB.

The two modes differ only here, where the client is created: a server over HTTP when CLICKHOUSE_HOST is
set, otherwise chDB in this process at CHDB_PATH (one process at a time may open that directory; threads
in it share the engine, each client with its own handle).
"""

from __future__ import annotations

import clickhouse_connect
from clickhouse_connect.driver.client import Client

from orderstream.settings import Settings, get_settings


def connect(settings: Settings | None = None, *, readonly: bool = False, database: bool = True) -> Client:
    """A new client. `readonly` gives the analysts' read-only access; `database=False` opens no database
    (for creating it)."""
    s = settings or get_settings()
    db = s.clickhouse_database if database else None
    if s.embedded:
        path = s.chdb_path.expanduser().resolve()
        path.mkdir(parents=True, exist_ok=True)
        return clickhouse_connect.get_client(
            dsn=f"chdb://{path}", database=db, settings={"readonly": 1} if readonly else None
        )
    user, password, settings_ = s.clickhouse_user, s.clickhouse_password, None
    if readonly:
        if s.clickhouse_readonly_user:
            user, password = s.clickhouse_readonly_user, s.clickhouse_readonly_password
        else:
            # readonly=2 still lets the client send its per-query settings; writes and DDL are refused.
            settings_ = {"readonly": 2}
    return clickhouse_connect.get_client(
        host=s.clickhouse_host,
        port=s.clickhouse_port,
        username=user,
        password=password,
        database=db,
        secure=s.clickhouse_secure,
        settings=settings_,
    )
