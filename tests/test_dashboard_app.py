"""The app's page logic through Streamlit's AppTest: URL state, notices, injection, read-only SQL,
friendly states, reconciliation and currency conversion."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import queries
from dashboard.config import get_dashboard_settings
from orderstream.clickhouse import connect
from orderstream.contract import encode_event
from orderstream.migrate import migrate
from orderstream.settings import get_settings
from tests import dashboard_truth as truth
from tests.dashboard_conftest_helpers import EMPTY, POPULATED, UNMIGRATED

APP = "../dashboard/app.py"
BROKEN, ABSENT = "dash_broken", "dash_absent"
INJECTIONS = ["RUB') OR 1=1 --", "1; DROP TABLE order_events", "' OR ''='", "1) OR (1=1", "1 UNION SELECT 1",
              "{start:String}", "\\'; DROP DATABASE dash_test; --"]


def open_app(page: str | None = None, **params: str) -> AppTest:
    """The app as a browser opening a link: the shared filters and then the page's own state come from
    the URL (AppTest can switch pages only after a first run of the entry script)."""
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update(params)
    at.run()
    if page and page != "overview":
        at.switch_page(f"screens/{page}.py")
        at.query_params.update(params)
        at.run()
    return at


def texts(elements) -> str:
    return "\n".join(str(e.value) for e in elements)


def raw_rows() -> int:
    return connect(get_settings()).query("SELECT count() FROM order_events").result_rows[0][0]


@pytest.fixture
def populated(use_database, dashboard_store):
    use_database(POPULATED)
    return dashboard_store


def test_every_page_renders_without_errors(populated):
    for page in ("overview", "items", "sellers", "orders", "health", "sql"):
        at = open_app(page)
        assert not at.exception and not at.error, page
        assert at.title[0].value


def test_a_shared_link_reproduces_the_view(populated):
    seller = min(p.seller_id for e in populated.events for p in e.positions)
    link = {"range": "custom", "from": "2026-11-01", "to": "2026-11-02", "gran": "hour", "cur": "KZT,RUB",
            "status": "Delivered", "wh": "1,2", "seller": str(seller)}
    at = open_app(**link)
    assert not at.exception and not at.warning
    assert at.selectbox(key="range").value == "custom"
    assert at.date_input(key="from").value.isoformat() == "2026-11-01"
    assert at.multiselect(key="cur").value == ["KZT", "RUB"]
    assert at.multiselect(key="status").value == ["Delivered"]
    assert at.multiselect(key="wh").value == [1, 2]
    assert at.text_input(key="seller").value == str(seller)
    assert at.selectbox(key="gran").value == "hour"
    assert dict(at.query_params) == link
    assert "cur=KZT%2CRUB" in texts(at.code)  # the share box carries the same state
    again = open_app(**dict(at.query_params))
    assert [(m.label, m.value, m.delta) for m in again.metric] == [(m.label, m.value, m.delta) for m in at.metric]
    assert at.metric and at.metric[0].value != "0"


def test_moving_a_filter_updates_the_url_and_survives_page_switches(populated):
    at = open_app()
    assert dict(at.query_params) == {}
    at.multiselect(key="cur").select("USD").run()
    at.selectbox(key="range").set_value("all").run()
    assert at.query_params["cur"] == "USD" and at.query_params["range"] == "all"
    at.switch_page("screens/items.py").run()
    at.selectbox(key="isort").set_value("canceled").run()
    assert at.query_params["cur"] == "USD" and at.query_params["isort"] == "canceled"
    at.switch_page("screens/overview.py").run()
    assert "isort" not in at.query_params and at.query_params["cur"] == "USD"


def test_invalid_and_stale_parameters_fall_back_with_a_notice(populated):
    at = open_app(range="fortnight", cur="XYZ", wh="abc", refresh="7", gran="minute", seller="12a", fx="EUR",
                  **{"from": "yesterday"})
    assert not at.exception
    notices = texts(at.warning)
    for key in ("range", "cur", "wh", "refresh", "gran", "seller", "fx"):
        assert f"`{key}" in notices, key
    assert at.selectbox(key="range").value == "24h" and at.multiselect(key="cur").value == []
    assert at.selectbox(key="gran").value == "auto" and at.selectbox(key="refresh").value == 0
    assert dict(at.query_params) == {}
    assert at.metric, "the page still shows its figures"
    at.button(key="dismiss_notices").click().run()
    assert not at.warning


def test_items_page_state_in_the_url(populated):
    rows = sorted(truth.item_rows(populated.events), key=lambda r: r[0])
    want = sorted(rows, key=lambda r: r[4])[25:50]
    at = open_app("items", isort="canceled", idesc="0", isize="25", ipage="2")
    assert not at.exception
    shown = at.dataframe[0].value
    assert list(shown["item_id"]) == [r[0] for r in want]
    assert f"page 2 of {-(-len(rows) // 25)}" in texts(at.caption)
    stale = open_app("items", ipage="999999")
    assert not stale.exception and stale.number_input(key="ipage").value == -(-len(rows) // 50)


def test_item_drill_down_and_order_lookup_from_the_url(populated):
    item = truth.item_rows(populated.events)[0][0]
    at = open_app("items", drill=str(item))
    assert not at.exception and "By warehouse" in texts(at.markdown)
    order = next(e for e in populated.events if e.status == "Canceled")
    at = open_app("orders", order=str(order.order_id))
    assert not at.exception
    assert at.subheader[0].value == f"Order {order.order_id}: Canceled"
    assert at.query_params["order"] == str(order.order_id)


def test_injection_strings_through_url_and_filters_do_nothing(populated):
    before = raw_rows()
    for text in INJECTIONS:
        for page in ("overview", "items", "sellers", "orders"):
            at = open_app(page, cur=text, seller=text, item=text, wh=text, iq=text, sq=text, order=text, drill=text)
            assert not at.exception, (page, text)
    at = open_app("items")
    for text in INJECTIONS:
        at.text_input(key="seller").input(text).run()
        at.text_input(key="iq").input(text).run()
        assert not at.exception
    assert raw_rows() == before
    # Past the input checks, straight into the queries, they are bound values that match nothing.
    client = connect(readonly=True)
    for text in INJECTIONS:
        f = queries.Filters(datetime(2026, 11, 1), datetime(2026, 11, 4), currencies=(text,))
        assert queries.kpis(client, f).empty
        assert queries.items_page(client, f, text, "sold", True, 10, 0).empty
        assert queries.payouts_page(client, f, text, "seller_id", True, 10, 0).empty
    assert raw_rows() == before


def test_sql_page_runs_selects_with_bound_parameters(populated):
    at = open_app("sql", sql="SELECT {v:String} AS v, count() AS n FROM order_events FINAL",
                  params='{"v": "x\'); DROP TABLE order_events; --"}')
    assert not at.exception and not at.error
    result = at.dataframe[0].value
    assert result["v"][0] == "x'); DROP TABLE order_events; --" and result["n"][0] > 0
    assert at.get("download_button")


@pytest.mark.parametrize("statement", [
    "INSERT INTO order_events (order_id, status, position) VALUES (1, 'Created', 99)",
    "DROP TABLE order_events",
    "CREATE TABLE stolen (x UInt8) ENGINE = Memory",
    "ALTER TABLE order_events DELETE WHERE 1",
    "TRUNCATE TABLE ingest_errors",
])
def test_sql_page_refuses_writes_and_ddl(populated, statement):
    before = raw_rows()
    at = open_app("sql", sql=statement)
    assert not at.exception
    assert "Refused: this page is read-only" in texts(at.error)
    assert raw_rows() == before
    assert connect(get_settings()).query("EXISTS TABLE stolen").result_rows[0][0] == 0


@pytest.mark.parametrize("page", ["overview", "items", "sellers", "orders"])
def test_empty_store_shows_a_friendly_state(use_database, page):
    use_database(EMPTY)
    at = open_app(page)
    assert not at.exception and "No orders yet" in texts(at.info)


def test_empty_store_health_page_shows_zero(use_database):
    use_database(EMPTY)
    at = open_app("health")
    assert not at.exception and not at.error
    assert {m.label: m.value for m in at.metric}["Dead letters"] == "0"


@pytest.mark.parametrize("database", [UNMIGRATED, ABSENT])
@pytest.mark.parametrize("page", ["overview", "items", "health", "sql"])
def test_missing_views_show_how_to_migrate(use_database, database, page):
    connect(get_settings(), database=False).command(f"CREATE DATABASE IF NOT EXISTS {UNMIGRATED}")
    use_database(database)
    at = open_app(page, sql="SELECT * FROM sales_by_item")
    assert not at.exception
    assert "views do not exist yet" in texts(at.warning) and "orderstream.migrate" in texts(at.warning)


@pytest.mark.parametrize("page", ["overview", "sellers", "health", "sql"])
def test_unreachable_clickhouse_shows_a_friendly_state(use_database, page):
    use_database(POPULATED, CLICKHOUSE_HOST="127.0.0.1", CLICKHOUSE_PORT="1")
    at = open_app(page, sql="SELECT 1")
    assert not at.exception
    assert "ClickHouse is unreachable" in texts(at.error)


def test_reconciliation_is_green_then_red_with_the_differing_rows(use_database, populated):
    at = open_app("health")
    at.button(key="reconcile").click().run()
    assert not at.exception
    assert len([s for s in at.success if "equals its recomputation" in s.value]) == len(queries.RECONCILED_VIEWS)

    writer = connect(get_settings().model_copy(update={"clickhouse_database": BROKEN}), database=False)
    writer.command(f"DROP DATABASE IF EXISTS {BROKEN}")
    migrate(get_settings().model_copy(update={"clickhouse_database": BROKEN}))
    use_database(BROKEN)
    from ingest.batch import Batch
    from ingest.sink import ClickHouseSink
    batch = Batch()
    for offset, event in enumerate(populated.events[:50]):
        batch.add("order_events", 0, offset, None, encode_event(event))
    ClickHouseSink(lambda: connect(get_settings())).write(batch)
    # A payout row the raw table does not justify: the mart is now wrong.
    connect(get_settings()).command(
        "INSERT INTO delivered_positions VALUES (123456, 'RUB', 999999999, 0, 7, 70.5)")
    at = open_app("health")
    at.button(key="reconcile").click().run()
    assert "`seller_payouts` differs from the raw table" in texts(at.error)
    diff = [d.value for d in at.dataframe if "side" in d.value.columns][0]
    assert list(diff["seller_id"]) == [123456] and list(diff["side"]) == ["view"]


def rates_of(currency: str) -> Decimal:
    return {"RUB": Decimal(1), "KZT": Decimal("0.19"), "USD": Decimal(90)}[currency]


def test_conversion_to_one_currency_is_labelled_and_exact(use_database, populated):
    use_database(POPULATED, DASHBOARD_FX_RATES="KZT:RUB=0.19,USD:RUB=90")
    get_dashboard_settings.cache_clear()
    try:
        at = open_app(range="custom", to="2026-11-02", fx="RUB", **{"from": "2026-11-01"})
        sellers = open_app("sellers", fx="RUB").dataframe[0].value
    finally:
        get_dashboard_settings.cache_clear()
    kzt = sellers[sellers["currency"] == "KZT"]
    assert len(kzt) and list(kzt["revenue_RUB_converted"]) == [Decimal(v) * rates_of("KZT") for v in kzt["delivered_revenue"]]
    assert not at.exception and not at.warning
    want = truth.kpis(populated.events, datetime(2026, 11, 1), datetime(2026, 11, 3))["revenue"]
    total = sum(amount * rates_of(c) for c, amount in want.items())
    metric = {m.label: m.value for m in at.metric}["Revenue converted to RUB"]
    assert metric == f"{total:,.2f} RUB (converted)"
    assert metric != f"{want['RUB']:,.2f} RUB (converted)"


def test_auto_refresh_is_off_by_default_and_choosable(populated):
    at = open_app()
    assert at.selectbox(key="refresh").value == 0
    at = open_app(refresh="5")
    assert not at.exception and at.selectbox(key="refresh").value == 5 and at.query_params["refresh"] == "5"


def test_delta_texts_format_counts_and_money():
    from dashboard.overview_figures import change
    assert change(11_259, 0) == "+11,259 (new)"
    assert change(12_000, 10_000) == "+2,000 (+20.0%)"
    assert change(Decimal("1234.5"), Decimal(0)) == "+1,234.50 (new)"
    assert change(Decimal("90"), Decimal("100")) == "-10.00 (-10.0%)"
    assert change(5, 5) == "+0 (+0.0%)" and change(0, 0) == "±0"


def test_all_time_shows_no_deltas_and_a_range_shows_them(populated):
    at = open_app(range="all")
    assert not at.exception and at.metric
    assert not any(m.delta for m in at.metric), [(m.label, m.delta) for m in at.metric]
    at = open_app(range="custom", **{"from": "2026-11-01", "to": "2026-11-02"})
    deltas = {m.label: m.delta for m in at.metric}
    assert deltas["Orders created"] and "." not in deltas["Orders created"].split(" ")[0]


def test_health_ages_are_captions_not_deltas(populated):
    at = open_app("health")
    assert not at.exception
    assert not any(m.delta for m in at.metric)
    assert any(c.value.endswith(" ago") or "in the future" in c.value for c in at.caption)
