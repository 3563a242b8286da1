"""Shared fixtures: the real Kafka broker, the one embedded ClickHouse directory of this test process,
and a fresh database per test."""

from __future__ import annotations

import os
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient, NewTopic

from orderstream.settings import Settings, get_settings

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT.parent / "shared" / "samples"

# chDB lets a process open a single data directory for its whole life: every in-process test shares
# this one and isolates itself with a database of its own (the `settings` fixture).
_CHDB_DIR = Path(tempfile.mkdtemp(prefix="orderstream-test-chdb-"))
os.environ["CHDB_PATH"] = str(_CHDB_DIR)
os.environ.pop("CLICKHOUSE_HOST", None)
get_settings.cache_clear()

pytest_plugins = ["tests.dashboard_conftest_helpers"]


@pytest.fixture(scope="session")
def chdb_path() -> Path:
    """The embedded ClickHouse directory every in-process test of this session shares."""
    return _CHDB_DIR


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    """A real single-node Apache Kafka broker (KRaft), started from the Maven jars if not yet running."""
    port = os.environ.get("KAFKA_TEST_PORT", "19092")
    subprocess.run([str(ROOT / "tools/kafka/broker.sh"), "start"], check=True, env={**os.environ, "KAFKA_TEST_PORT": port})
    return f"127.0.0.1:{port}"


@pytest.fixture
def topic(kafka_bootstrap) -> str:
    """A fresh 3-partition topic, as the course's producer uses."""
    name = f"orders_{uuid.uuid4().hex[:12]}"
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    for future in admin.create_topics([NewTopic(name, num_partitions=3, replication_factor=1)]).values():
        future.result(30)
    return name


@pytest.fixture
def settings(monkeypatch, kafka_bootstrap, topic) -> Settings:
    """Settings for one test: its own topic, consumer group and ClickHouse database in the shared chDB."""
    suffix = uuid.uuid4().hex[:10]
    values = {
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "KAFKA_TOPIC": topic,
        "KAFKA_GROUP_ID": f"test_{suffix}",
        "CLICKHOUSE_DATABASE": f"test_{suffix}",
        "INGEST_BATCH_SECONDS": "0.3",
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    if not SAMPLES.is_dir():
        pytest.fail(f"sample events missing: {SAMPLES} (shared/samples beside the checkout)")
    return SAMPLES
