"""Expected dashboard figures computed in plain Python from the events, independently of ClickHouse.

Definitions (the dashboard's, documented in docs/dashboard.md), for events whose moment is in
[start, end) and positions matching the currency / warehouse / seller / item filters:
- orders: distinct orders with a Created event; items sold: quantity of Delivered positions;
- revenue and average order value per currency: Delivered amount, and that over the distinct Delivered
  orders with a position in the currency;
- cancellation rate: Canceled orders / (Delivered + Canceled orders);
- net reserved: Created quantity minus Delivered and Canceled quantity;
- reserved now: all-time reserved quantity (orders whose final state is Created) of the matching items.
Repeated copies of an event count once (tests.ground_truth.distinct_events).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal

from orderstream.contract import OrderEvent, Position
from tests.ground_truth import distinct_events, sales_by_item, ticks_to_datetime


def ticks(moment: datetime) -> int:
    return int((moment - datetime(1970, 1, 1)) / timedelta(microseconds=1)) * 10


def matching_positions(events, start: datetime, end: datetime, *, currencies=(), warehouses=(), sellers=(),
                       items=(), statuses=()) -> list[tuple[OrderEvent, Position]]:
    low, high = ticks(start), ticks(end)
    out = []
    for e in distinct_events(events).values():
        if not low <= e.moment_ticks < high or (warehouses and e.warehouse_id not in warehouses):
            continue
        if statuses and e.status not in statuses:
            continue
        for p in e.positions:
            if ((not currencies or p.currency in currencies) and (not sellers or p.seller_id in sellers)
                    and (not items or p.item_id in items)):
                out.append((e, p))
    return out


def kpis(events, start, end, **filters) -> dict:
    orders, delivered, canceled = set(), set(), set()
    items_sold = created_quantity = resolved_quantity = 0
    revenue: dict[str, Decimal] = defaultdict(Decimal)
    delivered_by_currency: dict[str, set] = defaultdict(set)
    for e, p in matching_positions(events, start, end, **filters):
        if e.status == "Created":
            orders.add(e.order_id)
            created_quantity += p.quantity
            continue
        resolved_quantity += p.quantity
        if e.status == "Canceled":
            canceled.add(e.order_id)
        else:
            delivered.add(e.order_id)
            items_sold += p.quantity
            revenue[p.currency] += p.amount
            delivered_by_currency[p.currency].add(e.order_id)
    resolved = len(delivered) + len(canceled)
    return {
        "orders": len(orders),
        "items_sold": items_sold,
        "cancellation_rate": len(canceled) / resolved if resolved else None,
        "net_reserved": created_quantity - resolved_quantity,
        "revenue": dict(revenue),
        "average_order": {c: revenue[c] / len(delivered_by_currency[c]) for c in revenue},
    }


def reserved_now(events, *, sellers=(), items=()) -> int:
    return sum(reserved for item, (reserved, _, _, _) in sales_by_item(events).items()
               if (not sellers or item // 1_000_000 in sellers) and (not items or item in items))


def bucket_start(moment_ticks: int, bucket: str) -> datetime:
    moment = ticks_to_datetime(moment_ticks)
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if bucket == "hour":
        return moment.replace(minute=0, second=0, microsecond=0)
    if bucket == "day":
        return day
    return day - timedelta(days=day.weekday())


def revenue_over_time(events, start, end, bucket: str, **filters) -> dict[tuple[datetime, str], Decimal]:
    out: dict[tuple[datetime, str], Decimal] = defaultdict(Decimal)
    for e, p in matching_positions(events, start, end, statuses=("Delivered",), **filters):
        out[(bucket_start(e.moment_ticks, bucket), p.currency)] += p.amount
    return dict(out)


def status_flow(events, start, end, bucket: str, **filters) -> dict[tuple[datetime, str], int]:
    orders: dict[tuple[datetime, str], set] = defaultdict(set)
    for e, _ in matching_positions(events, start, end, **filters):
        orders[(bucket_start(e.moment_ticks, bucket), e.status)].add(e.order_id)
    return {k: len(v) for k, v in orders.items()}


def delivered_by(events, start, end, key, **filters) -> dict[tuple, tuple[int, Decimal]]:
    """(key(position), currency) -> (quantity, amount) of Delivered positions in the range."""
    out: dict[tuple, list] = defaultdict(lambda: [0, Decimal(0)])
    for e, p in matching_positions(events, start, end, statuses=("Delivered",), **filters):
        row = out[(key(p), p.currency)]
        row[0] += p.quantity
        row[1] += p.amount
    return {k: (v[0], v[1]) for k, v in out.items()}


def item_rows(events) -> list[tuple]:
    """The per-item accounting as rows (item, seller, reserved, sold, canceled, last update to the µs)."""
    return [(item, item // 1_000_000, r, s, c, ticks_to_datetime(last))
            for item, (r, s, c, last) in sales_by_item(events).items()]


def order_positions(events, order_id: int) -> list[tuple]:
    """(status, position, item, quantity, currency, amount) of every distinct event of the order."""
    return sorted(
        (e.status, index, p.item_id, p.quantity, p.currency, p.amount)
        for (oid, _), e in distinct_events(events).items() if oid == order_id
        for index, p in enumerate(e.positions)
    )


def item_warehouses(events, item_id: int) -> dict[int, tuple[int, int, int]]:
    """warehouse -> (reserved, sold, canceled) of the item by each order's final state."""
    rank = {"Created": 1, "Canceled": 2, "Delivered": 3}
    final: dict[int, OrderEvent] = {}
    for (oid, status), e in distinct_events(events).items():
        if oid not in final or rank[status] > rank[final[oid].status]:
            final[oid] = e
    out: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
    column = {"Created": 0, "Delivered": 1, "Canceled": 2}
    for e in final.values():
        for p in e.positions:
            if p.item_id == item_id:
                out[e.warehouse_id][column[e.status]] += p.quantity
    return {w: tuple(v) for w, v in out.items()}
