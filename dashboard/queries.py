"""Every SQL statement of the dashboard, one function per query.

Values from filters, the URL or the SQL page never enter the SQL text: they are bound as server-side
parameters (`{name:Type}`). What the text does vary on (which filters are set, the sort column, the
time bucket) is chosen from the fixed fragments below, never copied from input.

Each function takes a clickhouse-connect client first and returns a pandas DataFrame or plain values;
the benchmark times them directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd
from clickhouse_connect.driver.client import Client

BUCKETS = {
    "hour": "toStartOfHour(moment)",
    "day": "toStartOfDay(moment)",
    "week": "toDateTime(toStartOfWeek(moment, 1), 'UTC')",
}
ITEM_SORTS = ("item_id", "seller_id", "reserved", "sold", "canceled", "last_updated")
SELLER_SORTS = ("seller_id", "currency", "delivered_quantity", "delivered_revenue")
SELLER_OF_ITEM = "intDiv(item_id, 1000000)"
ACCOUNTING_EPOCH = datetime(1970, 1, 1)


@dataclass(frozen=True)
class Filters:
    """The shared sidebar selection; empty tuples mean "all"."""

    start: datetime  # naive UTC, inclusive
    end: datetime  # naive UTC, exclusive
    currencies: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    warehouses: tuple[int, ...] = ()
    sellers: tuple[int, ...] = ()
    items: tuple[int, ...] = ()

    def for_accounting(self) -> Filters:
        """Only what the all-time accounting (items, payouts, reserved) depends on, so results cached
        for it are reused whatever the range, statuses or warehouses."""
        return Filters(ACCOUNTING_EPOCH, ACCOUNTING_EPOCH, self.currencies, (), (), self.sellers, self.items)

    def previous(self) -> Filters:
        """The period of the same length just before this one, same other filters."""
        length = self.end - self.start
        return Filters(self.start - length, self.start, self.currencies, self.statuses,
                       self.warehouses, self.sellers, self.items)


@dataclass
class _Where:
    parts: list[str] = field(default_factory=list)
    params: dict = field(default_factory=dict)

    def add(self, sql: str, **params) -> None:
        self.parts.append(sql)
        self.params.update(params)

    @property
    def sql(self) -> str:
        return " AND ".join(self.parts) or "1"


def _event_filter(f: Filters, *, statuses: bool = False) -> _Where:
    """Conditions on event_flow / order_events rows for the selected range and dimensions."""
    w = _Where()
    w.add("moment >= {start:DateTime64(6, 'UTC')} AND moment < {end:DateTime64(6, 'UTC')}",
          start=f.start, end=f.end)
    if f.currencies:
        w.add("currency IN {currencies:Array(String)}", currencies=list(f.currencies))
    if statuses and f.statuses:
        w.add("toString(status) IN {statuses:Array(String)}", statuses=list(f.statuses))
    if f.warehouses:
        w.add("warehouse_id IN {warehouses:Array(UInt64)}", warehouses=list(f.warehouses))
    if f.sellers:
        w.add(f"{SELLER_OF_ITEM} IN {{sellers:Array(UInt64)}}", sellers=list(f.sellers))
    if f.items:
        w.add("item_id IN {items:Array(UInt64)}", items=list(f.items))
    return w


def _item_filter(f: Filters, search: str = "") -> _Where:
    """Conditions on item_positions rows: sellers, items and an id-prefix search."""
    w = _Where()
    if f.sellers:
        w.add(f"{SELLER_OF_ITEM} IN {{sellers:Array(UInt64)}}", sellers=list(f.sellers))
    if f.items:
        w.add("item_id IN {items:Array(UInt64)}", items=list(f.items))
    if search:
        w.add("(startsWith(toString(item_id), {search:String}) "
              f"OR startsWith(toString({SELLER_OF_ITEM}), {{search:String}}))",
              search=search)
    return w


# ---- shared: the data's dimensions, for the sidebar ----------------------------------------------------


@dataclass(frozen=True)
class Dimensions:
    rows: int  # stored position rows; 0 means the store is empty
    first_moment: datetime | None
    last_moment: datetime | None
    currencies: tuple[str, ...]
    warehouses: tuple[int, ...]


def dimensions(client: Client) -> Dimensions:
    # The row count comes from part metadata; the rest from the tiny stream_dimensions mart.
    row = client.query(
        "SELECT (SELECT count() FROM event_flow), min(first_moment), max(last_moment), "
        "arraySort(groupUniqArray(toString(currency))), arraySort(groupUniqArray(warehouse_id)) "
        "FROM stream_dimensions"
    ).result_rows[0]
    rows, first, last, currencies, warehouses = row
    if not rows:
        return Dimensions(0, None, None, (), ())
    return Dimensions(rows, _naive(first), _naive(last), tuple(currencies), tuple(warehouses))


def _naive(moment: datetime) -> datetime:
    return moment.replace(tzinfo=None)


# ---- overview -------------------------------------------------------------------------------------------


def kpis(client: Client, f: Filters) -> pd.DataFrame:
    """One row per currency plus a total row (currency ''): orders created, items sold, delivered revenue,
    delivered and canceled orders, created and resolved quantities, all for events in the range.
    The total row's money columns are meaningless (currencies are never summed) and must not be shown.
    Distinct orders are counted exactly with bitmaps, cheaper than hash sets for ids that grow with time."""
    w = _event_filter(f)
    return client.query_df(
        f"""
        SELECT toString(currency) AS currency,
               groupBitmapIf(order_id, status = 'Created')      AS orders,
               toInt64(sumIf(quantity, status = 'Delivered'))  AS items_sold,
               sumIf(amount, status = 'Delivered')             AS revenue,
               groupBitmapIf(order_id, status = 'Delivered')     AS delivered_orders,
               groupBitmapIf(order_id, status = 'Canceled')      AS canceled_orders,
               toInt64(sumIf(quantity, status = 'Created'))    AS created_quantity,
               toInt64(sumIf(quantity, status != 'Created'))   AS resolved_quantity
        FROM event_flow FINAL
        WHERE {w.sql}
        GROUP BY currency WITH ROLLUP
        ORDER BY currency
        """,
        parameters=w.params,
    )


def _item_accounting(w: _Where) -> str:
    """Per item reserved / sold / canceled / last update, as the view sales_by_item defines them, with
    the filter applied inside both sides of the join (ClickHouse does not push it through the view)."""
    return f"""
        SELECT item_id, intDiv(item_id, 1000000) AS seller_id, reserved, sold, canceled, last_updated
        FROM
        (
            SELECT item_id,
                   toInt64(sumIf(quantity, status_rank = 1)) AS reserved,
                   toInt64(sumIf(quantity, status_rank = 3)) AS sold,
                   toInt64(sumIf(quantity, status_rank = 2)) AS canceled
            FROM item_positions FINAL
            WHERE {w.sql}
            GROUP BY item_id
        ) AS quantities
        INNER JOIN
        (
            SELECT item_id, max(last_moment) AS last_updated
            FROM item_last_update
            WHERE {w.sql}
            GROUP BY item_id
        ) AS updates USING (item_id)"""


def reserved_now(client: Client, f: Filters) -> int:
    """Items currently reserved (open orders), all time, for the selected sellers and items."""
    w = _item_filter(f)
    return int(client.query(f"SELECT toInt64(sum(reserved)) FROM ({_item_accounting(w)})",
                            parameters=w.params).result_rows[0][0])


def revenue_over_time(client: Client, f: Filters, bucket: str) -> pd.DataFrame:
    w = _event_filter(f)
    return client.query_df(
        f"""
        SELECT {BUCKETS[bucket]} AS bucket, toString(currency) AS currency,
               sum(amount) AS revenue, toInt64(sum(quantity)) AS quantity
        FROM event_flow FINAL
        WHERE {w.sql} AND status = 'Delivered'
        GROUP BY bucket, currency
        ORDER BY bucket, currency
        """,
        parameters=w.params,
    )


def status_flow(client: Client, f: Filters, bucket: str) -> pd.DataFrame:
    """Distinct orders with an event of each status per time bucket."""
    w = _event_filter(f, statuses=True)
    return client.query_df(
        f"""
        SELECT {BUCKETS[bucket]} AS bucket, toString(status) AS status, uniqExact(order_id) AS orders
        FROM event_flow FINAL
        WHERE {w.sql}
        GROUP BY bucket, status
        ORDER BY bucket, status
        """,
        parameters=w.params,
    )


def top_items(client: Client, f: Filters, limit: int = 10) -> pd.DataFrame:
    return _top_delivered(client, f, f"item_id, {SELLER_OF_ITEM} AS seller_id", "item_id", limit)


def top_sellers(client: Client, f: Filters, limit: int = 10) -> pd.DataFrame:
    return _top_delivered(client, f, f"{SELLER_OF_ITEM} AS seller_id", "seller_id", limit)


def _top_delivered(client: Client, f: Filters, columns: str, key: str, limit: int) -> pd.DataFrame:
    """Delivered quantity and revenue per `key` and currency in the range, most sold first."""
    w = _event_filter(f)
    return client.query_df(
        f"""
        SELECT {columns}, toString(currency) AS currency,
               toInt64(sum(quantity)) AS sold, sum(amount) AS revenue
        FROM event_flow FINAL
        WHERE {w.sql} AND status = 'Delivered'
        GROUP BY {key}, currency
        ORDER BY sold DESC, {key}, currency
        LIMIT {{limit:UInt32}}
        """,
        parameters={**w.params, "limit": limit},
    )


# ---- items ----------------------------------------------------------------------------------------------


def items_page(client: Client, f: Filters, search: str, sort: str, descending: bool,
               limit: int, offset: int) -> pd.DataFrame:
    """One page of the per-item accounting; column `total` is the number of matching items."""
    w = _item_filter(f, search)
    order = f"{ITEM_SORTS[ITEM_SORTS.index(sort)]} {'DESC' if descending else 'ASC'}"
    return client.query_df(
        f"""
        SELECT item_id, seller_id, reserved, sold, canceled, toDateTime64(last_updated, 6, 'UTC') AS last_updated,
               count() OVER () AS total
        FROM ({_item_accounting(w)})
        ORDER BY {order}, item_id
        LIMIT {{limit:UInt32}} OFFSET {{offset:UInt64}}
        """,
        parameters={**w.params, "limit": limit, "offset": offset},
    )


def item_history(client: Client, f: Filters, item_id: int, bucket: str) -> pd.DataFrame:
    """Quantity per status over time for one item within the range."""
    w = _event_filter(f, statuses=True)
    w.add("item_id = {item_id:UInt64}", item_id=item_id)
    return client.query_df(
        f"""
        SELECT {BUCKETS[bucket]} AS bucket, toString(status) AS status, toInt64(sum(quantity)) AS quantity
        FROM event_flow FINAL
        WHERE {w.sql}
        GROUP BY bucket, status
        ORDER BY bucket, status
        """,
        parameters=w.params,
    )


def item_warehouses(client: Client, item_id: int) -> pd.DataFrame:
    """The item's current accounting split by warehouse."""
    return client.query_df(
        """
        SELECT warehouse_id,
               toInt64(sumIf(quantity, status_rank = 1)) AS reserved,
               toInt64(sumIf(quantity, status_rank = 3)) AS sold,
               toInt64(sumIf(quantity, status_rank = 2)) AS canceled
        FROM item_positions FINAL
        WHERE item_id = {item_id:UInt64}
        GROUP BY warehouse_id
        ORDER BY warehouse_id
        """,
        parameters={"item_id": item_id},
    )


