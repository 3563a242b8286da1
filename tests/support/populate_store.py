"""Fill an embedded chDB store with simulated orders: `python -m tests.support.populate_store`.

Test and benchmark support, not product code.

    python -m tests.support.populate_store --path DIR --events N --seed S --days D [--fast] [--batch 50000]

It runs in its own OS process on purpose: embedded chDB admits one process per data directory, and a
pytest process may already own its session directory. The events are a seeded OrderSimulator stream
spread evenly over the `days` days that end at the current minute; `DIR/populate.json` records
everything needed to regenerate exactly the same events (`events_from_meta`) for ground truth.

Two paths into `order_events` (the materialized views fire the same way for both):
- default: each event is encoded as the Kafka message and goes through ingest's Batch and
  ClickHouseSink, as the product does;
- `--fast` (the benchmark's 10M loads): columns are built straight from the simulated events, skipping
  the JSON encode + parse round trip that would cost most of the time; inserts are `--batch` events each.
"""

from __future__ import annotations

import argparse
import json
import queue
import sys
import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import Iterator

from generator.orders import OrderSimulator, Shape
from orderstream.contract import TICKS_PER_SECOND, OrderEvent

META = "populate.json"
TOPIC = "order_events"
DATABASE = "shop"


def shape_for(events: int, days: float, end_ticks: int) -> Shape:
    """A shape whose `events` events spread over `days` days that end at `end_ticks`, none later.

    Gaps are exponential: their sum over n events strays by about sqrt(n) gaps from its mean, so the
    mean gap aims 4 standard deviations short of the end (20k events: the last ~20 h of 30 days stay
    empty; 10M events: the last ~1 h) rather than putting events in the future."""
    span_ms = days * 86_400_000
    n = max(1, events)
    step_ms = span_ms / (n + 4 * n ** 0.5)
    return Shape(start_ticks=end_ticks - int(span_ms * TICKS_PER_SECOND / 1000), step_ms=step_ms)


def iter_events(events: int, seed: int, shape: Shape) -> Iterator[OrderEvent]:
    stream = OrderSimulator(shape, seed=seed).events()
    for _ in range(events):
        yield next(stream)


def events_from_meta(path: str | Path) -> list[OrderEvent]:
    """Exactly the events a populate run wrote into the store at `path`."""
    meta = read_meta(path)
    return list(iter_events(meta["events"], meta["seed"], Shape(**_shape_args(meta["shape"]))))


def read_meta(path: str | Path) -> dict | None:
    file = Path(path) / META
    return json.loads(file.read_text()) if file.exists() else None


def _shape_args(raw: dict) -> dict:
    return {k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()}


def settings_for(path: str | Path):
    from orderstream.settings import Settings
    return Settings(clickhouse_host="", chdb_path=Path(path), clickhouse_database=DATABASE)


def _fast_columns(chunk: list[OrderEvent], first_offset: int) -> list[list]:
    """The order_events columns of ingest.batch.EVENT_COLUMNS, built like Batch.add without the JSON."""
    order_id, status, position, moment, user_id, warehouse_id = [], [], [], [], [], []
    item_id, quantity, currency, units, nanos, k_offset = [], [], [], [], [], []
    for offset, e in enumerate(chunk, start=first_offset):
        n = len(e.positions)
        order_id += [e.order_id] * n
        status += [e.status] * n
        moment += [e.moment_ticks] * n
        user_id += [e.user_id] * n
        warehouse_id += [e.warehouse_id] * n
        k_offset += [offset] * n
        position += range(n)
        for p in e.positions:
            item_id.append(p.item_id)
            quantity.append(p.quantity)
            currency.append(p.currency)
            units.append(p.units)
            nanos.append(p.nanos)
    rows = len(order_id)
    return [order_id, status, position, moment, user_id, warehouse_id, item_id, quantity, currency, units,
            nanos, [TOPIC] * rows, [0] * rows, k_offset]


def populate(path: str | Path, events: int, seed: int, days: float, *, fast: bool = False,
             batch: int = 50_000, end_ticks: int | None = None, log=print) -> dict:
    """Load the events into the store at `path` (migrating it first); returns and records the meta."""
    from ingest.batch import EVENT_COLUMNS, Batch
    from ingest.sink import ClickHouseSink
    from orderstream.clickhouse import connect
    from orderstream.contract import encode_event
    from orderstream.migrate import migrate

    path = Path(path)
    if end_ticks is None:  # the current minute, so "last N days" presets cover the data exactly
        end_ticks = (time.time_ns() // 100) // (60 * TICKS_PER_SECOND) * (60 * TICKS_PER_SECOND)
    shape = shape_for(events, days, end_ticks)
    settings = settings_for(path)
    migrate(settings)
    client = connect(settings)
    sink = ClickHouseSink(lambda: client)
    started = time.perf_counter()
    gen_s = write_s = 0.0
    done = rows = 0
    stream = iter_events(events, seed, shape)
    # Fast mode overlaps preparing the next chunk (Python) with inserting this one (chDB releases the GIL).
    pending: queue.Queue = queue.Queue(maxsize=2)
    failure: list[BaseException] = []

    def writer() -> None:
        nonlocal write_s
        while (columns := pending.get()) is not None:
            if failure:
                continue
            t = time.perf_counter()
            try:
                client.insert("order_events", columns, column_names=EVENT_COLUMNS, column_oriented=True)
            except BaseException as exc:  # surfaced in the main thread
                failure.append(exc)
            write_s += time.perf_counter() - t

    thread = threading.Thread(target=writer, name="populate-writer", daemon=True)
    if fast:
        thread.start()
    while done < events and not failure:
        t0 = time.perf_counter()
        chunk = [e for _, e in zip(range(min(batch, events - done)), stream)]
        if fast:
            columns = _fast_columns(chunk, done)
            rows += len(columns[0])
            gen_s += time.perf_counter() - t0
            pending.put(columns)
        else:
            b = Batch()
            for offset, e in enumerate(chunk, start=done):
                b.add(TOPIC, 0, offset, str(e.order_id).encode(), encode_event(e))
            t1 = time.perf_counter()
            sink.write(b)
            rows += b.rows
            gen_s += t1 - t0
            write_s += time.perf_counter() - t1
        done += len(chunk)
        if log and (done == events or done // batch % 10 == 0):
            elapsed = time.perf_counter() - started
            log(f"  prepared {done:,}/{events:,} events ({rows:,} rows) in {elapsed:,.1f} s: "
                f"{done / elapsed:,.0f} events/s (prepare {gen_s:,.1f} s, insert {write_s:,.1f} s)", flush=True)
    if fast:
        pending.put(None)
        thread.join()
    if failure:
        raise failure[0]
    elapsed = time.perf_counter() - started
    meta = {"events": events, "seed": seed, "days": days, "rows": rows, "fast": fast, "batch": batch,
            "shape": asdict(shape), "end_ticks": end_ticks, "load_seconds": elapsed,
            "prepare_seconds": gen_s, "insert_seconds": write_s, "events_per_second": events / elapsed}
    (path / META).write_text(json.dumps(meta, indent=1))
    return meta


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", required=True)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--days", type=float, default=30)
    parser.add_argument("--batch", type=int, default=50_000, help="events per insert")
    parser.add_argument("--fast", action="store_true", help="build columns directly (no JSON round trip)")
    args = parser.parse_args(argv)
    meta = populate(args.path, args.events, args.seed, args.days, fast=args.fast, batch=args.batch)
    print(json.dumps({k: meta[k] for k in ("events", "rows", "load_seconds", "events_per_second")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
