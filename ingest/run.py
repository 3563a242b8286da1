"""Wiring: settings -> migrations -> one or more consumers (threads) -> sink, until stopped or idle."""

from __future__ import annotations

import logging
import threading

from confluent_kafka import Consumer

from ingest.consumer import Ingest, IngestOptions, KafkaUnreachable, consumer_config
from ingest.sink import ClickHouseSink
from orderstream.clickhouse import connect
from orderstream.migrate import migrate
from orderstream.settings import Settings

log = logging.getLogger(__name__)


def run_ingest(
    settings: Settings,
    stop: threading.Event,
    *,
    instances: int = 1,
    exit_when_idle: bool = False,
    consumer_overrides: dict | None = None,
) -> dict:
    """Run `instances` consumers of one group as threads of this process; return the summed totals."""
    migrate(settings)
    options = IngestOptions(
        topic=settings.kafka_topic,
        batch_size=settings.ingest_batch_size,
        batch_seconds=settings.ingest_batch_seconds,
        exit_when_idle=exit_when_idle,
    )
    config = consumer_config(settings.kafka_bootstrap_servers, settings.kafka_group_id, **(consumer_overrides or {}))
    results: list[dict] = []
    failures: list[BaseException] = []

    def one() -> None:
        try:
            ingest = Ingest(Consumer(config), ClickHouseSink(lambda: connect(settings)), options, stop)
            results.append(ingest.run())
        except KafkaUnreachable as exc:  # said once by the caller, no traceback needed
            failures.append(exc)
            stop.set()
        except BaseException as exc:  # reported below; the other instances stop too
            failures.append(exc)
            stop.set()
            log.exception("ingest instance failed")

    threads = [threading.Thread(target=one, name=f"ingest-{i}") for i in range(instances)]
    for t in threads:
        t.start()
    for t in threads:
        while t.is_alive():
            t.join(0.5)  # wake up for signals in the main thread
    if failures:
        raise failures[0]
    return {key: sum(r[key] for r in results) for key in ("messages", "events", "errors", "batches")}