# ---- sellers --------------------------------------------------------------------------------------------


def _payout_filter(f: Filters, search: str) -> _Where:
    w = _Where()
    if f.sellers:
        w.add("seller_id IN {sellers:Array(UInt64)}", sellers=list(f.sellers))
    if f.currencies:
        w.add("currency IN {currencies:Array(String)}", currencies=list(f.currencies))
    if search:
        w.add("startsWith(toString(seller_id), {search:String})", search=search)
    return w


def payouts_page(client: Client, f: Filters, search: str, sort: str, descending: bool,
                 limit: int, offset: int) -> pd.DataFrame:
    """One page of seller payouts (Delivered only) per seller and currency; `total` = matching rows."""
    w = _payout_filter(f, search)
    order = f"{SELLER_SORTS[SELLER_SORTS.index(sort)]} {'DESC' if descending else 'ASC'}"
    return client.query_df(
        f"""
        SELECT seller_id, currency, delivered_quantity, delivered_revenue, count() OVER () AS total
        FROM seller_payouts
        WHERE {w.sql}
        ORDER BY {order}, seller_id, currency
        LIMIT {{limit:UInt32}} OFFSET {{offset:UInt64}}
        """,
        parameters={**w.params, "limit": limit, "offset": offset},
    )


def top_payouts(client: Client, f: Filters, search: str, limit: int = 10) -> pd.DataFrame:
    """The top sellers by delivered revenue within each currency."""
    w = _payout_filter(f, search)
    return client.query_df(
        f"""
        SELECT seller_id, currency, delivered_quantity, delivered_revenue
        FROM seller_payouts
        WHERE {w.sql}
        ORDER BY delivered_revenue DESC, seller_id
        LIMIT {{limit:UInt32}} BY currency
        """,
        parameters={**w.params, "limit": limit},
    )


