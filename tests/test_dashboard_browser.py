"""The dashboard in a real browser: headless Chromium (Playwright) against the app served on a real port.

The app runs in a subprocess on its own embedded store, filled beforehand by yet another subprocess
(tests.support.populate_store): chDB admits one process per directory and this pytest process may own the
session one. Ground truth is recomputed here from the same seeded events.

Flow: open a shared link (custom days + one currency), check the sidebar shows that state and the KPIs
equal ground truth; change filters in the UI and check the URL and the figures follow; visit every page,
screenshotting each into test-artifacts/screenshots/.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from dashboard.filters import RANGE
from tests.ground_truth import distinct_events, ticks_to_datetime
from tests.support.app_health import wait_until_healthy
from tests.support.populate_store import events_from_meta, read_meta

playwright_api = pytest.importorskip("playwright.sync_api")
from playwright.sync_api import expect, sync_playwright  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync", "--disable-quic"]
EVENTS, SEED, DAYS = 20_000, 7, 30
TIMEOUT_MS = 20_000

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium at {CHROMIUM}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def child_env(chdb_path: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLICKHOUSE_", "STREAMLIT_"))}
    env.update(CHDB_PATH=str(chdb_path), PYTHONPATH=str(ROOT), TZ="UTC", DASHBOARD_FX_RATES="")
    return env


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("browser-chdb")
    subprocess.run([sys.executable, "-m", "tests.support.populate_store", "--path", str(path), "--events",
                    str(EVENTS), "--seed", str(SEED), "--days", str(DAYS)],
                   cwd=ROOT, env=child_env(path), check=True, timeout=120, capture_output=True)
    return path


@pytest.fixture(scope="module")
def events(store):
    return list(distinct_events(events_from_meta(store)).values())


@pytest.fixture(scope="module")
def app_url(store, tmp_path_factory):
    """The app served by `python -m dashboard` (the product's entry) in a subprocess on a free port."""
    port = free_port()
    log_path = tmp_path_factory.mktemp("browser-app") / "app.log"
    env = {**child_env(store), "DASHBOARD_PORT": str(port), "DASHBOARD_ADDRESS": "127.0.0.1"}
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "dashboard"], cwd=ROOT, env=env, stdout=log,
                                stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        if not wait_until_healthy(url, proc, 60):
            pytest.fail(f"the app did not become healthy:\n{log_path.read_text()[-3000:]}")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        if log_path.exists():
            errors = [line for line in log_path.read_text().splitlines() if "Traceback" in line]
            assert not errors, f"the app logged tracebacks:\n{log_path.read_text()[-3000:]}"


# ---- ground truth ---------------------------------------------------------------------------------------


def truth(events, start: datetime, end: datetime, currencies=()) -> dict:
    """Overview KPIs for events with moment in [start, end) and positions in `currencies` (all if empty)."""
    created, delivered_orders = set(), defaultdict(set)
    items_sold = 0
    revenue: dict[str, Decimal] = defaultdict(Decimal)
    for e in events:
        if not start <= ticks_to_datetime(e.moment_ticks) < end:
            continue
        for p in e.positions:
            if currencies and p.currency not in currencies:
                continue
            if e.status == "Created":
                created.add(e.order_id)
            elif e.status == "Delivered":
                items_sold += p.quantity
                revenue[p.currency] += p.amount
                delivered_orders[p.currency].add(e.order_id)
    return {"Orders created": f"{len(created):,}", "Items sold": f"{items_sold:,}",
            **{f"Revenue {c}": f"{v:,.2f} {c}" for c, v in revenue.items()},
            **{f"Average order {c}": f"{revenue[c] / len(o):,.2f} {c}" for c, o in delivered_orders.items()}}


def all_time(events) -> tuple[datetime, datetime]:
    moments = [ticks_to_datetime(e.moment_ticks) for e in events]
    return datetime.min, max(moments) + timedelta(days=1)


# ---- page helpers ---------------------------------------------------------------------------------------


def metric(page, label: str):
    return page.locator('[data-testid="stMetric"]').filter(
        has=page.locator('[data-testid="stMetricLabel"]', has_text=re.compile(f"^{re.escape(label)}$"))
    ).locator('[data-testid="stMetricValue"]')


