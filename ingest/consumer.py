"""The consumer: poll -> decode into a batch -> write to ClickHouse -> commit the batch's offsets.

Offsets are committed only after ClickHouse acknowledged the batch, so nothing acknowledged to Kafka is
missing from ClickHouse; anything written but not committed (crash, rebalance, lost commit) is delivered
again and collapses on the idempotent keys of the tables. Writing batch N runs in a second thread while
batch N+1 is decoded: on two cores the write (network or the embedded engine) overlaps the Python decode.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from confluent_kafka import OFFSET_INVALID, Consumer, KafkaError, KafkaException, TopicPartition

from ingest.batch import Batch
from ingest.sink import ClickHouseSink

log = logging.getLogger(__name__)


class KafkaUnreachable(RuntimeError):
    """Raised when the broker cannot be reached for longer than a consumer may wait idle."""


@dataclass(frozen=True)
class IngestOptions:
    topic: str
    batch_size: int = 20_000  # messages
    batch_seconds: float = 1.0
    exit_when_idle: bool = False
    progress_seconds: float = 10.0
    # With --exit-when-idle: how long a consumer that got no partition at all waits before it gives up.
    unassigned_exit_seconds: float = 20.0


def consumer_config(bootstrap_servers: str, group_id: str, **overrides: object) -> dict:
    config = {
        "bootstrap.servers": bootstrap_servers,
        "group.id": group_id,
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        # A crashed instance's partitions move to the others within seconds, not minutes.
        "session.timeout.ms": 10_000,
        "heartbeat.interval.ms": 1_000,
        "max.poll.interval.ms": 300_000,
        "fetch.max.bytes": 64 * 1024 * 1024,
        # The idle check asks for end offsets on the connection a fetch may be parked on: don't park long.
        "fetch.wait.max.ms": 50,
    }
    config.update(overrides)
    return config


class Ingest:
    def __init__(self, consumer: Consumer, sink: ClickHouseSink, options: IngestOptions, stop: threading.Event):
        self.consumer, self.sink, self.options, self.stop = consumer, sink, options, stop
        self.batch = Batch()
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="clickhouse-writer")
        self._in_flight: tuple[Future, Batch] | None = None
        self._uncommitted: dict[tuple[str, int], int] = {}
        self._assigned: set[tuple[str, int]] = set()
        self.totals = {"messages": 0, "events": 0, "errors": 0, "batches": 0}
        self._started = self._last_progress = time.monotonic()
        self._last_progress_events = 0
        self._unassigned_since: float | None = time.monotonic()

    # --- the loop -------------------------------------------------------------------------------------
    def run(self) -> dict:
        self.consumer.subscribe([self.options.topic], on_assign=self._on_assign, on_revoke=self._on_revoke,
                                on_lost=self._on_lost)
        try:
            while not self.stop.is_set():
                room = self.options.batch_size - self.batch.messages
                messages = self.consumer.consume(num_messages=max(1, min(room, 10_000)), timeout=0.2)
                for message in messages:
                    self._add(message)
                if self._batch_due():
                    self._flush()
                self._collect_write()
                self._log_progress()
                if self.options.exit_when_idle and not messages and self._caught_up():
                    log.info("consumed and committed everything up to the end of every assigned partition")
                    break
            self._flush(wait=True)
        finally:
            self._writer.shutdown(wait=True)
            self.consumer.close()  # leaves the group, so its partitions move on at once
            self._log_progress(final=True)
        return self.totals

    def _add(self, message) -> None:
        error = message.error()
        if error is not None:
            if error.code() != KafkaError._PARTITION_EOF:
                log.warning("Kafka: %s", error)
            return
        self.batch.add(message.topic(), message.partition(), message.offset(), message.key(), message.value())

    def _batch_due(self) -> bool:
        b = self.batch
        return b.messages >= self.options.batch_size or (
            b.messages > 0 and time.monotonic() - b.opened >= self.options.batch_seconds
        )

    # --- write and commit -----------------------------------------------------------------------------
    def _flush(self, wait: bool = False) -> None:
        """Hand the current batch to the writer; at most one write is in flight, in order."""
        self._collect_write(block=True)
        batch, self.batch = self.batch, Batch()
        if batch.messages:
            self._in_flight = (self._writer.submit(self.sink.write, batch, self.stop.is_set), batch)
        if wait:
            self._collect_write(block=True)
        self._commit()

    def _collect_write(self, block: bool = False) -> None:
        if self._in_flight is None:
            return
        future, batch = self._in_flight
        if not block and not future.done():
            return
        self._in_flight = None
        future.result()  # a write abandoned on shutdown raises here: its offsets are never committed
        self.totals["messages"] += batch.messages
        self.totals["events"] += batch.events
        self.totals["errors"] += len(batch.errors)
        self.totals["batches"] += 1
        for tp, offset in batch.next_offsets.items():
            if tp in self._assigned:
                self._uncommitted[tp] = max(offset, self._uncommitted.get(tp, 0))
        self._commit()

    def _commit(self) -> None:
        if not self._uncommitted:
            return
        offsets = [TopicPartition(t, p, o) for (t, p), o in self._uncommitted.items()]
        try:
            self.consumer.commit(offsets=offsets, asynchronous=False)
            self._uncommitted.clear()
        except KafkaException as exc:
            # Kept for the next try; if the partitions moved meanwhile, their new owner re-reads the
            # batch, which the idempotent tables absorb.
            log.warning("offset commit failed, will retry: %s", exc)

    # --- rebalancing ----------------------------------------------------------------------------------
    def _on_assign(self, _consumer, partitions) -> None:
        self._assigned |= {(tp.topic, tp.partition) for tp in partitions}
        self._unassigned_since = None if self._assigned else time.monotonic()
        log.info("assigned %s", sorted(p for _, p in self._assigned))

    def _on_revoke(self, _consumer, partitions) -> None:
        # Write and commit what we hold before the partitions move, so the next owner starts after it.
        try:
            self._flush(wait=True)
        except Exception as exc:  # written again by the next owner; never lost
            log.warning("could not flush before the rebalance: %s", exc)
        self._forget(partitions)

    def _on_lost(self, _consumer, partitions) -> None:
        self._forget(partitions)

    def _forget(self, partitions) -> None:
        revoked = {(tp.topic, tp.partition) for tp in partitions}
        self._assigned -= revoked
        for tp in revoked:
            self._uncommitted.pop(tp, None)
        self.batch.drop_partitions(revoked)
        if not self._assigned:
            self._unassigned_since = time.monotonic()

    # --- idleness and progress ------------------------------------------------------------------------
    def _caught_up(self) -> bool:
        if self.batch.messages or self._in_flight or self._uncommitted:
            return False
        if not self._assigned:
            since = self._unassigned_since
            if since is None or time.monotonic() - since < self.options.unassigned_exit_seconds:
                return False
            self._check_broker_reachable()
            log.warning("no partition of %s was assigned to this consumer", self.options.topic)
            return True
        partitions = [TopicPartition(t, p) for t, p in self._assigned]
        try:
            for tp in self.consumer.committed(partitions, timeout=10):
                low, high = self.consumer.get_watermark_offsets(tp, timeout=10, cached=False)
                done = tp.offset if tp.offset != OFFSET_INVALID else low
                if done < high:
                    return False
        except KafkaException as exc:  # e.g. the group coordinator moving or loading: ask again later
            log.info("cannot tell whether caught up yet: %s", exc)
            return False
        return True

    def _check_broker_reachable(self) -> None:
        """Without partitions for a long while: tell an unreachable broker from a topic with too few
        partitions for the group, so --exit-when-idle never reports success against no broker."""
        try:
            self.consumer.list_topics(self.options.topic, timeout=10)
        except KafkaException as exc:
            raise KafkaUnreachable(f"Kafka is unreachable: {exc.args[0].str()}") from None

    def lag(self) -> int:
        total = 0
        for tp in self.consumer.position([TopicPartition(t, p) for t, p in self._assigned]):
            low, high = self.consumer.get_watermark_offsets(tp, cached=True)
            if high >= 0:
                total += high - (tp.offset if tp.offset >= 0 else low)
        return total

    def _log_progress(self, final: bool = False) -> None:
        now = time.monotonic()
        if not final and now - self._last_progress < self.options.progress_seconds:
            return
        rate = (self.totals["events"] - self._last_progress_events) / max(now - self._last_progress, 1e-9)
        self._last_progress, self._last_progress_events = now, self.totals["events"]
        if final:
            elapsed = now - self._started
            log.info("ingest stopped: %(messages)d messages, %(events)d events, %(errors)d dead letters, "
                     "%(batches)d batches", self.totals)
            log.info("average %.0f events/s over %.1f s", self.totals["events"] / max(elapsed, 1e-9), elapsed)
        else:
            try:
                lag = self.lag()
            except KafkaException:
                lag = -1
            log.info("%.0f events/s; totals %s; lag %d messages", rate, self.totals, lag)
