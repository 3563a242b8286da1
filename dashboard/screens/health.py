"""Pipeline health: freshness, ingest lag, throughput, dead letters, and mart reconciliation."""

from __future__ import annotations

from datetime import datetime, timezone

import pandas as pd
import plotly.express as px
import streamlit as st

from dashboard import context, data, kafka_lag, queries, widgets

ctx = context.current()
if ctx.problem is not None:  # health still needs the tables; the empty store is a valid (healthy) state
    context.require_data()
st.title("Pipeline health")
MINUTES = 60  # the per-minute chart's window


@st.cache_data(ttl=10, show_spinner=False)
def watermarks(partitions: tuple[tuple[str, int], ...]):
    return kafka_lag.high_watermarks(list(partitions))


def _span(seconds: float) -> str:
    return f"{seconds:,.0f} s" if seconds < 120 else f"{seconds / 60:,.0f} min" if seconds < 7200 \
        else f"{seconds / 3600:,.1f} h"


def ago(moment) -> str:
    """How old `moment` (naive UTC) is, in words; a moment ahead of this clock says so instead."""
    if moment is None or moment.year < 1971:
        return "never"
    seconds = (datetime.now(timezone.utc) - moment.replace(tzinfo=timezone.utc)).total_seconds()
    if seconds < -1:  # event time set by the producer, ahead of this machine's clock
        return f"{_span(-seconds)} in the future (ahead of this clock)"
    return f"{_span(max(seconds, 0))} ago"


def minute_series(per_minute: pd.DataFrame, minutes: int) -> tuple[pd.DataFrame, list]:
    """Every minute of the last `minutes` (zero where nothing was stored) and the x range to show, so a
    single minute of data still reads as one bar in an hour, not as a zoomed-in sub-second axis."""
    end = pd.Timestamp.now(tz="UTC").tz_localize(None).floor("min")
    grid = pd.date_range(end - pd.Timedelta(minutes=minutes - 1), end, freq="min")
    moments = pd.to_datetime(per_minute["minute"])
    if moments.dt.tz is not None:
        moments = moments.dt.tz_convert("UTC").dt.tz_localize(None)
    counts = per_minute.assign(minute=moments.astype("datetime64[ns]")).groupby("minute")["events"].sum()
    grid = grid.union(counts.index)  # never drop a stored minute (e.g. a clock slightly ahead)
    filled = counts.reindex(grid, fill_value=0).rename_axis("minute").reset_index()
    half = pd.Timedelta(seconds=30)
    return filled, [grid[0] - half, grid[-1] + half]


def status() -> None:
    tick = ctx.tick
    fresh = data.fetch(queries.freshness, tick=tick)
    dead = data.fetch(queries.dead_letter_count, tick=tick)
    cols = st.columns(4)
    # Ages as plain captions: as metric deltas they would carry up/down arrows that mean nothing here.
    cols[0].metric("Latest event moment (UTC)", f"{fresh['latest_event']:%m-%d %H:%M:%S}" if fresh["rows"] else "—")
    cols[1].metric("Latest ingest (UTC)", f"{fresh['latest_ingest']:%H:%M:%S}" if fresh["rows"] else "—")
    if fresh["rows"]:
        cols[0].caption(ago(fresh["latest_event"]))
        cols[1].caption(ago(fresh["latest_ingest"]))
    cols[2].metric("Stored position rows", f"{fresh['rows']:,}")
    cols[3].metric("Dead letters", f"{dead:,}")

    offsets = data.fetch(queries.partition_offsets, tick=tick)
    st.subheader("Ingest per partition")
    if offsets.empty:
        st.caption("Nothing ingested yet.")
    else:
        high = watermarks(tuple(zip(offsets["topic"], offsets["partition"].astype(int))))
        if high is None:
            st.caption("Kafka is not reachable from the dashboard: lag per partition is unavailable.")
        else:
            offsets["kafka_end_offset"] = [high.get((t, int(p))) for t, p in zip(offsets["topic"], offsets["partition"])]
            offsets["lag"] = offsets["kafka_end_offset"] - offsets["stored_offset"] - 1
        st.dataframe(offsets, hide_index=True, width="stretch")

    per_minute = data.fetch(queries.events_per_minute, MINUTES, tick=tick)
    st.subheader("Events stored per minute (last hour)")
    if per_minute.empty:
        st.caption("No events ingested in the last hour.")
    else:
        filled, x_range = minute_series(per_minute, MINUTES)
        fig = px.bar(filled, x="minute", y="events", labels={"minute": "", "events": "events"})
        fig.update_xaxes(range=x_range, tickformat="%H:%M")
        st.plotly_chart(fig, width="stretch", key="events_per_minute_chart")

    st.subheader("Latest rejected messages")
    letters = data.fetch(queries.latest_dead_letters, 20, tick=tick)
    if letters.empty:
        st.caption("No dead letters.")
    else:
        st.dataframe(letters, hide_index=True, width="stretch")


widgets.live(status)

st.subheader("Reconciliation: marts versus the raw table")
st.caption("Recomputes each public view exactly from `order_events FINAL` and compares row by row. "
           "It reads the whole raw table, so it runs on demand.")
if st.button("Run reconciliation", key="reconcile", icon=":material/rule:"):
    st.session_state["reconciled"] = {view: data.run_uncached(queries.reconciliation, view)
                                      for view in queries.RECONCILED_VIEWS}
for view, diff in st.session_state.get("reconciled", {}).items():
    if diff.empty:
        st.success(f"`{view}` equals its recomputation from the raw table.", icon=":material/check_circle:")
    else:
        st.error(f"`{view}` differs from the raw table ({len(diff)} rows shown; 'view' rows are only in the "
                 "view, 'raw' rows only in the recomputation).", icon=":material/cancel:")
        st.dataframe(diff, hide_index=True, width="stretch")