# ---- orders ---------------------------------------------------------------------------------------------


def order_timeline(client: Client, order_id: int) -> pd.DataFrame:
    """Every stored event position of one order, in time order."""
    return client.query_df(
        """
        SELECT toDateTime64(moment, 6, 'UTC') AS moment, toString(status) AS status, position, item_id, seller_id, warehouse_id, user_id,
               quantity, toString(currency) AS currency, price, amount,
               kafka_topic, kafka_partition, kafka_offset, ingested_at
        FROM order_events FINAL
        WHERE order_id = {order_id:UInt64}
        ORDER BY moment, status, position
        """,
        parameters={"order_id": order_id},
    )


def latest_orders(client: Client, limit: int = 20) -> pd.DataFrame:
    """The most recent order ids (ids grow with time), to pick one without knowing it."""
    return client.query_df(
        """
        SELECT order_id, toDateTime64(max(moment), 6, 'UTC') AS last_event, toString(max(status)) AS state
        FROM event_flow
        WHERE order_id >= (SELECT max(order_id) FROM event_flow) - {window:UInt64}
        GROUP BY order_id
        ORDER BY order_id DESC
        LIMIT {limit:UInt32}
        """,
        parameters={"window": limit * 10, "limit": limit},
    )


# ---- pipeline health ------------------------------------------------------------------------------------


