"""Ad-hoc analyst SQL (the dashboard's SQL page) on the read-only connection: bounded, and any column
type displays."""

from __future__ import annotations

import pytest
from clickhouse_connect.driver.exceptions import DatabaseError

from dashboard.queries import adhoc
from orderstream.clickhouse import ANALYST_LIMITS, connect
from orderstream.migrate import migrate


@pytest.fixture
def analyst(settings):
    migrate(settings)
    return connect(settings, readonly=True)


def test_an_endless_query_is_cut_off_not_materialized(analyst):
    rows, cut = adhoc(analyst, "SELECT number FROM system.numbers", {})
    assert cut and len(rows) == 10_000


def test_limits_cannot_be_raised_from_the_query(analyst):
    with pytest.raises(DatabaseError):
        adhoc(analyst, "SELECT 1 SETTINGS max_result_rows = 0", {})
    assert ANALYST_LIMITS["result_overflow_mode"] == "break"


def test_seven_digit_moments_display(analyst):
    rows, cut = adhoc(analyst, "SELECT toDateTime64('2026-11-20 11:53:20.0902941', 7, 'UTC') AS moment, "
                               "{x:UInt64} AS x", {"x": 5})
    assert not cut and rows["x"].tolist() == [5]
    assert str(rows["moment"][0]).startswith("2026-11-20 11:53:20.090294")
