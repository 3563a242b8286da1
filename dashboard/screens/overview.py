"""Overview: KPIs with the change versus the previous period, revenue and status flow, top lists."""

from __future__ import annotations

from decimal import Decimal

import plotly.express as px
import streamlit as st

from dashboard import context, data, queries, widgets
from dashboard.overview_figures import Kpis, change, kpis_from_rows

ctx = context.require_data()
sel = ctx.selection
st.title("Sales overview")
# All time has no period before it: no deltas then (they would all read "(new)").
COMPARED = sel.preset != "all"
st.caption(f"{sel.filters.start:%Y-%m-%d %H:%M} – {sel.filters.end:%Y-%m-%d %H:%M} UTC"
           + (", compared with the period of the same length just before." if COMPARED else " (all time).")
           + " Revenue counts Delivered orders; currencies are never summed.")


def converted_total(amounts: dict[str, Decimal]) -> tuple[Decimal, list[str]]:
    """The sum of `amounts` converted to the selected currency, and the currencies without a rate."""
    total, missing = Decimal(0), []
    for currency, amount in amounts.items():
        value = sel.converter.convert(amount, currency, sel.fx)
        if value is None:
            missing.append(currency)
        else:
            total += value
    return total, missing


def delta(now, before) -> str | None:
    return change(now, before) if COMPARED else None


def render_kpis(now: Kpis, before: Kpis, reserved: int) -> None:
    cols = st.columns(4)
    cols[0].metric("Orders created", f"{now.orders:,}", delta(now.orders, before.orders))
    cols[1].metric("Items sold", f"{now.items_sold:,}", delta(now.items_sold, before.items_sold))
    rate = now.cancellation_rate
    cols[2].metric("Cancellation rate", "—" if rate is None else f"{rate:.1%}",
                   None if rate is None or before.cancellation_rate is None or not COMPARED
                   else f"{(rate - before.cancellation_rate) * 100:+.1f} pp",
                   delta_color="inverse", help="Canceled ÷ (Delivered + Canceled) orders resolved in the range.")
    cols[3].metric("Items currently reserved", f"{reserved:,}",
                   f"{now.net_reserved:+,} in range" if COMPARED else None, delta_color="off", delta_arrow="off",
                   help="Open orders now (all time, seller/item filters apply); the change is created minus "
                        "resolved quantity within the range.")
    currencies = sorted(set(now.revenue) | set(before.revenue))
    if not currencies:
        st.info("No Delivered orders in this range.")
        return
    cols = st.columns(max(2, len(currencies)))
    for col, currency in zip(cols, currencies):
        col.metric(f"Revenue {currency}", widgets.money(now.revenue.get(currency), currency),
                   delta(now.revenue.get(currency, Decimal(0)), before.revenue.get(currency, Decimal(0))))
        col.metric(f"Average order {currency}", widgets.money(now.average_order.get(currency), currency),
                   delta(now.average_order.get(currency), before.average_order.get(currency)))
    if sel.fx:
        total, missing = converted_total(now.revenue)
        before_total, _ = converted_total(before.revenue)
        st.metric(f"Revenue converted to {sel.fx}", widgets.money(total, f"{sel.fx} (converted)"),
                  delta(total, before_total))
        if missing:
            st.caption(f"Not converted (no rate configured): {', '.join(missing)}.")


def body() -> None:
    f = sel.filters
    tick = ctx.tick
    now = kpis_from_rows(data.fetch(queries.kpis, f, tick=tick))
    before = kpis_from_rows(data.fetch(queries.kpis, f.previous(), tick=tick)) if COMPARED else now
    render_kpis(now, before, data.fetch(queries.reserved_now, f.for_accounting(), tick=tick))

    left, right = st.columns(2)
    revenue = data.fetch(queries.revenue_over_time, f, sel.bucket, tick=tick)
    with left:
        st.subheader(f"Revenue per {sel.bucket}")
        if revenue.empty:
            st.caption("No Delivered orders in this range.")
        else:
            revenue = revenue.assign(revenue=revenue["revenue"].astype(float))
            fig = px.line(revenue, x="bucket", y="revenue", color="currency", markers=True,
                          labels={"bucket": "", "revenue": "Revenue (own currency)"})
            widgets.whole_range(fig, f.start, f.end)  # one bucket alone would zoom to sub-millisecond ticks
            st.plotly_chart(fig, width="stretch", key="revenue_chart")
    flow = data.fetch(queries.status_flow, f, sel.bucket, tick=tick)
    with right:
        st.subheader(f"Status flow per {sel.bucket}")
        if flow.empty:
            st.caption("No events in this range.")
        else:
            fig = px.bar(flow, x="bucket", y="orders", color="status", barmode="group",
                         color_discrete_map=widgets.STATUS_COLORS, category_orders=widgets.STATUS_ORDER,
                         labels={"bucket": "", "orders": "Orders with an event"})
            widgets.bucket_bars(fig, f.start, f.end, sel.bucket, grouped=True)
            st.plotly_chart(fig, width="stretch", key="flow_chart")

    left, right = st.columns(2)
    with left:
        st.subheader("Top items (sold)")
        st.dataframe(data.fetch(queries.top_items, f, 10, tick=tick), hide_index=True, width="stretch",
                     column_config={"item_id": widgets.IDS, "seller_id": widgets.IDS, **widgets.money_columns("revenue")})
    with right:
        st.subheader("Top sellers (sold)")
        st.dataframe(data.fetch(queries.top_sellers, f, 10, tick=tick), hide_index=True, width="stretch",
                     column_config={"seller_id": widgets.IDS, **widgets.money_columns("revenue")})


widgets.live(body)
