"""Fixtures for the dashboard tests: one chDB store per pytest process, a database per scenario.

Only one chDB directory can be opened per process, for its whole life: these use the session-wide store
of tests/conftest.py (`chdb_path`). The dashboard's data lives in its own databases so other tests' data
never mixes in. Registered as a plugin by tests/conftest.py.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import pytest

from generator.orders import OrderSimulator, Shape
from ingest.batch import Batch
from ingest.sink import ClickHouseSink
from orderstream.clickhouse import connect
from orderstream.contract import OrderEvent, encode_event, parse_moment
from orderstream.migrate import migrate
from orderstream.settings import get_settings

POPULATED, EMPTY, UNMIGRATED = "dash_test", "dash_empty", "dash_unmigrated"
TOPIC = "order_events"
BAD_MESSAGES = [b"{not json", b'{"order_id": 1}', "\u00ff".encode("latin-1")]


@dataclass(frozen=True)
class Dataset:
    events: list[OrderEvent]  # every event stored, re-deliveries included
    dead_letters: int


_dataset: Dataset | None = None


@pytest.fixture(scope="session")
def dashboard_store(chdb_path) -> Dataset:
    """The session's chDB store with the three dashboard databases, the populated one loaded once."""
    global _dataset
    get_settings.cache_clear()
    if _dataset is None:
        _dataset = _prepare()
    return _dataset


def _settings(database: str):
    return get_settings().model_copy(update={"clickhouse_database": database})


def _prepare() -> Dataset:
    admin = connect(get_settings(), database=False)
    for database in (POPULATED, EMPTY, UNMIGRATED):
        admin.command(f"DROP DATABASE IF EXISTS {database}")
    migrate(_settings(EMPTY))
    migrate(_settings(POPULATED))
    events = generated_events()
    # Every 17th event is delivered twice, in another batch, as Kafka's at-least-once does.
    replays = events[::17]
    sink = ClickHouseSink(lambda: connect(_settings(POPULATED)))
    offsets = itertools.count()
    for chunk in (events[:2_000], events[2_000:], replays):
        batch = Batch()
        for event in chunk:
            offset = next(offsets)
            batch.add(TOPIC, offset % 3, offset, None, encode_event(event))
        sink.write(batch)
    batch = Batch()
    for raw in BAD_MESSAGES:
        offset = next(offsets)
        batch.add(TOPIC, 0, offset, b"key", raw)
    sink.write(batch)
    return Dataset(events + replays, len(BAD_MESSAGES))


def generated_events() -> list[OrderEvent]:
    shape = Shape(users=300, warehouses=6, sellers=12, items=120, currencies=("RUB", "KZT", "USD"),
                  in_flight=150, step_ms=45_000, start_ticks=parse_moment("2026-11-01T00:00:00Z"))
    return list(itertools.islice(OrderSimulator(shape, seed=20261101).events(), 4_000))


@pytest.fixture
def use_database(monkeypatch, dashboard_store):
    """Point the settings (and so the app) at one of the dashboard databases."""
    def use(database: str = POPULATED, **env: str) -> None:
        monkeypatch.setenv("CLICKHOUSE_DATABASE", database)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
    yield use
    monkeypatch.undo()
    get_settings.cache_clear()
