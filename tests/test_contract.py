"""The event contract, from a table of good and bad inputs (each bad kind -> its reason)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from orderstream.contract import (
    InvalidEvent,
    encode_event,
    format_moment,
    parse_event,
    parse_moment,
)

GOOD = {
    "order_id": 373, "user_id": 186, "warehouse_id": 44, "status": "Created",
    "moment": "2026-11-20T11:53:20.0902941Z",
    "positions": [
        {"item_id": 232631332023, "quantity": 7, "price": {"currency": "RUB", "units": 6156, "nanos": 780000000}},
        {"item_id": 245483944435, "quantity": 6, "price": {"currency": "KZT", "units": 7704, "nanos": 0}},
    ],
}


def with_(path: str, value, base=GOOD) -> bytes:
    """GOOD with one field replaced (or removed when value is ...), as JSON bytes."""
    doc = json.loads(json.dumps(base))
    *parents, last = path.split(".")
    node = doc
    for part in parents:
        node = node[int(part)] if part.isdigit() else node[part]
    key = int(last) if last.isdigit() else last
    if value is ...:
        del node[key]
    else:
        node[key] = value
    return json.dumps(doc).encode()


def test_course_generator_event_is_read_exactly():
    event = parse_event(json.dumps(GOOD).encode())
    assert (event.order_id, event.user_id, event.warehouse_id, event.status) == (373, 186, 44, "Created")
    assert event.moment_ticks % 10_000_000 == 902941  # the 7th fractional digit is kept
    assert [p.item_id for p in event.positions] == [232631332023, 245483944435]
    assert event.positions[0].price == Decimal("6156.78")
    assert event.positions[0].amount == Decimal("43097.46")
    assert event.positions[0].seller_id == 232631


@pytest.mark.parametrize(
    ("change", "check"),
    [
        (("positions", GOOD["positions"][0]), lambda e: len(e.positions) == 1 and e.positions[0].item_id == 232631332023),
        (("positions.0.price.currency", "RUR"), lambda e: e.positions[0].currency == "RUB"),
        (("positions.0.price.currency", "kzt"), lambda e: e.positions[0].currency == "KZT"),
        (("positions.0.price.currency", "USD"), lambda e: e.positions[0].currency == "USD"),
        (("positions.0.price.units", "6156"), lambda e: e.positions[0].units == 6156),  # protobuf JSON int64
        (("positions.0.price.nanos", ...), lambda e: e.positions[0].nanos == 0),
        (("status", "delivered"), lambda e: e.status == "Delivered"),
        (("status", "CANCELED"), lambda e: e.status == "Canceled"),
        (("moment", "2026-11-20T11:53:20Z"), lambda e: e.moment_ticks % 10_000_000 == 0),
        (("moment", "2026-11-20T11:53:20.5Z"), lambda e: e.moment_ticks % 10_000_000 == 5_000_000),
        (("moment", "2026-11-20T14:53:20.0902941+03:00"), lambda e: e.moment_ticks == parse_moment("2026-11-20T11:53:20.0902941Z")),
        (("extra_field", {"ignored": True}), lambda e: e.order_id == 373),
    ],
)
def test_accepted_variants(change, check):
    assert check(parse_event(with_(*change)))


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (b"", "empty message"),
        (None, "empty message"),
        (b"\xff\xfe\x00", "not UTF-8"),
        (b"not json", "not valid JSON"),
        (b'{"order_id": 1, "status": "Created"', "not valid JSON"),
        (b"[]", "not a JSON object: `array`"),
        (b"null", "not a JSON object: `null`"),
        (b"42", "not a JSON object: `int`"),
        (with_("moment", ...), "missing required field `moment`"),
        (with_("positions", ...), "missing required field `positions`"),
        (with_("order_id", "x"), "Expected `int`, got `str` - at `$.order_id`"),
        (with_("user_id", -1), "Expected `int` >= 0 - at `$.user_id`"),
        (with_("positions", []), "positions is empty"),
        (with_("positions.0.quantity", 0), "Expected `int` >= 1 - at `$.positions[0].quantity`"),
        (with_("positions.1.price.nanos", 1_000_000_000), "<= 999999999 - at `$.positions[1].price.nanos`"),
        (with_("positions.1.price.nanos", -1), ">= 0 - at `$.positions[1].price.nanos`"),
        (with_("positions.0.price.units", -5), "units -5 is negative - at `$.positions[0].price.units`"),
        (with_("positions.0.price.units", "12a"), "is not a non-negative integer"),
        (with_("positions.0.price.currency", "RUBLES"), "is not an ISO-4217 code"),
        (with_("positions.0.item_id", 12345), ">= 100000000000 - at `$.positions[0].item_id`"),
        (with_("status", "Shipped"), "unknown status 'Shipped'"),
        (with_("status", 1), "Expected `str`, got `int` - at `$.status`"),
        (with_("moment", "20.11.2026 11:53"), "is not ISO-8601"),
        (with_("moment", "2026-11-20T11:53:20"), "is not ISO-8601"),  # a zone is required
        (with_("moment", "2026-02-30T11:53:20Z"), "is not a valid time"),
    ],
)
def test_rejected_with_reason(value, reason):
    with pytest.raises(InvalidEvent) as caught:
        parse_event(value)
    assert reason in str(caught.value)


def test_key_is_never_needed():
    # The event carries its own order id; keys of any shape (or none) are irrelevant to parsing.
    assert parse_event(json.dumps(GOOD).encode()).order_id == 373


@pytest.mark.parametrize("text", ["2026-11-20T11:53:20.0902941Z", "2026-11-20T11:53:20Z", "1970-01-01T00:00:00.0000001Z"])
def test_moment_round_trip(text):
    assert format_moment(parse_moment(text)) == text


@pytest.mark.parametrize("spec_shape", [False, True])
def test_encode_then_parse_round_trip(spec_shape):
    event = parse_event(with_("positions", [GOOD["positions"][0]]))
    wire = encode_event(event, single_position=spec_shape, rouble_code="RUR" if spec_shape else "RUB")
    doc = json.loads(wire)
    assert isinstance(doc["positions"], dict) == spec_shape
    assert parse_event(wire) == event


def test_every_sample_line_parses_or_gets_a_reason(samples_dir):
    outcomes = {"ok": 0, "rejected": 0}
    for name in ("course-generator-events.jsonl", "spec-shape-events.jsonl"):
        for line in (samples_dir / name).read_text().splitlines():
            record = json.loads(line)
            value = bytes.fromhex(record["value_hex"]) if "value_hex" in record else (record.get("value") or "").encode()
            try:
                parse_event(value)
                outcomes["ok"] += 1
            except InvalidEvent as exc:
                assert str(exc)
                outcomes["rejected"] += 1
    assert outcomes["ok"] > 400 and 5 <= outcomes["rejected"] <= 20
