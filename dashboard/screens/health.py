"""Pipeline health: freshness, ingest lag, throughput, dead letters, and mart reconciliation."""

from __future__ import annotations

from datetime import datetime, timezone

import plotly.express as px
import streamlit as st

from dashboard import context, data, kafka_lag, queries, widgets

ctx = context.current()
if ctx.problem is not None:  # health still needs the tables; the empty store is a valid (healthy) state
    context.require_data()
st.title("Pipeline health")


@st.cache_data(ttl=10, show_spinner=False)
def watermarks(partitions: tuple[tuple[str, int], ...]):
    return kafka_lag.high_watermarks(list(partitions))


def ago(moment) -> str:
    if moment is None or moment.year < 1971:
        return "never"
    seconds = (datetime.now(timezone.utc) - moment.replace(tzinfo=timezone.utc)).total_seconds()
    return f"{seconds:,.0f} s ago" if seconds < 120 else f"{seconds / 60:,.0f} min ago" if seconds < 7200 \
        else f"{seconds / 3600:,.1f} h ago"


def status() -> None:
    tick = ctx.tick
    fresh = data.fetch(queries.freshness, tick=tick)
    dead = data.fetch(queries.dead_letter_count, tick=tick)
    cols = st.columns(4)
    cols[0].metric("Latest event moment (UTC)", f"{fresh['latest_event']:%m-%d %H:%M:%S}" if fresh["rows"] else "—",
                   ago(fresh["latest_event"]) if fresh["rows"] else None, delta_color="off")
    cols[1].metric("Latest ingest", f"{fresh['latest_ingest']:%H:%M:%S}" if fresh["rows"] else "—",
                   ago(fresh["latest_ingest"]) if fresh["rows"] else None, delta_color="off")
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

    per_minute = data.fetch(queries.events_per_minute, 60, tick=tick)
    st.subheader("Events stored per minute (last hour)")
    if per_minute.empty:
        st.caption("No events ingested in the last hour.")
    else:
        st.plotly_chart(px.bar(per_minute, x="minute", y="events", labels={"minute": ""}), width="stretch",
                        key="events_per_minute_chart")

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
