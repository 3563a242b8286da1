"""Every dashboard figure equals ground truth computed in Python from the generated events.

The data set (tests/dashboard_conftest_helpers.py) re-delivers some events, so each figure also proves
that duplicates count once.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest

from dashboard import queries
from dashboard.overview_figures import kpis_from_rows
from orderstream.clickhouse import connect
from tests import dashboard_truth as truth
from tests.dashboard_conftest_helpers import POPULATED
from tests.ground_truth import seller_payouts

START, END = datetime(2026, 11, 1), datetime(2026, 11, 4)
SELLER_OF = {"key": lambda p: p.seller_id}


@pytest.fixture
def client(use_database):
    use_database(POPULATED)
    return connect(readonly=True)


@pytest.fixture
def events(dashboard_store):
    return dashboard_store.events


def some_sellers(events, n=4) -> tuple[int, ...]:
    return tuple(sorted({p.seller_id for e in events for p in e.positions})[:n])


def filter_cases(events):
    """The default (everything) and narrow selections, as (Filters, keyword filters for truth)."""
    sellers = some_sellers(events)
    return [
        (queries.Filters(START, END), {}),
        (queries.Filters(datetime(2026, 11, 1, 6), datetime(2026, 11, 1, 18), currencies=("RUB",),
                         warehouses=(1, 2, 3)), {"currencies": ("RUB",), "warehouses": (1, 2, 3)}),
        (queries.Filters(datetime(2026, 11, 2), datetime(2026, 11, 3), sellers=sellers), {"sellers": sellers}),
    ]


def test_data_set_has_every_state_and_currency(events):
    statuses = {e.status for e in events}
    currencies = {p.currency for e in events for p in e.positions}
    assert statuses == {"Created", "Delivered", "Canceled"} and currencies == {"RUB", "KZT", "USD"}
    assert len(events) > len({(e.order_id, e.status) for e in events}), "the data set must contain re-deliveries"


def test_kpis_equal_ground_truth_for_range_and_previous_period(client, events):
    for f, kw in filter_cases(events):
        for period in (f, f.previous()):
            got = kpis_from_rows(queries.kpis(client, period))
            want = truth.kpis(events, period.start, period.end, **kw)
            assert (got.orders, got.items_sold, got.net_reserved) == \
                (want["orders"], want["items_sold"], want["net_reserved"]), period
            assert got.cancellation_rate == pytest.approx(want["cancellation_rate"]) if want["cancellation_rate"] \
                else got.cancellation_rate is None
            assert got.revenue == want["revenue"]
            assert got.average_order == want["average_order"]
    assert truth.kpis(events, START, END)["orders"] > 0


def test_reserved_now_equals_ground_truth(client, events):
    sellers = some_sellers(events)
    assert queries.reserved_now(client, queries.Filters(START, END)) == truth.reserved_now(events) > 0
    assert queries.reserved_now(client, queries.Filters(START, END, sellers=sellers)) == \
        truth.reserved_now(events, sellers=sellers)


@pytest.mark.parametrize("bucket", ["hour", "day", "week"])
def test_revenue_and_status_flow_over_time(client, events, bucket):
    for f, kw in filter_cases(events):
        revenue = queries.revenue_over_time(client, f, bucket)
        got = {(r.bucket.to_pydatetime().replace(tzinfo=None), r.currency): r.revenue for r in revenue.itertuples()}
        assert got and got == truth.revenue_over_time(events, f.start, f.end, bucket, **kw)
        flow = queries.status_flow(client, f, bucket)
        got = {(r.bucket.to_pydatetime().replace(tzinfo=None), r.status): r.orders for r in flow.itertuples()}
        assert got == truth.status_flow(events, f.start, f.end, bucket, **kw)


def test_status_filter_limits_the_flow(client, events):
    f = queries.Filters(START, END, statuses=("Canceled",))
    flow = queries.status_flow(client, f, "day")
    assert set(flow["status"]) == {"Canceled"}
    got = {(r.bucket.to_pydatetime().replace(tzinfo=None), r.status): r.orders for r in flow.itertuples()}
    assert got == truth.status_flow(events, START, END, "day", statuses=("Canceled",))


def test_top_items_and_sellers(client, events):
    for f, kw in filter_cases(events):
        items = truth.delivered_by(events, f.start, f.end, key=lambda p: p.item_id, **kw)
        want = sorted(items.items(), key=lambda kv: (-kv[1][0], kv[0][0], kv[0][1]))[:10]
        assert len(want) == 10
        got = queries.top_items(client, f, 10)
        assert [((r.item_id, r.currency), (r.sold, r.revenue)) for r in got.itertuples()] == want
        sellers = truth.delivered_by(events, f.start, f.end, **SELLER_OF, **kw)
        want = sorted(sellers.items(), key=lambda kv: (-kv[1][0], kv[0][0], kv[0][1]))[:10]
        got = queries.top_sellers(client, f, 10)
        assert [((r.seller_id, r.currency), (r.sold, r.revenue)) for r in got.itertuples()] == want


def _item_tuples(frame):
    return [(r.item_id, r.seller_id, r.reserved, r.sold, r.canceled, r.last_updated.to_pydatetime().replace(tzinfo=None))
            for r in frame.itertuples()]


@pytest.mark.parametrize("sort,column", [("sold", 3), ("canceled", 4), ("last_updated", 5), ("item_id", 0)])
def test_items_table_pages_equal_ground_truth(client, events, sort, column):
    rows = truth.item_rows(events)
    want = sorted(rows, key=lambda r: r[0])
    want = sorted(want, key=lambda r: r[column], reverse=True)
    f = queries.Filters(START, END)
    for page in range(3):
        got = queries.items_page(client, f, "", sort, True, 25, page * 25)
        assert _item_tuples(got) == want[page * 25:(page + 1) * 25]
        assert set(got["total"]) == {len(rows)}


def test_items_search_and_seller_filter(client, events):
    rows = truth.item_rows(events)
    seller = some_sellers(events, 1)[0]
    prefix = str(seller)[:4]
    got = queries.items_page(client, queries.Filters(START, END), prefix, "item_id", False, 500, 0)
    assert _item_tuples(got) == sorted(r for r in rows if str(r[0]).startswith(prefix) or str(r[1]).startswith(prefix))
    got = queries.items_page(client, queries.Filters(START, END, sellers=(seller,)), "", "item_id", False, 500, 0)
    assert _item_tuples(got) == sorted(r for r in rows if r[1] == seller)


def test_item_drill_down(client, events):
    item = truth.item_rows(events)[0][0]
    got = queries.item_warehouses(client, item)
    assert {r.warehouse_id: (r.reserved, r.sold, r.canceled) for r in got.itertuples()} == \
        truth.item_warehouses(events, item)
    history = queries.item_history(client, queries.Filters(START, END), item, "day")
    want = {}
    for e, p in truth.matching_positions(events, START, END, items=(item,)):
        key = (truth.bucket_start(e.moment_ticks, "day"), e.status)
        want[key] = want.get(key, 0) + p.quantity
    assert {(r.bucket.to_pydatetime().replace(tzinfo=None), r.status): r.quantity for r in history.itertuples()} == want


def test_payouts_table_equals_ground_truth(client, events):
    payouts = seller_payouts(events)
    want = sorted(((s, c, q, r) for (s, c), (q, r) in payouts.items()), key=lambda x: (-x[3], x[0], x[1]))
    f = queries.Filters(START, END)
    got = []
    for page in range(0, len(want), 7):
        frame = queries.payouts_page(client, f, "", "delivered_revenue", True, 7, page)
        got += [(r.seller_id, r.currency, r.delivered_quantity, r.delivered_revenue) for r in frame.itertuples()]
    assert got == want
    usd = queries.payouts_page(client, queries.Filters(START, END, currencies=("USD",)), "", "seller_id", False, 500, 0)
    assert [(r.seller_id, r.delivered_revenue) for r in usd.itertuples()] == \
        sorted((s, r) for (s, c), (_, r) in payouts.items() if c == "USD")
    top = queries.top_payouts(client, f, "", 3)
    for currency, group in top.groupby("currency"):
        best = sorted((r for (s, c), (_, r) in payouts.items() if c == currency), reverse=True)[:3]
        assert list(group["delivered_revenue"]) == best


def test_order_timeline_equals_the_events(client, events):
    resolved = next(e.order_id for e in events if e.status == "Delivered")
    frame = queries.order_timeline(client, resolved)
    got = sorted((r.status, r.position, r.item_id, r.quantity, r.currency, r.amount) for r in frame.itertuples())
    assert got == truth.order_positions(events, resolved)
    assert queries.order_timeline(client, 10**15).empty


def test_health_figures(client, dashboard_store):
    events = dashboard_store.events
    fresh = queries.freshness(client)
    assert fresh["latest_event"].replace(tzinfo=None) == max(truth.ticks_to_datetime(e.moment_ticks) for e in events)
    assert queries.dead_letter_count(client) == dashboard_store.dead_letters
    letters = queries.latest_dead_letters(client, 20)
    assert len(letters) == dashboard_store.dead_letters and all(letters["reason"].str.len() > 0)
    per_minute = queries.events_per_minute(client, 60)
    assert per_minute["events"].sum() == len({(e.order_id, e.status) for e in events})
    offsets = queries.partition_offsets(client)
    assert sorted(offsets["partition"]) == [0, 1, 2]


def test_reconciliation_is_green_on_consistent_data(client):
    for view in queries.RECONCILED_VIEWS:
        assert queries.reconciliation(client, view).empty, view


def test_kpi_metrics_on_the_overview_page(use_database, events):
    """What the Overview shows (range from the URL) is the ground truth, formatted."""
    from streamlit.testing.v1 import AppTest

    use_database(POPULATED)
    at = AppTest.from_file("../dashboard/app.py", default_timeout=60)
    at.query_params.update({"range": "custom", "from": "2026-11-01", "to": "2026-11-01"})
    at.run()
    assert not at.exception
    want = truth.kpis(events, datetime(2026, 11, 1), datetime(2026, 11, 2))
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Orders created"] == f"{want['orders']:,}"
    assert metrics["Items sold"] == f"{want['items_sold']:,}"
    assert metrics["Cancellation rate"] == f"{want['cancellation_rate']:.1%}"
    for currency, amount in want["revenue"].items():
        assert metrics[f"Revenue {currency}"] == f"{amount:,.2f} {currency}"
        assert metrics[f"Average order {currency}"] == f"{Decimal(want['average_order'][currency]):,.2f} {currency}"
