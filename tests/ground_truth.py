"""The expected figures, computed in plain Python straight from the events, independently of ClickHouse.

Semantics (the product's definition of the numbers):
- an event is (order_id, status); repeated copies count once;
- an order's final state is Delivered if it has a Delivered event, else Canceled if it has a Canceled
  event, else Created; its quantities are those of the event with that state;
- reserved / sold / canceled of an item = quantity of orders whose final state is Created / Delivered /
  Canceled; last_updated = latest moment of any event touching the item;
- payouts: Delivered positions per seller (item_id // 1e6) and currency, quantity x (units + nanos/1e9);
- revenue_by_currency: every distinct event on the UTC day of its moment, per currency and status.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Iterable

from orderstream.contract import STATUS_RANK, TICKS_PER_SECOND, InvalidEvent, OrderEvent, parse_event


def valid_events(values: Iterable[bytes | None]) -> list[OrderEvent]:
    out = []
    for value in values:
        try:
            out.append(parse_event(value))
        except InvalidEvent:
            pass
    return out


def distinct_events(events: Iterable[OrderEvent]) -> dict[tuple[int, str], OrderEvent]:
    unique: dict[tuple[int, str], OrderEvent] = {}
    for e in events:
        unique[(e.order_id, e.status)] = e  # the stored copy is the last delivered one
    return unique


def _final_events(unique: dict[tuple[int, str], OrderEvent]) -> dict[int, OrderEvent]:
    final: dict[int, OrderEvent] = {}
    for (order_id, status), e in unique.items():
        if order_id not in final or STATUS_RANK[status] > STATUS_RANK[final[order_id].status]:
            final[order_id] = e
    return final


def ticks_to_datetime(ticks: int) -> datetime:
    seconds, rest = divmod(ticks, TICKS_PER_SECOND)
    return datetime.fromtimestamp(seconds, tz=timezone.utc).replace(tzinfo=None, microsecond=rest // 10)


def sales_by_item(events: Iterable[OrderEvent]) -> dict[int, tuple[int, int, int, int]]:
    """item_id -> (reserved, sold, canceled, last_updated as 100 ns ticks)."""
    unique = distinct_events(events)
    counts: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    column = {"Created": 0, "Delivered": 1, "Canceled": 2}
    for e in _final_events(unique).values():
        for p in e.positions:
            counts[p.item_id][column[e.status]] += p.quantity
    for e in unique.values():
        for p in e.positions:
            counts[p.item_id][3] = max(counts[p.item_id][3], e.moment_ticks)
    return {item: tuple(v) for item, v in counts.items()}


def seller_payouts(events: Iterable[OrderEvent]) -> dict[tuple[int, str], tuple[int, Decimal]]:
    """(seller_id, currency) -> (delivered quantity, delivered revenue)."""
    out: dict[tuple[int, str], list] = defaultdict(lambda: [0, Decimal(0)])
    for (order_id, status), e in distinct_events(events).items():
        if status != "Delivered":
            continue
        for p in e.positions:
            row = out[(p.seller_id, p.currency)]
            row[0] += p.quantity
            row[1] += p.amount
    return {k: (v[0], v[1]) for k, v in out.items()}


def revenue_by_currency(events: Iterable[OrderEvent]) -> dict[tuple[date, str, str], tuple[int, int, Decimal]]:
    """(day, currency, status) -> (distinct orders, quantity, revenue)."""
    orders: dict[tuple, set] = defaultdict(set)
    totals: dict[tuple, list] = defaultdict(lambda: [0, Decimal(0)])
    for (order_id, status), e in distinct_events(events).items():
        day = ticks_to_datetime(e.moment_ticks).date()
        for p in e.positions:
            key = (day, p.currency, status)
            orders[key].add(order_id)
            totals[key][0] += p.quantity
            totals[key][1] += p.amount
    return {k: (len(orders[k]), totals[k][0], totals[k][1]) for k in totals}


def expected_dead_letters(messages) -> dict[tuple[int, int], tuple[bytes, bytes, str]]:
    """(partition, offset) -> (key, value, reason) of every message the contract rejects."""
    rejected = {}
    for partition, offset, key, value in messages:
        try:
            parse_event(value)
        except InvalidEvent as exc:
            rejected[(partition, offset)] = (key or b"", value or b"", str(exc))
    return rejected


def read_dead_letters(client, topic: str) -> dict[tuple[int, int], tuple[bytes, bytes, str]]:
    rows = client.query(
        "SELECT kafka_partition, kafka_offset, message_key, raw, reason FROM ingest_errors FINAL "
        "WHERE kafka_topic = {topic:String}",
        parameters={"topic": topic}, column_formats={"message_key": "bytes", "raw": "bytes"},
    ).result_rows
    return {(p, o): (k, r, why) for p, o, k, r, why in rows}


def read_views(client) -> dict:
    """The three public views as dicts shaped like the functions above, for direct comparison."""
    sales = {
        r[0]: (r[2], r[3], r[4], r[5])
        for r in client.query(
            "SELECT item_id, seller_id, reserved, sold, canceled, "
            "toUnixTimestamp64Nano(last_updated) DIV 100 FROM sales_by_item"
        ).result_rows
    }
    payouts = {
        (r[0], r[1]): (r[2], r[3])
        for r in client.query("SELECT seller_id, currency, delivered_quantity, delivered_revenue FROM seller_payouts").result_rows
    }
    revenue = {
        (r[0], r[1], r[2]): (r[3], r[4], r[5])
        for r in client.query("SELECT day, currency, status, orders, quantity, revenue FROM revenue_by_currency").result_rows
    }
    return {"sales_by_item": sales, "seller_payouts": payouts, "revenue_by_currency": revenue}


def expected_views(events: Iterable[OrderEvent]) -> dict:
    events = list(events)
    return {
        "sales_by_item": sales_by_item(events),
        "seller_payouts": seller_payouts(events),
        "revenue_by_currency": revenue_by_currency(events),
    }


def diff_views(actual: dict, expected: dict, limit: int = 10) -> list[str]:
    """Human-readable differences, empty when the views equal ground truth exactly."""
    problems = []
    for view in expected:
        a, e = actual[view], expected[view]
        for key in sorted(set(a) | set(e), key=repr)[: 10**9]:
            if a.get(key) != e.get(key):
                problems.append(f"{view}[{key}]: stored {a.get(key)} expected {e.get(key)}")
                if len(problems) >= limit:
                    return problems
    return problems
