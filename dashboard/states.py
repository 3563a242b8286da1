"""Friendly states for what is not a bug: an unreachable ClickHouse, missing views, an empty store."""

from __future__ import annotations

from contextlib import contextmanager

import streamlit as st
from clickhouse_connect.driver.exceptions import DatabaseError, OperationalError

from dashboard.data import store_label

UNKNOWN_TABLE, UNKNOWN_DATABASE = 60, 81
MIGRATE_HINT = "python -m orderstream.migrate"


def is_unreachable(exc: BaseException) -> bool:
    return isinstance(exc, (OperationalError, ConnectionError, OSError))


def is_missing_schema(exc: BaseException) -> bool:
    if not isinstance(exc, DatabaseError):
        return False
    code = getattr(exc, "code", None)
    text = str(exc)
    return code in (UNKNOWN_TABLE, UNKNOWN_DATABASE) or "UNKNOWN_TABLE" in text or "UNKNOWN_DATABASE" in text


def show_problem(exc: BaseException) -> None:
    """Render what went wrong and what to do, without a traceback."""
    if is_unreachable(exc):
        st.error(
            f"**ClickHouse is unreachable** ({store_label()}). Check that the server is running and that "
            "CLICKHOUSE_HOST / CLICKHOUSE_PORT point at it; this page retries on the next refresh.",
            icon=":material/cloud_off:",
        )
    elif is_missing_schema(exc):
        st.warning(
            f"**The views do not exist yet** in {store_label()}: migrations have not run. "
            f"Run `{MIGRATE_HINT}` (the Docker stack's migrate service does it), then reload.",
            icon=":material/table_view:",
        )
    else:
        st.error(f"**The query failed**: {_first_line(exc)}", icon=":material/error:")
    st.caption(f"Details: {type(exc).__name__}: {_first_line(exc)}")


def show_empty() -> None:
    st.info(
        "**No orders yet.** The store is reachable and migrated but holds no events: start the generator and "
        "the ingest (or the embedded demo) and this page fills in.",
        icon=":material/inbox:",
    )


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [""])[0][:400]


DATA_ERRORS = (DatabaseError, OperationalError, ConnectionError, OSError)


@contextmanager
def friendly():
    """Show a data error as a friendly state and stop this run, instead of a traceback."""
    try:
        yield
    except DATA_ERRORS as exc:
        show_problem(exc)
        st.stop()
