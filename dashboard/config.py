"""The dashboard's own settings (the product-wide ones stay in orderstream.settings)."""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class DashboardSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DASHBOARD_", case_sensitive=False, extra="ignore")

    # Conversion rates "FROM:TO=rate" separated by commas, or a JSON object {"FROM:TO": "rate"}.
    fx_rates: Annotated[dict[tuple[str, str], Decimal], NoDecode] = Field(default_factory=dict)
    # How long a query result is reused when a filter moves back and forth.
    cache_ttl_seconds: float = Field(default=15, gt=0)
    # Auto-refresh intervals offered in the sidebar (0 = off, always offered first).
    refresh_choices: Annotated[tuple[int, ...], NoDecode] = (5, 15, 30, 60)
    port: int = 8501
    address: str = "0.0.0.0"

    @field_validator("fx_rates", mode="before")
    @classmethod
    def _parse_rates(cls, value):
        if isinstance(value, dict) and all(isinstance(k, tuple) for k in value):
            return value
        return parse_rates(value)

    @field_validator("refresh_choices", mode="before")
    @classmethod
    def _parse_choices(cls, value):
        if isinstance(value, str):
            return tuple(int(v) for v in value.split(",") if v.strip())
        return value


def parse_rates(value: str | dict | None) -> dict[tuple[str, str], Decimal]:
    if not value:
        return {}
    pairs = value.items() if isinstance(value, dict) else _text_pairs(value)
    rates = {}
    for pair, rate in pairs:
        source, _, target = str(pair).strip().upper().partition(":")
        try:
            number = Decimal(str(rate).strip())
        except InvalidOperation:
            raise ValueError(f"rate {rate!r} for {pair!r} is not a number") from None
        if len(source) != 3 or len(target) != 3 or number <= 0:
            raise ValueError(f"bad conversion rate {pair}={rate}: expected FROM:TO=positive number")
        rates[(source, target)] = number
    return rates


def _text_pairs(text: str):
    text = text.strip()
    if text.startswith("{"):
        return json.loads(text).items()
    return [item.split("=", 1) for item in text.split(",") if item.strip()]


@lru_cache(maxsize=1)
def get_dashboard_settings() -> DashboardSettings:
    return DashboardSettings()
