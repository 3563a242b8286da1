"""A test workload: simulated orders with the faults real streams have, as raw Kafka messages.

Faults mixed in: exact re-deliveries, a Delivered sent before its Created, orders whose Created never
arrives, the course generator's and the written spec's sample events (malformed ones included), and
keys of every shape (none, text, 8-byte big-endian order id).
Simulated order ids start far above the samples' ids, so no two different events share an identity.
"""

from __future__ import annotations

import itertools
import json
import random
from pathlib import Path

from generator.orders import OrderSimulator, Shape
from orderstream.contract import encode_event, parse_event, parse_moment

Message = tuple[bytes | None, bytes | None]


def simulated(count: int, seed: int, first_order_id: int = 10_000_000) -> list[Message]:
    shape = Shape(
        users=500, warehouses=7, sellers=20, items=150, currencies=("RUB", "KZT", "USD"),
        in_flight=200, start_ticks=parse_moment("2026-11-28T22:00:00Z"), step_ms=60_000, first_order_id=first_order_id,
    )
    events = itertools.islice(OrderSimulator(shape, seed=seed).events(), count)
    rng = random.Random(seed)
    messages = []
    for event in events:
        key = _key(rng, event.order_id)
        messages.append((key, encode_event(event, single_position=len(event.positions) == 1 and rng.random() < 0.5)))
    return messages


def _key(rng: random.Random, order_id: int) -> bytes | None:
    return rng.choice([None, str(order_id).encode(), order_id.to_bytes(8, "big")])


def with_faults(messages: list[Message], seed: int, samples_dir: Path | None) -> list[Message]:
    rng = random.Random(seed)
    out = list(messages)
    # Delivered/Canceled before Created, and second events whose Created is lost.
    seconds = [i for i, (_, v) in enumerate(out) if _status(v) != "Created"]
    for i in rng.sample(seconds, min(20, len(seconds))):
        out.insert(max(0, i - rng.randrange(50, 400)), out.pop(i))
    created = [i for i, (_, v) in enumerate(out) if _status(v) == "Created"]
    for i in sorted(rng.sample(created, min(15, len(created))), reverse=True):
        out.pop(i)
    # Re-deliveries of ~3%, some far later.
    for _ in range(len(out) // 30):
        out.insert(rng.randrange(len(out)), out[rng.randrange(len(out))])
    if samples_dir is not None:
        out.extend(sample_messages(samples_dir, COURSE_SAMPLES))
    out.extend([(None, b'{"order_id": 5, "status": "Created"}'), (b"\x00" * 8, b"{}"), (None, None)])
    return out


def _status(value: bytes) -> str:
    return parse_event(value).status


COURSE_SAMPLES, SPEC_SAMPLES = "course-generator-events.jsonl", "spec-shape-events.jsonl"


def sample_messages(samples_dir: Path, *names: str) -> list[Message]:
    """The captured sample files. Each file is one producer's run: their order ids overlap, so mixing
    files would make different events share an identity, which no real stream does."""
    out = []
    for name in names or (COURSE_SAMPLES,):
        for line in (samples_dir / name).read_text().splitlines():
            record = json.loads(line)
            key = bytes.fromhex(record["key_hex"]) if record.get("key_hex") else None
            if "value_hex" in record:
                value = bytes.fromhex(record["value_hex"])
            else:
                value = None if record.get("value") is None else record["value"].encode()
            out.append((key, value))
    return out
