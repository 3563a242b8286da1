"""The pipeline end to end on a real Kafka broker: every view equals ground truth computed from the
produced messages, after duplicates, reordering, bad input, several consumers, rebalances and replays."""

from __future__ import annotations

import threading
import time

import pytest
from confluent_kafka import Consumer

from ingest.consumer import Ingest, IngestOptions, KafkaUnreachable, consumer_config
from ingest.run import run_ingest
from ingest.sink import ClickHouseSink
from orderstream.clickhouse import connect
from orderstream.migrate import migrate
from tests import kafka_io, workload
from tests.ground_truth import (
    diff_views,
    expected_dead_letters,
    expected_views,
    read_dead_letters,
    read_views,
    valid_events,
)

pytestmark = pytest.mark.timeout(300)


def ingest_until_idle(settings, **kwargs) -> dict:
    return run_ingest(settings, threading.Event(), exit_when_idle=True, **kwargs)


def assert_views_equal_truth(client, values) -> None:
    problems = diff_views(read_views(client), expected_views(valid_events(values)))
    assert not problems, "\n".join(problems)


def test_end_to_end_with_duplicates_reordering_and_bad_messages(settings, samples_dir):
    messages = workload.with_faults(workload.simulated(4000, seed=11), seed=11, samples_dir=samples_dir)
    kafka_io.send(settings.kafka_bootstrap_servers, settings.kafka_topic, messages)

    totals = ingest_until_idle(settings)

    stored = kafka_io.read_all(settings.kafka_bootstrap_servers, settings.kafka_topic)
    assert totals["messages"] == len(messages) == len(stored)
    client = connect(settings)
    assert_views_equal_truth(client, [value for *_, value in stored])

    # Every rejected message is in the dead-letter table, byte for byte, with its reason and coordinates.
    rejected = expected_dead_letters(stored)
    assert read_dead_letters(client, settings.kafka_topic) == rejected
    assert len(rejected) >= 13


@pytest.mark.parametrize("sample_file", [workload.COURSE_SAMPLES, workload.SPEC_SAMPLES])
def test_sample_captures_alone(settings, samples_dir, sample_file):
    messages = workload.sample_messages(samples_dir, sample_file)
    kafka_io.send(settings.kafka_bootstrap_servers, settings.kafka_topic, messages)
    ingest_until_idle(settings)
    client = connect(settings)
    assert_views_equal_truth(client, [v for _, v in messages])
    # RUR in the written spec is stored as RUB.
    currencies = {row[0] for row in client.query("SELECT DISTINCT currency FROM order_events").result_rows}
    assert "RUR" not in currencies and "RUB" in currencies


def test_two_consumers_with_rebalances_mid_run(settings):
    first, second = workload.simulated(6000, seed=5), workload.simulated(6000, seed=6, first_order_id=20_000_000)
    messages = workload.with_faults(first, seed=5, samples_dir=None)
    kafka_io.send(settings.kafka_bootstrap_servers, settings.kafka_topic, messages)
    migrate(settings)
    options = IngestOptions(topic=settings.kafka_topic, batch_size=200, batch_seconds=0.1, progress_seconds=60)
    config = consumer_config(settings.kafka_bootstrap_servers, settings.kafka_group_id)

    def start() -> tuple[threading.Thread, Ingest, threading.Event]:
        stop = threading.Event()
        ingest = Ingest(Consumer(config), ClickHouseSink(lambda: connect(settings)), options, stop)
        thread = threading.Thread(target=ingest.run)
        thread.start()
        return thread, ingest, stop

    a_thread, a, a_stop = start()
    b_thread, b, b_stop = start()
    _wait_for(lambda: a.totals["batches"] + b.totals["batches"] >= 5)
    # A third member joins (rebalance), takes partitions, then leaves mid-stream (rebalance again)
    # while more events arrive.
    c_thread, c, c_stop = start()
    kafka_io.send(settings.kafka_bootstrap_servers, settings.kafka_topic, second)
    _wait_for(lambda: c.totals["batches"] >= 2)
    c_stop.set()
    c_thread.join(60)
    _wait_for(lambda: kafka_io.group_caught_up(settings.kafka_bootstrap_servers, settings.kafka_group_id,
                                               settings.kafka_topic))
    a_stop.set()
    b_stop.set()
    for thread in (a_thread, b_thread, c_thread):
        thread.join(60)
        assert not thread.is_alive()

    assert min(a.totals["messages"], b.totals["messages"]) > 0
    assert_views_equal_truth(connect(settings), messages_values(messages + second))


