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
        n = len(event.positions)
        (order_id, status, position, moment, user_id, warehouse_id, item_id,
         quantity, currency, units, nanos, k_topic, k_partition, k_offset) = self.columns
        # Event-level values repeat once per position: one extend each instead of an append per row.
        order_id += [event.order_id] * n
        status += [event.status] * n
        moment += [event.moment_ticks] * n
        user_id += [event.user_id] * n
        warehouse_id += [event.warehouse_id] * n
        k_topic += [topic] * n
        k_partition += [partition] * n
        k_offset += [offset] * n
        position += range(n)
        for p in event.positions:
            item_id.append(p.item_id)
            quantity.append(p.quantity)
            currency.append(p.currency)
            units.append(p.units)
            nanos.append(p.nanos)

    def drop_partitions(self, revoked: set[tuple[str, int]]) -> None:
        """Forget offsets of partitions this consumer no longer owns (their rows are still written)."""
        for tp in revoked:
            self.next_offsets.pop(tp, None)
