"""The Overview KPIs worked out from the `kpis` query rows of a period and of the one before it."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pandas as pd

TOTAL = ""  # the currency label of the WITH ROLLUP row


@dataclass(frozen=True)
class Kpis:
    orders: int
    items_sold: int
    cancellation_rate: float | None  # canceled / (delivered + canceled) orders resolved in the range
    net_reserved: int  # created minus resolved quantity in the range
    revenue: dict[str, Decimal]  # per currency, Delivered only
    average_order: dict[str, Decimal]  # revenue / delivered orders, per currency


def kpis_from_rows(rows: pd.DataFrame) -> Kpis:
    if rows.empty:
        return Kpis(0, 0, None, 0, {}, {})
    total = rows[rows["currency"] == TOTAL]
    per_currency = rows[rows["currency"] != TOTAL]
    if total.empty:
        return Kpis(0, 0, None, 0, {}, {})
    t = total.iloc[0]
    resolved = int(t["delivered_orders"]) + int(t["canceled_orders"])
    revenue, average = {}, {}
    for r in per_currency.itertuples():
        if r.delivered_orders:
            revenue[r.currency] = Decimal(r.revenue)
            average[r.currency] = Decimal(r.revenue) / int(r.delivered_orders)
    return Kpis(
        orders=int(t["orders"]),
        items_sold=int(t["items_sold"]),
        cancellation_rate=int(t["canceled_orders"]) / resolved if resolved else None,
        net_reserved=int(t["created_quantity"]) - int(t["resolved_quantity"]),
        revenue=revenue,
        average_order=average,
    )


def change(now: float | Decimal | None, before: float | Decimal | None) -> str | None:
    """The change versus the previous period as st.metric's delta text (None when not comparable)."""
    if now is None or before is None:
        return None
    diff = now - before
    # Counts as whole numbers with separators; money (Decimal) with 2 decimals.
    text = f"{diff:+,}" if isinstance(diff, int) else f"{diff:+,.2f}"
    if not before:
        return f"{text} (new)" if diff else "±0"
    return f"{text} ({float(diff) / float(before):+.1%})"
