"""Sellers: what Delivered orders owe each seller per currency, and the top sellers."""

from __future__ import annotations

from decimal import Decimal

import plotly.express as px
import streamlit as st

from dashboard import context, data, queries, widgets

ctx = context.require_data()
sel = ctx.selection
st.title("Seller payouts")
st.caption("Delivered orders only, all time, per seller and currency. The seller and currency filters apply.")


def top_chart() -> None:
    top = data.fetch(queries.top_payouts, sel.filters.for_accounting(), st.session_state.get("sq", ""), 10, tick=ctx.tick)
    if top.empty:
        return
    top = top.assign(seller=top["seller_id"].astype(str))
    if sel.fx:
        rates = {c: sel.converter.rate(c, sel.fx) for c in top["currency"].unique()}
        top = top[top["currency"].map(rates).notna()]
        top = top.assign(revenue=[float(Decimal(v) * rates[c]) for v, c in zip(top["delivered_revenue"], top["currency"])])
        label = f"Delivered revenue, converted to {sel.fx}"
        fig = px.bar(top.sort_values("revenue", ascending=False), x="seller", y="revenue", color="currency",
                     labels={"revenue": label})
        missing = sorted(c for c, r in rates.items() if r is None)
        if missing:
            st.caption(f"Not converted (no rate configured), left out: {', '.join(missing)}.")
    else:
        top = top.assign(revenue=top["delivered_revenue"].astype(float))
        fig = px.bar(top, x="seller", y="revenue", color="currency", facet_col="currency",
                     labels={"revenue": "Delivered revenue (own currency)"})
        fig.update_xaxes(matches=None)
        fig.update_yaxes(matches=None, showticklabels=True)
    # Seller ids are labels, not quantities: a numeric axis would spread them over the id range
    # (hairline bars, overlapping ticks).
    fig.update_xaxes(type="category", categoryorder="total descending", title_text="seller")
    st.subheader("Top sellers by delivered revenue")
    st.plotly_chart(fig, width="stretch", key="top_sellers_chart")


def with_conversion(rows):
    """Add the revenue converted to the selected currency (labelled as such), when one is selected."""
    if not sel.fx or rows.empty:
        return rows
    converted = [sel.converter.convert(Decimal(v), c, sel.fx) for v, c in zip(rows["delivered_revenue"], rows["currency"])]
    return rows.assign(**{f"revenue_{sel.fx}_converted": converted})


widgets.paged_table(
    "s", queries.SELLER_SORTS, "delivered_revenue",
    lambda search, sort, desc, limit, offset: with_conversion(data.fetch(
        queries.payouts_page, sel.filters.for_accounting(), search, sort, desc, limit, offset, tick=ctx.tick)),
    "seller_payouts.csv", "Search seller id",
    column_config={"seller_id": widgets.IDS,
                   **widgets.money_columns("delivered_revenue", *([f"revenue_{sel.fx}_converted"] if sel.fx else []))},
)
widgets.live(top_chart)
