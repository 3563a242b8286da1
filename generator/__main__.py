"""python -m generator: produce realistic order events to Kafka, or replay a capture (--replay FILE)."""

from __future__ import annotations

import argparse
import random
import re
import signal
import sys
from pathlib import Path

from generator.orders import OrderSimulator, Shape
from generator.produce import Publisher, make_producer, publish_events, replay
from orderstream.contract import InvalidEvent, parse_moment
from orderstream.settings import get_settings


def build_parser() -> argparse.ArgumentParser:
    d = Shape()
    p = argparse.ArgumentParser(prog="python -m generator", description=__doc__)
    p.add_argument("--count", type=int, default=None, help="events to send (default: unlimited)")
    p.add_argument("--rate", type=float, default=None, help="events per second (default: as fast as the broker takes)")
    p.add_argument("--seed", type=int, default=None, help="seed for a reproducible stream")
    p.add_argument("--in-flight", type=int, default=d.in_flight, help="orders open at once")
    p.add_argument("--users", type=int, default=d.users)
    p.add_argument("--warehouses", type=int, default=d.warehouses)
    p.add_argument("--sellers", type=int, default=d.sellers)
    p.add_argument("--items", type=int, default=d.items)
    p.add_argument("--currencies", default=",".join(d.currencies), help="comma-separated ISO-4217 codes")
    p.add_argument("--positions", default=f"{d.positions[0]}-{d.positions[1]}", help="positions per order, MIN-MAX")
    p.add_argument("--deliver", type=float, default=d.deliver, help="share of orders that end Delivered")
    p.add_argument("--cancel", type=float, default=d.cancel, help="share of orders that end Canceled")
    p.add_argument("--duplicates", type=float, default=0.0, help="share of events sent twice (producer retries)")
    p.add_argument("--start", default=None, help="simulated time starts here (ISO-8601); default: the wall clock")
    p.add_argument("--step-ms", type=float, default=None, help="mean simulated gap between events (with --start)")
    p.add_argument("--first-order-id", type=int, default=d.first_order_id)
    p.add_argument("--spec-shape", action="store_true", help="write positions as one object and roubles as RUR")
    p.add_argument("--replay", type=Path, default=None, help="publish this JSON-lines capture as-is and exit")
    p.add_argument("--topic", default=None, help="default: KAFKA_TOPIC")
    p.add_argument("--quiet", action="store_true", help="no progress line")
    return p


def shape_from(args: argparse.Namespace, parser: argparse.ArgumentParser) -> Shape:
    """The simulation's shape from the arguments, or a one-line usage error."""
    low, _, high = args.positions.partition("-")
    if not (low.isdigit() and (high or low).isdigit()) or not 1 <= int(low) <= int(high or low):
        parser.error(f"--positions {args.positions!r}: expected MIN-MAX with 1 <= MIN <= MAX")
    currencies = [c.strip().upper() for c in args.currencies.split(",") if c.strip()]
    bad = [c for c in currencies if not re.fullmatch(r"[A-Z]{3}", c)]
    if not currencies or bad:
        parser.error(f"--currencies: ISO-4217 codes expected, got {', '.join(bad) or 'none'}")
    if not (0 <= args.deliver <= 1 and 0 <= args.cancel <= 1 and args.deliver + args.cancel <= 1):
        parser.error("--deliver and --cancel are shares: each within 0..1, together at most 1")
    for name in ("count", "users", "warehouses", "sellers", "items", "in_flight"):
        value = getattr(args, name)
        if value is not None and value < (0 if name == "count" else 1):
            parser.error(f"--{name.replace('_', '-')} must be {'>= 0' if name == 'count' else '>= 1'}")
    try:
        start = parse_moment(args.start) if args.start else None
    except InvalidEvent as exc:
        parser.error(f"--start: {exc}")
    return Shape(
        users=args.users,
        warehouses=args.warehouses,
        sellers=args.sellers,
        items=args.items,
        currencies=tuple(currencies),
        positions=(int(low), int(high or low)),
        in_flight=args.in_flight,
        deliver=args.deliver,
        cancel=args.cancel,
        step_ms=args.step_ms if args.step_ms is not None else (1.0 if start is not None else None),
        start_ticks=start,
        first_order_id=args.first_order_id,
    )


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.replay and not args.replay.is_file():
        parser.error(f"--replay: no such file {args.replay}")
    shape = None if args.replay else shape_from(args, parser)
    settings = get_settings()
    publisher = Publisher(
        make_producer(settings.kafka_bootstrap_servers), args.topic or settings.kafka_topic, args.rate, not args.quiet
    )
    stopping = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopping.append(True))

    if args.replay:
        summary = replay(publisher, args.replay)
    else:
        simulator = OrderSimulator(shape, seed=args.seed)
        summary = publish_events(
            publisher,
            simulator.events(),
            args.count,
            should_stop=lambda: bool(stopping),
            spec_shape=args.spec_shape,
            duplicates=args.duplicates,
            rng=random.Random(args.seed),
        )
    print(f"generator: {summary.line()}", file=sys.stderr)
    return 1 if summary.failed else 0


if __name__ == "__main__":
    sys.exit(main())
