"""Step 3 of the chain: write a batch into ClickHouse, retrying with backoff while it is unreachable.

Writes are idempotent by design (see migrations/): every table and mart is keyed by the identity of what
it holds, so a batch written twice (a retry after a lost response, a replay after a crash) changes nothing.
"""

from __future__ import annotations

import logging
from typing import Callable

from clickhouse_connect.driver.client import Client
from tenacity import Retrying, retry_if_exception_type, stop_any, stop_after_attempt, wait_exponential

from ingest.batch import ERROR_COLUMNS, EVENT_COLUMNS, Batch

log = logging.getLogger(__name__)


class Stopped(Exception):
    """Raised when a shutdown was requested while a write was still being retried."""


class ClickHouseSink:
    def __init__(self, client_factory: Callable[[], Client], max_attempts: int | None = None):
        self._client_factory = client_factory
        self._client: Client | None = None
        self._max_attempts = max_attempts

    def _client_or_connect(self) -> Client:
        if self._client is None:
            self._client = self._client_factory()
        return self._client

    def write(self, batch: Batch, should_stop: Callable[[], bool] = lambda: False) -> None:
        if not batch.rows and not batch.errors:
            return

        def stop_requested(_state) -> bool:
            return should_stop()

        stop = stop_any(stop_requested, stop_after_attempt(self._max_attempts)) if self._max_attempts else stop_requested
        for attempt in Retrying(
            wait=wait_exponential(multiplier=0.2, max=10),
            stop=stop,
            retry=retry_if_exception_type(Exception),
            before_sleep=self._log_retry,
            reraise=True,
        ):
            with attempt:
                try:
                    self._insert(batch)
                except Exception:
                    self._client = None  # reconnect on the next attempt
                    raise

    def _insert(self, batch: Batch) -> None:
        client = self._client_or_connect()
        if batch.rows:
            client.insert("order_events", batch.columns, column_names=EVENT_COLUMNS, column_oriented=True)
        if batch.errors:
            client.insert("ingest_errors", batch.errors, column_names=ERROR_COLUMNS)

    @staticmethod
    def _log_retry(state) -> None:
        log.warning(
            "ClickHouse write failed (attempt %d), retrying in %.1f s: %s",
            state.attempt_number, state.next_action.sleep if state.next_action else 0, state.outcome.exception(),
        )