def test_replaying_the_topic_into_a_fresh_store_gives_identical_views(settings, samples_dir, monkeypatch):
    messages = workload.with_faults(workload.simulated(3000, seed=21), seed=21, samples_dir=samples_dir)
    kafka_io.send(settings.kafka_bootstrap_servers, settings.kafka_topic, messages)
    ingest_until_idle(settings)
    first = read_views(connect(settings))

    replay = settings.model_copy(update={
        "clickhouse_database": settings.clickhouse_database + "_replay",
        "kafka_group_id": settings.kafka_group_id + "_replay",
    })
    ingest_until_idle(replay, instances=2)
    second = read_views(connect(replay))
    assert second == first
    assert not diff_views(first, expected_views(valid_events(messages_values(messages))))


def test_reingesting_the_same_topic_into_the_same_store_changes_nothing(settings):
    messages = workload.simulated(2000, seed=3)
    kafka_io.send(settings.kafka_bootstrap_servers, settings.kafka_topic, messages)
    ingest_until_idle(settings)
    before = read_views(connect(settings))
    # A new group reads everything again: as if every offset commit had been lost.
    again = settings.model_copy(update={"kafka_group_id": settings.kafka_group_id + "_again"})
    ingest_until_idle(again)
    assert read_views(connect(settings)) == before
    assert_views_equal_truth(connect(settings), messages_values(messages))


def test_clickhouse_outage_and_lost_responses_are_retried_without_loss(settings, samples_dir):
    """Writes fail for a while mid-run, some after ClickHouse already stored the rows (a lost response):
    the batch is retried with backoff, offsets wait for success, and the figures stay exact."""
    messages = workload.with_faults(workload.simulated(3000, seed=31), seed=31, samples_dir=samples_dir)
    kafka_io.send(settings.kafka_bootstrap_servers, settings.kafka_topic, messages)
    migrate(settings)
    outage = {"inserts": 0, "failures_left": 0, "failed": 0}

    class FlakyClient:
        def __init__(self, client):
            self._client = client

        def insert(self, *args, **kwargs):
            outage["inserts"] += 1
            if outage["inserts"] == 3:
                outage["failures_left"] = 4  # the outage starts at the third insert
            if outage["failures_left"]:
                outage["failures_left"] -= 1
                outage["failed"] += 1
                if outage["failed"] % 2:
                    self._client.insert(*args, **kwargs)  # stored, but the answer is lost
                raise ConnectionError("ClickHouse unreachable (simulated)")
            return self._client.insert(*args, **kwargs)

    options = IngestOptions(topic=settings.kafka_topic, batch_size=500, batch_seconds=0.1, exit_when_idle=True)
    config = consumer_config(settings.kafka_bootstrap_servers, settings.kafka_group_id)
    ingest = Ingest(Consumer(config), ClickHouseSink(lambda: FlakyClient(connect(settings))), options, threading.Event())
    totals = ingest.run()

    assert outage["failed"] == 4
    assert totals["messages"] == len(messages)
    assert_views_equal_truth(connect(settings), messages_values(messages))


def test_exit_when_idle_fails_when_kafka_is_unreachable(settings):
    options = IngestOptions(topic=settings.kafka_topic, exit_when_idle=True, unassigned_exit_seconds=1)
    config = consumer_config("127.0.0.1:1", settings.kafka_group_id)
    ingest = Ingest(Consumer(config), ClickHouseSink(lambda: connect(settings)), options, threading.Event())
    with pytest.raises(KafkaUnreachable):
        ingest.run()


def messages_values(messages):
    return [value for _, value in messages]


def _wait_for(condition, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
