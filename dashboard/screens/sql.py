"""SQL: ad-hoc read-only queries on the same database, with CSV download and a quick chart."""

from __future__ import annotations

import json

import plotly.express as px
import streamlit as st
from clickhouse_connect.driver.exceptions import DatabaseError

from dashboard import data, queries, states, urlstate
from dashboard.urlstate import Param

READONLY_CODES = {164}  # READONLY: the connection may not write or change the schema
EXAMPLE = "SELECT currency, status, sum(orders) AS orders, sum(revenue) AS revenue\nFROM revenue_by_currency\n" \
          "WHERE day >= {since:Date}\nGROUP BY currency, status\nORDER BY currency, status"

st.title("SQL")
st.caption("Read-only: the connection itself refuses writes and DDL. Public views: `sales_by_item`, "
           "`seller_payouts`, `revenue_by_currency`; raw events: `order_events` (read it with FINAL). "
           "Bind values as `{name:Type}` and give them below as JSON — never paste values into the text.")


def _json_object(text: str) -> str:
    if text.strip():
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"parameters are not JSON: {exc.msg}") from None
        if not isinstance(value, dict):
            raise ValueError("parameters must be a JSON object")
    return text


SQL = Param("sql", "")
PARAMS = Param("params", "", _json_object)
urlstate.adopt(SQL)
urlstate.adopt(PARAMS)
sql = st.text_area("Query", key=SQL.key, height=160, placeholder=EXAMPLE)
params_text = st.text_input("Parameters (JSON object)", key=PARAMS.key, placeholder='{"since": "2026-11-01"}')
st.button("Run", key="run_sql", type="primary", icon=":material/play_arrow:")


def refusal(exc: DatabaseError) -> bool:
    return getattr(exc, "code", None) in READONLY_CODES or "READONLY" in str(exc)


def run() -> None:
    try:
        parameters = json.loads(params_text) if params_text.strip() else {}
        if not isinstance(parameters, dict):
            raise ValueError
    except ValueError:
        st.error("Parameters must be a JSON object, e.g. {\"since\": \"2026-11-01\"}.")
        return
    try:
        rows, cut = data.run_uncached(queries.adhoc, sql, parameters)
    except DatabaseError as exc:
        if refusal(exc):
            st.error("**Refused: this page is read-only.** Writes (INSERT, ALTER, DELETE …) and DDL (CREATE, DROP …) "
                     "are rejected by the database for this connection.", icon=":material/block:")
        elif states.is_missing_schema(exc) or states.is_unreachable(exc):
            states.show_problem(exc)
        else:
            st.error(f"The query failed: {str(exc).strip().splitlines()[0][:600]}", icon=":material/error:")
        return
    st.caption(f"{len(rows):,} rows" + (" (first rows only; add a LIMIT)" if cut else ""))
    st.dataframe(rows, hide_index=True, width="stretch", key="sql_result")
    st.download_button("Download CSV", rows.to_csv(index=False).encode(), file_name="query.csv",
                       mime="text/csv", key="sql_csv", icon=":material/download:", on_click="ignore")
    chart(rows)


def chart(rows) -> None:
    if rows.empty or len(rows.columns) < 2:
        return
    numeric = [c for c in rows.columns if rows[c].dtype.kind in "iuf" or
               (rows[c].dtype == object and rows[c].map(type).astype(str).str.contains("Decimal").all())]
    if not numeric:
        return
    with st.expander("Quick chart", expanded=True, icon=":material/bar_chart:"):
        a, b, c = st.columns(3)
        x = a.selectbox("x", list(rows.columns), key="sql_x")
        y = b.selectbox("y", numeric, index=len(numeric) - 1, key="sql_y")
        kind = c.selectbox("Chart", ("bar", "line"), key="sql_kind")
        color = next((col for col in rows.columns if col not in (x, y) and rows[col].dtype == object
                      and rows[col].nunique() <= 12 and col not in numeric), None)
        plot = rows.assign(**{y: rows[y].astype(float)})
        fig = (px.bar if kind == "bar" else px.line)(plot, x=x, y=y, color=color)
        st.plotly_chart(fig, width="stretch", key="sql_chart")


if sql.strip():
    with states.friendly():
        run()
