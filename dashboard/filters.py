"""The sidebar filters shared by every page, kept in the URL (see urlstate)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

import streamlit as st

from dashboard import urlstate
from dashboard.config import get_dashboard_settings
from dashboard.fx import Converter
from dashboard.queries import BUCKETS, Dimensions, Filters
from dashboard.urlstate import Param
from orderstream.contract import STATUSES

PRESETS = {"1h": "Last hour", "24h": "Last 24 hours", "7d": "Last 7 days", "30d": "Last 30 days",
           "all": "All time", "custom": "Custom days"}
PRESET_LENGTHS = {"1h": timedelta(hours=1), "24h": timedelta(days=1), "7d": timedelta(days=7),
                  "30d": timedelta(days=30)}
GRANULARITIES = ("auto", *BUCKETS)
NO_FX = ""


def _dates(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError("not a date like 2026-11-20") from None


def _list(parse_one):
    def parse(text: str) -> list:
        return [parse_one(t) for t in text.split(",") if t]
    return parse


def _status(text: str) -> str:
    if text not in STATUSES:
        raise ValueError(f"unknown status; expected {', '.join(STATUSES)}")
    return text


def _currency(text: str) -> str:
    if len(text) != 3 or not text.isascii() or not text.isalpha() or not text.isupper():
        raise ValueError("not a currency code")
    return text


def _warehouse(text: str) -> int:
    return urlstate.integer(0, 2**64 - 1)(text)


def _join(values) -> str:
    return ",".join(map(str, values))


RANGE = Param("range", "24h", urlstate.choice(tuple(PRESETS)))
FROM = Param("from", None, _dates, date.isoformat)
TO = Param("to", None, _dates, date.isoformat)
GRAN = Param("gran", "auto", urlstate.choice(GRANULARITIES))
CURRENCIES = Param("cur", [], _list(_currency), _join)
STATUS = Param("status", [], _list(_status), _join)
WAREHOUSES = Param("wh", [], _list(_warehouse), _join)
SELLERS = Param("seller", "", urlstate.id_list_text)
ITEMS = Param("item", "", urlstate.id_list_text)
FX = Param("fx", NO_FX, _currency)
REFRESH = Param("refresh", 0, urlstate.integer(0, 3600))


@dataclass(frozen=True)
class Selection:
    filters: Filters
    bucket: str  # the granularity in effect (auto resolved)
    fx: str  # target currency, or "" for none
    refresh: int  # seconds, 0 = off
    converter: Converter
    preset: str = RANGE.default  # the date-range choice ("all" has no previous period to compare with)


def auto_bucket(start: datetime, end: datetime) -> str:
    span = end - start
    if span <= timedelta(days=3):
        return "hour"
    if span <= timedelta(days=90):
        return "day"
    return "week"


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _minute_ceiling(moment: datetime) -> datetime:
    # Whole minutes keep range ends stable between reruns, so cached results are reused.
    floor = moment.replace(second=0, microsecond=0)
    return floor if floor == moment else floor + timedelta(minutes=1)


def time_range(preset: str, first: date | None, last: date | None, dims: Dimensions) -> tuple[datetime, datetime]:
    if preset in PRESET_LENGTHS:
        # Relative to the latest event, not the wall clock: the same for a live stream, and a replayed or
        # stopped stream still shows its last hours instead of nothing.
        latest = dims.last_moment + timedelta(microseconds=1) if dims.last_moment else _now()
        end = _minute_ceiling(latest)
        return end - PRESET_LENGTHS[preset], end
    if preset == "custom" and first and last:
        return datetime.combine(first, datetime.min.time()), datetime.combine(last + timedelta(days=1), datetime.min.time())
    if dims.first_moment is None:
        end = _minute_ceiling(_now())
        return end - timedelta(hours=1), end
    start = dims.first_moment.replace(second=0, microsecond=0)
    return start, _minute_ceiling(dims.last_moment + timedelta(microseconds=1))


def _keep_known(param: Param, options) -> None:
    """Drop selected values the data no longer has (a stale link), saying so."""
    chosen = st.session_state[param.key]
    unknown = [v for v in chosen if v not in options]
    if unknown:
        urlstate.notice(f"`{param.key}`: {_join(unknown)} not in the data; ignored.")
        st.session_state[param.key] = [v for v in chosen if v in options]


def sidebar(dims: Dimensions) -> Selection:
    settings = get_dashboard_settings()
    converter = Converter(settings.fx_rates)
    for param in (RANGE, GRAN, CURRENCIES, STATUS, WAREHOUSES, SELLERS, ITEMS, FX, REFRESH):
        urlstate.adopt(param)
    if dims.rows:
        _keep_known(CURRENCIES, dims.currencies)
        _keep_known(WAREHOUSES, dims.warehouses)
    refresh_options = (0, *settings.refresh_choices)
    if st.session_state[REFRESH.key] not in refresh_options:
        urlstate.notice(f"`refresh={st.session_state[REFRESH.key]}` is not an offered interval; auto-refresh is off.")
        st.session_state[REFRESH.key] = 0
    fx_options = (NO_FX, *converter.targets())
    if st.session_state[FX.key] not in fx_options:
        urlstate.notice(f"`fx={st.session_state[FX.key]}`: no conversion rates configured for it; showing original currencies.")
        st.session_state[FX.key] = NO_FX

    bar = st.sidebar
    bar.header("Filters")
    preset = bar.selectbox("Date range", tuple(PRESETS), format_func=PRESETS.get, key=RANGE.key)
    first = last = None
    if preset == "custom":
        default_day = (dims.last_moment or _now()).date()
        urlstate.adopt(FROM)
        urlstate.adopt(TO)
        if st.session_state[FROM.key] is None:
            st.session_state[FROM.key] = default_day
        if st.session_state[TO.key] is None:
            st.session_state[TO.key] = default_day
        # One above the other: side by side the sidebar is too narrow and truncates the dates.
        first = bar.date_input("From (UTC)", key=FROM.key, format="YYYY-MM-DD")
        last = bar.date_input("To (UTC)", key=TO.key, format="YYYY-MM-DD")
        if first > last:
            bar.warning("From is after To: showing the single day From.")
            last = first
    start, end = time_range(preset, first, last, dims)
    bar.caption(f"{start:%Y-%m-%d %H:%M} – {end:%Y-%m-%d %H:%M} UTC"
                + (" (up to the latest event)" if preset in PRESET_LENGTHS else ""))

    gran = bar.selectbox("Time granularity", GRANULARITIES, key=GRAN.key,
                         format_func=lambda g: f"auto ({auto_bucket(start, end)})" if g == "auto" else g)
    currencies = bar.multiselect("Currency", dims.currencies, key=CURRENCIES.key, placeholder="All currencies")
    statuses = bar.multiselect("Status", STATUSES, key=STATUS.key, placeholder="All statuses",
                               help="Which event statuses the flow charts show.")
    warehouses = bar.multiselect("Warehouses", dims.warehouses, key=WAREHOUSES.key, placeholder="All warehouses")
    sellers = _ids_input(bar, "Seller ids", SELLERS)
    items = _ids_input(bar, "Item ids", ITEMS)
    fx = bar.selectbox("Convert money to", fx_options, key=FX.key,
                       format_func=lambda c: c or "— (keep currencies apart)",
                       help="Uses the rates in DASHBOARD_FX_RATES; converted figures are labelled.")
    refresh = bar.selectbox("Auto-refresh", refresh_options, key=REFRESH.key,
                            format_func=lambda s: f"every {s} s" if s else "off")

    filters = Filters(start, end, tuple(currencies), tuple(statuses), tuple(warehouses), sellers, items)
    return Selection(filters, auto_bucket(start, end) if gran == "auto" else gran, fx, refresh, converter, preset)


def _ids_input(bar, label: str, param: Param) -> tuple[int, ...]:
    text = bar.text_input(label, key=param.key, placeholder="all (comma-separated)")
    try:
        return urlstate.parse_ids(text)
    except ValueError as exc:
        bar.warning(f"{label}: {exc}; filter ignored.")
        return ()


def share_box() -> None:
    with st.sidebar.expander("Share this view", icon=":material/link:"):
        st.code(urlstate.share_link(), language=None, wrap_lines=True)
        st.caption("Use the copy button on the link: it reopens exactly this page and filters.")
