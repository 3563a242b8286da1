"""Items: the per-item accounting (reserved / sold / canceled / last update) and one item's drill-down."""

from __future__ import annotations

import plotly.express as px
import streamlit as st

from dashboard import context, data, queries, urlstate, widgets
from dashboard.urlstate import Param

ctx = context.require_data()
sel = ctx.selection
st.title("Items")
st.caption("Quantities by each order's final state, all time (Delivered beats Canceled beats Created). "
           "The seller and item filters apply; the date range applies to the drill-down.")

IDS = widgets.IDS
selected = widgets.paged_table(
    "i", queries.ITEM_SORTS, "sold",
    lambda search, sort, desc, limit, offset: data.fetch(
        queries.items_page, sel.filters.for_accounting(), search, sort, desc, limit, offset, tick=ctx.tick),
    "items.csv", "Search item or seller id",
    column_config={"item_id": IDS, "seller_id": IDS,
                   "last_updated": st.column_config.DatetimeColumn("last update (UTC)", format="YYYY-MM-DD HH:mm:ss")},
)

DRILL = Param("drill", "", urlstate.id_list_text)
urlstate.adopt(DRILL)
if not selected.empty:
    st.session_state[DRILL.key] = str(int(selected["item_id"].iloc[0]))
st.subheader("Drill-down")
text = st.text_input("Item id (or select a row above)", key=DRILL.key)
try:
    item = (urlstate.parse_ids(text) or (None,))[0]
except ValueError as exc:
    st.warning(f"{exc}.")
    item = None


def drill() -> None:
    history = data.fetch(queries.item_history, sel.filters, item, sel.bucket, tick=ctx.tick)
    by_warehouse = data.fetch(queries.item_warehouses, item, tick=ctx.tick)
    if history.empty and by_warehouse.empty:
        st.info(f"Item {item} has no events.")
        return
    left, right = st.columns([3, 2])
    with left:
        st.markdown(f"**Quantity per {sel.bucket} and status** (range)")
        if history.empty:
            st.caption("No events of this item in the range.")
        else:
            fig = px.bar(history, x="bucket", y="quantity", color="status", labels={"bucket": ""},
                         color_discrete_map=widgets.STATUS_COLORS, category_orders=widgets.STATUS_ORDER)
            widgets.bucket_bars(fig, sel.filters.start, sel.filters.end, sel.bucket)
            st.plotly_chart(fig, width="stretch", key="item_history_chart")
    with right:
        st.markdown("**By warehouse** (current state, all time)")
        st.dataframe(by_warehouse, hide_index=True, width="stretch", column_config={"warehouse_id": IDS})


if item is not None:
    widgets.live(drill)
