"""Producing to Kafka: simulated orders at a chosen rate, or a captured JSON-lines file as-is."""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

from confluent_kafka import KafkaException, Producer

from orderstream.contract import OrderEvent, encode_event

PROGRESS_EVERY_S = 2.0


def make_producer(bootstrap_servers: str, **overrides: object) -> Producer:
    config = {
        "bootstrap.servers": bootstrap_servers,
        # Idempotence: librdkafka's own retries never duplicate or reorder a message within a partition.
        "enable.idempotence": True,
        "linger.ms": 20,
        "batch.size": 1_000_000,
        "compression.type": "lz4",
        "queue.buffering.max.messages": 500_000,
        "delivery.report.only.error": True,
    }
    config.update(overrides)
    return Producer(config)


@dataclass
class Summary:
    sent: int = 0
    failed: int = 0
    by_status: Counter = field(default_factory=Counter)
    started: float = field(default_factory=time.monotonic)

    @property
    def seconds(self) -> float:
        return time.monotonic() - self.started

    def line(self) -> str:
        rate = self.sent / self.seconds if self.seconds > 0 else 0.0
        statuses = " ".join(f"{k}={v}" for k, v in sorted(self.by_status.items()))
        failed = f", {self.failed} FAILED" if self.failed else ""
        return f"{self.sent} events in {self.seconds:.1f} s ({rate:,.0f} events/s){failed} {statuses}".rstrip()


class Publisher:
    """Sends messages with backpressure, a rate limit, and a progress line on long runs."""

    def __init__(self, producer: Producer, topic: str, rate: float | None = None, progress: bool = True):
        self.producer, self.topic, self.rate, self.progress = producer, topic, rate, progress
        self.summary = Summary()
        self._last_progress = self.summary.started
        # Pace about 20 times a second at a set rate (a steady stream, not bursts); otherwise every 1000
        # messages, where the check costs nothing measurable.
        self._pace_every = max(1, min(1000, int(rate / 20))) if rate else 1000

    def _on_error(self, err, _msg) -> None:
        if err is not None:
            self.summary.failed += 1
            print(f"delivery failed: {err}", file=sys.stderr)

    def send(self, key: bytes | None, value: bytes | None, label: str) -> None:
        while True:
            try:
                self.producer.produce(self.topic, value, key, on_delivery=self._on_error)
                break
            except BufferError:  # local queue full: let librdkafka drain it
                self.producer.poll(0.05)
        summary = self.summary
        summary.sent += 1
        summary.by_status[label] += 1
        if summary.sent % self._pace_every == 0:
            self.producer.poll(0)
            self._pace()

    def _pace(self) -> None:
        now = time.monotonic()
        if self.rate:
            ahead = self.summary.sent / self.rate - (now - self.summary.started)
            if ahead > 0:
                time.sleep(ahead)
        if self.progress and now - self._last_progress >= PROGRESS_EVERY_S:
            self._last_progress = now
            print(f"\r{self.summary.line()}", end="", file=sys.stderr, flush=True)

    def finish(self, timeout: float = 60.0) -> Summary:
        remaining = self.producer.flush(timeout)
        if remaining:
            raise KafkaException(f"{remaining} messages still undelivered after {timeout} s")
        if self.progress:
            print(file=sys.stderr)
        return self.summary


def publish_events(
    publisher: Publisher,
    events: Iterable[OrderEvent],
    count: int | None,
    should_stop: Callable[[], bool] = lambda: False,
    spec_shape: bool = False,
    duplicates: float = 0.0,
    rng=None,
) -> Summary:
    """Send `count` events (None: until should_stop()); `duplicates` re-sends that share of them, as a
    producer retrying after a lost acknowledgement would."""
    rouble_code = "RUR" if spec_shape else "RUB"
    summary, send = publisher.summary, publisher.send
    for event in events:
        if (count is not None and summary.sent >= count) or should_stop():
            break
        value = encode_event(event, single_position=spec_shape, rouble_code=rouble_code)
        key = str(event.order_id).encode()
        send(key, value, event.status)
        if duplicates and rng.random() < duplicates and (count is None or summary.sent < count):
            send(key, value, "duplicate")
    return publisher.finish()


def read_capture(path: Path) -> Iterator[tuple[bytes | None, bytes | None]]:
    """Messages of a captured JSON-lines file, one per line. A line may be the message value itself, or a
    capture record {"key_hex", "value" | "value_hex"} holding the exact key and value bytes."""
    with path.open("rb") as lines:
        for raw in lines:
            line = raw.rstrip(b"\r\n")
            if not line:
                continue
            record = _capture_record(line)
            if record is None:
                yield None, line
                continue
            key = bytes.fromhex(record["key_hex"]) if record.get("key_hex") else None
            if "value_hex" in record:
                yield key, bytes.fromhex(record["value_hex"])
            else:
                value = record.get("value")
                yield key, None if value is None else value.encode()


def _capture_record(line: bytes) -> dict | None:
    try:
        record = json.loads(line)
    except (ValueError, UnicodeDecodeError):
        return None
    if isinstance(record, dict) and ("value" in record or "value_hex" in record) and "order_id" not in record:
        return record
    return None


def replay(publisher: Publisher, path: Path) -> Summary:
    for key, value in read_capture(path):
        publisher.send(key, value, "replayed")
    return publisher.finish()
