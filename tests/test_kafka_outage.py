"""Kafka goes down mid-run and comes back on the same data: the ingest waits, retries its commits, and
ends exact. Uses a broker of its own so the other tests' broker is never interrupted."""

from __future__ import annotations

import os
import subprocess
import threading
import time
import uuid

import pytest
from confluent_kafka import Consumer
from confluent_kafka.admin import AdminClient, NewTopic

from ingest.consumer import Ingest, IngestOptions, consumer_config
from ingest.sink import ClickHouseSink
from orderstream.clickhouse import connect
from orderstream.migrate import migrate
from tests import kafka_io, workload
from tests.conftest import ROOT
from tests.ground_truth import diff_views, expected_views, read_views, valid_events

pytestmark = pytest.mark.timeout(300)
PORT = os.environ.get("KAFKA_OUTAGE_TEST_PORT", "19192")


def _broker(command: str) -> None:
    env = {**os.environ, "KAFKA_TEST_PORT": PORT, "KAFKA_TEST_DIR": str(ROOT / "build" / "kafka-outage")}
    subprocess.run([str(ROOT / "tools/kafka/broker.sh"), command], check=True, env=env, timeout=120)


@pytest.fixture
def outage_broker(kafka_bootstrap):  # the shared broker's fixture resolves the jars first
    _broker("start")
    yield f"127.0.0.1:{PORT}"
    _broker("stop")


def test_broker_outage_mid_run(outage_broker, settings, monkeypatch):
    topic = f"outage_{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": outage_broker})
    for future in admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)]).values():
        future.result(30)
    s = settings.model_copy(update={"kafka_bootstrap_servers": outage_broker, "kafka_topic": topic})
    first, second = workload.simulated(4000, seed=41), workload.simulated(4000, seed=42, first_order_id=30_000_000)
    kafka_io.send(outage_broker, topic, first)
    migrate(s)

    stop = threading.Event()
    options = IngestOptions(topic=topic, batch_size=300, batch_seconds=0.1, progress_seconds=60)
    ingest = Ingest(Consumer(consumer_config(outage_broker, s.kafka_group_id)), ClickHouseSink(lambda: connect(s)),
                    options, stop)
    thread = threading.Thread(target=ingest.run)
    thread.start()
    deadline = time.monotonic() + 60
    while ingest.totals["batches"] < 3:
        assert time.monotonic() < deadline
        time.sleep(0.05)

    _broker("stop")
    time.sleep(5)  # the consumer keeps running without a broker: polls return nothing, commits fail
    assert thread.is_alive()
    _broker("resume")
    kafka_io.send(outage_broker, topic, second)

    deadline = time.monotonic() + 180
    while not kafka_io.group_caught_up(outage_broker, s.kafka_group_id, topic):
        assert time.monotonic() < deadline, "did not catch up after the broker came back"
        time.sleep(0.5)
    stop.set()
    thread.join(60)
    assert not thread.is_alive()

    expected = expected_views(valid_events(v for _, v in first + second))
    problems = diff_views(read_views(connect(s)), expected)
    assert not problems, "\n".join(problems)
