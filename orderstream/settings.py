"""All configuration, read from the environment in this one place.

The defaults run the embedded mode with no configuration at all: ClickHouse is chDB stored under
CHDB_PATH, and the demo starts its own in-process Kafka-protocol broker.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    kafka_bootstrap_servers: str = "localhost:9092"
    kafka_topic: str = "order_events"
    kafka_group_id: str = "orderstream-ingest"

    # Empty host means embedded chDB at chdb_path; otherwise the server over HTTP.
    clickhouse_host: str = ""
    clickhouse_port: int = 8123
    clickhouse_user: str = "default"
    clickhouse_password: str = ""
    clickhouse_database: str = "shop"
    clickhouse_secure: bool = False
    # The dashboard's SQL page and analysts connect as this read-only user (server mode); empty means
    # the app user with readonly=2 (server) or readonly=1 (embedded).
    clickhouse_readonly_user: str = ""
    clickhouse_readonly_password: str = ""
    chdb_path: Path = Path("./data/chdb")

    ingest_batch_size: int = Field(default=20_000, ge=1)
    ingest_batch_seconds: float = Field(default=1.0, gt=0)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @property
    def embedded(self) -> bool:
        return not self.clickhouse_host


class ConfigurationError(SystemExit):
    """Invalid environment: says which variable and why, one clause each, and exits non-zero."""


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors())
        raise ConfigurationError(f"invalid configuration: {problems}") from None