def freshness(client: Client) -> dict:
    row = client.query(
        "SELECT max(moment), max(ingested_at), count() FROM order_events"
    ).result_rows[0]
    return {"latest_event": row[0], "latest_ingest": row[1], "rows": row[2]}


def partition_offsets(client: Client) -> pd.DataFrame:
    """The highest stored Kafka offset per partition, events and dead letters together."""
    return client.query_df(
        """
        SELECT toString(kafka_topic) AS topic, kafka_partition AS partition, max(last_offset) AS stored_offset,
               max(last_ingested) AS latest_ingest
        FROM partition_progress
        GROUP BY topic, partition
        ORDER BY topic, partition
        """
    )


def events_per_minute(client: Client, minutes: int = 60) -> pd.DataFrame:
    """Distinct events stored per minute of ingestion over the last `minutes` (every event has exactly
    one position 0, and FINAL collapses re-deliveries)."""
    return client.query_df(
        """
        SELECT toStartOfMinute(ingested_at) AS minute, count() AS events
        FROM order_events FINAL
        WHERE position = 0 AND ingested_at >= now64(3) - toIntervalMinute({minutes:UInt32})
        GROUP BY minute
        ORDER BY minute
        """,
        parameters={"minutes": minutes},
    )


def dead_letter_count(client: Client) -> int:
    return int(client.query("SELECT count() FROM ingest_errors FINAL").result_rows[0][0])


