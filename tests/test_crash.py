"""Crashes: `kill -9` the ingest process at random moments, restart it, and the views still equal ground
truth exactly. Each ingest is its own OS process with its own chDB directory, as in production."""

from __future__ import annotations

import os
import pickle
import random
import signal
import subprocess
import sys
import time

import pytest

from tests import kafka_io, workload
from tests.conftest import ROOT
from tests.ground_truth import diff_views, expected_views, valid_events

pytestmark = pytest.mark.timeout(600)


def _env(settings, chdb_dir) -> dict:
    return {
        **os.environ,
        "CHDB_PATH": str(chdb_dir),
        "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
        "KAFKA_TOPIC": settings.kafka_topic,
        "KAFKA_GROUP_ID": settings.kafka_group_id,
        "CLICKHOUSE_DATABASE": "shop",
        "INGEST_BATCH_SIZE": "100",
        "INGEST_BATCH_SECONDS": "0.2",
        "LOG_LEVEL": "WARNING",
    }


def _views(env, tmp_path) -> dict:
    out = tmp_path / "views.pickle"
    subprocess.run([sys.executable, "-m", "tests.view_dump", str(out)], cwd=ROOT, env=env, check=True, timeout=120)
    return pickle.loads(out.read_bytes())


def test_kill_dash_nine_at_random_moments(settings, samples_dir, tmp_path):
    rng = random.Random(1234)
    messages = workload.with_faults(workload.simulated(12_000, seed=77), seed=77, samples_dir=samples_dir)
    kafka_io.send(settings.kafka_bootstrap_servers, settings.kafka_topic, messages)
    env = _env(settings, tmp_path / "chdb")
    command = [sys.executable, "-m", "ingest"]

    progress = lambda: kafka_io.group_progress(settings.kafka_bootstrap_servers, settings.kafka_group_id,
                                               settings.kafka_topic)
    kills, committed_at_kill = 0, []
    while kills < 4:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stderr=subprocess.DEVNULL)
        # Kill at a random point of real progress: after the group committed a random number of messages
        # more than at the previous kill, so the process is mid-batch, mid-write or mid-commit.
        before, total = progress()
        target = min(total - 1, before + rng.randrange(200, 1500))
        deadline = time.monotonic() + 120
        while progress()[0] < target and process.poll() is None and time.monotonic() < deadline:
            time.sleep(rng.uniform(0.0, 0.05))
        assert process.poll() is None, "ingest exited by itself"
        process.send_signal(signal.SIGKILL)
        process.wait(30)
        kills += 1
        committed_at_kill.append(progress()[0])
    assert committed_at_kill[-1] < len(messages), "the kills must hit a run in progress"

    drain = subprocess.run(command + ["--exit-when-idle"], cwd=ROOT, env=env, timeout=300, capture_output=True, text=True)
    assert drain.returncode == 0, drain.stderr[-3000:]

    views = _views(env, tmp_path)
    problems = diff_views(views, expected_views(valid_events(v for _, v in messages)))
    assert not problems, "\n".join(problems)
    assert len(views["ingest_errors"]) == sum(1 for _, v in messages if not valid_events([v]))


def test_sigterm_flushes_commits_and_exits_cleanly(settings, tmp_path):
    """After SIGTERM the store holds exactly what the group committed: no written-but-uncommitted batch
    and no committed-but-unwritten one."""
    messages = workload.simulated(15_000, seed=8)
    kafka_io.send(settings.kafka_bootstrap_servers, settings.kafka_topic, messages)
    env = _env(settings, tmp_path / "chdb")
    process = subprocess.Popen([sys.executable, "-m", "ingest"], cwd=ROOT, env={**env, "LOG_LEVEL": "INFO"},
                               stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while kafka_io.group_progress(settings.kafka_bootstrap_servers, settings.kafka_group_id, settings.kafka_topic)[0] < 3000:
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    _, log = process.communicate(timeout=60)
    assert process.returncode == 0, log[-3000:]
    assert "SIGTERM: flushing, committing and closing" in log

    committed = _committed_offsets(settings)
    assert 0 < sum(committed.values()) < len(messages), "SIGTERM must arrive mid-run"
    prefix = [value for partition, offset, _, value in
              kafka_io.read_all(settings.kafka_bootstrap_servers, settings.kafka_topic)
              if offset < committed.get(partition, 0)]
    problems = diff_views(_views(env, tmp_path), expected_views(valid_events(prefix)))
    assert not problems, "\n".join(problems)


def _committed_offsets(settings) -> dict[int, int]:
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": settings.kafka_bootstrap_servers, "group.id": settings.kafka_group_id})
    try:
        return {tp.partition: max(tp.offset, 0) for tp in
                consumer.committed([TopicPartition(settings.kafka_topic, p) for p in range(3)], timeout=10)}
    finally:
        consumer.close()