def expect_kpis(page, expected: dict) -> None:
    for label, value in expected.items():
        expect(metric(page, label)).to_have_text(value, timeout=TIMEOUT_MS)


def sidebar_widget(page, testid: str, label: str):
    return page.locator(f'[data-testid="stSidebar"] [data-testid="{testid}"]').filter(
        has=page.locator('[data-testid="stWidgetLabel"]', has_text=label))


def query(page) -> dict:
    return {k: v[0] for k, v in parse_qs(urlparse(page.url).query).items()}


def wait_query(page, predicate, what: str) -> None:
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while not predicate(query(page)):
        if time.monotonic() > deadline:
            raise AssertionError(f"URL never showed {what}: {page.url}")
        page.wait_for_timeout(100)


def settle(page) -> None:
    """Wait until the app is idle (no running script indicator) after an interaction."""
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " || !document.querySelector('[data-testid=\"stStatusWidget\"]').innerText.includes('Running')",
        timeout=TIMEOUT_MS)


def shoot(page, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def no_exceptions(page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0, page.locator(
        '[data-testid="stException"]').first.inner_text()


def choose(page, testid: str, label: str, option: str) -> None:
    sidebar_widget(page, testid, label).click()
    page.locator('[role="option"]', has_text=re.compile(f"^{re.escape(option)}$")).first.click()


# ---- the test ---------------------------------------------------------------------------------------------


def test_shared_link_filters_and_every_page(app_url, store, events):
    meta = read_meta(store)
    last_day = ticks_to_datetime(meta["end_ticks"]).date() - timedelta(days=1)
    first, last = last_day - timedelta(days=9), last_day - timedelta(days=3)
    window = (datetime.combine(first, datetime.min.time()), datetime.combine(last + timedelta(days=1), datetime.min.time()))

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 1800})
            page_errors: list[str] = []
            page.on("pageerror", lambda exc: page_errors.append(str(exc)))

            # 1. A shared link: custom days, one currency, overview page.
            page.goto(f"{app_url}/?range=custom&from={first}&to={last}&cur=RUB", wait_until="domcontentloaded")
            page.wait_for_selector('[data-testid="stMetricValue"]', timeout=TIMEOUT_MS)
            expect(page.get_by_role("combobox", name="Date range")).to_have_value("Custom days")
            expect(sidebar_widget(page, "stDateInput", "From (UTC)").locator("input").first).to_have_value(
                str(first))
            expect(sidebar_widget(page, "stDateInput", "To (UTC)").locator("input").first).to_have_value(
                str(last))
            expect(sidebar_widget(page, "stMultiSelect", "Currency")).to_contain_text("RUB")
            expected = truth(events, *window, currencies=("RUB",))
            expect_kpis(page, expected)
            assert metric(page, "Revenue KZT").count() == 0
            assert query(page) == {"range": "custom", "from": str(first), "to": str(last), "cur": "RUB"}
            page.wait_for_selector(".js-plotly-plot", timeout=TIMEOUT_MS)
            page.wait_for_selector('[data-testid="stDataFrame"]', timeout=TIMEOUT_MS)
            no_exceptions(page)
            shoot(page, "01-overview-shared-link")

            # 2. Change filters in the UI: the URL and the figures follow.
            choose(page, "stSelectbox", "Date range", "All time")
            all_rub = {"cur": "RUB"} if RANGE.default == "all" else {"range": "all", "cur": "RUB"}
            wait_query(page, lambda q: q == all_rub, f"exactly {all_rub}")
            expected_all_rub = truth(events, *all_time(events), currencies=("RUB",))
            assert expected_all_rub["Orders created"] != expected["Orders created"]
            expect_kpis(page, expected_all_rub)

            choose(page, "stMultiSelect", "Currency", "KZT")
            page.keyboard.press("Escape")
            wait_query(page, lambda q: q.get("cur") == "RUB,KZT" and q.get("range", RANGE.default) == "all",
                       "cur=RUB,KZT, all time")
            expected_both = truth(events, *all_time(events))
            assert {"Revenue RUB", "Revenue KZT"} <= set(expected_both)
            expect_kpis(page, expected_both)
            page.wait_for_selector(".js-plotly-plot", timeout=TIMEOUT_MS)
            settle(page)
            no_exceptions(page)
            shoot(page, "02-overview-all-time-both-currencies")

            # 3. Every page, from the sidebar navigation; the filters stay in the URL.
            pages = {
                "Items": ('[data-testid="stDataFrame"]',),
                "Sellers": ('[data-testid="stDataFrame"]', ".js-plotly-plot"),
                "Orders": ('[data-testid="stDataFrame"]',),
                "Pipeline health": ('[data-testid="stMetricValue"]', '[data-testid="stDataFrame"]', ".js-plotly-plot"),
                "SQL": ('[data-testid="stTextArea"]',),
                "Overview": ('[data-testid="stMetricValue"]', ".js-plotly-plot", '[data-testid="stDataFrame"]'),
            }
            for number, (title, selectors) in enumerate(pages.items(), start=3):
                page.locator('[data-testid="stSidebarNavLink"]', has_text=title).click()
                expect(page.locator('[data-testid="stSidebarNavLink"][aria-current="page"]')).to_contain_text(title)
                for selector in selectors:
                    page.wait_for_selector(selector, timeout=TIMEOUT_MS)
                wait_query(page, lambda q: q.get("cur") == "RUB,KZT" and q.get("range", RANGE.default) == "all",
                           f"cur=RUB,KZT, all time on {title}")
                settle(page)
                no_exceptions(page)
                shoot(page, f"{number:02d}-{title.lower().replace(' ', '-')}")
            expect_kpis(page, expected_both)

            # 4. Deep links with page state: an item drill-down, an order timeline, an ad-hoc query.
            item = max(events, key=lambda e: len(e.positions)).positions[0].item_id
            order = next(e.order_id for e in events if e.status == "Delivered")
            page.goto(f"{app_url}/items?drill={item}", wait_until="domcontentloaded")
            page.wait_for_selector(".js-plotly-plot", timeout=TIMEOUT_MS)
            settle(page)
            no_exceptions(page)
            shoot(page, "09-items-drill-down")
            page.goto(f"{app_url}/orders?order={order}", wait_until="domcontentloaded")
            page.wait_for_selector(".js-plotly-plot", timeout=TIMEOUT_MS)
            expect(page.get_by_text(f"Order {order}: Delivered")).to_be_visible(timeout=TIMEOUT_MS)
            settle(page)
            no_exceptions(page)
            shoot(page, "10-orders-timeline")
            sql = "SELECT currency, sum(delivered_revenue) AS revenue FROM seller_payouts GROUP BY currency ORDER BY currency"
            page.goto(f"{app_url}/sql", wait_until="domcontentloaded")
            page.locator('[data-testid="stTextArea"] textarea').fill(sql)
            page.locator('[data-testid="stTextArea"] textarea').press("Control+Enter")
            page.wait_for_selector('[data-testid="stDataFrame"]', timeout=TIMEOUT_MS)
            expect(page.get_by_text("2 rows")).to_be_visible(timeout=TIMEOUT_MS)
            wait_query(page, lambda q: q.get("sql") == sql, "the SQL text")
            page.wait_for_selector(".js-plotly-plot", timeout=TIMEOUT_MS)
            settle(page)
            no_exceptions(page)
            shoot(page, "11-sql-result")

            # 5. The Overview also answers at /overview (the nav's default page lives at /), with the link's state.
            page.goto(f"{app_url}/overview?range=1h&cur=RUB", wait_until="domcontentloaded")
            page.wait_for_selector('[data-testid="stMetricValue"]', timeout=TIMEOUT_MS)
            page.wait_for_selector(".js-plotly-plot", timeout=TIMEOUT_MS)
            settle(page)
            assert page.get_by_text("Page not found").count() == 0
            expect(page.get_by_role("heading", name="Sales overview")).to_be_visible(timeout=TIMEOUT_MS)
            assert query(page) == {"range": "1h", "cur": "RUB"}
            no_exceptions(page)
            shoot(page, "12-overview-path-last-hour")
            assert not page_errors, page_errors
        finally:
            browser.close()
