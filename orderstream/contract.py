"""The order event contract: raw message bytes in, a validated and normalized event out, or a precise reason.

Accepted on the wire (what real producers and the written spec send):
- `positions` as an array of positions or as a single position object;
- currencies as ISO-4217 codes in any case; the old rouble code `RUR` is stored as `RUB`;
- `price.units` as a JSON integer or, as protobuf's JSON mapping writes int64, a string of digits;
- `moment` as ISO-8601 with 0 to 7 fractional digits and `Z` or a UTC offset (the course's C# generator
  writes 7), kept exactly as 100-nanosecond ticks since the epoch;
- `status` as a string, case-insensitive.
The Kafka message key is never read: it may be absent, text, or an 8-byte big-endian order id.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from decimal import Decimal
from functools import lru_cache
from typing import Annotated, Union

import msgspec

STATUSES = ("Created", "Canceled", "Delivered")
# The rank orders an order's events by finality: Delivered beats Canceled beats Created.
STATUS_RANK = {status: rank for rank, status in enumerate(STATUSES, start=1)}
_STATUS_BY_LOWER = {status.lower(): status for status in STATUSES}
_STATUS_EXACT = {status: status for status in STATUSES}
_CURRENCY_ALIASES = {"RUR": "RUB"}
_CURRENCY = re.compile(r"[A-Z]{3}")
_MOMENT = re.compile(
    r"(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(?:\.(\d{1,7}))?([Zz]|[+-]\d{2}:?\d{2})"
)
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
TICKS_PER_SECOND = 10_000_000  # moments are stored as DateTime64(7): 100 ns ticks
ITEM_ID_MIN, ITEM_ID_MAX = 100_000_000_000, 999_999_999_999  # 12 digits
SELLER_DIVISOR = 1_000_000  # the first 6 of the 12 digits are the seller id
NANOS_PER_UNIT = 1_000_000_000

NonNegative = Annotated[int, msgspec.Meta(ge=0)]
ItemId = Annotated[int, msgspec.Meta(ge=ITEM_ID_MIN, le=ITEM_ID_MAX)]


class InvalidEvent(ValueError):
    """A message that does not satisfy the contract; str() is the reason stored with the dead letter."""


class _WireMoney(msgspec.Struct, gc=False):
    currency: str
    units: Union[int, str]
    nanos: Annotated[int, msgspec.Meta(ge=0, le=NANOS_PER_UNIT - 1)] = 0


class _WirePosition(msgspec.Struct, gc=False):
    item_id: ItemId
    quantity: Annotated[int, msgspec.Meta(ge=1, le=2**32 - 1)]
    price: _WireMoney


class _WireEvent(msgspec.Struct, gc=False):
    moment: str
    order_id: NonNegative
    user_id: NonNegative
    warehouse_id: NonNegative
    positions: Union[list[_WirePosition], _WirePosition]
    status: str


class Position(msgspec.Struct, frozen=True, gc=False):
    item_id: int
    quantity: int
    currency: str
    units: int
    nanos: int

    @property
    def seller_id(self) -> int:
        return self.item_id // SELLER_DIVISOR

    @property
    def price(self) -> Decimal:
        return Decimal(self.units) + Decimal(self.nanos).scaleb(-9)

    @property
    def amount(self) -> Decimal:
        return self.quantity * self.price


class OrderEvent(msgspec.Struct, frozen=True, gc=False):
    order_id: int
    user_id: int
    warehouse_id: int
    status: str
    moment_ticks: int
    positions: tuple[Position, ...]

    @property
    def moment(self) -> datetime:
        """The moment to the microsecond (the stored value keeps the 7th fractional digit)."""
        seconds, ticks = divmod(self.moment_ticks, TICKS_PER_SECOND)
        return datetime.fromtimestamp(seconds, tz=timezone.utc).replace(microsecond=ticks // 10)


_decoder = msgspec.json.Decoder(_WireEvent)


def parse_event(value: bytes | None) -> OrderEvent:
    """Decode and validate one message value, or raise InvalidEvent saying what is wrong."""
    if not value:
        raise InvalidEvent("empty message")
    try:
        value.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidEvent(f"not UTF-8: {exc.reason} at byte {exc.start}") from None
    try:
        wire = _decoder.decode(value)
    except msgspec.ValidationError as exc:
        raise InvalidEvent(_validation_reason(str(exc))) from None
    except msgspec.DecodeError as exc:
        raise InvalidEvent(f"not valid JSON: {exc}") from None

    raw_positions = wire.positions if isinstance(wire.positions, list) else [wire.positions]
    if not raw_positions:
        raise InvalidEvent("positions is empty")
    positions = tuple(_position(p, i) for i, p in enumerate(raw_positions))
    return OrderEvent(
        order_id=wire.order_id,
        user_id=wire.user_id,
        warehouse_id=wire.warehouse_id,
        status=_STATUS_EXACT.get(wire.status) or _status(wire.status),
        moment_ticks=parse_moment(wire.moment),
        positions=positions,
    )


def _validation_reason(message: str) -> str:
    # msgspec names a non-object document "Expected `object`"; say what the document is instead.
    if message.startswith("Expected `object`, got"):
        return f"not a JSON object: {message.removeprefix('Expected `object`, got ')}"
    return message


def _status(raw: str) -> str:
    status = _STATUS_BY_LOWER.get(raw.strip().lower())
    if status is None:
        raise InvalidEvent(f"unknown status {raw!r}: expected one of {', '.join(STATUSES)} - at `$.status`")
    return status


def _position(raw: _WirePosition, index: int) -> Position:
    price = raw.price
    currency = _KNOWN_CURRENCIES.get(price.currency) or _currency(price.currency, index)
    units = price.units
    if type(units) is not int or not 0 <= units < 2**63:
        units = _units(units, index)
    return Position(raw.item_id, raw.quantity, currency, units, price.nanos)


# Raw currency text -> stored code, for the few spellings a stream uses: the per-position hot path is then
# one dict lookup. Bounded, so a stream of junk codes cannot grow it without limit.
_KNOWN_CURRENCIES: dict[str, str] = {}


def _currency(raw: str, index: int) -> str:
    code = raw.strip().upper()
    code = _CURRENCY_ALIASES.get(code, code)
    if not _CURRENCY.fullmatch(code):
        raise InvalidEvent(f"currency {raw!r} is not an ISO-4217 code - at `$.positions[{index}].price.currency`")
    if len(_KNOWN_CURRENCIES) < 1000:
        _KNOWN_CURRENCIES[raw] = code
    return code


def _units(units: int | str, index: int) -> int:
    where = f"`$.positions[{index}].price.units`"
    if isinstance(units, str):
        if not units.isascii() or not units.isdigit():
            raise InvalidEvent(f"units {units!r} is not a non-negative integer - at {where}")
        units = int(units)
    if units < 0:
        raise InvalidEvent(f"units {units} is negative - at {where}")
    if units >= 2**63:
        raise InvalidEvent(f"units {units} does not fit int64 - at {where}")
    return units


def parse_moment(text: str) -> int:
    """ISO-8601 text to 100 ns ticks since the epoch (UTC), exact to the 7th fractional digit."""
    match = _MOMENT.fullmatch(text.strip())
    if match is None:
        raise InvalidEvent(f"moment {text!r} is not ISO-8601 with a zone (e.g. 2026-11-20T11:53:20.0902941Z) - at `$.moment`")
    day, clock, fraction, zone = match.groups()
    try:
        seconds = _epoch_seconds(day, clock, zone)
    except ValueError as exc:
        raise InvalidEvent(f"moment {text!r} is not a valid time: {exc} - at `$.moment`") from None
    return seconds * TICKS_PER_SECOND + int((fraction or "").ljust(7, "0"))


@lru_cache(maxsize=4096)
def _epoch_seconds(day: str, clock: str, zone: str) -> int:
    # Consecutive events mostly share their second: the calendar arithmetic runs once per second.
    whole = datetime.fromisoformat(f"{day}T{clock}{'+00:00' if zone in ('Z', 'z') else zone}")
    return (whole - _EPOCH) // _ONE_SECOND


_ONE_SECOND = datetime(1970, 1, 1, 0, 0, 1, tzinfo=timezone.utc) - _EPOCH


def format_moment(ticks: int) -> str:
    """The inverse of parse_moment, in the C# generator's style (UTC, `Z`, trailing zeros trimmed)."""
    seconds, fraction = divmod(ticks, TICKS_PER_SECOND)
    text = _format_second(seconds)
    if not fraction:
        return f"{text}Z"
    return f"{text}.{f'{fraction:07d}'.rstrip('0')}Z"


