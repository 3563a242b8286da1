"""Pieces several pages share: money formatting, auto-refreshing sections, paged tables with CSV."""

from __future__ import annotations

from decimal import Decimal
from typing import Callable

import pandas as pd
import streamlit as st

from dashboard import context, urlstate
from dashboard.urlstate import Param

PAGE_SIZES = (25, 50, 100, 500)
CSV_ROW_LIMIT = 1_000_000

# One colour per order status, for every chart that colours by status (Overview, Items, Orders).
STATUS_COLORS = {"Created": "#4C78A8", "Delivered": "#54A24B", "Canceled": "#E45756"}
STATUS_ORDER = {"status": list(STATUS_COLORS)}

# Table columns: ids without separators; money with separators and 2 decimals. Only the display is
# formatted: the frames keep their exact Decimal values (CSV downloads write those).
IDS = st.column_config.NumberColumn(format="%d")
MONEY = st.column_config.NumberColumn(format="%,.2f")


BUCKET_MS = {"hour": 3_600_000, "day": 86_400_000, "week": 7 * 86_400_000}


def bucket_bars(fig, start, end, bucket: str, grouped: bool = False) -> None:
    """Bars per time bucket drawn inside their bucket over the whole range: with a single bucket
    Plotly would otherwise zoom the axis to a sub-millisecond span around one hairline bar."""
    bars = [t for t in fig.data if t.type == "bar"]
    span = BUCKET_MS[bucket] * 0.9
    for i, trace in enumerate(bars):
        if grouped:  # side by side within the bucket
            trace.update(width=span / len(bars), offset=i * span / len(bars))
        else:
            trace.update(width=span, offset=0)
    whole_range(fig, start, end)


def whole_range(fig, start, end) -> None:
    """Show the selected range on a time axis (widened to a bucket that starts before it, e.g. a week)."""
    firsts = [pd.Timestamp(min(t.x)) for t in fig.data if t.x is not None and len(t.x)]
    lo = min([pd.Timestamp(start), *(f.tz_localize(None) if f.tzinfo else f for f in firsts)])
    fig.update_xaxes(range=[lo, pd.Timestamp(end)])


def money_columns(*names: str) -> dict:
    return {name: MONEY for name in names}


def money(amount: Decimal | None, currency: str) -> str:
    if amount is None:
        return "—"
    return f"{Decimal(amount):,.2f} {currency}"


def live(render: Callable[[], None]) -> None:
    """Run `render` as a fragment that re-runs alone on the auto-refresh interval (if one is set)."""
    interval = context.current().selection.refresh
    if interval:
        st.fragment(render, run_every=interval)()
    else:
        render()


def paged_table(prefix: str, sorts: tuple[str, ...], default_sort: str,
                fetch_page: Callable[[str, str, bool, int, int], pd.DataFrame],
                csv_name: str, search_label: str, column_config: dict | None = None) -> pd.DataFrame:
    """Search, sort, page and download a table computed in SQL; returns the rows on screen.
    `fetch_page(search, sort, descending, limit, offset)` returns the rows with a `total` column."""
    search_p = Param(f"{prefix}q", "", urlstate.search_text)
    sort_p = Param(f"{prefix}sort", default_sort, urlstate.choice(sorts))
    desc_p = Param(f"{prefix}desc", True, urlstate.boolean, urlstate.dump_bool)
    size_p = Param(f"{prefix}size", 50, urlstate.choice(tuple(map(str, PAGE_SIZES))))
    page_p = Param(f"{prefix}page", 1, urlstate.integer(1, 10**9))
    for param in (search_p, sort_p, desc_p, size_p, page_p):
        urlstate.adopt(param)
    st.session_state[size_p.key] = int(st.session_state[size_p.key])

    left, mid, right, size_col = st.columns([3, 2, 1, 1])
    raw_search = left.text_input(search_label, key=search_p.key, placeholder="leading digits of an id")
    try:
        search = urlstate.search_text(raw_search)
    except ValueError as exc:
        left.warning(f"{exc}; search ignored.")
        search = ""
    sort = mid.selectbox("Sort by", sorts, key=sort_p.key)
    descending = right.toggle("Descending", key=desc_p.key)
    size = size_col.selectbox("Rows", PAGE_SIZES, key=size_p.key)

    page = st.session_state[page_p.key]
    rows = fetch_page(search, sort, descending, size, (page - 1) * size)
    if rows.empty and page > 1:  # a stale link or a narrowed search: go to the last page that exists
        first = fetch_page(search, sort, descending, size, 0)
        total = int(first["total"].iloc[0]) if len(first) else 0
        st.session_state[page_p.key] = page = max(1, -(-total // size))
        rows = fetch_page(search, sort, descending, size, (page - 1) * size)
    total = int(rows["total"].iloc[0]) if len(rows) else 0
    pages = max(1, -(-total // size))

    table = rows.drop(columns="total", errors="ignore")
    st.dataframe(table, hide_index=True, width="stretch", column_config=column_config, key=f"{prefix}table",
                 on_select="rerun", selection_mode="single-row")
    info, pager, download = st.columns([3, 2, 2])
    info.caption(f"{total:,} rows · page {page:,} of {pages:,}")
    pager.number_input("Page", min_value=1, max_value=pages, step=1, key=page_p.key, label_visibility="collapsed")

    def all_rows() -> bytes:
        return fetch_page(search, sort, descending, CSV_ROW_LIMIT, 0).drop(columns="total", errors="ignore").to_csv(index=False).encode()

    download.download_button("Download CSV", all_rows, file_name=csv_name, mime="text/csv",
                             key=f"{prefix}csv", icon=":material/download:", on_click="ignore")
    selected = st.session_state.get(f"{prefix}table")
    if selected and selected.selection.rows:
        return table.iloc[selected.selection.rows]
    return table.iloc[0:0]
