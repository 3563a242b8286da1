"""Access to ClickHouse for the pages: one read-only client per thread, and cached query results.

Streamlit runs each browser session in its own thread; clickhouse-connect clients are not shared across
threads, so each thread opens its own (for chDB, a handle on the engine this process already owns).
Results are cached by query, arguments and store; with auto-refresh on, the refresh tick is part of the
key so each tick reads fresh figures while repeated filter moves in between stay instant.
"""

from __future__ import annotations

import threading
import time
from typing import Callable

import streamlit as st
from clickhouse_connect.driver.client import Client

from dashboard import queries
from dashboard.config import get_dashboard_settings
from orderstream.clickhouse import connect
from orderstream.settings import Settings, get_settings

_local = threading.local()


def store_label(settings: Settings | None = None) -> str:
    s = settings or get_settings()
    if s.embedded:
        return f"chDB {s.chdb_path.expanduser().resolve()} / {s.clickhouse_database}"
    return f"{s.clickhouse_host}:{s.clickhouse_port} / {s.clickhouse_database}"


def client() -> Client:
    """This thread's read-only client for the configured store (a new one if the settings changed)."""
    label = store_label()
    clients = getattr(_local, "clients", None)
    if clients is None:
        clients = _local.clients = {}
    if label not in clients:
        clients[label] = connect(get_settings(), readonly=True)
    return clients[label]


def refresh_tick(interval_seconds: int) -> int:
    return int(time.time() // interval_seconds) if interval_seconds else 0


def fetch(query: Callable, *args, tick: int = 0):
    """The result of `queries.<query>(client, *args)`, cached for a short time."""
    return _cached(query.__name__, store_label(), tick, *args)


@st.cache_data(ttl=get_dashboard_settings().cache_ttl_seconds, show_spinner=False, max_entries=2_000)
def _cached(query_name: str, store: str, tick: int, *args):
    # store and tick only key the cache: results of another store or refresh tick are not reused.
    return getattr(queries, query_name)(client(), *args)


def run_uncached(query: Callable, *args):
    return query(client(), *args)