@lru_cache(maxsize=4096)
def _format_second(seconds: int) -> str:
    # strftime is most of format_moment's cost, and consecutive events mostly share their second.
    return datetime.fromtimestamp(seconds, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


# The wire shape for encoding, as Structs: msgspec encodes them without a dict built per event and field.
class _OutMoney(msgspec.Struct):
    currency: str
    units: int
    nanos: int


class _OutPosition(msgspec.Struct):
    item_id: int
    quantity: int
    price: _OutMoney


class _OutEvent(msgspec.Struct):
    order_id: int
    user_id: int
    warehouse_id: int
    status: str
    moment: str
    positions: Union[list[_OutPosition], _OutPosition]


_encode = msgspec.json.Encoder().encode


def encode_event(event: OrderEvent, *, single_position: bool = False, rouble_code: str = "RUB") -> bytes:
    """Serialize an event in the wire format (the course generator's shape, or the written spec's)."""
    positions = [
        _OutPosition(p.item_id, p.quantity, _OutMoney(rouble_code if p.currency == "RUB" else p.currency, p.units, p.nanos))
        for p in event.positions
    ]
    return _encode(
        _OutEvent(
            event.order_id,
            event.user_id,
            event.warehouse_id,
            event.status,
            format_moment(event.moment_ticks),
            positions[0] if single_position and len(positions) == 1 else positions,
        )
    )
