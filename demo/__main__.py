"""python -m demo: the whole product in one process, no Docker, no servers.

Generator -> Kafka-protocol broker -> ingest -> embedded ClickHouse (chDB at CHDB_PATH) -> dashboard.
The broker is librdkafka's in-process DEVELOPMENT mock (see demo/dev_broker.py) unless
KAFKA_BOOTSTRAP_SERVERS is set, in which case that real broker is used. chDB lets one process own its
directory, so here the parts are threads of one process; in Docker each is its own process.
"""

from __future__ import annotations

import argparse
import itertools
import logging
import os
import sys
import threading
import time
from pathlib import Path

from generator.orders import OrderSimulator, Shape
from generator.produce import Publisher, make_producer, publish_events, replay
from ingest.run import run_ingest
from orderstream.contract import TICKS_PER_SECOND
from orderstream.settings import get_settings

log = logging.getLogger("demo")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m demo", description=__doc__)
    p.add_argument("--history-events", type=int, default=30_000, help="events spread over the past days first")
    p.add_argument("--history-days", type=float, default=7.0)
    p.add_argument("--rate", type=float, default=50.0, help="live events per second after the history")
    p.add_argument("--live-events", type=int, default=None, help="stop live generation after this many (default: never)")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--port", type=int, default=None, help="dashboard port (default: DASHBOARD_PORT, 8501)")
    p.add_argument("--no-dashboard", action="store_true", help="run the pipeline only, until everything is ingested")
    p.add_argument("--replay", type=Path, action="append", default=[],
                   help="also publish this captured JSON-lines file as-is (faults included); repeatable")
    args = p.parse_args(argv)

    settings = get_settings()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s")
    if not settings.embedded:
        print("the demo runs embedded chDB; unset CLICKHOUSE_HOST (for servers use docker compose)", file=sys.stderr)
        return 2

    broker = None
    if "kafka_bootstrap_servers" not in settings.model_fields_set:  # not configured: bring our own broker
        from demo.dev_broker import DevBroker

        broker = DevBroker(settings.kafka_topic)
        # Through the environment, so the dashboard's own settings (its Kafka lag figures) see it too.
        os.environ["KAFKA_BOOTSTRAP_SERVERS"] = broker.bootstrap_servers
        get_settings.cache_clear()
        settings = get_settings()
        log.warning("using librdkafka's in-process DEVELOPMENT broker at %s (memory only; not Apache Kafka)",
                    broker.bootstrap_servers)

    if not args.no_dashboard:
        # Import the dashboard's stack before the pipeline threads start: a module imported by two
        # threads at once (pandas: Streamlit here, clickhouse-connect in the ingest) can be seen half-built.
        import pandas  # noqa: F401
        import streamlit.web.bootstrap  # noqa: F401

        from dashboard.__main__ import serve
        from dashboard.config import get_dashboard_settings

    stop = threading.Event()
    produced = threading.Event()
    generator = threading.Thread(target=_generate, args=(settings, args, stop, produced), name="generator", daemon=True)
    generator.start()
    ingest = threading.Thread(target=_ingest, args=(settings, stop, produced, args.no_dashboard), name="ingest")
    ingest.start()
    try:
        if args.no_dashboard:
            while ingest.is_alive():
                ingest.join(0.5)
        else:
            port = args.port or get_dashboard_settings().port
            print(f"dashboard: http://localhost:{port}  (Ctrl+C stops everything)", file=sys.stderr)
            serve(port=port)
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        ingest.join()
        if broker is not None:
            broker.close()
    return 0


def _generate(settings, args, stop: threading.Event, produced: threading.Event) -> None:
    now = time.time_ns() // 100
    # Gaps are random (exponential): their sum strays by about sqrt(n) gaps, so aim 4 of those short of
    # now rather than letting the history run into the future.
    n = max(args.history_events, 1)
    history = Shape(first_order_id=1_000_000, start_ticks=now - int(args.history_days * 86_400 * TICKS_PER_SECOND),
                    step_ms=args.history_days * 86_400_000 / (n + 4 * n**0.5))
    publisher = Publisher(make_producer(settings.kafka_bootstrap_servers), settings.kafka_topic, progress=False)
    past = OrderSimulator(history, seed=args.seed)
    publish_events(publisher, past.events(), args.history_events, should_stop=stop.is_set)
    log.info("history: %s", publisher.summary.line())
    for capture in args.replay:
        publisher = Publisher(make_producer(settings.kafka_bootstrap_servers), settings.kafka_topic, progress=False)
        log.info("replayed %s: %s", capture, replay(publisher, capture).line())
    # Live orders continue with new order ids on the wall clock.
    live = OrderSimulator(Shape(first_order_id=history.first_order_id + 10**9), seed=args.seed + 1)
    publisher = Publisher(make_producer(settings.kafka_bootstrap_servers), settings.kafka_topic, args.rate, progress=False)
    events = live.events() if args.live_events is None else itertools.islice(live.events(), args.live_events)
    publish_events(publisher, events, args.live_events, should_stop=stop.is_set)
    produced.set()


def _ingest(settings, stop: threading.Event, produced: threading.Event, until_idle: bool) -> None:
    if until_idle:
        produced.wait()
    totals = run_ingest(settings, stop, exit_when_idle=until_idle,
                        consumer_overrides={"session.timeout.ms": 6000, "heartbeat.interval.ms": 500})
    log.info("ingest: %s", totals)


if __name__ == "__main__":
    sys.exit(main())
