"""The health page's Kafka end offsets, against the real broker and an unreachable one."""

from __future__ import annotations

import time

from dashboard import kafka_lag
from orderstream.settings import get_settings
from tests import kafka_io, workload


def test_high_watermarks_equal_the_topic_ends(settings):
    kafka_io.send(settings.kafka_bootstrap_servers, settings.kafka_topic, workload.simulated(500, seed=2))
    ends = {}
    for partition, offset, _, _ in kafka_io.read_all(settings.kafka_bootstrap_servers, settings.kafka_topic):
        ends[(settings.kafka_topic, partition)] = max(ends.get((settings.kafka_topic, partition), 0), offset + 1)
    partitions = [(settings.kafka_topic, p) for p in range(3)]
    assert kafka_lag.high_watermarks(partitions) == {tp: ends.get(tp, 0) for tp in partitions}


def test_unreachable_kafka_gives_none_quickly(settings, monkeypatch):
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1")
    get_settings.cache_clear()
    started = time.monotonic()
    assert kafka_lag.high_watermarks([(settings.kafka_topic, 0)]) is None
    assert time.monotonic() - started < 10
