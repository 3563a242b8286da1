"""The generator honours the contract (Created first, at most one second event with the same positions),
is reproducible by seed, and replays captures byte for byte."""

from __future__ import annotations

import itertools
import subprocess
import sys
from collections import defaultdict

from generator.orders import OrderSimulator, Shape
from generator.produce import read_capture
from orderstream.contract import ITEM_ID_MAX, ITEM_ID_MIN, encode_event, parse_event, parse_moment
from tests import kafka_io, workload
from tests.conftest import ROOT


def _events(seed, count=20_000, **shape):
    return list(itertools.islice(OrderSimulator(Shape(**shape), seed=seed).events(), count))


def test_orders_follow_the_contract():
    events = _events(seed=1, start_ticks=parse_moment("2026-01-01T00:00:00Z"), step_ms=100)
    by_order = defaultdict(list)
    for e in events:
        by_order[e.order_id].append(e)
        assert ITEM_ID_MIN <= min(p.item_id for p in e.positions) <= max(p.item_id for p in e.positions) <= ITEM_ID_MAX
        assert parse_event(encode_event(e)) == e  # every event is contract-valid on the wire
    statuses = defaultdict(int)
    for order_events in by_order.values():
        assert order_events[0].status == "Created"
        assert len(order_events) <= 2
        if len(order_events) == 2:
            created, second = order_events
            assert second.status in ("Delivered", "Canceled")
            assert second.positions == created.positions
            assert second.moment_ticks > created.moment_ticks
        statuses[order_events[-1].status] += 1
    # The default shares: most orders end Delivered, some Canceled, some stay open.
    assert statuses["Delivered"] > statuses["Canceled"] > 0 and statuses["Created"] > 0


def test_same_seed_same_stream():
    start = parse_moment("2026-01-01T00:00:00Z")
    assert _events(seed=7, count=2000, start_ticks=start, step_ms=10) == _events(seed=7, count=2000, start_ticks=start, step_ms=10)
    assert _events(seed=7, count=2000, start_ticks=start, step_ms=10) != _events(seed=8, count=2000, start_ticks=start, step_ms=10)


def test_cli_produces_count_events_with_summary(kafka_bootstrap, topic):
    result = subprocess.run(
        [sys.executable, "-m", "generator", "--count", "3000", "--seed", "3", "--quiet", "--topic", topic],
        cwd=ROOT, env={"KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap, "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "3000 events" in result.stderr
    stored = kafka_io.read_all(kafka_bootstrap, topic)
    assert len(stored) == 3000
    for _, _, key, value in stored:
        assert int(key) == parse_event(value).order_id  # key = order id


def test_replay_publishes_the_capture_as_is(kafka_bootstrap, topic, samples_dir):
    capture = samples_dir / workload.COURSE_SAMPLES
    result = subprocess.run(
        [sys.executable, "-m", "generator", "--replay", str(capture), "--topic", topic, "--quiet"],
        cwd=ROOT, env={"KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap, "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    sent = sorted((k or b"", v or b"") for k, v in read_capture(capture))
    stored = sorted((k or b"", v or b"") for _, _, k, v in kafka_io.read_all(kafka_bootstrap, topic))
    assert stored == sent and len(sent) == len(capture.read_text().splitlines())


def test_replay_of_plain_json_lines(tmp_path):
    capture = tmp_path / "plain.jsonl"
    capture.write_bytes(b'{"order_id": 1}\nnot json\n\n{"value": "x", "key_hex": "01"}\n')
    assert list(read_capture(capture)) == [(None, b'{"order_id": 1}'), (None, b"not json"), (b"\x01", b"x")]
