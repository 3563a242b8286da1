"""Step 1-2 of the chain: decode messages into a columnar batch of event rows plus dead letters.

A batch remembers, per partition, the offset after its last message: the offsets to commit once the
batch is in ClickHouse.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from orderstream.contract import InvalidEvent, parse_event

EVENT_COLUMNS = (
    "order_id", "status", "position", "moment", "user_id", "warehouse_id", "item_id",
    "quantity", "currency", "units", "nanos", "kafka_topic", "kafka_partition", "kafka_offset",
)
ERROR_COLUMNS = ("kafka_topic", "kafka_partition", "kafka_offset", "message_key", "raw", "reason")


@dataclass
class Batch:
    columns: list[list] = field(default_factory=lambda: [[] for _ in EVENT_COLUMNS])
    errors: list[list] = field(default_factory=list)
    messages: int = 0
    events: int = 0
    # (topic, partition) -> next offset to consume, i.e. what to commit after the write.
    next_offsets: dict[tuple[str, int], int] = field(default_factory=dict)
    opened: float = field(default_factory=time.monotonic)

    @property
    def rows(self) -> int:
        return len(self.columns[0])

    def add(self, topic: str, partition: int, offset: int, key: bytes | None, value: bytes | None) -> None:
        self.messages += 1
        self.next_offsets[(topic, partition)] = offset + 1
        try:
            event = parse_event(value)
        except InvalidEvent as exc:
            self.errors.append([topic, partition, offset, key or b"", value or b"", str(exc)])
            return
        self.events += 1
        (order_id, status, position, moment, user_id, warehouse_id, item_id,
         quantity, currency, units, nanos, k_topic, k_partition, k_offset) = self.columns
        # Plain appends: for 1-5 positions they beat `col += [value] * n`, which builds a list per column.
        for index, p in enumerate(event.positions):
            order_id.append(event.order_id)
            status.append(event.status)
            position.append(index)
            moment.append(event.moment_ticks)
            user_id.append(event.user_id)
            warehouse_id.append(event.warehouse_id)
            item_id.append(p.item_id)
            quantity.append(p.quantity)
            currency.append(p.currency)
            units.append(p.units)
            nanos.append(p.nanos)
            k_topic.append(topic)
            k_partition.append(partition)
            k_offset.append(offset)

    def drop_partitions(self, revoked: set[tuple[str, int]]) -> None:
        """Forget offsets of partitions this consumer no longer owns (their rows are still written)."""
        for tp in revoked:
            self.next_offsets.pop(tp, None)