def latest_dead_letters(client: Client, limit: int = 20) -> pd.DataFrame:
    return client.query_df(
        """
        SELECT received_at, toString(kafka_topic) AS topic, kafka_partition AS partition,
               kafka_offset AS offset, reason, message_key, substring(raw, 1, 500) AS raw
        FROM ingest_errors FINAL
        ORDER BY received_at DESC, offset DESC
        LIMIT {limit:UInt32}
        """,
        parameters={"limit": limit},
    )


# Exact recomputations of each public view straight from the raw table, for the reconciliation check.
_RECOMPUTED = {
    "sales_by_item": (
        "item_id, seller_id, reserved, sold, canceled, last_updated",
        """
        SELECT item_id, intDiv(item_id, 1000000) AS seller_id,
               toInt64(sumIf(quantity, rank = 1)) AS reserved, toInt64(sumIf(quantity, rank = 3)) AS sold,
               toInt64(sumIf(quantity, rank = 2)) AS canceled, max(last) AS last_updated
        FROM
        (
            SELECT item_id, order_id, position, max(toUInt8(status)) AS rank,
                   argMax(quantity, toUInt8(status)) AS quantity, max(moment) AS last
            FROM order_events FINAL
            GROUP BY item_id, order_id, position
        )
        GROUP BY item_id
        """,
    ),
    "seller_payouts": (
        "seller_id, currency, delivered_quantity, delivered_revenue",
        """
        SELECT seller_id, toString(currency) AS currency, toInt64(sum(quantity)) AS delivered_quantity,
               sum(amount) AS delivered_revenue
        FROM order_events FINAL
        WHERE status = 'Delivered'
        GROUP BY seller_id, currency
        """,
    ),
    "revenue_by_currency": (
        "day, currency, status, orders, quantity, revenue",
        """
        SELECT toDate(moment, 'UTC') AS day, toString(currency) AS currency, toString(status) AS status,
               uniqExact(order_id) AS orders, toInt64(sum(quantity)) AS quantity, sum(amount) AS revenue
        FROM order_events FINAL
        GROUP BY day, currency, status
        """,
    ),
}
RECONCILED_VIEWS = tuple(_RECOMPUTED)


def reconciliation(client: Client, view: str, limit: int = 50) -> pd.DataFrame:
    """Rows that differ between a public view and its exact recomputation from the raw table; empty
    means they are equal. `side` says where the row was found ('view' or 'raw')."""
    columns, recomputed = _RECOMPUTED[view]
    # Plain rows, not query_df: pandas cannot hold DateTime64(7) columns.
    result = client.query(
        f"""
        SELECT * FROM
        (
            SELECT 'view' AS side, * FROM (SELECT {columns} FROM {view} EXCEPT SELECT {columns} FROM ({recomputed}))
            UNION ALL
            SELECT 'raw' AS side, * FROM (SELECT {columns} FROM ({recomputed}) EXCEPT SELECT {columns} FROM {view})
        )
        ORDER BY 2, side
        LIMIT {{limit:UInt32}}
        """,
        parameters={"limit": limit},
    )
    return pd.DataFrame(result.result_rows, columns=list(result.column_names))


# ---- ad-hoc SQL -----------------------------------------------------------------------------------------


def adhoc(readonly_client: Client, sql: str, parameters: dict, max_rows: int = 10_000) -> tuple[pd.DataFrame, bool]:
    """Run an analyst's statement on a read-only connection; the database refuses writes and DDL.
    Returns the first `max_rows` rows and whether more were cut off."""
    # Rows, not query_df: an analyst may select any column type, DateTime64(7) included, which has no
    # pandas dtype; values arrive as Python objects (datetime, Decimal) and display as such.
    result = readonly_client.query(sql, parameters=parameters or None)
    df = pd.DataFrame(result.result_rows[: max_rows + 1], columns=result.column_names)
    return df.head(max_rows), len(df) > max_rows
