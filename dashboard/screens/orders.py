"""Orders: one order's timeline, its events, positions and amounts."""

from __future__ import annotations

import plotly.express as px
import streamlit as st

from dashboard import context, data, queries, urlstate, widgets
from dashboard.urlstate import Param

ctx = context.require_data()
st.title("Order lookup")

ORDER = Param("order", "", urlstate.id_list_text)
urlstate.adopt(ORDER)
text = st.text_input("Order id", key=ORDER.key, placeholder="e.g. 42")
try:
    order_id = (urlstate.parse_ids(text) or (None,))[0]
except ValueError as exc:
    st.warning(f"{exc}.")
    order_id = None


def timeline() -> None:
    events = data.fetch(queries.order_timeline, order_id, tick=ctx.tick)
    if events.empty:
        st.info(f"No events stored for order {order_id}.")
        return
    statuses = list(dict.fromkeys(events["status"]))
    final = next(s for s in ("Delivered", "Canceled", "Created") if s in statuses)
    st.subheader(f"Order {order_id}: {final}")
    cols = st.columns(3)
    cols[0].metric("Events", len(statuses))
    cols[1].metric("Positions", events["position"].nunique())
    cols[2].metric("User / warehouse", f"{events['user_id'].iloc[0]} / {events['warehouse_id'].iloc[0]}")
    per_event = events.groupby(["moment", "status", "currency"], sort=True).agg(
        positions=("position", "count"), quantity=("quantity", "sum"), amount=("amount", "sum")).reset_index()
    per_event["amount"] = [widgets.money(a, c) for a, c in zip(per_event["amount"], per_event["currency"])]
    st.markdown("**Timeline**")
    fig = px.scatter(per_event, x="moment", y="status", color="status", size="quantity", hover_data=["amount"],
                     color_discrete_map=widgets.STATUS_COLORS, category_orders=widgets.STATUS_ORDER)
    fig.update_layout(height=220, showlegend=False)
    st.plotly_chart(fig, width="stretch", key="order_timeline_chart")
    st.dataframe(per_event, hide_index=True, width="stretch")
    st.markdown("**Positions**")
    st.dataframe(events, hide_index=True, width="stretch",
                 column_config={**{c: widgets.IDS for c in ("item_id", "seller_id", "warehouse_id", "user_id")},
                                **widgets.money_columns("price", "amount")})


if order_id is not None:
    widgets.live(timeline)
else:
    st.markdown("**Latest orders**")
    st.dataframe(data.fetch(queries.latest_orders, 20, tick=ctx.tick), hide_index=True,
                 column_config={"order_id": widgets.IDS})
