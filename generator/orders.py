"""A seeded simulation of the shop's order flow, independent of Kafka: a stream of OrderEvent.

Every order starts with Created; at most one second event follows (Delivered or Canceled) with the same
positions and a later moment; the rest stay open (reserved). Items are 12 digits whose first 6 are the
seller, each with its own currency and price, as in a real catalogue.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Iterator

from orderstream.contract import TICKS_PER_SECOND, OrderEvent, Position


@dataclass(frozen=True)
class Shape:
    users: int = 10_000
    warehouses: int = 20
    sellers: int = 200
    items: int = 5_000
    currencies: tuple[str, ...] = ("RUB", "KZT")
    positions: tuple[int, int] = (1, 5)  # min, max positions per order
    quantity: tuple[int, int] = (1, 19)
    in_flight: int = 1_000  # orders created and not yet resolved
    deliver: float = 0.6  # shares of orders that end Delivered / Canceled; the rest stay Created
    cancel: float = 0.25
    # Simulated time: mean gap between events in ms, from `start_ticks`; None follows the wall clock.
    step_ms: float | None = None
    start_ticks: int | None = None
    first_order_id: int = 1


class OrderSimulator:
    def __init__(self, shape: Shape, seed: int | None = None):
        if not 0 <= shape.deliver + shape.cancel <= 1:
            raise ValueError("deliver + cancel shares must be within 0..1")
        if shape.items < 1 or shape.sellers < 1 or shape.sellers > 900_000:
            raise ValueError("need at least one item and 1..900000 sellers")
        self.shape = shape
        self.rng = random.Random(seed)
        self._catalogue = self._make_catalogue()
        self._next_order_id = shape.first_order_id
        self._open: list[OrderEvent] = []
        now = time.time_ns() // 100
        self._clock = shape.start_ticks if shape.start_ticks is not None else now

    def _make_catalogue(self) -> list[tuple[int, str, int, int]]:
        rng, s = self.rng, self.shape
        sellers = rng.sample(range(100_000, 1_000_000), s.sellers)
        items: dict[int, tuple[int, str, int, int]] = {}
        while len(items) < s.items:
            item_id = rng.choice(sellers) * 1_000_000 + rng.randrange(1_000_000)
            units, nanos = rng.randint(300, 9_999), rng.randrange(100) * 10_000_000
            items[item_id] = (item_id, rng.choice(s.currencies), units, nanos)
        return list(items.values())

    def _tick(self) -> int:
        step_ms = self.shape.step_ms
        if step_ms is None:
            now = time.time_ns() // 100
            self._clock = now if now > self._clock else self._clock + 1
        else:
            gap = self.rng.expovariate(1.0 / step_ms) if step_ms > 0 else 0
            self._clock += max(1, int(gap * TICKS_PER_SECOND / 1000))
        return self._clock

    # The draws below use rng.random() directly: randint, randrange and sample cost several Python calls
    # per number, and the simulator is most of the generator's CPU time (see bench/README.md).
    def _create(self) -> OrderEvent:
        random, s, catalogue = self.rng.random, self.shape, self._catalogue
        (low, high), (q_low, q_high) = s.positions, s.quantity
        count = min(low + int(random() * (high - low + 1)), len(catalogue))
        chosen: dict[int, None] = {}  # distinct catalogue indexes, in the order drawn
        while len(chosen) < count:
            chosen[int(random() * len(catalogue))] = None
        q_span = q_high - q_low + 1
        positions = []
        for index in chosen:
            item_id, currency, units, nanos = catalogue[index]
            positions.append(Position(item_id, q_low + int(random() * q_span), currency, units, nanos))
        order_id = self._next_order_id
        self._next_order_id = order_id + 1
        user_id, warehouse_id = 1 + int(random() * s.users), 1 + int(random() * s.warehouses)
        return OrderEvent(order_id, user_id, warehouse_id, "Created", self._tick(), tuple(positions))

    def _resolve(self) -> OrderEvent | None:
        """Close a random open order: Delivered, Canceled, or left open for good (None)."""
        random, s, open_ = self.rng.random, self.shape, self._open
        index = int(random() * len(open_))
        created = open_[index]
        open_[index] = open_[-1]
        open_.pop()
        draw = random()
        if draw < s.deliver:
            status = "Delivered"
        elif draw < s.deliver + s.cancel:
            status = "Canceled"
        else:
            return None
        return OrderEvent(
            created.order_id, created.user_id, created.warehouse_id, status, self._tick(), created.positions
        )

    def events(self) -> Iterator[OrderEvent]:
        """An endless stream; stop consuming it whenever enough events were taken."""
        open_, in_flight = self._open, max(1, self.shape.in_flight)
        while True:
            if len(open_) < in_flight:
                event = self._create()
                open_.append(event)
                yield event
            else:
                second = self._resolve()
                if second is not None:
                    yield second
